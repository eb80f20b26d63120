"""From finding to fix: plan selection, waivers, before -> after verdicts, and the filters."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.rampart.hardening.plugins.filter.maintenance import maintenance_window
from ansible_collections.rampart.hardening.plugins.filter.remediation import remediation_compare, remediation_plan
from ansible_collections.rampart.hardening.plugins.module_utils.remediation import (
    RemediationConfigError,
    build_plan,
    compare,
    parse_selection,
)

REPORT = json.loads((Path(__file__).resolve().parent / "fixtures" / "report_models" / "report-v1.json").read_text())


def finding(check_id: str, status: str, **extra: Any) -> dict[str, Any]:
    data = {
        "id": check_id,
        "title": f"title of {check_id}",
        "category": "nginx",
        "severity": "high",
        "status": status,
        "fix_role": "nginx",
        "fix_tag": "nginx_headers",
        "waived": None,
    }
    data.update(extra)
    return data


def report(*findings: dict[str, Any], grade: str = "B") -> dict[str, Any]:
    return {"host": "edge1", "overall": {"grade": grade, "score": 80}, "findings": list(findings)}


def test_plan_of_the_fixture_report_lists_failed_and_error_checks_with_their_fix() -> None:
    plan = build_plan(REPORT)
    planned = {(item.check, item.status) for item in plan.items}
    expected = {
        (f["id"], f["status"])
        for f in REPORT["findings"]
        if f["status"] in {"fail", "error"} and f["fix_role"] and not f["waived"]
    }
    assert planned == expected
    assert plan.host == REPORT["host"]
    assert ("NET-01", "fail") in planned
    net = next(item for item in plan.items if item.check == "NET-01")
    assert (net.role, net.tag) == ("firewall", "firewall_rules")


def test_passing_partial_and_not_applicable_are_not_planned_by_default() -> None:
    rep = report(finding("A-1", "pass"), finding("A-2", "partial"), finding("A-3", "not_applicable"))
    assert build_plan(rep).items == []
    partial = build_plan(rep, parse_selection(statuses=["partial"]))
    assert [item.check for item in partial.items] == ["A-2"]


def test_waived_findings_are_never_planned() -> None:
    rep = report(finding("A-1", "fail", waived={"reason": "accepted"}), finding("A-2", "fail"))
    assert [item.check for item in build_plan(rep).items] == ["A-2"]


def test_a_check_without_a_tag_is_fixed_by_the_role_tag_and_without_a_role_is_unfixable() -> None:
    rep = report(finding("A-1", "fail", fix_tag=None), finding("A-2", "error", fix_role=None, fix_tag=None))
    plan = build_plan(rep)
    assert [(item.check, item.role, item.tag) for item in plan.items] == [("A-1", "nginx", "nginx")]
    assert plan.unfixable == ["A-2"]


def test_selection_by_id_pattern_category_and_severity() -> None:
    rep = report(
        finding("NGX-01", "fail"),
        finding("NGX-02", "fail", severity="low"),
        finding("RDS-01", "fail", category="redis", fix_role="redis", fix_tag="redis_acl", severity="critical"),
    )
    assert [i.check for i in build_plan(rep, parse_selection(checks=["NGX-*"])).items] == ["NGX-01", "NGX-02"]
    assert [i.check for i in build_plan(rep, parse_selection(checks="RDS-01,NGX-02")).items] == ["NGX-02", "RDS-01"]
    assert [i.check for i in build_plan(rep, parse_selection(categories=["redis"])).items] == ["RDS-01"]
    by_severity = build_plan(rep, parse_selection(severities=["critical", "high"]))
    assert [i.check for i in by_severity.items] == ["NGX-01", "RDS-01"]
    assert by_severity.roles == ["nginx", "redis"]
    assert by_severity.tags == ["nginx_headers", "redis_acl"]


def test_tags_are_listed_once() -> None:
    plan = build_plan(report(finding("NGX-01", "fail"), finding("NGX-02", "fail")))
    assert plan.tags == ["nginx_headers"]
    assert plan.to_dict()["checks"] == ["NGX-01", "NGX-02"]


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [({"severities": ["urgent"]}, "urgent"), ({"statuses": ["broken"]}, "broken"), ({"checks": {"a": 1}}, "list")],
)
def test_malformed_selection_names_the_bad_value(kwargs: dict[str, Any], needle: str) -> None:
    with pytest.raises(RemediationConfigError, match=needle):
        parse_selection(**kwargs)


def test_malformed_report_is_refused() -> None:
    with pytest.raises(RemediationConfigError, match="findings"):
        build_plan({"host": "x"})
    with pytest.raises(AnsibleFilterError, match="findings"):
        remediation_plan("not a report")


def test_compare_fixed_still_failing_and_worse() -> None:
    before = report(finding("A-1", "fail"), finding("A-2", "fail"), finding("A-3", "pass"), grade="C")
    fixed = report(finding("A-1", "pass"), finding("A-2", "fail"), finding("A-3", "pass"), grade="B")
    verdict = compare(before, fixed, ["A-1", "A-2"])
    assert verdict["fixed"] == ["A-1"]
    assert verdict["still_failing"] == ["A-2"]
    assert verdict["lines"] == ["A-1: fail -> pass (fixed)", "A-2: fail -> fail (still_failing)"]
    assert verdict["worse"] == []
    assert not verdict["ok"]
    assert (verdict["grade_before"], verdict["grade_after"]) == ("C", "B")

    all_fixed = report(finding("A-1", "pass"), finding("A-2", "pass"), finding("A-3", "pass"), grade="A")
    assert compare(before, all_fixed, ["A-1", "A-2"])["ok"]


def test_compare_an_untargeted_check_that_got_worse_fails() -> None:
    before = report(finding("A-1", "fail"), finding("A-3", "pass"))
    after = report(finding("A-1", "pass"), finding("A-3", "partial"))
    verdict = compare(before, after, ["A-1"])
    assert verdict["worse"] == ["A-3"]
    assert not verdict["ok"]


def test_compare_a_disappeared_check_or_a_lower_grade_fails() -> None:
    before = report(finding("A-1", "fail"), finding("A-3", "pass"), grade="B")
    gone = report(finding("A-1", "pass"), grade="B")
    assert compare(before, gone, ["A-1"])["worse"] == ["A-3"]
    lower = report(finding("A-1", "pass"), finding("A-3", "pass"), grade="C")
    verdict = compare(before, lower, ["A-1"])
    assert verdict["grade_worse"]
    assert not verdict["ok"]


def test_compare_error_to_fail_is_not_worse_but_still_failing() -> None:
    before = report(finding("A-1", "error"))
    after = report(finding("A-1", "fail"))
    verdict = compare(before, after, ["A-1"])
    assert verdict["worse"] == []
    assert verdict["still_failing"] == ["A-1"]


def test_compare_filter_needs_both_reports() -> None:
    after = copy.deepcopy(REPORT)
    assert remediation_compare(after, before=REPORT, targeted=[])["ok"]
    with pytest.raises(AnsibleFilterError, match="two report"):
        remediation_compare(after)


def test_maintenance_filter_decides_for_a_given_instant() -> None:
    windows = [{"days": ["tue"], "start": "18:00", "end": "20:00", "timezone": "UTC"}]
    assert maintenance_window(windows, at="2026-12-01T18:30:00Z")["allowed"] is True
    refused = maintenance_window(windows, at="2026-12-01T21:00:00Z")
    assert refused["allowed"] is False
    assert refused["next_open"] == "2026-12-08T18:00:00Z"
    overridden = maintenance_window(windows, at="2026-12-01T21:00:00Z", override="INC-1")
    assert overridden["allowed"] is True
    assert overridden["override"] == "INC-1"
    with pytest.raises(AnsibleFilterError, match="maintenance_window"):
        maintenance_window([{"days": ["tue"], "start": "18:00"}], at="2026-12-01T18:30:00Z")


def test_drift_targets_are_planned_with_only_the_checks_named_beside_them() -> None:
    rep = report(finding("NGX-05", "fail"), finding("RDS-01", "fail", fix_role="redis", fix_tag="redis_acl"))
    targets = [{"subject": "/etc/nftables.conf", "role": "firewall", "tag": "firewall_rules", "digest": "sha256:1"}]
    plan = remediation_plan(rep, targets=targets)
    # a request for drift alone must not become "fix every failing check"
    assert plan["checks"] == []
    assert (plan["roles"], plan["tags"], plan["drift"]) == (["firewall"], ["firewall_rules"], ["/etc/nftables.conf"])
    assert plan["lines"] == ["edge1 | drift /etc/nftables.conf | role firewall | tag firewall_rules"]
    plan = remediation_plan(rep, checks=["RDS-01"], targets=targets)
    assert plan["checks"] == ["RDS-01"]
    assert plan["tags"] == ["redis_acl", "firewall_rules"]


@pytest.mark.parametrize(
    ("targets", "needle"),
    [
        ("nft", "is not a list"),
        ({"role": "firewall"}, "is not a list"),
        ([{"subject": "/etc/nftables.conf", "role": "firewall"}], r"targets\[0\].*needs a role and a tag"),
        ([{"role": "", "tag": "x"}], r"rampart_remediate_targets\[0\]"),
        (["firewall_rules"], r"rampart_remediate_targets\[0\]"),
    ],
)
def test_malformed_targets_name_the_variable(targets: Any, needle: str) -> None:
    with pytest.raises(AnsibleFilterError, match=needle):
        remediation_plan(report(), targets=targets)
