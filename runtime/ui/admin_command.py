"""`esocore admin ...`: web UI users, on the data directory whether or not the device runs."""

from __future__ import annotations

import argparse
import getpass
import sys
import time

from ..errors import UsageError
from ..readings import iso_utc
from .users import UI_ROLES, UserError, user_store


def register(commands: argparse._SubParsersAction) -> None:
    admin = commands.add_parser("admin", help="web UI users: set a password, list users")
    actions = admin.add_subparsers(dest="action", required=True, metavar="ACTION")
    setpw = actions.add_parser(
        "set-password", help="set a user's password (creates the user if missing)"
    )
    setpw.add_argument("--user", default="admin", help="user name (default admin)")
    setpw.add_argument(
        "--role", choices=UI_ROLES, default="admin", help="role of a user created (admin)"
    )
    setpw.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    setpw.add_argument(
        "--must-change", action="store_true", help="the user must change it at the next login"
    )
    users = actions.add_parser("users", help="list the users")
    for p in (setpw, users):
        p.add_argument("--data-dir", default="data", help="the device's data directory")
        p.set_defaults(handler=run_admin)


def run_admin(args: argparse.Namespace) -> int:
    store = user_store(args.data_dir)
    now = time.time()
    try:
        if args.action == "users":
            for u in store.list():
                state = "locked" if u.locked(now) else "active"
                change = ", must change password" if u.must_change else ""
                print(
                    f"{u.name:<20} {u.role:<9} {state}{change}  "
                    f"password set {iso_utc(u.password_changed_at)}"
                )
            return 0
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = getpass.getpass(f"new password for {args.user}: ")
            if getpass.getpass("again: ") != password:
                raise UsageError("the two passwords differ; nothing was changed")
        try:
            user = store.set_password(
                args.user, password, now, must_change=args.must_change, create_role=args.role
            )
        except UserError as exc:
            raise UsageError(str(exc)) from None
        print(f"password of {user.name} ({user.role}) set; its sessions ended")
        return 0
    finally:
        store.close()
