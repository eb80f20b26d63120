# Copyright: Rampart maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Action plugin: write the fleet report (fleet.json, fleet.html) of an audit run on the controller."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.rampart.hardening.plugins.module_utils.render.fleet import build_fleet, render_fleet_html

ARGUMENT_SPEC: dict[str, Any] = {
    "report_dir": {"type": "path", "required": True},
    "timestamp": {"type": "str", "required": True},
    "reports": {"type": "list", "elements": "dict"},
    "hosts": {"type": "list", "elements": "str"},
    "result_var": {"type": "str", "default": "rampart_audit"},
    "link": {"type": "str", "default": "../../{host}/{timestamp}/report.html"},
    "compare_to": {"type": "path"},
}


def collect_reports(hostvars: Mapping[str, Any], hosts: Iterable[str], result_var: str) -> list[dict[str, Any]]:
    """The ``report`` of each host's registered audit result (hosts without one are left out)."""
    reports = []
    for host in hosts:
        try:
            registered = hostvars[host].get(result_var)
        except KeyError:
            continue
        report = registered.get("report") if isinstance(registered, Mapping) else None
        if isinstance(report, Mapping):
            reports.append(dict(report))
    return reports


def load_previous(path: str) -> dict[str, Any]:
    """An earlier fleet.json (or the fleet directory holding it), labelled with its run."""
    file = os.path.join(path, "fleet.json") if os.path.isdir(path) else path
    try:
        with open(file, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        raise AnsibleActionFail(f"audit_fleet: cannot read the fleet report to compare with ({file}): {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("hosts"), list):
        raise AnsibleActionFail(f"audit_fleet: {file} is not a Rampart fleet report")
    data.setdefault("label", f"run {os.path.basename(os.path.dirname(os.path.abspath(file)))}")
    return data


def write_text(path: str, text: str) -> None:
    """Atomically replace ``path`` (mode 0640)."""
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".rampart-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o640)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_fleet(fleet: Mapping[str, Any], dest: str, dry_run: bool) -> list[str]:
    """fleet.json and fleet.html under ``dest``; nothing is written with ``dry_run``."""
    files = {
        os.path.join(dest, "fleet.json"): json.dumps(fleet, indent=2) + "\n",
        os.path.join(dest, "fleet.html"): render_fleet_html(fleet),
    }
    if not dry_run:
        os.makedirs(dest, mode=0o750, exist_ok=True)
        for path, text in files.items():
            write_text(path, text)
    return sorted(files)


class ActionModule(ActionBase):
    """Aggregate the hosts' reports of this run into the fleet page; optionally compare with an earlier run."""

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        _unused, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        reports = args["reports"]
        if reports is None:
            hosts = args["hosts"] if args["hosts"] is not None else task_vars.get("ansible_play_hosts_all", [])
            reports = collect_reports(task_vars.get("hostvars", {}), hosts, args["result_var"])
        links = {
            str(r.get("host", "")): args["link"]
            .replace("{host}", str(r.get("host", "")))
            .replace("{timestamp}", args["timestamp"])
            for r in reports
        }
        previous = load_previous(args["compare_to"]) if args["compare_to"] else None
        fleet = build_fleet(reports, links, previous)
        dest = os.path.join(args["report_dir"], "fleet", args["timestamp"])
        try:
            written = write_fleet(fleet, dest, bool(self._task.check_mode))
        except OSError as exc:
            raise AnsibleActionFail(f"cannot write the fleet report under {dest}: {exc}") from exc
        return {**result, "changed": False, "fleet": fleet, "written": written}
