"""security_audit and edge_probe as Ansible runs them (ad-hoc against localhost), plus filters and callback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import adhoc

from ansible_collections.rampart.hardening.plugins.callback.rampart_score import find_report, format_table
from ansible_collections.rampart.hardening.plugins.filter.report import FilterModule
from ansible_collections.rampart.hardening.plugins.module_utils.render.formats import write_reports

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


CUSTOM = [
    {
        "id": "SITE-01",
        "title": "passwd readable",
        "severity": "low",
        "file": {"path": "/etc/passwd", "mode_max": "0644"},
    }
]


def test_module_check_mode_writes_nothing(tmp_path: Path) -> None:
    dest = tmp_path / "reports"
    result = adhoc(
        "security_audit",
        {
            "categories": ["custom"],
            "custom_checks": CUSTOM,
            "dest": str(dest),
            "formats": ["json", "html"],
            "min_grade": "A",
        },
        "--check",
    )
    assert result.get("failed") is not True, result
    assert result["changed"] is True
    assert not dest.exists()
    assert result["grade"] == "A+"
    assert result["passed_min_grade"] is True
    assert result["report"]["findings"][0]["id"] == "SITE-01"
    assert result["changed_files"] == [str(dest / "report.json"), str(dest / "report.html")]


def test_module_writes_reports_and_rejects_bad_input(tmp_path: Path) -> None:
    dest = tmp_path / "reports"
    result = adhoc(
        "security_audit", {"categories": ["custom"], "custom_checks": CUSTOM, "dest": str(dest), "formats": ["sarif"]}
    )
    assert result["changed"] is True
    assert json.loads((dest / "report.sarif").read_text())["version"] == "2.1.0"
    failing = [
        {
            "id": "SITE-09",
            "title": "no passwd",
            "severity": "high",
            "regex": {"path": "/etc/passwd", "pattern": "root", "present": False},
        }
    ]
    result = adhoc("security_audit", {"categories": ["custom"], "custom_checks": failing, "min_grade": "A"})
    assert result.get("failed") is not True, result  # failing checks do not fail the task
    assert result["failed_checks"] == ["SITE-09"]
    assert result["passed_min_grade"] is False
    bad = adhoc("security_audit", {"checks": ["NOPE-*"], "custom_checks": CUSTOM})
    assert bad["failed"] is True
    assert "no check matches 'NOPE-*'" in bad["msg"]
    bad_waiver = adhoc(
        "security_audit", {"categories": ["custom"], "custom_checks": CUSTOM, "waivers": [{"id": "SITE-01"}]}
    )
    assert "'reason' is required" in bad_waiver["msg"]


def test_edge_probe_module_runs_against_loopback() -> None:
    result = adhoc("edge_probe", {"host": "127.0.0.1", "ports": [1], "tls_endpoints": [{"port": 1}], "timeout": 1})
    assert result["changed"] is False
    assert result["live_results"]["NET-04"]["status"] == "pass"
    assert result["live_results"]["TLS-01"]["status"] == "error"


def test_write_reports_only_rewrites_changed_content(sample_report: dict, tmp_path: Path) -> None:
    targets, changed = write_reports(sample_report, ["json", "markdown"], str(tmp_path))
    assert changed == targets
    assert oct((tmp_path / "report.json").stat().st_mode & 0o777) == "0o640"
    targets, changed = write_reports(sample_report, ["json", "markdown"], str(tmp_path))
    assert changed == []
    sample_report["host"] = "other"
    _unused, changed = write_reports(sample_report, ["json"], str(tmp_path), dry_run=True)
    assert changed == [str(tmp_path / "report.json")]
    assert json.loads((tmp_path / "report.json").read_text())["host"] == "web1.example"


def test_filters(sample_report: dict) -> None:
    filters = FilterModule().filters()
    assert filters["to_markdown_report"](sample_report).startswith("# Rampart security audit")
    assert "<!DOCTYPE html>" in filters["to_html_report"](sample_report)
    assert "<testsuites" in filters["to_junit_report"](sample_report)
    assert json.loads(filters["to_sarif_report"](sample_report))["version"] == "2.1.0"
    fleet = filters["to_fleet_report"]([sample_report], "../{host}/report.html")
    assert fleet["hosts"][0]["report"] == "../web1.example/report.html"
    assert "Rampart fleet audit" in filters["to_fleet_html"]({"web1": sample_report})
    with pytest.raises(Exception, match="expected a Rampart report dict"):
        filters["to_html_report"]({"not": "a report"})


def test_callback_table(sample_report: dict) -> None:
    assert find_report({"results": [{"skipped": True}, {"report": sample_report}]}) is sample_report
    assert find_report({"report": {"x": 1}}) is None
    good = json.loads(json.dumps(sample_report))
    good["overall"] = {"score": 9.8, "grade": "A+", "capped_by": None}
    lines = format_table({"web1": sample_report, "db1": good})
    assert lines[0].split() == ["HOST", "SCORE", "GRADE", "CRIT", "HIGH", "MEDI", "LOW", "INFO", "ERRORS"]
    # worst first; PG-05 is in error, so the grade is marked incomplete (rampart-score/2)
    assert lines[1].split() == ["web1", "4.0", "F", "(incomplete)", "2", "0", "0", "1", "0", "1"]
    assert lines[2].split()[:3] == ["db1", "9.8", "A+"]  # complete: no marker
    old = json.loads(json.dumps(sample_report))
    old["scoring_model"] = "rampart-score/1"
    assert find_report({"report": old}) is old  # /1 reports are still tabled
