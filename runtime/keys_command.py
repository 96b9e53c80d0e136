"""`esocore keys ...` and `esocore cert export`: API keys and the TLS certificate, working on
the data directory whether or not the device is running."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime

from .api.keys import ROLES, KeyError_
from .api.service import key_store
from .api.tls import ensure_certificate, served_certificate_file
from .errors import UsageError
from .readings import iso_utc


def register(commands: argparse._SubParsersAction) -> None:
    keys = commands.add_parser("keys", help="create, list, rotate and revoke API keys")
    actions = keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a key; prints it once, on the last line")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--description", required=True, help="what the key is for")
    create.add_argument("--expires", help="expiry date, ISO 8601 (e.g. 2027-03-31)")
    listing = actions.add_parser("list", help="list keys (never their secrets)")
    revoke = actions.add_parser("revoke", help="revoke a key at once")
    revoke.add_argument("id")
    rotate = actions.add_parser("rotate", help="new secret, same key; old one kept for a grace")
    rotate.add_argument("id")
    rotate.add_argument("--grace-hours", type=float, default=24.0)
    for p in (create, listing, revoke, rotate):
        p.add_argument("--data-dir", default="data", help="the device's data directory")
        p.set_defaults(handler=run_keys)

    cert = commands.add_parser("cert", help="the device's TLS certificate")
    cert_actions = cert.add_subparsers(dest="action", required=True, metavar="ACTION")
    export = cert_actions.add_parser("export", help="print the certificate (PEM) to trust it")
    export.add_argument("--data-dir", default="data")
    export.add_argument("--config", help="device config (default: as `esocore run` picks it)")
    export.set_defaults(handler=run_cert)


def run_keys(args: argparse.Namespace) -> int:
    store = key_store(args.data_dir)
    now = time.time()
    try:
        if args.action == "create":
            expires = _parse_date(args.expires) if args.expires else None
            try:
                record, secret = store.create(args.role, args.description, now, expires)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
            print(f"created key {record.id} ({record.role}): {record.description}")
            print("the key is shown once; store it securely:", file=sys.stderr)
            print(secret)
        elif args.action == "list":
            for k in store.list():
                state = "active" if k.active(now) else ("revoked" if k.revoked_at else "expired")
                used = iso_utc(k.last_used_at) if k.last_used_at else "never"
                expires = iso_utc(k.expires_at) if k.expires_at else "never"
                print(
                    f"{k.id}  {k.role:<10} {state:<8} created {iso_utc(k.created_at)}  "
                    f"last used {used}  expires {expires}  {k.description}"
                )
        elif args.action == "revoke":
            record = store.revoke(args.id, now)
            print(f"revoked key {record.id} ({record.description})")
        elif args.action == "rotate":
            if not args.grace_hours >= 0:
                raise UsageError("--grace-hours must be 0 or more")
            try:
                record, secret = store.rotate(args.id, now, args.grace_hours * 3600)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
            print(f"rotated key {record.id}; the old secret works for {args.grace_hours:g} h")
            print(secret)
    except KeyError_ as exc:
        raise UsageError(str(exc)) from None
    finally:
        store.close()
    return 0


def run_cert(args: argparse.Namespace) -> int:
    """The certificate the device serves: the plant's own when the config names one (clients
    should then trust the plant CA), else the self-signed one of the data directory."""
    from .session import resolve_config

    try:
        config = resolve_config(args.config, None, args.data_dir)
    except UsageError:
        config = None
    cert_file = config.http.cert_file if config is not None else None
    if not cert_file:
        ensure_certificate(args.data_dir)
    path = served_certificate_file(True, cert_file, args.data_dir)
    assert path is not None  # tls=True always names a file
    try:
        sys.stdout.write(path.read_text())
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the configured certificate ({exc})") from None
    return 0


def _parse_date(text: str) -> float:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--expires: {text!r} is not an ISO 8601 date") from None
    if value.tzinfo is None:
        value = value.astimezone()  # a bare date means the local time zone
    return value.timestamp()
