"""Times as integrators send them (runtime.api.timeparse), for the history API and the CLI."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from runtime.api.timeparse import (
    DEFAULT_SPAN_S,
    TimeParseError,
    compact,
    parse_range,
    parse_time,
    zone,
)

BERLIN = ZoneInfo("Europe/Berlin")
NOON_UTC = datetime(2026, 1, 15, 12, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-15T12:00:00Z",
        "2026-01-15T12:00:00z",
        "2026-01-15T12:00:00+00:00",
        "2026-01-15T13:00:00+01:00",
        "2026-01-15T13:00:00+0100",
        "2026-01-15T07:00:00-05:00",
        "2026-01-15 13:00:00+01:00",
        "2026-01-15T13:00:00 01:00",  # the + of an unencoded query string became a space
        "2026-01-15 13:00:00 01:00",
        "20260115T120000Z",
        "  2026-01-15T12:00:00Z ",
    ],
)
def test_explicit_offsets_mean_the_same_instant(text):
    assert parse_time(text, BERLIN) == NOON_UTC


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        ("2026-01-15T12:00:00", UTC, NOON_UTC),
        ("2026-01-15 12:00:00", UTC, NOON_UTC),
        ("2026-01-15T13:00:00", BERLIN, NOON_UTC),  # winter: UTC+1
        ("2026-07-15T14:00:00", BERLIN, datetime(2026, 7, 15, 12, tzinfo=UTC).timestamp()),
        ("2026-01-15", UTC, datetime(2026, 1, 15, tzinfo=UTC).timestamp()),
        ("2026-01-15", BERLIN, datetime(2026, 1, 14, 23, tzinfo=UTC).timestamp()),
        ("2026-01-15T12:00", UTC, NOON_UTC),
    ],
)
def test_naive_times_and_bare_dates_are_in_the_device_zone(text, tz, expected):
    assert parse_time(text, tz) == expected


def test_datetime_now_isoformat_with_microseconds_round_trips():
    now = datetime(2026, 3, 1, 9, 30, 15, 123456)
    assert now.isoformat() == "2026-03-01T09:30:15.123456"
    expected = now.replace(tzinfo=BERLIN).timestamp()
    assert parse_time(now.isoformat(), BERLIN) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    "text", ["", "yesterday", "2026-13-01", "2026-01-15T25:00:00Z", "1767225600", "15/01/2026"]
)
def test_unparseable_times_say_what_is_expected(text):
    with pytest.raises(TimeParseError) as caught:
        parse_time(text, UTC, "start_time")
    message = str(caught.value)
    assert message.startswith("start_time: ")
    assert "ISO 8601" in message and "2026-03-01T12:00:00Z" in message


def test_range_defaults_to_the_last_24_hours():
    span = parse_range(None, None, UTC, now=NOON_UTC)
    assert (span.start, span.end) == (NOON_UTC - DEFAULT_SPAN_S, NOON_UTC)
    span = parse_range(None, "2026-01-15T12:00:00Z", UTC, now=0.0)
    assert span.start == NOON_UTC - DEFAULT_SPAN_S
    span = parse_range("2026-01-15", None, UTC, now=NOON_UTC)
    assert span.end == NOON_UTC and span.start == NOON_UTC - 12 * 3600


def test_start_after_end_is_refused_and_an_empty_range_is_not():
    with pytest.raises(TimeParseError, match=r"start_time \(2026-01-16T00:00:00.000Z\) is after"):
        parse_range("2026-01-16", "2026-01-15", UTC, now=NOON_UTC)
    span = parse_range("2026-01-15T12:00:00Z", "2026-01-15T13:00:00+01:00", UTC, now=0.0)
    assert span.start == span.end == NOON_UTC


def test_errors_name_the_option_the_user_typed():
    with pytest.raises(TimeParseError, match=r"^--end: "):
        parse_range(None, "soon", UTC, now=0.0, names=("--start", "--end"))


def test_zone_names():
    assert zone(None) is UTC and zone("UTC") is UTC and zone("") is UTC
    assert zone("Europe/Berlin") == BERLIN
    with pytest.raises(TimeParseError, match="unknown time zone"):
        zone("Mars/Olympus")


def test_compact_time_for_file_names():
    assert compact(NOON_UTC) == "20260115T120000Z"
