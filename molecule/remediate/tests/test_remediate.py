"""From finding to fix, end to end: break three things, plan, dry run, refuse, apply, verify, roll back.

The tests run in file order and build on each other (one broken state, then its repair). Every
remediation is a real `ansible-playbook playbooks/remediate.yml` against this scenario's inventory;
what it did is judged on the hosts themselves (files, ruleset, a live Redis ACL check) and from the
plan and verdict records it leaves next to the reports.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
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
    # --check --diff of exactly those tags sees the fix. (The nginx role's check mode cannot see a
    # hand edit of /etc/nginx: it compares only its staging tree, the install step is skipped.)
    assert latest(CACHE, "plan")["dry_run"]["would_change"] > 0
    assert "| TLS-07 (low, fail) | role nginx | tag nginx" in result.stdout
    assert {name: state(name) for name in (EDGE, CACHE)} == before


def test_apply_outside_a_window_is_refused_and_changes_nothing() -> None:
    before = {name: state(name) for name in (EDGE, CACHE)}
    result = remediate(*extra_vars(rampart_remediate_apply=True, rampart_maintenance_windows=closed_now()))
    assert result.returncode != 0
    # ansible-core prints the failure unwrapped on stderr ([ERROR]) and wrapped on stdout.
    assert "not applying, outside every maintenance window; the next window opens" in result.stderr
    assert {name: state(name) for name in (EDGE, CACHE)} == before


def test_an_overridden_fix_whose_health_probe_fails_is_rolled_back_and_recorded() -> None:
    result = remediate(
        *extra_vars(
            rampart_remediate_apply=True,
            rampart_maintenance_windows=closed_now(),
            rampart_remediate_override="INC-4711 lab test",
            rampart_remediate_checks=["TLS-07"],
            rampart_remediate_health={"nginx": ["curl -skf -o /dev/null https://127.0.0.1:4443/"]},
        )
    )
    assert result.returncode != 0
    assert "ROLLED BACK" in result.stderr
    # The snapshot came back: server_tokens is on again (the broken state the fix started from).
    assert "server_tokens on;" in must_run(lab_host(EDGE), "cat /etc/nginx/nginx.conf")
    must_run(lab_host(EDGE), "nginx -t -q && systemctl is-active --quiet nginx")
    events = [json.loads(line) for line in (REPORTS / "remediation.log").read_text().splitlines()]
    assert (events[-2]["event"], events[-2]["override"]) == ("override", "INC-4711 lab test")
    assert events[-1]["event"] == "rollback"
    assert events[-1]["host"] == EDGE
    assert events[-1]["failed_health_probes"] == ["curl -skf -o /dev/null https://127.0.0.1:4443/"]


def test_apply_inside_a_window_fixes_all_three_and_the_grade_comes_back() -> None:
    result = remediate(*extra_vars(rampart_remediate_apply=True, rampart_maintenance_windows=open_now()))
    assert result.returncode == 0, result.stdout[-3000:]
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
    assert "dport 6380 accept" not in must_run(lab_host(CACHE), "nft list chain inet rampart input")
    # A fresh dry run finds nothing left to fix.
    again = remediate()
    assert again.returncode == 0
    assert planned() == set()
