"""The report dict: validated against docs/report.schema.json; deterministic and complete."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from ansible_collections.rampart.hardening.plugins.module_utils.engine import run_audit
from ansible_collections.rampart.hardening.plugins.module_utils.report import ENGINE_VERSION

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "docs" / "report.schema.json").read_text())


def validate(report: dict) -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    validator = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    validator.validate(report)


def test_sample_report_is_valid(sample_report: dict) -> None:
    validate(json.loads(json.dumps(sample_report)))  # exactly what a JSON file would contain


def test_sample_report_content(sample_report: dict) -> None:
    assert sample_report["scoring_model"] == "rampart-score/2"
    assert sample_report["checklist_version"] == "1.0"
    assert sample_report["host"] == "web1.example"
    assert sample_report["generated_at"] == "2025-06-01T12:00:00+00:00"
    ids = [f["id"] for f in sample_report["findings"]]
    # critical first, then high, medium, low, info; ids sorted within a severity
    assert ids == [
        "NET-01",
        "PG-02",
        "RDS-01",
        "RDS-03",
        "HDR-01",
        "PG-05",
        "SSH-01",
        "TLS-01",
        "HDR-02",
        "TLS-07",
        "CRT-08",
    ]
    assert sample_report["counts"]["failed"] == {"critical": 2, "high": 0, "medium": 0, "low": 1, "info": 0}
    assert sample_report["counts"]["errored"] == {"critical": 0, "high": 1, "medium": 0, "low": 0, "info": 0}
    assert [e["id"] for e in sample_report["errors"]] == ["PG-05"]
    assert {w["id"]: w["state"] for w in sample_report["waivers"]} == {"RDS-01": "applied", "TLS-07": "expired"}
    rds03 = next(f for f in sample_report["findings"] if f["id"] == "RDS-03")
    assert rds03["sources"] == ["config", "live"]
    assert rds03["status"] == "fail"
    # Hand-computed: network 0.0 (w10); tls: H pass 5 + L fail 0 = 5/6 -> 8.3 (w6);
    # http_headers: H partial 2.5 + M pass 2 = 4.5/7 -> 6.4 (w7);
    # postgresql: C pass 10 + H error 0 (rampart-score/2: an error scores like a failure) = 10/15 -> 6.7 (w15);
    # redis: RDS-01 waived, RDS-03 fail -> 0.0 (w10); ssh_system 10.0 (w5); certificates n/a.
    # mean = (0*10 + 8.3*6 + 6.4*7 + 6.7*15 + 0*10 + 10*5) / 53 = 245.1/53 = 4.62 -> capped 4.0 (failed critical).
    assert {k: v["score"] for k, v in sample_report["categories"].items()} == {
        "certificates": None,
        "http_headers": 6.4,
        "network": 0.0,
        "postgresql": 6.7,
        "redis": 0.0,
        "ssh_system": 10.0,
        "tls": 8.3,
    }
    assert sample_report["overall"] == {
        "score": 4.0,
        "grade": "F",
        "capped_by": "critical",
        "incomplete": True,
        "unjudged": 1,
    }


def test_schema_rejects_a_broken_report(sample_report: dict) -> None:
    broken = json.loads(json.dumps(sample_report))
    broken["findings"][0]["status"] = "passed"
    with pytest.raises(jsonschema.ValidationError):
        validate(broken)
    waived_but_failing = json.loads(json.dumps(sample_report))
    rds01 = next(f for f in waived_but_failing["findings"] if f["id"] == "RDS-01")
    rds01["status"] = "fail"
    with pytest.raises(jsonschema.ValidationError):
        validate(waived_but_failing)


def test_empty_audit_is_valid(make_facts) -> None:
    report = run_audit(make_facts(), host="empty", available=[]).to_dict()
    validate(report)
    assert report["overall"] == {
        "score": None,
        "grade": None,
        "capped_by": None,
        "incomplete": False,
        "unjudged": 0,
    }


def test_report_is_deterministic(make_facts, sample_check_list: list) -> None:
    reversed_checks = list(reversed(sample_check_list))
    again = run_audit(make_facts(), host="web1.example", available=reversed_checks).to_dict()
    assert [f["id"] for f in again["findings"]][:3] == ["NET-01", "PG-02", "RDS-01"]
    assert json.dumps(again["categories"], sort_keys=True) == json.dumps(
        run_audit(make_facts(), host="web1.example", available=sample_check_list).to_dict()["categories"],
        sort_keys=True,
    )


def test_engine_version_matches_galaxy() -> None:
    galaxy = (REPO / "galaxy.yml").read_text()
    assert re.search(r"^version:\s*(\S+)", galaxy, re.MULTILINE).group(1) == ENGINE_VERSION


def test_real_checks_on_an_empty_host_give_a_valid_report(make_facts) -> None:
    """Every built-in pack against a bare fixture root: nothing escapes, the report validates."""
    from ansible_collections.rampart.hardening.plugins.module_utils.engine import load_builtin_checks  # noqa: PLC0415

    try:
        available = load_builtin_checks()
    except ImportError:
        pytest.skip("check packs are not installed yet")
    report = run_audit(make_facts(), host="bare", available=available).to_dict()
    validate(report)
    assert report["counts"]["total"] == len(available)
    assert all(f["status"] in ("pass", "partial", "fail", "not_applicable", "error") for f in report["findings"])
