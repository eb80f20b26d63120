# Copyright: Rampart maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Action plugin: audit one host with one call on it; probe, merge and write its reports on the controller."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure
from ansible.plugins.action import ActionBase

from ansible_collections.rampart.hardening.plugins.module_utils.engine import AuditConfigError, parse_waivers
from ansible_collections.rampart.hardening.plugins.module_utils.live_merge import ReportShapeError, finish_report
from ansible_collections.rampart.hardening.plugins.module_utils.render.formats import FILENAMES, write_reports
from ansible_collections.rampart.hardening.plugins.module_utils.scoring import GRADE_ORDER, grade_at_least
from ansible_collections.rampart.hardening.plugins.modules.edge_probe import ARGUMENT_SPEC as EDGE_SPEC
from ansible_collections.rampart.hardening.plugins.modules.edge_probe import probe
from ansible_collections.rampart.hardening.plugins.modules.security_audit import ARGUMENT_SPEC as AUDIT_SPEC

AUDIT_MODULE = "rampart.hardening.security_audit"
# Connections whose ansible_host is not an address the controller can reach the host at.
LOCAL_CONNECTIONS = re.compile(r"podman|docker|lxd|chroot|local|buildah|nspawn")
AUDIT_OPTIONS = ("host_label", "categories", "checks", "skip_checks", "custom_checks", "intent_dir")
PROBE_OPTIONS = ("tls_endpoints", "urls", "redirect_names", "ports", "rate_limit", "ca_file", "tls_ciphers", "timeout")

ARGUMENT_SPEC: dict[str, Any] = {
    **{name: AUDIT_SPEC[name] for name in (*AUDIT_OPTIONS, "waivers")},
    **{name: EDGE_SPEC[name] for name in PROBE_OPTIONS},
    "min_grade": {"type": "str", "choices": list(GRADE_ORDER)},
    "live": {"type": "bool", "default": True},
    "address": {"type": "str"},
    "allowed_services": {"type": "list", "elements": "dict"},
    "report_dir": {"type": "path"},
    "timestamp": {"type": "str"},
    "formats": {"type": "list", "elements": "str", "choices": list(FILENAMES), "default": list(FILENAMES)},
}
SAFE_SEGMENT = re.compile(r"^[A-Za-z0-9._@+:-]+$")
RETRY_DELAY = 2.0


def probe_address(
    connection: str, override: str | None, reported: str | None, ansible_host: str | None, name: str
) -> str | None:
    """Where the controller reaches the host: an explicit address, else what the host reports for
    container-like connections, else ansible_host / the inventory name."""
    if override:
        return override
    if LOCAL_CONNECTIONS.search(connection or ""):
        return reported
    return ansible_host or name


def tls_endpoints(endpoints: Sequence[Mapping[str, Any]], fingerprints: Sequence[str]) -> list[dict[str, Any]]:
    """The endpoints with the on-disk fingerprint to compare against, when there is exactly one."""
    extra = {"expected_fingerprint": fingerprints[0]} if len(fingerprints) == 1 else {}
    return [{**endpoint, **{k: v for k, v in extra.items() if not endpoint.get(k)}} for endpoint in endpoints]


def summary(report: Mapping[str, Any], min_grade: str | None) -> dict[str, Any]:
    """The keys security_audit returns next to its report, computed from the finished report."""
    overall = report["overall"]
    return {
        "score": overall["score"],
        "grade": overall["grade"],
        "categories": {name: cat["score"] for name, cat in report["categories"].items()},
        "failed_checks": [f["id"] for f in report["findings"] if f["status"] == "fail"],
        "errors": report["errors"],
        "passed_min_grade": grade_at_least(overall["grade"], min_grade) if min_grade else None,
    }


def report_path(report_dir: str, host: str, timestamp: str) -> str:
    """``<report_dir>/<host>/<timestamp>``; both names must be single path segments."""
    for what, value in (("host", host), ("timestamp", timestamp)):
        if not SAFE_SEGMENT.match(value) or value in (".", ".."):
            raise AnsibleActionFail(f"audit_host: {what} {value!r} cannot be used as a directory name")
    return os.path.join(report_dir, host, timestamp)


