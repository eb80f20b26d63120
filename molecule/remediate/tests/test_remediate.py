"""From finding to fix, end to end: break three things, plan, dry run, refuse, apply, verify, roll back.

The tests run in file order and build on each other (one broken state, then its repair). Every
remediation is a real `ansible-playbook playbooks/remediate.yml` against this scenario's inventory;
what it did is judged on the hosts themselves (files, ruleset, a live Redis ACL check) and from the
plan and verdict records it leaves next to the reports.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from labhosts import lab_host, must_run

ROOT = Path(__file__).resolve().parents[3]
PLAYBOOK = ROOT / "playbooks" / "remediate.yml"
EDGE, CACHE = "rampart-remediate-edge", "rampart-remediate-cache"
EPHEMERAL = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
INVENTORY = Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent
REPORTS = EPHEMERAL / "reports"
CHAIN = "/var/lib/rampart/chain/evidence.intoto.jsonl"
CLEAN_GRADE: dict[str, str] = {}  # each host's grade when converged, before the breaks
# The three breaks, and the (check, role, tag) the plan must give for each.
EXPECTED = {
    (EDGE, "TLS-07", "nginx", "nginx"),
    (CACHE, "RDS-04", "redis", "redis_acl"),
    (CACHE, "NET-04", "firewall", "firewall_rules"),
}
# What the roles of each host own, hashed to prove "nothing changed".
OWNED = {EDGE: "/etc/nginx /etc/nftables.conf /etc/rampart", CACHE: "/etc/redis /etc/nftables.conf /etc/rampart"}


def remediate(*extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"}
    result = subprocess.run(
        ["ansible-playbook", "-i", str(INVENTORY), str(PLAYBOOK), *extra],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    (EPHEMERAL / "remediate-last.log").write_text(result.stdout + result.stderr)
    return result


def extra_vars(**values: Any) -> list[str]:
    return ["-e", json.dumps(values)]


def window(start: datetime, hours: int) -> list[dict[str, Any]]:
    """A UTC window opening at ``start`` on its weekday for ``hours`` (may cross midnight)."""
    end = start + timedelta(hours=hours)
    return [{"days": [start.strftime("%a").lower()], "start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}]


def open_now() -> list[dict[str, Any]]:
    return window(datetime.now(UTC) - timedelta(hours=1), 4)


def closed_now() -> list[dict[str, Any]]:
    return window(datetime.now(UTC) + timedelta(hours=6), 2)


def state(name: str) -> str:
    """A digest of everything the host's roles own, plus the live ruleset."""
    host = lab_host(name)
    files = must_run(host, f"find {OWNED[name]} -type f -print0 | sort -z | xargs -0 sha256sum")
    ruleset = must_run(host, "nft -s list ruleset")
    return hashlib.sha256((files + ruleset).encode()).hexdigest()


def latest(host: str, suffix: str) -> dict[str, Any]:
    records = sorted((REPORTS / host / "remediation").glob(f"*-{suffix}.json"))
    assert records, f"no {suffix} record for {host}"
    return json.loads(records[-1].read_text())


def planned() -> set[tuple[str, str, str, str]]:
    return {
        (host, item["check"], item["role"], item["tag"])
        for host in (EDGE, CACHE)
        for item in latest(host, "plan")["items"]
    }


def events() -> list[dict[str, Any]]:
    """The controller's remediation log, one event a line."""
    log = REPORTS / "remediation.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def redis_acl_of_app() -> str:
    return must_run(lab_host(CACHE), "grep -h '^user app ' /etc/redis/*.acl")


def break_all() -> None:
    edge, cache = lab_host(EDGE), lab_host(CACHE)
    must_run(edge, "sed -i 's/server_tokens off;/server_tokens on;/' /etc/nginx/nginx.conf")
    must_run(edge, "nginx -t -q && systemctl reload nginx")
    must_run(cache, "sed -i '/^user app /s/$/ +@all ~*/' /etc/redis/*.acl && systemctl restart redis-server")
    must_run(cache, "nft insert rule inet rampart input tcp dport 6380 accept")


@pytest.fixture(scope="module", autouse=True)
def broken() -> None:
    """The converged, clean hosts audit without anything to fix; then three things are broken by hand."""
    clean = remediate(*extra_vars(rampart_remediate_audit_first=True))
    assert clean.returncode == 0, clean.stdout[-3000:]
    assert planned() == set(), "the converged lab must audit clean in the audited categories"
    for name in (EDGE, CACHE):
        reports = sorted((REPORTS / name).glob("*/report.json"))
        CLEAN_GRADE[name] = json.loads(reports[-1].read_text())["overall"]["grade"]
    break_all()


