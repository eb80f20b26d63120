"""Shared pytest fixtures: make the collection importable and build Facts from fixtures."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def _collections_root() -> Path:
    """A directory containing ansible_collections/rampart/hardening -> this working tree."""
    configured = Path(os.environ.get("RAMPART_COLLECTIONS_DIR", REPO_ROOT / ".cache" / "collections"))
    link = configured / "ansible_collections" / "rampart" / "hardening"
    if link.exists() and link.resolve() == REPO_ROOT:
        return configured
    scratch = Path(tempfile.mkdtemp(prefix="rampart-collections-"))
    (scratch / "ansible_collections" / "rampart").mkdir(parents=True)
    (scratch / "ansible_collections" / "rampart" / "hardening").symlink_to(REPO_ROOT)
    return scratch


if "ansible_collections.rampart.hardening" not in sys.modules:
    sys.path.insert(0, str(_collections_root()))

from ansible_collections.rampart.hardening.plugins.module_utils.engine import (  # noqa: E402
    results_from_dicts,
    run_audit,
)
from ansible_collections.rampart.hardening.plugins.module_utils.facts import (  # noqa: E402
    CommandOutput,
    Facts,
    FixtureRunner,
    ProbeError,
)
from ansible_collections.rampart.hardening.plugins.module_utils.model import (  # noqa: E402
    Result,
    failed,
    not_applicable,
    partial,
    passed,
)
from ansible_collections.rampart.hardening.plugins.module_utils.registry import (  # noqa: E402
    RegisteredCheck,
    make_meta,
)

# Written under the fixture root unless a test supplies its own, so owner/group names resolve.
DEFAULT_PASSWD = (
    "root:x:0:0:root:/root:/bin/bash\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    "postgres:x:104:110:PostgreSQL administrator:/var/lib/postgresql:/bin/bash\n"
    "redis:x:105:111::/var/lib/redis:/usr/sbin/nologin\n"
)
DEFAULT_GROUP = "root:x:0:\ndaemon:x:1:\nwww-data:x:33:\nnogroup:x:65534:\npostgres:x:110:\nredis:x:111:\n"

FileSpec = str | bytes | tuple[str | bytes, int]
CommandSpec = CommandOutput | str | tuple[int, str, str]


def _command_output(spec: CommandSpec) -> CommandOutput:
    if isinstance(spec, CommandOutput):
        return spec
    if isinstance(spec, str):
        return CommandOutput(0, spec, "")
    rc, stdout, stderr = spec
    return CommandOutput(rc, stdout, stderr)


def write_tree(root: Path, files: Mapping[str, FileSpec]) -> None:
    """Write files (host path -> content, or (content, mode)) under root."""
    for host_path, spec in files.items():
        content, mode = spec if isinstance(spec, tuple) else (spec, None)
        target = root / host_path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
        if mode is not None:
            target.chmod(mode)


MakeFacts = Callable[..., Facts]


@pytest.fixture
def make_facts(tmp_path: Path) -> MakeFacts:
    """Factory: ``make_facts(commands={argv_tuple: out}, files={path: text}, intent={role: dict})``.

    - commands: argv tuple -> CommandOutput, stdout string (rc 0) or (rc, stdout, stderr).
      Unknown commands return rc 127 (binary missing).
    - files: host path -> content (str/bytes) or (content, mode); written under tmp_path.
    - intent: role -> dict (written as JSON) or str (written verbatim, e.g. malformed JSON).
    - live: check id -> Result from outside-in probes.
    The runner is available as ``facts.runner`` (a FixtureRunner with ``.calls``).
    """

    def factory(
        commands: Mapping[tuple[str, ...], CommandSpec] | None = None,
        files: Mapping[str, FileSpec] | None = None,
        intent: Mapping[str, Any] | None = None,
        live: Mapping[str, Any] | None = None,
    ) -> Facts:
        tree: dict[str, FileSpec] = {
            "/etc/passwd": DEFAULT_PASSWD,
            "/etc/group": DEFAULT_GROUP,
        }
        tree.update(files or {})
        for role, data in (intent or {}).items():
            text = data if isinstance(data, str) else json.dumps(data)
            tree[f"/etc/rampart/intent/{role}.json"] = text
        write_tree(tmp_path, tree)
        runner = FixtureRunner({tuple(k): _command_output(v) for k, v in (commands or {}).items()})
        return Facts(runner=runner, root=str(tmp_path), live=dict(live or {}))

    return factory


def sample_checks() -> list[RegisteredCheck]:
    """A spread of fake checks covering every status, severity, live merging and a waiver."""

    def broken(facts: Facts) -> Result:
        raise ProbeError("psql: could not connect to server: No such file or directory")

    specs = [
        (
            "NET-01",
            "A firewall is active",
            "network",
            "critical",
            lambda f: failed("no nftables ruleset loaded", ["nft list ruleset: (empty)"]),
            "firewall",
            "firewall_rules",
        ),
        (
            "TLS-01",
            "Only TLS 1.2 and 1.3",
            "tls",
            "high",
            lambda f: passed("ssl_protocols TLSv1.2 TLSv1.3", ["nginx -T: ssl_protocols TLSv1.2 TLSv1.3;"]),
            "nginx",
            "nginx_tls",
        ),
        (
            "TLS-07",
            "No version banner",
            "tls",
            "low",
            lambda f: failed("server_tokens is on", ["nginx -T: server_tokens on; <b>&</b>"]),
            "nginx",
            "nginx_tls",
        ),
        (
            "HDR-01",
            "HSTS",
            "http_headers",
            "high",
            lambda f: partial(
                "HSTS max-age=31536000 (below 63072000)", ["Strict-Transport-Security: max-age=31536000"]
            ),
            "nginx",
            "nginx_headers",
        ),
        ("HDR-02", "nosniff", "http_headers", "medium", lambda f: passed("nosniff sent"), None, None),
        (
            "PG-02",
            "No trust auth",
            "postgresql",
            "critical",
            lambda f: passed("no trust lines"),
            "postgresql",
            "postgresql_hba",
        ),
        ("PG-05", "Role attributes", "postgresql", "high", broken, "postgresql", None),
        (
            "RDS-01",
            "Redis bound to loopback",
            "redis",
            "critical",
            lambda f: failed("bind * -::*"),
            "redis",
            "redis_config",
        ),
        ("RDS-03", "NOAUTH from another host", "redis", "critical", lambda f: passed("requirepass set"), "redis", None),
        (
            "CRT-08",
            "OCSP stapling",
            "certificates",
            "info",
            lambda f: not_applicable("no OCSP URL in certificate"),
            None,
            None,
        ),
        (
            "SSH-01",
            "sshd root login",
            "ssh_system",
            "high",
            lambda f: passed("PermitRootLogin prohibit-password"),
            None,
            None,
        ),
    ]
    return [
        RegisteredCheck(
            make_meta(
                cid,
                title,
                cat,
                sev,
                f"Why {cid} matters.",
                f"Fix {cid} | carefully.",
                ("https://ssl-config.mozilla.org/", "CIS 5.2"),
                role,
                tag,
            ),
            fn,
        )
        for cid, title, cat, sev, fn, role, tag in specs
    ]


@pytest.fixture
def sample_check_list() -> list[RegisteredCheck]:
    """The fake checks behind ``sample_report``."""
    return sample_checks()


@pytest.fixture
def sample_report(make_facts) -> dict:
    """A realistic report dict (one of each status, a live override, an applied and an expired waiver)."""

    live = results_from_dicts(
        {
            "RDS-03": {
                "status": "fail",
                "message": "PING from the controller answered +PONG",
                "evidence": ["10.89.0.4:6379 +PONG"],
            }
        }
    )
    waivers = [
        {"id": "RDS-01", "hosts": "web*", "reason": "redis is on an isolated VLAN (SEC-42)", "expires": "2030-01-01"},
        {"id": "TLS-07", "reason": "old exception", "expires": "2020-01-01"},
    ]
    report = run_audit(
        make_facts(live=live),
        waivers=waivers,
        host="web1.example",
        now=datetime(2025, 6, 1, 12, 0, tzinfo=UTC),
        available=sample_checks(),
    )
    return report.to_dict()


# ----- modules and actions as Ansible runs them ------------------------------------------------
ANSIBLE = shutil.which("ansible")


def adhoc(module: str, args: dict, *extra: str) -> dict:
    """Run one module or action on localhost with the real Ansible executor; return its JSON result."""
    if ANSIBLE is None:
        pytest.skip("ansible is not on PATH")
    import ansible_collections  # noqa: PLC0415 - to point Ansible at the collection under test

    collections = next(str(Path(p).parent) for p in ansible_collections.__path__ if (Path(p) / "rampart").exists())
    env = dict(
        os.environ,
        ANSIBLE_COLLECTIONS_PATH=collections,
        ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
        ANSIBLE_PYTHON_INTERPRETER="auto_silent",
        ANSIBLE_NOCOLOR="1",
    )
    proc = subprocess.run(
        [ANSIBLE, "localhost", "-c", "local", "-m", f"rampart.hardening.{module}", "-a", json.dumps(args), *extra],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    # The JSON callback's document comes first; aggregate callbacks enabled by an
    # ansible.cfg (the repo's enables the score table) may print after it.
    data, _unused = json.JSONDecoder().raw_decode(proc.stdout, proc.stdout.index("{"))
    return data["plays"][0]["tasks"][0]["hosts"]["localhost"]
