#!/usr/bin/python
# Copyright: Rampart maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Ansible module (controller side): approve baselines, verify and store evidence, write drift reports."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: evidence_store
short_description: Controller-side store of Rampart drift evidence (approve, collect, report)
version_added: "0.2.0"
description:
  - Runs on the controller (C(delegate_to=localhost)) over the evidence directory, one sub-directory
    per host holding the pinned C(host.pub), the collected C(chain.intoto.jsonl) and the acknowledged
    C(head.json).
  - V(approve) signs a host snapshot with the controller's Ed25519 approval key (a DSSE envelope the
    agent verifies before using it) and writes it to C(baseline.dsse.json).
  - V(collect) verifies the entries pulled from a host (signatures against the pinned key, C(seq), C(prev),
    the link to the acknowledged head) and appends them to the host's chain. Any bad entry fails the
    module naming the host, the entry and why; nothing is stored then.
  - V(report) writes per-host and fleet drift reports (JSON, Markdown, HTML) from the stored chains.
author:
  - Rampart maintainers (@rampart)
extends_documentation_fragment:
  - rampart.hardening.attributes
options:
  action:
    description: What to do.
    type: str
    required: true
    choices: [approve, collect, report]
  evidence_dir:
    description: The controller's evidence directory.
    type: path
    required: true
  host:
    description: The host (its sub-directory). Required for V(approve) and V(collect).
    type: str
  hosts:
    description: Hosts to include in V(report).
    type: list
    elements: str
    default: []
  approval_key:
    description: Controller Ed25519 private key (PEM) that signs approvals (V(approve)).
    type: path
  approved_by:
    description: Who approved (V(approve)).
    type: str
    default: controller
  snapshot:
    description: The snapshot to approve, as printed by C(rampart-agent snapshot) (V(approve)).
    type: dict
  entries:
    description: The chain lines pulled from the host, from the acknowledged head on (V(collect)).
    type: str
    default: ""
  dest:
    description: Directory for the report files (V(report)).
    type: path
attributes:
  check_mode:
    support: full
    description: Verifies and reports what it would store or write; nothing is written.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Verify and store what the host produced since the last acknowledgement
  rampart.hardening.evidence_store:
    action: collect
    evidence_dir: ~/.rampart/evidence
    host: web1
    entries: "{{ pulled.stdout }}"
  delegate_to: localhost
"""

RETURN = r"""
head:
  description: The acknowledged head after V(collect), C({seq, digest}).
  returned: collect
  type: dict
stored:
  description: Number of new entries stored by V(collect).
  returned: collect
  type: int
envelope:
  description: The signed approval (V(approve)).
  returned: approve
  type: dict
files:
  description: Report files written (V(report)).
  returned: report
  type: list