class ActionModule(ActionBase):
    """Audit the host (one module call), probe it from here, merge, write every report format."""

    TRANSFERS_FILES = False
    _requires_connection = True

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        _unused, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        name = str(task_vars.get("inventory_hostname", ""))
        args["host_label"] = args["host_label"] or name
        try:
            parse_waivers(args["waivers"])  # fail before touching the host
        except AuditConfigError as exc:
            raise AnsibleActionFail(str(exc)) from exc
        if args["formats"] and not (args["report_dir"] and args["timestamp"]):
            raise AnsibleActionFail("audit_host: report_dir and timestamp are required to write reports")

        audit = self._audit(args, task_vars)
        if audit.get("failed"):
            return {**result, **audit}
        probe_facts = audit.get("probe_facts") or {}
        live_results: dict[str, Any] = {}
        address = None
        if args["live"]:
            address = probe_address(
                str(task_vars.get("ansible_connection") or self._connection.transport),
                args["address"],
                probe_facts.get("address"),
                task_vars.get("ansible_host"),
                name,
            )
            if not address:
                raise AnsibleActionFail(
                    f"{name}: no address to probe it from the controller (the host has no default route); "
                    "set rampart_audit_address, or rampart_audit_live=false"
                )
            live_results = self._probe(args, address, probe_facts)
        try:
            report = finish_report(audit["report"], live_results, args["waivers"])
        except (AuditConfigError, ReportShapeError) as exc:
            raise AnsibleActionFail(f"{name}: {exc}") from exc

        written: list[str] = []
        if args["formats"]:
            dest = report_path(args["report_dir"], args["host_label"], args["timestamp"])
            try:
                written, _unused = write_reports(report, args["formats"], dest, dry_run=bool(self._task.check_mode))
            except OSError as exc:
                raise AnsibleActionFail(f"cannot write the reports of {name} under {dest}: {exc}") from exc
        # Reports are the audit's output on the controller, not a change to the audited host.
        return {
            **result,
            "changed": False,
            "report": report,
            **summary(report, args["min_grade"]),
            "probe_address": address,
            "live_checks": sorted(live_results),
            "written": written,
        }

    def _audit(self, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        module_args = {key: args[key] for key in AUDIT_OPTIONS if args[key] is not None}
        module_args["probe_facts"] = bool(args["live"])
        try:
            return self._execute_module(module_name=AUDIT_MODULE, module_args=module_args, task_vars=task_vars)
        except AnsibleConnectionFailure as exc:
            # One retry: on a loaded controller a container runtime's exec sometimes fails once
            # (podman exec exit 255 while 20+ execs run at once). A host that is really down fails again.
            self._display.vvv(
                f"audit_host: connection failed ({exc}); retrying once", host=task_vars.get("inventory_hostname")
            )
            time.sleep(RETRY_DELAY)
            self._connection._shell.tmpdir = None
            return self._execute_module(module_name=AUDIT_MODULE, module_args=module_args, task_vars=task_vars)

    def _probe(self, args: dict[str, Any], address: str, probe_facts: Mapping[str, Any]) -> dict[str, Any]:
        services = args["allowed_services"]
        params = {
            **{key: args[key] for key in PROBE_OPTIONS},
            "host": address,
            "tls_endpoints": tls_endpoints(args["tls_endpoints"], probe_facts.get("fingerprints") or []),
            "allowed_services": services if services is not None else probe_facts.get("firewall_services") or [],
        }
        if probe_facts.get("ssh_port"):  # SSH-03 live: ssh-audit against the port sshd reports
            params["ssh_port"] = probe_facts["ssh_port"]
        try:
            return probe(params)
        except ValueError as exc:
            raise AnsibleActionFail(f"edge probe of {address}: {exc}") from exc
