"""Maintenance-window arithmetic: windows, midnight crossings, DST gaps and overlaps, freezes."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from ansible_collections.rampart.hardening.plugins.module_utils.maintenance import (
    MaintenanceConfigError,
    decide,
    first_instant_at_or_after,
    is_open,
    next_opening,
    parse_freeze,
    parse_instant,
    parse_windows,
)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def windows(*items: dict) -> list:
    return parse_windows(list(items))


BERLIN_NIGHT = {"days": ["sun"], "start": "02:30", "end": "04:00", "timezone": "Europe/Berlin"}


# --- plain windows -----------------------------------------------------------------------------


def test_inside_and_outside_a_plain_window() -> None:
    ws = windows({"days": ["tue"], "start": "18:00", "end": "20:00", "timezone": "UTC"})
    # 2026-12-01 is a Tuesday.
    assert is_open(ws, utc("2026-12-01T18:00:00"))
    assert is_open(ws, utc("2026-12-01T19:59:59"))
    assert not is_open(ws, utc("2026-12-01T20:00:00"))
    assert not is_open(ws, utc("2026-12-01T17:59:59"))
    assert not is_open(ws, utc("2026-12-02T18:30:00"))  # Wednesday


def test_next_opening_is_next_week_when_this_weeks_window_has_passed() -> None:
    ws = windows({"days": ["tue"], "start": "18:00", "end": "20:00", "timezone": "UTC"})
    nxt = next_opening(ws, utc("2026-12-01T20:00:00"))
    assert nxt is not None
    assert nxt.opens == utc("2026-12-08T18:00:00")


def test_window_in_another_zone_is_converted() -> None:
    # 09:00-10:00 New York (EST, UTC-5 in December) = 14:00-15:00 UTC.
    ws = windows({"days": ["tue"], "start": "09:00", "end": "10:00", "timezone": "America/New_York"})
    assert is_open(ws, utc("2026-12-01T14:30:00"))
    assert not is_open(ws, utc("2026-12-01T09:30:00"))


# --- midnight crossings ------------------------------------------------------------------------


def test_window_crossing_midnight_belongs_to_its_opening_day() -> None:
    ws = windows({"days": ["sat"], "start": "22:00", "end": "02:00", "timezone": "UTC"})
    # 2026-12-05 is a Saturday: open Sat 22:00 -> Sun 02:00.
    assert is_open(ws, utc("2026-12-05T23:30:00"))
    assert is_open(ws, utc("2026-12-06T01:59:00"))
    assert not is_open(ws, utc("2026-12-06T02:00:00"))
    # Sunday 23:00 is not a window (Sunday is not an opening day), nor is Saturday 01:00.
    assert not is_open(ws, utc("2026-12-06T23:00:00"))
    assert not is_open(ws, utc("2026-12-05T01:00:00"))


def test_open_window_reports_when_it_closes_across_midnight() -> None:
    ws = windows({"days": ["sat"], "start": "22:00", "end": "02:00", "timezone": "UTC"})
    decision = decide(ws, utc("2026-12-05T23:00:00"))
    assert decision.allowed
    assert decision.in_window
    assert decision.open_until == utc("2026-12-06T02:00:00")


def test_adjacent_windows_merge_into_one_open_period() -> None:
    ws = windows(
        {"days": ["sat"], "start": "22:00", "end": "00:00", "timezone": "UTC"},
        {"days": ["sun"], "start": "00:00", "end": "03:00", "timezone": "UTC"},
    )
    decision = decide(ws, utc("2026-12-05T23:00:00"))
    assert decision.open_until == utc("2026-12-06T03:00:00")


def test_equal_start_and_end_is_a_whole_day() -> None:
    ws = windows({"days": ["mon"], "start": "06:00", "end": "06:00", "timezone": "UTC"})
    # 2026-11-30 is a Monday.
    assert is_open(ws, utc("2026-12-01T05:59:00"))
    assert not is_open(ws, utc("2026-12-01T06:00:00"))


# --- daylight saving: Europe/Berlin ------------------------------------------------------------
# Spring 2026: Sunday 29 March, 02:00 CET -> 03:00 CEST (01:00 UTC). Autumn 2026: Sunday
# 25 October, 03:00 CEST -> 02:00 CET (01:00 UTC); 02:00-03:00 local happens twice.


def test_spring_gap_start_opens_at_the_transition() -> None:
    ws = windows(BERLIN_NIGHT)
    # 02:30 does not exist on 29 March: the window opens at 03:00 CEST = 01:00 UTC.
    assert not is_open(ws, utc("2026-03-29T00:59:59"))
    assert is_open(ws, utc("2026-03-29T01:00:00"))
    # Closes at 04:00 CEST = 02:00 UTC: one hour long that day.
    assert is_open(ws, utc("2026-03-29T01:59:59"))
    assert not is_open(ws, utc("2026-03-29T02:00:00"))
    nxt = next_opening(ws, utc("2026-03-28T12:00:00"))
    assert nxt is not None
    assert nxt.opens == utc("2026-03-29T01:00:00")


def test_spring_gap_on_an_ordinary_sunday_is_the_normal_time() -> None:
    ws = windows(BERLIN_NIGHT)
    # The Sunday before (22 March, CET = UTC+1): 02:30-04:00 local = 01:30-03:00 UTC.
    assert not is_open(ws, utc("2026-03-22T01:29:00"))
    assert is_open(ws, utc("2026-03-22T01:30:00"))
    assert not is_open(ws, utc("2026-03-22T03:00:00"))
    # The Sunday after (5 April, CEST = UTC+2): 00:30-02:00 UTC.
    assert is_open(ws, utc("2026-04-05T00:30:00"))
    assert not is_open(ws, utc("2026-04-05T02:00:00"))


def test_first_instant_in_a_gap_is_the_transition() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    assert first_instant_at_or_after(date(2026, 3, 29), time(2, 0), berlin) == utc("2026-03-29T01:00:00")
    assert first_instant_at_or_after(date(2026, 3, 29), time(2, 59), berlin) == utc("2026-03-29T01:00:00")
    assert first_instant_at_or_after(date(2026, 3, 29), time(3, 0), berlin) == utc("2026-03-29T01:00:00")
    assert first_instant_at_or_after(date(2026, 3, 29), time(1, 59), berlin) == utc("2026-03-29T00:59:00")


def test_autumn_overlap_opens_at_first_and_closes_at_second_occurrence() -> None:
    ws = windows({"days": ["sun"], "start": "02:15", "end": "02:45", "timezone": "Europe/Berlin"})
    # 02:15 first happens at 00:15 UTC (CEST); 02:45 last happens at 01:45 UTC (CET).
    assert not is_open(ws, utc("2026-10-25T00:14:59"))
    assert is_open(ws, utc("2026-10-25T00:15:00"))
    assert is_open(ws, utc("2026-10-25T01:00:00"))  # the repeated hour, wall clock 02:00 CET
    assert is_open(ws, utc("2026-10-25T01:44:59"))
    assert not is_open(ws, utc("2026-10-25T01:45:00"))


def test_autumn_night_window_is_an_hour_longer() -> None:
    ws = windows({"days": ["sat"], "start": "23:00", "end": "05:00", "timezone": "Europe/Berlin"})
    # Sat 24 Oct 23:00 CEST = 21:00 UTC; Sun 25 Oct 05:00 CET = 04:00 UTC: seven hours.
    decision = decide(ws, utc("2026-10-24T21:00:00"))
    assert decision.open_until == utc("2026-10-25T04:00:00")
    assert decision.open_until - decision.at == timedelta(hours=7)


def test_spring_night_window_is_an_hour_shorter() -> None:
    ws = windows({"days": ["sat"], "start": "23:00", "end": "05:00", "timezone": "Europe/Berlin"})
    # Sat 28 Mar 23:00 CET = 22:00 UTC; Sun 29 Mar 05:00 CEST = 03:00 UTC: five hours.
    decision = decide(ws, utc("2026-03-28T22:00:00"))
    assert decision.open_until == utc("2026-03-29T03:00:00")


# --- freeze and override -----------------------------------------------------------------------


def test_freeze_refuses_inside_a_window_and_names_the_next_one_after_it() -> None:
    ws = windows({"days": ["tue"], "start": "18:00", "end": "20:00", "timezone": "UTC"})
    decision = decide(ws, utc("2026-12-01T19:00:00"), freeze=date(2026, 12, 10))
    assert not decision.allowed
    assert decision.frozen
    assert not decision.in_window
    # The 8th is frozen too; the first window after the freeze is Tuesday the 15th.
    assert decision.next_open == utc("2026-12-15T18:00:00")
    assert "2026-12-15T18:00:00Z" in decision.reason


def test_freeze_ends_at_midnight_in_the_windows_zone() -> None:
    ws = windows({"days": ["mon"], "start": "00:00", "end": "02:00", "timezone": "Europe/Berlin"})
    # Frozen through Sunday 6 Dec (Berlin). Monday 7 Dec 00:00 CET = Sunday 23:00 UTC is open.
    assert is_open(ws, utc("2026-12-06T23:30:00"), date(2026, 12, 6))
    assert not is_open(ws, utc("2026-12-06T23:30:00"), date(2026, 12, 7))


def test_freeze_in_the_past_changes_nothing() -> None:
    ws = windows({"days": ["tue"], "start": "18:00", "end": "20:00", "timezone": "UTC"})
    decision = decide(ws, utc("2026-12-01T19:00:00"), freeze=date(2026, 11, 30))
    assert decision.allowed
    assert not decision.frozen


def test_outside_a_window_is_refused_with_the_next_opening() -> None:
    ws = windows({"days": ["wed"], "start": "01:00", "end": "03:00", "timezone": "Europe/Berlin"})
    decision = decide(ws, utc("2026-12-01T19:00:00"))
    assert not decision.allowed
    assert decision.next_open == utc("2026-12-02T00:00:00")
    assert decision.next_open_local is not None
    assert "01:00" in decision.next_open_local


def test_override_allows_and_is_carried() -> None:
    ws = windows({"days": ["wed"], "start": "01:00", "end": "03:00", "timezone": "UTC"})
    decision = decide(ws, utc("2026-12-01T19:00:00"), override="  INC-4711 hotfix  ")
    assert decision.allowed
    assert not decision.in_window
    assert decision.override == "INC-4711 hotfix"
    blank = decide(ws, utc("2026-12-01T19:00:00"), override="   ")
    assert not blank.allowed


def test_no_window_configured_refuses() -> None:
    decision = decide([], utc("2026-12-01T19:00:00"))
    assert not decision.allowed
    assert decision.next_open is None
    assert "no maintenance window" in decision.reason


def test_decision_dict_is_plain_text() -> None:
    ws = windows({"days": ["tue"], "start": "18:00", "end": "20:00", "timezone": "UTC"})
    data = decide(ws, utc("2026-12-01T18:30:00")).to_dict()
    assert data["allowed"] is True
    assert data["open_until"] == "2026-12-01T20:00:00Z"
    assert data["at"] == "2026-12-01T18:30:00Z"


# --- malformed input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ([{"days": ["mon"], "start": "25:00", "end": "02:00"}], "start"),
        ([{"days": ["mon"], "start": 1320, "end": "02:00"}], "quote"),
        ([{"days": ["moon"], "start": "01:00", "end": "02:00"}], "moon"),
        ([{"days": "mon", "start": "01:00", "end": "02:00"}], "days"),
        ([{"days": ["mon"], "start": "01:00", "end": "02:00", "timezone": "Mars/Olympus"}], "Mars/Olympus"),
        ([{"days": ["mon"], "start": "01:00", "end": "02:00", "tz": "UTC"}], "unknown keys"),
        (["mon 01:00-02:00"], "not a dict"),
        ({"days": ["mon"]}, "not a list"),
    ],
)
def test_malformed_windows_name_the_bad_value(raw, needle: str) -> None:
    with pytest.raises(MaintenanceConfigError, match=needle):
        parse_windows(raw)


def test_long_day_names_and_default_zone() -> None:
    (window,) = parse_windows([{"days": ["Monday", "SUN"], "start": "01:00", "end": "02:00"}])
    assert window.days == frozenset({0, 6})
    assert window.zone_name == "UTC"


def test_freeze_and_instant_parsing() -> None:
    assert parse_freeze("2026-12-24") == date(2026, 12, 24)
    assert parse_freeze("") is None
    with pytest.raises(MaintenanceConfigError, match=re.escape("24.12.2026")):
        parse_freeze("24.12.2026")
    assert parse_instant("2026-12-01T18:00:00Z") == utc("2026-12-01T18:00:00")
    assert parse_instant("2026-12-01T19:00:00+01:00") == utc("2026-12-01T18:00:00")
    with pytest.raises(MaintenanceConfigError, match="offset"):
        parse_instant("2026-12-01T18:00:00")
