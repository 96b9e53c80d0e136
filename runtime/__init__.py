"""The EsoCore Edge device application: scheduler, pipeline, store, front ends and CLI."""

__version__ = "0.1.0"
