"""Backup facts: the backup role's intent, its timer, and the state its units leave.

The state files are written by rampart-backup (last-success.json), by the OnFailure= unit
(last-failure.json) and by playbooks/restore.yml (last-restore.json); each carries an
``epoch`` (UTC seconds). Secret key material is looked for in files only (GnuPG's
private-keys-v1.d, a legacy secring.gpg, armored private keys, age identities), so the audit
never starts gpg or its agent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts, ProbeError
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.system import Unit, parse_systemctl_show
from ansible_collections.rampart.hardening.plugins.module_utils.probes import intent, parsed, run_checked

DEFAULT_STATE_DIR = "/var/lib/rampart-backup"
DEFAULT_CONF_DIR = "/etc/rampart/backup"
SECRET_MARKERS = ("PRIVATE KEY", "AGE-SECRET-KEY-")
MAX_SCAN_BYTES = 1 << 20
SCAN_DEPTH = 3


@dataclass
class StateRecord:
    """One state file: when it was written (UTC) and what it says."""

    path: str
    time: datetime
    data: dict[str, Any]

    def evidence(self) -> str:
        return f"{self.path}: {self.time.strftime('%Y-%m-%dT%H:%M:%SZ')}"


@dataclass
class BackupFacts:
    intent: dict[str, Any]
    units: dict[str, Unit] = field(default_factory=dict)
    last_success: StateRecord | None = None
    last_failure: StateRecord | None = None
    last_restore: StateRecord | None = None

    @property
    def state_dir(self) -> str:
        return str(self.intent.get("state_dir") or DEFAULT_STATE_DIR)

    @property
    def backup_dir(self) -> str:
        return str(self.intent.get("backup_dir") or "")

    @property
    def timer(self) -> str:
        return str(self.intent.get("timer") or "rampart-backup.timer")

    @property
    def gnupghome(self) -> str:
        return str(self.intent.get("gnupghome") or f"{self.state_dir}/gnupg")


def read_record(facts: Facts, path: str) -> StateRecord | None:
    """A state file with an integer ``epoch``; None when absent, ProbeError when malformed."""
    data = facts.json_file(path)
    if data is None:
        return None
    if not isinstance(data.get("epoch"), int) or isinstance(data.get("epoch"), bool):
        raise ProbeError(f"malformed {path}: expected a JSON object with an integer epoch")
    return StateRecord(path=path, time=datetime.fromtimestamp(data["epoch"], UTC), data=data)


def backup(facts: Facts) -> BackupFacts | None:
    """The backup role's facts, or None when the role declared nothing on this host."""

    def probe() -> BackupFacts | None:
        declared = intent(facts, "backup")
        if not declared:
            return None
        found = BackupFacts(intent=declared)
        out = run_checked(
            facts,
            ("systemctl", "show", "-p", "Id,LoadState,ActiveState,SubState,UnitFileState,Result", found.timer),
        )
        if out is not None:
            found.units = parsed(parse_systemctl_show, out.stdout, "systemctl show output")
        found.last_success = read_record(facts, f"{found.state_dir}/last-success.json")
        found.last_failure = read_record(facts, f"{found.state_dir}/last-failure.json")
        found.last_restore = read_record(facts, f"{found.state_dir}/last-restore.json")
        return found

    return facts.cached("backup", probe)


def _scan_paths(facts: Facts, roots: list[str]) -> list[str]:
    paths: list[str] = []
    for root in roots:
        for depth in range(1, SCAN_DEPTH + 1):
            paths.extend(facts.glob(root.rstrip("/") + "/*" * depth))
            paths.extend(facts.glob(root.rstrip("/") + "/.*" + "/*" * (depth - 1)))
    return list(dict.fromkeys(paths))


def secret_material(facts: Facts, info: BackupFacts) -> list[str]:
    """Files on the host that hold private key material for the backups (should be none)."""
    found: list[str] = []
    private_dir = f"{info.gnupghome}/private-keys-v1.d"
    found.extend(f"{path}: a GnuPG private key" for path in facts.glob(f"{private_dir}/*"))
    legacy = facts.stat(f"{info.gnupghome}/secring.gpg")
    if legacy is not None and legacy.size > 0:
        found.append(f"{legacy.path}: a legacy GnuPG secret keyring")
    for path in _scan_paths(facts, [info.state_dir, DEFAULT_CONF_DIR]):
        st = facts.stat(path)
        if st is None or st.is_dir or st.size > MAX_SCAN_BYTES or path.startswith(private_dir):
            continue
        if path.rsplit("/", 1)[-1].startswith("S."):
            continue  # gpg-agent sockets, not files
        text = facts.read_text(path) or ""
        marker = next((m for m in SECRET_MARKERS if m in text), None)
        if marker:
            found.append(f"{path}: contains {marker.strip('-')}")
    return found
