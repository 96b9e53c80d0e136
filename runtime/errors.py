"""Errors a user can cause, shared by the CLI and later front ends."""


class UsageError(Exception):
    """A user mistake on the command line or in an input file: reported in one line, exit 2."""