def test_dry_run_lists_exactly_the_three_breaks_and_changes_nothing() -> None:
    before = {name: state(name) for name in (EDGE, CACHE)}
    result = remediate(*extra_vars(rampart_remediate_audit_first=True))
    assert result.returncode == 0, result.stdout[-3000:]
    assert planned() == EXPECTED
    for host in (EDGE, CACHE):
        plan = latest(host, "plan")
        assert plan["apply"] is False
        assert plan["dry_run"]["rc"] == 0
    # --check --diff of exactly those tags sees every fix, the hand edit of the live /etc/nginx too,
    # and prints its diff.
    assert latest(CACHE, "plan")["dry_run"]["would_change"] > 0
    assert latest(EDGE, "plan")["dry_run"]["would_change"] > 0
    assert "| TLS-07 (low, fail) | role nginx | tag nginx" in result.stdout
    assert re.search(r"-\s+server_tokens on;", result.stdout), result.stdout[-3000:]
    assert re.search(r"\+\s+server_tokens off;", result.stdout), result.stdout[-3000:]
    assert {name: state(name) for name in (EDGE, CACHE)} == before


def test_apply_outside_a_window_is_refused_and_changes_nothing() -> None:
    before = {name: state(name) for name in (EDGE, CACHE)}
    result = remediate(*extra_vars(rampart_remediate_apply=True, rampart_maintenance_windows=closed_now()))
    assert result.returncode != 0
    # ansible-core prints the failure unwrapped on stderr ([ERROR]) and wrapped on stdout.
    assert "not applying, outside every maintenance window; the next window opens" in result.stderr
    assert {name: state(name) for name in (EDGE, CACHE)} == before


def test_an_overridden_fix_whose_health_probe_fails_is_rolled_back_and_recorded() -> None:
    """Edge: a site probe that cannot answer. Cache: the DEFAULT probe, Redis PING logged in as the
    application user, given a wrong password for this run only (the fix itself uses the right one)."""
    started = len(events())
    result = remediate(
        *extra_vars(
            rampart_remediate_apply=True,
            rampart_maintenance_windows=closed_now(),
            rampart_remediate_override="INC-4711 lab test",
            rampart_remediate_checks=["TLS-07", "RDS-04"],
            rampart_remediate_health={"nginx": ["curl -skf -o /dev/null https://127.0.0.1:4443/"]},
            rampart_redis_users=[{"name": "app", "password": "Not-the-app-password-0123456789"}],
        )
    )
    assert result.returncode != 0
    assert "ROLLED BACK" in result.stderr
    # The snapshots came back: server_tokens is on again, the app user has +@all again.
    assert "server_tokens on;" in must_run(lab_host(EDGE), "cat /etc/nginx/nginx.conf")
    must_run(lab_host(EDGE), "nginx -t -q && systemctl is-active --quiet nginx")
    assert "+@all" in redis_acl_of_app()
    must_run(lab_host(CACHE), "systemctl is-active --quiet redis-server")
    new = events()[started:]
    for host in (EDGE, CACHE):
        mine = [event for event in new if event["host"] == host]
        assert [event["event"] for event in mine] == ["planned", "override", "rollback"], mine
        assert mine[1]["override"] == "INC-4711 lab test"
    (edge,) = [event for event in new if (event["host"], event["event"]) == (EDGE, "rollback")]
    assert edge["failed_health_probes"] == ["curl -skf -o /dev/null https://127.0.0.1:4443/"]
    (cache,) = [event for event in new if (event["host"], event["event"]) == (CACHE, "rollback")]
    # Only the app-user login failed: the service itself was up.
    assert len(cache["failed_health_probes"]) == 1, cache
    assert "redis-cli" in cache["failed_health_probes"][0]
    assert "--user app PING" in cache["failed_health_probes"][0]
    assert "Not-the-app-password" not in json.dumps(new)


