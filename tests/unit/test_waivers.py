"""Waivers: scope by host pattern, expiry (inclusive), validation, effect on the score."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ansible_collections.rampart.hardening.plugins.module_utils.engine import AuditConfigError, run_audit
from ansible_collections.rampart.hardening.plugins.module_utils.model import failed, passed
from ansible_collections.rampart.hardening.plugins.module_utils.registry import RegisteredCheck, make_meta

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def checks() -> list[RegisteredCheck]:
    return [
        RegisteredCheck(
            make_meta("RDS-01", "Redis bound", "redis", "critical", "r", "f"), lambda f: failed("bound to *")
        ),
        RegisteredCheck(make_meta("RDS-05", "Redis cmds", "redis", "high", "r", "f"), lambda f: passed("ok")),
    ]


def audit(facts, waivers, host="db1.prod"):
    return run_audit(facts, waivers=waivers, host=host, now=NOW, available=checks()).to_dict()


def test_unwaived_critical_caps_the_score(make_facts) -> None:
    data = audit(make_facts(), [])
    assert data["categories"]["redis"]["score"] == 3.3  # C fail 0 + H pass 5 = 5 of 15 -> 3.3
    assert data["overall"]["grade"] == "F"


def test_waiver_turns_fail_into_not_applicable_and_lifts_the_cap(make_facts) -> None:
    waiver = {"id": "RDS-01", "hosts": "db*.prod", "reason": "isolated VLAN, ticket SEC-12", "expires": "2025-06-01"}
    data = audit(make_facts(), [waiver])
    finding = next(f for f in data["findings"] if f["id"] == "RDS-01")
    assert finding["status"] == "not_applicable"
    assert finding["waived"] == {"reason": "isolated VLAN, ticket SEC-12", "expires": "2025-06-01"}
    assert finding["waived_status"] == "fail"
    # Only RDS-05 (high, pass) is scored now: 10.0, and no failed critical remains.
    assert data["categories"]["redis"]["score"] == 10.0
    assert data["overall"] == {"score": 10.0, "grade": "A+", "capped_by": None, "incomplete": False, "unjudged": 0}
    assert data["waivers"] == [{**waiver, "state": "applied"}]


def test_expired_waiver_is_ignored_and_reported(make_facts) -> None:
    waiver = {"id": "RDS-01", "reason": "temporary", "expires": "2025-05-31"}
    data = audit(make_facts(), [waiver])
    assert next(f for f in data["findings"] if f["id"] == "RDS-01")["status"] == "fail"
    assert data["waivers"][0]["state"] == "expired"
    assert data["waivers"][0]["hosts"] == "*"
    assert data["overall"]["grade"] == "F"


def test_waiver_for_another_host_is_unused(make_facts) -> None:
    waiver = {"id": "RDS-01", "hosts": "web*", "reason": "x", "expires": "2030-01-01"}
    data = audit(make_facts(), [waiver])
    assert next(f for f in data["findings"] if f["id"] == "RDS-01")["status"] == "fail"
    assert data["waivers"][0]["state"] == "unused"


@pytest.mark.parametrize(
    ("waiver", "message"),
    [
        ({"id": "RDS-01", "expires": "2030-01-01"}, "'reason' is required"),
        ({"id": "RDS-01", "reason": "x", "expires": "next year"}, "'expires' must be a date YYYY-MM-DD"),
        ({"reason": "x", "expires": "2030-01-01"}, "'id' is required"),
        ({"id": "RDS-01", "reason": "x", "expires": "2030-01-01", "until": 1}, "unknown keys until"),
        ("RDS-01", "expected a mapping"),
    ],
)
def test_malformed_waivers_are_rejected(make_facts, waiver, message) -> None:
    with pytest.raises(AuditConfigError, match=message):
        audit(make_facts(), [waiver])
