"""Maintenance windows: may a change be applied at this instant, and when may it next?

A window (``rampart_maintenance_windows`` item) is ``{days: [mon..sun], start: "HH:MM", end: "HH:MM",
timezone: IANA name}``. ``days`` are the days on which the window OPENS; ``end <= start`` means it
crosses midnight and closes on the next day (``end == start``: a full 24 hours).

Wall-clock rule, which also settles daylight-saving changes: a window opening on day D covers the
instants from the FIRST instant whose local wall clock reads ``start`` or later on D, to the first
instant whose wall clock reads ``end`` or later on its closing day, after the last time it read an
earlier time. So:

- a start or end inside a spring-forward gap (02:30 on Europe/Berlin's last Sunday of March) falls
  on the transition itself (03:00 CEST): nothing is skipped, nothing is invented;
- in an autumn overlap (02:00-03:00 happens twice) a window opens at the first occurrence of its
  start and closes at the second occurrence of its end, so it never loses time.

``freeze_until`` (a date) refuses everything through the end of that day, in each window's own
time zone. An override reason allows a change anyway; the caller logs it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LONG_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
# Windows are looked for this many days around an instant (a week plus a window crossing midnight).
_LOOKBACK_DAYS = 2
_LOOKAHEAD_DAYS = 9
_ONE_SECOND = timedelta(seconds=1)


class MaintenanceConfigError(ValueError):
    """A window, freeze date or instant that cannot be understood (the message names the bad value)."""


@dataclass(frozen=True)
class Window:
    """One recurring maintenance window."""

    days: frozenset[int]  # 0 = Monday, as datetime.weekday()
    start: time
    end: time
    zone: tzinfo
    zone_name: str

    def crosses_midnight(self) -> bool:
        return self.end <= self.start


@dataclass(frozen=True)
class Interval:
    """One concrete opening of a window, in UTC (``opens <= t < closes``)."""

    opens: datetime
    closes: datetime
    window: Window


@dataclass(frozen=True)
class Decision:
    """Whether a change may be applied at ``at``, and why."""

    allowed: bool
    in_window: bool
    frozen: bool
    override: str | None
    reason: str
    at: datetime
    open_until: datetime | None
    next_open: datetime | None
    next_open_local: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "in_window": self.in_window,
            "frozen": self.frozen,
            "override": self.override,
            "reason": self.reason,
            "at": _iso(self.at),
            "open_until": _iso(self.open_until),
            "next_open": _iso(self.next_open),
            "next_open_local": self.next_open_local,
        }


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def _parse_hhmm(value: Any, where: str) -> time:
    if isinstance(value, int):
        raise MaintenanceConfigError(
            f"{where}: {value!r} is a number; quote the time (YAML reads an unquoted 22:00 as 1320)"
        )
    match = _HHMM.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise MaintenanceConfigError(f"{where}: {value!r} is not a time HH:MM (00:00-23:59)")
    return time(int(match.group(1)), int(match.group(2)))


def _parse_zone(value: Any, where: str) -> ZoneInfo:
    if not isinstance(value, str) or not value.strip():
        raise MaintenanceConfigError(f"{where}: {value!r} is not an IANA time zone name")
    try:
        return ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise MaintenanceConfigError(f"{where}: unknown time zone {value!r}") from exc


def _parse_days(value: Any, where: str) -> frozenset[int]:
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        raise MaintenanceConfigError(f"{where}: {value!r} is not a non-empty list of days (mon..sun)")
    days: set[int] = set()
    for day in value:
        name = day.strip().lower() if isinstance(day, str) else ""
        if name not in DAYS and name not in LONG_DAYS:
            raise MaintenanceConfigError(f"{where}: {day!r} is not a day (mon, tue, wed, thu, fri, sat, sun)")
        days.add(DAYS.index(name[:3]))
    return frozenset(days)


def parse_window(raw: Any, index: int = 0) -> Window:
    """One window from its inventory form; raise MaintenanceConfigError naming the bad value."""
    where = f"rampart_maintenance_windows[{index}]"
    if not isinstance(raw, Mapping):
        raise MaintenanceConfigError(f"{where}: {raw!r} is not a dict with days, start, end, timezone")
    unknown = sorted(set(raw) - {"days", "start", "end", "timezone"})
    if unknown:
        raise MaintenanceConfigError(f"{where}: unknown keys {unknown} (allowed: days, start, end, timezone)")
    zone_name = raw.get("timezone", "UTC")
    return Window(
        days=_parse_days(raw.get("days"), f"{where}.days"),
        start=_parse_hhmm(raw.get("start"), f"{where}.start"),
        end=_parse_hhmm(raw.get("end"), f"{where}.end"),
        zone=_parse_zone(zone_name, f"{where}.timezone"),
        zone_name=str(zone_name).strip(),
    )


def parse_windows(raw: Any) -> list[Window]:
    """All windows (None or an empty list: no window at all)."""
    if raw is None:
        return []
    if isinstance(raw, str | Mapping) or not isinstance(raw, Sequence):
        raise MaintenanceConfigError(f"rampart_maintenance_windows: {raw!r} is not a list of windows")
    return [parse_window(item, index) for index, item in enumerate(raw)]


def parse_freeze(raw: Any) -> date | None:
    """``freeze_until`` as a date (None or empty: no freeze)."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError as exc:
        raise MaintenanceConfigError(f"rampart_maintenance_freeze_until: {raw!r} is not a date YYYY-MM-DD") from exc