"""

import json
import os
from datetime import UTC, datetime
from typing import Any

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.rampart.hardening.plugins.module_utils import drift_report as rep
from ansible_collections.rampart.hardening.plugins.module_utils import evidence as ev


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _write(path: str, data: bytes, mode: int = 0o600) -> bool:
    if _read(path) == data:
        return False
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    ev.write_atomic(path, data, mode)
    return True


def approve(module: AnsibleModule, host_dir: str) -> dict[str, Any]:
    params = module.params
    snapshot = params["snapshot"] or {}
    if snapshot.get("host") != params["host"]:
        module.fail_json(msg=f"snapshot is of host {snapshot.get('host')!r}, not {params['host']!r}")
    key = ev.load_private_key(params["approval_key"])
    envelope = ev.sign_baseline(snapshot, key, params["approved_by"], datetime.now(UTC).isoformat(timespec="seconds"))
    path = os.path.join(host_dir, "baseline.dsse.json")
    previous = _read(path)
    if previous is not None:
        try:
            old = json.loads(
                ev.verify_envelope(
                    json.loads(previous), ev.load_keyring([ev.public_pem(key.public_key())]), ev.BASELINE_PAYLOAD_TYPE
                )
            )
            if old.get("snapshot") == snapshot:
                return {"changed": False, "envelope": json.loads(previous), "path": path}
        except (ev.EvidenceError, ValueError):
            pass
    if not module.check_mode:
        _write(path, ev.canonical_json(envelope) + b"\n")
    return {"changed": True, "envelope": envelope, "path": path, "digest": ev.digest(ev.canonical_json(snapshot))}


def collect(module: AnsibleModule, host_dir: str) -> dict[str, Any]:
    host = module.params["host"]
    pem = _read(os.path.join(host_dir, "host.pub"))
    if pem is None:
        module.fail_json(msg=f"{host}: no pinned key in {host_dir}/host.pub (run the audit_agent role first)")
    keys = ev.load_keyring([pem])
    head_raw = _read(os.path.join(host_dir, "head.json"))
    anchor = ev.Head.parse(json.loads(head_raw)) if head_raw else None
    text = module.params["entries"]
    data = (text.rstrip("\n") + "\n").encode("utf-8") if text.strip() else b""
    try:
        report = ev.verify_chain(data, keys, anchor)
    except ev.EvidenceError as exc:
        module.fail_json(
            msg=f"{host}: evidence chain FAILED at {exc.describe()}",
            host=host,
            code=exc.code,
            reason=exc.reason,
            seq=exc.seq,
            line=exc.line,
        )
    fresh = [e for e in report.entries if anchor is None or e.seq > anchor.seq]
    head = report.head or anchor
    changed = bool(fresh)
    if changed and not module.check_mode:
        chain_path = os.path.join(host_dir, "chain.intoto.jsonl")
        with open(chain_path, "ab") as handle:
            handle.write(b"".join(e.raw + b"\n" for e in fresh))
            handle.flush()
            os.fsync(handle.fileno())
        _write(os.path.join(host_dir, "head.json"), ev.canonical_json(head.to_dict()) + b"\n")
    return {"changed": changed, "stored": len(fresh), "head": head.to_dict() if head else None}


def _statements(evidence_dir: str, host: str) -> list[dict[str, Any]]:
    host_dir = os.path.join(evidence_dir, host)
    data = _read(os.path.join(host_dir, "chain.intoto.jsonl")) or b""
    pem = _read(os.path.join(host_dir, "host.pub"))
    if not data or pem is None:
        return []
    return [e.statement for e in ev.verify_chain(data, ev.load_keyring([pem])).entries]


def report(module: AnsibleModule) -> dict[str, Any]:
    params = module.params
    dest = params["dest"]
    reports, files, changed = [], [], False
    for host in params["hosts"]:
        try:
            host_report = rep.host_report(host, _statements(params["evidence_dir"], host))
        except ev.EvidenceError as exc:
            module.fail_json(msg=f"{host}: stored chain FAILED at {exc.describe()}")
        reports.append(host_report)
        outputs = {
            f"drift-{host}.json": json.dumps(host_report, indent=2, sort_keys=True) + "\n",
            f"drift-{host}.md": rep.host_markdown(host_report),
            f"drift-{host}.html": rep.host_html(host_report),
        }
        for name, text in outputs.items():
            path = os.path.join(dest, name)
            files.append(path)
            if not module.check_mode:
                changed |= _write(path, text.encode("utf-8"), 0o644)
    fleet = rep.fleet_report(reports, datetime.now(UTC).isoformat(timespec="seconds"))
    fleet_outputs = {
        "drift-fleet.json": json.dumps(
            {k: v for k, v in fleet.items() if k != "generated_at"}, indent=2, sort_keys=True
        )
        + "\n",
        "drift-fleet.md": rep.fleet_markdown(fleet),
        "drift-fleet.html": rep.fleet_html(fleet),
    }
    for name, text in fleet_outputs.items():
        path = os.path.join(dest, name)
        files.append(path)
        if not module.check_mode:
            changed |= _write(path, text.encode("utf-8"), 0o644)
    return {"changed": changed, "files": files, "hosts": fleet["hosts"]}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "action": {"type": "str", "required": True, "choices": ["approve", "collect", "report"]},
            "evidence_dir": {"type": "path", "required": True},
            "host": {"type": "str"},
            "hosts": {"type": "list", "elements": "str", "default": []},
            "approval_key": {"type": "path", "no_log": False},
            "approved_by": {"type": "str", "default": "controller"},
            "snapshot": {"type": "dict"},
            "entries": {"type": "str", "default": ""},
            "dest": {"type": "path"},
        },
        required_if=[
            ("action", "approve", ("host", "approval_key", "snapshot")),
            ("action", "collect", ("host",)),
            ("action", "report", ("dest",)),
        ],
        supports_check_mode=True,
    )
    if ev.CRYPTOGRAPHY_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("cryptography"), exception=str(ev.CRYPTOGRAPHY_IMPORT_ERROR))
    action = module.params["action"]
    if action == "report":
        module.exit_json(**report(module))
    host_dir = os.path.join(module.params["evidence_dir"], module.params["host"])
    result = approve(module, host_dir) if action == "approve" else collect(module, host_dir)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
