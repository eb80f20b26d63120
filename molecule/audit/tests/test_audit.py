"""The audit end to end: stock vs hardened grades, expected failures, live agrees, nothing changed."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from labhosts import lab_host, must_run

STOCK = "rampart-audit-stock"
HARDENED = "rampart-audit-hardened"
REPO = Path(__file__).resolve().parents[3]
EPHEMERAL = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", ""))


def latest_report(host: str) -> dict:
    runs = sorted((EPHEMERAL / "reports" / host).glob("*/report.json"))
    assert runs, f"no report for {host} under {EPHEMERAL / 'reports'}"
    return json.loads(runs[-1].read_text())


def first_report(host: str) -> dict:
    """The converge run's report (side_effect.yml audits again after breaking the hardened host)."""
    runs = sorted((EPHEMERAL / "reports" / host).glob("*/report.json"))
    assert runs, f"no report for {host} under {EPHEMERAL / 'reports'}"
    return json.loads(runs[0].read_text())


def by_id(report: dict) -> dict[str, dict]:
    return {finding["id"]: finding for finding in report["findings"]}


@pytest.fixture(scope="module")
def stock() -> dict:
    return latest_report(STOCK)


@pytest.fixture(scope="module")
def hardened() -> dict:
    return first_report(HARDENED)


def test_every_format_was_written() -> None:
    for host in (STOCK, HARDENED):
        run = sorted((EPHEMERAL / "reports" / host).glob("*/report.json"))[-1].parent
        names = sorted(p.name for p in run.iterdir())
        assert names == ["report.html", "report.json", "report.junit.xml", "report.md", "report.sarif"]
    fleets = sorted((EPHEMERAL / "reports" / "fleet").glob("*/fleet.json"))
    fleet = json.loads(fleets[-1].read_text())
    assert sorted(h["host"] for h in fleet["hosts"]) == [HARDENED, STOCK]


def test_stock_host_scores_low_with_the_expected_failures(stock: dict) -> None:
    assert stock["overall"]["grade"] in ("D", "F"), stock["overall"]
    findings = by_id(stock)
    expected = {"NET-01", "TLS-05", "RDS-02", "HDR-02", "TLS-07", "TLS-09"}
    present = expected & set(findings)
    assert present, f"none of {sorted(expected)} ran (check packs missing?)"
    failed = {i for i in present if findings[i]["status"] == "fail"}
    assert failed == present, {i: findings[i]["status"] for i in present}
    # Stock nginx serves no HTTPS at all, so HSTS cannot be judged there (and the live probe finds 443 closed).
    if "HDR-01" in findings:
        assert findings["HDR-01"]["status"] in ("fail", "not_applicable"), findings["HDR-01"]


def test_hardened_host_scores_high(hardened: dict, stock: dict) -> None:
    assert hardened["overall"]["grade"] in ("A+", "A", "B"), (hardened["overall"], hardened["counts"])
    assert hardened["overall"]["score"] > stock["overall"]["score"]
    findings = by_id(hardened)
    for check_id in ("NET-01", "TLS-05", "HDR-01", "RDS-02"):
        if check_id in findings:
            assert findings[check_id]["status"] == "pass", findings[check_id]


def test_no_log_host_is_an_accepted_exception_not_a_pass(hardened: dict, stock: dict) -> None:
    """The baseline role ran with no log host only because LOG-03 is accepted (prepare.yml)."""
    log03 = by_id(hardened)["LOG-03"]
    assert log03["status"] == "not_applicable", log03
    assert "accepted exception (rampart_baseline_accepted_exceptions[LOG-03])" in log03["message"], log03
    assert "no log collector in this two-host scenario" in log03["message"], log03
    assert log03.get("waived") in (None, {}), log03  # the role's acceptance, not an audit waiver
    # The stock host declares nothing: the same missing shipping is a failure there.
    assert by_id(stock)["LOG-03"]["status"] == "fail", by_id(stock)["LOG-03"]