def parse_instant(raw: Any) -> datetime:
    """An aware instant from a datetime or ISO 8601 text (``Z`` allowed); naive values are refused."""
    if isinstance(raw, datetime):
        value = raw
    else:
        try:
            value = datetime.fromisoformat(str(raw).strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise MaintenanceConfigError(f"{raw!r} is not an ISO 8601 date and time") from exc
    if value.tzinfo is None or value.utcoffset() is None:
        raise MaintenanceConfigError(f"{raw!r} has no UTC offset (give Z or +HH:MM)")
    return value.astimezone(UTC)


def _offset(instant: datetime, zone: tzinfo) -> timedelta:
    return instant.astimezone(zone).utcoffset() or timedelta(0)


def first_instant_at_or_after(day: date, wall: time, zone: tzinfo) -> datetime:
    """The first instant whose wall clock in ``zone`` reads ``day wall`` or later (UTC).

    Existing and repeated wall times: their first occurrence. A wall time inside a gap: the
    transition instant, the first existing wall time after the gap.
    """
    naive = datetime.combine(day, wall)
    early = naive.replace(tzinfo=zone, fold=0)
    if early.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive:
        return early.astimezone(UTC)
    # In a gap: fold=1 uses the offset after the transition (earlier UTC), fold=0 the one before.
    low = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = early.astimezone(UTC)
    low, high = min(low, high), max(low, high)
    after = _offset(high, zone)
    while high - low > _ONE_SECOND:
        middle = low + (high - low) / 2
        if _offset(middle, zone) == after:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


def last_closing_at(day: date, wall: time, zone: tzinfo) -> datetime:
    """When a window ending at ``day wall`` closes: the LAST occurrence of that wall time (UTC)."""
    naive = datetime.combine(day, wall)
    late = naive.replace(tzinfo=zone, fold=1)
    if late.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive:
        return late.astimezone(UTC)
    return first_instant_at_or_after(day, wall, zone)


def window_intervals(window: Window, first_day: date, last_day: date) -> list[Interval]:
    """The window's openings whose opening day lies in [first_day, last_day] (local dates)."""
    intervals: list[Interval] = []
    day = first_day
    while day <= last_day:
        if day.weekday() in window.days:
            end_day = day + timedelta(days=1) if window.crosses_midnight() else day
            opens = first_instant_at_or_after(day, window.start, window.zone)
            closes = last_closing_at(end_day, window.end, window.zone)
            if closes > opens:
                intervals.append(Interval(opens, closes, window))
        day += timedelta(days=1)
    return intervals


def _freeze_end(freeze: date | None, zone: tzinfo) -> datetime | None:
    if freeze is None:
        return None
    return first_instant_at_or_after(freeze + timedelta(days=1), time(0, 0), zone)


def intervals_around(windows: Iterable[Window], at: datetime, freeze: date | None = None) -> list[Interval]:
    """Every window opening near ``at`` (a few days back, a week and more ahead), minus the freeze, sorted."""
    result: list[Interval] = []
    for window in windows:
        local_day = at.astimezone(window.zone).date()
        frozen_until = _freeze_end(freeze, window.zone)
        # Look a week past the later of now and the end of the freeze.
        last_day = max(local_day, freeze or local_day) + timedelta(days=_LOOKAHEAD_DAYS)
        for interval in window_intervals(window, local_day - timedelta(days=_LOOKBACK_DAYS), last_day):
            opens = max(interval.opens, frozen_until) if frozen_until else interval.opens
            if opens < interval.closes:
                result.append(Interval(opens, interval.closes, window))
    return sorted(result, key=lambda item: (item.opens, item.closes))


def _covering(intervals: Sequence[Interval], at: datetime) -> datetime | None:
    """If ``at`` lies in an interval, when the (merged) open period ends."""
    until: datetime | None = None
    for interval in intervals:
        if interval.opens <= at < interval.closes or (until and interval.opens <= until < interval.closes):
            until = max(until or interval.closes, interval.closes)
    return until


def is_open(windows: Iterable[Window], at: datetime, freeze: date | None = None) -> bool:
    """Is ``at`` inside a window (and not frozen)?"""
    return _covering(intervals_around(windows, at, freeze), at) is not None


def next_opening(windows: Iterable[Window], at: datetime, freeze: date | None = None) -> Interval | None:
    """The first window opening strictly after ``at`` (None: no window at all)."""
    instant = at.astimezone(UTC)
    for interval in intervals_around(windows, instant, freeze):
        if interval.opens > instant:
            return interval
    return None


def _local_text(interval: Interval) -> str:
    local = interval.opens.astimezone(interval.window.zone)
    return f"{local.strftime('%a %Y-%m-%d %H:%M %Z')} ({interval.window.zone_name})"


def _is_frozen(windows: Sequence[Window], at: datetime, freeze: date | None) -> bool:
    """Before the end of the freeze day, in any window's time zone (UTC when there is none)."""
    if freeze is None:
        return False
    zones = [window.zone for window in windows] or [UTC]
    return any(at < (_freeze_end(freeze, zone) or at) for zone in zones)


def decide(
    windows: Sequence[Window], at: datetime, freeze: date | None = None, override: str | None = None
) -> Decision:
    """May a change be applied at ``at``? Outside a window or under a freeze only with an override."""
    instant = at.astimezone(UTC)
    reason_override = (override or "").strip() or None
    intervals = intervals_around(windows, instant, freeze)
    open_until = _covering(intervals, instant)
    frozen = _is_frozen(windows, instant, freeze)
    upcoming = next(iter(item for item in intervals if item.opens > instant), None)
    if open_until is not None:
        reason = f"inside a maintenance window until {_iso(open_until)}"
    elif not windows:
        reason = "no maintenance window is configured (rampart_maintenance_windows)"
    elif frozen:
        reason = f"changes are frozen until the end of {freeze}"
    else:
        reason = "outside every maintenance window"
    if open_until is None and upcoming is not None:
        reason += f"; the next window opens {_iso(upcoming.opens)} = {_local_text(upcoming)}"
    if open_until is None and reason_override:
        reason += f"; applied anyway under override: {reason_override}"
    return Decision(
        allowed=open_until is not None or reason_override is not None,
        in_window=open_until is not None,
        frozen=frozen and open_until is None,
        override=reason_override if open_until is None else None,
        reason=reason,
        at=instant,
        open_until=open_until,
        next_open=upcoming.opens if upcoming else None,
        next_open_local=_local_text(upcoming) if upcoming else None,
    )
