# Copyright: Rampart maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Documentation fragment: what the audit action plugins that write reports on the controller share."""

from __future__ import annotations


class ModuleDocFragment:
    """audit_host and audit_fleet: controller-side action plugins, no async, no diff, POSIX controllers."""

    DOCUMENTATION = r"""
options: {}
attributes:
  action:
    support: full
  async:
    support: none
  diff_mode:
    support: none
  platform:
    platforms: posix
"""
