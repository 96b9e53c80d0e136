"""`esocore status`: what a data directory holds (works while the device is running)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from .errors import UsageError
from .readings import iso_utc


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("status", help="summarise what is stored in a data directory")
    p.add_argument("--data-dir", default="data", help="the device's data directory (./data)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from .store import Store, StoreError

    try:
        store = Store(args.data_dir, readonly=True)
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    try:
        summary = store.summary(recent_events=10)
    finally:
        store.close()
    report = _report(summary)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print(report)
    return 0


def _report(summary: Any) -> dict[str, Any]:
    def when(ts: float | None) -> str | None:
        return None if ts is None else iso_utc(ts)

    last_values = [
        {
            "device_id": s.device_id,
            "sensor_id": s.sensor_id,
            "metric": s.metric,
            "value": s.last.value,
            "unit": s.unit,
            "timestamp": s.last.timestamp,
        }
        for s in summary.series
        if s.axis is None and s.last is not None
    ]
    return {
        "database": summary.path,
        "schema_version": summary.schema_version,
        "size_bytes": summary.file_bytes,
        "machines": summary.machines,
        "sensors": [sensor for _, sensor in summary.sensors],
        "first_reading": when(summary.first_ts),
        "last_reading": when(summary.last_ts),
        "counts": summary.counts,
        "last_values": last_values,
        "recent_events": [
            {"timestamp": e.timestamp, "kind": e.kind, "message": e.message}
            for e in summary.recent_events
        ],
    }


def _print(report: dict[str, Any]) -> None:
    size_mb = report["size_bytes"] / 1e6
    print(f"{report['database']} (schema v{report['schema_version']}, {size_mb:.1f} MB)")
    print(f"machines: {', '.join(report['machines']) or 'none'}")
    print(f"sensors:  {', '.join(report['sensors']) or 'none'}")
    print(f"span:     {report['first_reading'] or '-'} .. {report['last_reading'] or '-'}")
    counts = ", ".join(f"{k} {v}" for k, v in report["counts"].items())
    print(f"rows:     {counts}")
    if report["last_values"]:
        print("last values (overall):")
        for v in report["last_values"]:
            print(
                f"  {v['sensor_id']:<18} {v['metric']:<16} {v['value']:>10.4g} {v['unit']:<5} "
                f"at {v['timestamp']}"
            )
    if report["recent_events"]:
        print("recent events:")
        for e in report["recent_events"]:
            print(f"  {e['timestamp']}  {e['kind']:<16} {e['message']}")