def test_apply_inside_a_window_fixes_all_three_and_the_grade_comes_back() -> None:
    result = remediate(*extra_vars(rampart_remediate_apply=True, rampart_maintenance_windows=open_now()))
    assert result.returncode == 0, result.stdout[-3000:]
    # No dry run before the apply: the apply itself ran with --diff and printed what it changed.
    assert [latest(host, "plan")["dry_run"]["rc"] for host in (EDGE, CACHE)] == [None, None]
    assert re.search(r"-\s+server_tokens on;", result.stdout), result.stdout[-3000:]
    assert re.search(r"\+\s+server_tokens off;", result.stdout), result.stdout[-3000:]
    for host in (EDGE, CACHE):
        verdict = latest(host, "verdict")
        assert verdict["ok"], verdict
        assert verdict["still_failing"] == []
        assert verdict["worse"] == []
    assert set(latest(EDGE, "verdict")["fixed"]) == {"TLS-07"}
    assert set(latest(CACHE, "verdict")["fixed"]) == {"RDS-04", "NET-04"}
    # On the hosts: the banner is off again, the app user lost +@all, the extra rule is gone.
    assert "server_tokens off;" in must_run(lab_host(EDGE), "cat /etc/nginx/nginx.conf")
    assert "+@all" not in redis_acl_of_app()
    # (the declared rule, `ip saddr 10.0.0.0/8 tcp dport 6380 accept`, stays)
    rules = [line.strip() for line in must_run(lab_host(CACHE), "nft list chain inet rampart input").splitlines()]
    assert [rule for rule in rules if rule.startswith("tcp dport 6380 accept")] == [], rules
    assert [rule for rule in rules if "saddr 10.0.0.0/8 tcp dport 6380 accept" in rule] != [], rules
    # The health probes ran, and the app user's Redis login (PING with the generated password) passed.
    probes = latest(CACHE, "verdict")["health_probes"]
    assert [probe for probe in probes if "--user app PING" in probe] != [], probes
    assert set(probes.values()) == {0}, probes
    # A fresh dry run finds nothing left to fix.
    again = remediate()
    assert again.returncode == 0
    assert planned() == set()


def chain_of(name: str) -> list[dict[str, Any]]:
    """The host's evidence chain, verified on the controller against the key pinned at install."""
    text = must_run(lab_host(name), f"cat {CHAIN}")
    path = EPHEMERAL / f"{name}-chain.jsonl"
    path.write_text(text)
    env = {**os.environ, "PYTHONPATH": os.environ["ANSIBLE_COLLECTIONS_PATH"].split(":")[0]}
    verified = subprocess.run(
        [
            sys.executable,
            "-m",
            "ansible_collections.rampart.hardening.plugins.module_utils.verify",
            str(path),
            "--key",
            str(EPHEMERAL / "evidence" / name / "host.pub"),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    return [json.loads(base64.b64decode(json.loads(line)["payload"]))["predicate"] for line in text.splitlines()]


def test_every_step_is_in_the_hosts_signed_evidence_chain() -> None:
    for name, checks in ((EDGE, {"TLS-07"}), (CACHE, {"RDS-04", "NET-04"})):
        # This run's records (a re-run of verify on live containers appends to the same chains).
        records = [p for p in chain_of(name) if str(p.get("result", "")).startswith("REMEDIATION_")][-7:]
        results = [p["result"] for p in records]
        # dry run; refusal; override run (planned, override, rollback); apply in the window (planned, applied)
        assert results == [
            "REMEDIATION_PLANNED",
            "REMEDIATION_REFUSED",
            "REMEDIATION_PLANNED",
            "REMEDIATION_OVERRIDE",
            "REMEDIATION_ROLLBACK",
            "REMEDIATION_PLANNED",
            "REMEDIATION_APPLIED",
        ], results
        planned_first, refused, rollback, applied = records[0], records[1], records[4], records[6]
        assert set(planned_first["remediation"]["checks"]) == checks
        assert planned_first["remediation"]["would_change"] is True
        assert refused["remediation"]["window"].startswith("outside every maintenance window")
        assert rollback["remediation"]["failed_health_probes"] != []
        assert rollback["remediation"]["override"] == "INC-4711 lab test"
        event = applied["remediation"]
        assert set(event["checks"]) == set(event["fixed"]) == checks
        # before -> after: from the broken state's grade back to the converged host's.
        assert event["grade_before"] == planned_first["remediation"]["grade_before"]
        assert event["grade_after"] == CLEAN_GRADE[name], (event, CLEAN_GRADE)
        assert float(event["score_after"]) > float(event["score_before"]), event
