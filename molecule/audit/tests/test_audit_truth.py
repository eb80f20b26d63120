"""The audit never looks better when it sees less (issue 14, section 1).

side_effect.yml broke the role-converged host without reloading anything: an nginx site on
disk that nginx -t refuses (RSA-1024 key, TLSv1), a pg_hba.conf line PostgreSQL rejects,
and the superuser's password set to 'postgres', reachable only over TCP loopback. It then
audited with playbooks/audit.yml and put the host back. These tests read both reports of
the hardened host (converge: healthy, side_effect: broken) and the /etc records taken
around the broken audit.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from labhosts import lab_host, must_run

HARDENED = "rampart-audit-hardened"
EPHEMERAL = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", ""))


def report(kind: str, host: str, which: int) -> dict:
    runs = sorted((EPHEMERAL / kind / host).glob("*/report.json"))
    assert runs, f"no report for {host} under {EPHEMERAL / kind}"
    return json.loads(runs[which].read_text())


@pytest.fixture(scope="module")
def healthy() -> dict:
    """The converge run's report (the roles' result)."""
    return report("reports", HARDENED, 0)


@pytest.fixture(scope="module")
def broken() -> dict:
    """side_effect.yml's audit of the broken host (its own report directory)."""
    return report("reports-broken", HARDENED, -1)


def finding(report: dict, check_id: str) -> dict:
    found = [f for f in report["findings"] if f["id"] == check_id]
    assert found, f"{check_id} missing from the report"
    return found[0]


def test_reports_use_the_v2_model(healthy: dict, broken: dict) -> None:
    assert healthy["scoring_model"] == broken["scoring_model"] == "rampart-score/2"


def test_the_grade_drops(healthy: dict, broken: dict) -> None:
    grades = ["F", "D", "C", "B", "A", "A+"]
    assert broken["overall"]["score"] < healthy["overall"]["score"], (broken["overall"], healthy["overall"])
    assert grades.index(broken["overall"]["grade"]) <= grades.index(healthy["overall"]["grade"])
    tls_before, tls_after = healthy["categories"]["tls"]["score"], broken["categories"]["tls"]["score"]
    assert tls_after < tls_before, (tls_before, tls_after)
    assert broken["categories"]["postgresql"]["score"] < healthy["categories"]["postgresql"]["score"]


def test_nginx_validation_failure_is_a_finding_with_nginx_message(healthy: dict, broken: dict) -> None:
    assert finding(healthy, "TLS-11")["status"] == "pass"
    tls11 = finding(broken, "TLS-11")
    assert tls11["status"] == "fail", tls11
    assert tls11["severity"] == "high"
    evidence = " ".join(tls11["evidence"])
    assert "[emerg]" in evidence, tls11
    assert "legacy" in tls11["message"] or "key too small" in tls11["message"], tls11


def test_the_files_on_disk_are_still_judged(broken: dict) -> None:
    """The nginx checks judged the refused tree (no blanket errors): its TLSv1 and its weak key."""
    tls01 = finding(broken, "TLS-01")
    assert tls01["status"] == "fail", tls01
    assert "legacy.audit.test" in " ".join([tls01["message"], *tls01["evidence"]]), tls01
    crt04 = finding(broken, "CRT-04")
    assert crt04["status"] == "fail", crt04
    assert "RSA 1024" in " ".join([crt04["message"], *crt04["evidence"]]), crt04
    nginx_errors = [f["id"] for f in broken["findings"] if f["category"] == "tls" and f["status"] == "error"]
    assert nginx_errors == [], nginx_errors


def test_rejected_hba_line_is_a_finding_and_the_rest_is_judged(broken: dict) -> None:
    pg10 = finding(broken, "PG-10")
    assert pg10["status"] == "fail", pg10
    assert "scram" in pg10["message"], pg10
    for check_id in ("PG-01", "PG-03", "PG-04"):
        assert finding(broken, check_id)["status"] != "error", finding(broken, check_id)


def test_local_only_default_password_is_found(healthy: dict, broken: dict) -> None:
    assert finding(healthy, "SEC-05")["status"] == "pass", finding(healthy, "SEC-05")
    sec05 = finding(broken, "SEC-05")
    assert sec05["status"] == "fail", sec05
    assert "postgres/postgres via tcp 127.0.0.1:5432: accepted" in " ".join([sec05["message"], *sec05["evidence"]])


def test_the_audit_of_the_broken_host_changed_nothing() -> None:
    host = lab_host(HARDENED)
    for suffix in ("sha256", "mtimes"):
        before = must_run(host, f"cat /root/rampart-broken-before.{suffix}")
        after = must_run(host, f"cat /root/rampart-broken-after.{suffix}")
        assert before.strip(), suffix
        assert before == after, f"/etc changed during the audit ({suffix})"
    pids_before = must_run(host, "cat /root/rampart-broken-pids-before").split()
    pids_after = must_run(host, "cat /root/rampart-broken-pids").split()
    assert len(pids_before) == 2
    assert pids_before == pids_after, "the audit restarted nginx or PostgreSQL"
