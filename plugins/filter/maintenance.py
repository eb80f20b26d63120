# Copyright: Rampart maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Filter: may a change be applied now, given a host's maintenance windows, freeze and override?"""

from __future__ import annotations

DOCUMENTATION = r"""
---
name: maintenance_window
short_description: Decide whether a change may be applied now (maintenance windows, freeze, override)
version_added: "0.2.0"
description:
  - Takes a host's C(rampart_maintenance_windows) and returns whether a change may be applied at the given
    instant (default the controller's clock), until when the current window stays open, and when the next
    window opens.
  - A window opens on each of its O(_input[].days) at O(_input[].start) local time in O(_input[].timezone) and
    closes at O(_input[].end); an end at or before the start closes on the next day (crossing midnight).
  - Daylight-saving changes follow the wall clock. A start or end inside a spring-forward gap falls on the
    transition; in an autumn overlap a window opens at the first occurrence of its start and closes at the
    second occurrence of its end.
  - With no window at all, or under a freeze, nothing is allowed unless an override reason is given.
options:
  _input:
    description:
      - The windows, a list of dicts with C(days) (list of C(mon)..C(sun)), C(start) and C(end) (C(HH:MM),
        quoted), C(timezone) (IANA name, default C(UTC)).
    type: list
    elements: dict
    required: true
  at:
    description: The instant to judge, ISO 8601 with an offset or C(Z). Default now.
    type: str
  freeze_until:
    description: A date C(YYYY-MM-DD); changes are refused through the end of that day (in each window's zone).
    type: str
  override:
    description: A reason to apply outside a window or under a freeze. Empty means no override.
    type: str
"""

EXAMPLES = r"""
- name: Refuse to apply outside the host's maintenance window
  ansible.builtin.assert:
    that: decision.allowed
    fail_msg: "{{ decision.reason }}"
  vars:
    decision: >-
      {{ rampart_maintenance_windows | default([]) | rampart.hardening.maintenance_window(
           freeze_until=rampart_maintenance_freeze_until | default(''),
           override=rampart_remediate_override | default('')) }}
"""

RETURN = r"""
_value:
  description: The decision.
  type: dict
  contains:
    allowed:
      description: Whether a change may be applied (inside a window and not frozen, or overridden).
      type: bool
    in_window:
      description: Whether the instant lies inside a window that is not frozen.
      type: bool
    frozen:
      description: Whether a freeze refuses changes at this instant.
      type: bool
    override:
      description: The override reason, when it is what allows the change (else null).
      type: str
    reason:
      description: One sentence saying why, and when the next window opens.
      type: str
    at:
      description: The instant judged (UTC, ISO 8601).
      type: str
    open_until:
      description: When the current open period closes (UTC), or null.
      type: str
    next_open:
      description: When the next window opens (UTC), or null when none is configured.
      type: str
    next_open_local:
      description: The same in the window's own time zone, as text.
      type: str
"""

from datetime import UTC, datetime
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.rampart.hardening.plugins.module_utils.maintenance import (
    MaintenanceConfigError,
    decide,
    parse_freeze,
    parse_instant,
    parse_windows,
)


def maintenance_window(windows: Any, at: Any = None, freeze_until: Any = None, override: Any = None) -> dict[str, Any]:
    """The maintenance decision for ``at`` (default now) as a dict."""
    try:
        instant = parse_instant(at) if at else datetime.now(UTC)
        decision = decide(parse_windows(windows), instant, parse_freeze(freeze_until), str(override or ""))
    except MaintenanceConfigError as exc:
        raise AnsibleFilterError(f"maintenance_window: {exc}") from exc
    return decision.to_dict()


class FilterModule:
    """Rampart maintenance-window filter."""

    def filters(self) -> dict[str, Any]:
        return {"maintenance_window": maintenance_window}
