# Copyright: Rampart maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Documentation fragment: the descriptions of the action attributes Rampart's modules declare."""

from __future__ import annotations


class ModuleDocFragment:
    """Modules extend rampart.hardening.attributes, plus .idempotent and .flow (action plugin) as they declare."""

    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
"""

    IDEMPOTENT = r"""
options: {}
attributes:
  idempotent:
    description:
      - When run twice in a row outside check mode with the same arguments, the second run reports no change.
      - Check mode predicts the change status of a real run.
"""

    FLOW = r"""
options: {}
attributes:
  action:
    description:
      - Indicates this has a corresponding action plugin so some parts of the options can be executed on the
        controller.
  async:
    description: Supports being used with the C(async) keyword.
"""