def test_live_probes_agree_with_the_config(hardened: dict, stock: dict) -> None:
    findings = by_id(hardened)
    live = {i: f for i, f in findings.items() if "live" in f["sources"]}
    for check_id in ("TLS-01", "TLS-02", "HDR-01", "HDR-02", "CRT-01", "CRT-02", "CRT-03", "NET-04", "RDS-03"):
        if check_id in findings:
            assert check_id in live, (check_id, findings[check_id]["sources"])
            assert findings[check_id]["status"] == "pass", findings[check_id]
    stock_findings = by_id(stock)
    if "NET-04" in stock_findings:
        # Stock PostgreSQL and Redis listen on loopback only, so even without a firewall nothing answers.
        assert stock_findings["NET-04"]["status"] == "pass", stock_findings["NET-04"]


def test_the_audit_changed_nothing_under_etc() -> None:
    for name in (STOCK, HARDENED):
        host = lab_host(name)
        before = must_run(host, "cat /root/rampart-etc-before.sha256")
        after = must_run(host, "find /etc -xdev -type f -print0 | sort -z | xargs -0 sha256sum")
        assert before == after, f"{name}: /etc changed during the audit"


def test_min_grade_gate_fails_the_play_and_changes_nothing() -> None:
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    env = dict(os.environ, ANSIBLE_CALLBACKS_ENABLED="rampart.hardening.rampart_score", NO_COLOR="1")
    proc = subprocess.run(
        [
            "ansible-playbook",
            "-i",
            inventory,
            str(REPO / "playbooks" / "audit.yml"),
            "-e",
            "rampart_audit_min_grade=B",
            "-e",
            "rampart_audit_live=false",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )
    out = proc.stdout
    assert proc.returncode == 2, out[-3000:]
    assert re.search(rf"{STOCK}\s*:.*changed=0.*failed=1", out), out[-2000:]
    assert re.search(rf"{HARDENED}\s*:.*changed=0.*failed=0", out), out[-2000:]
    assert "RAMPART AUDIT SCORES" in out
    table = out[out.index("RAMPART AUDIT SCORES") :]
    assert STOCK in table
    assert HARDENED in table


def edge_probe_net04(address: str, port: int, allowed_services: list[dict]) -> dict:
    """Run the edge_probe module from the controller, as audit.yml does, and return its NET-04 result."""
    args = json.dumps({"host": address, "ports": [port], "allowed_services": allowed_services})
    env = dict(os.environ, ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")
    proc = subprocess.run(
        ["ansible", "localhost", "-m", "rampart.hardening.edge_probe", "-a", args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    result = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    return result["live_results"]["NET-04"]


def test_live_net04_excuses_only_a_port_opened_to_the_controller() -> None:
    # A data port (9200, Elasticsearch's) answering on the stock host, which has no firewall:
    # an exposure, unless the firewall intent opens that port to a network the controller is in.
    host = lab_host(STOCK)
    address = must_run(host, "hostname -I").split()[0]
    must_run(host, "systemd-run --unit rampart-fake-search python3 -m http.server --bind 0.0.0.0 9200")
    try:
        must_run(host, "timeout 10 sh -c 'until ss -Htln sport = :9200 | grep -q .; do sleep 0.2; done'")
        lab_network = f"{address.rsplit('.', 1)[0]}.0/24"
        exposed = edge_probe_net04(address, 9200, [])
        allowed = edge_probe_net04(address, 9200, [{"ports": [9200], "sources": [lab_network]}])
        others = edge_probe_net04(address, 9200, [{"ports": ["9000-9300"], "sources": ["192.0.2.0/24"]}])
        anyone = edge_probe_net04(address, 9200, [{"ports": [9200], "sources": ["any"]}])
    finally:
        host.run("systemctl stop rampart-fake-search")
    assert exposed["status"] == "fail", exposed
    assert allowed["status"] == "pass", allowed
    assert f"inside the allowed source {lab_network}" in allowed["evidence"][0]
    assert others["status"] == "fail", others
    assert anyone["status"] == "fail", anyone
