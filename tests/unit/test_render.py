"""Renderers: Markdown, HTML, JUnit (real parsers), SARIF (official 2.1.0 schema), fleet."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest

from ansible_collections.rampart.hardening.plugins.module_utils.render.fleet import build_fleet, render_fleet_html
from ansible_collections.rampart.hardening.plugins.module_utils.render.html import render_html
from ansible_collections.rampart.hardening.plugins.module_utils.render.junit import render_junit
from ansible_collections.rampart.hardening.plugins.module_utils.render.markdown import render_markdown
from ansible_collections.rampart.hardening.plugins.module_utils.render.sarif import build_sarif, render_sarif

SARIF_SCHEMA = json.loads((Path(__file__).parent / "schemas" / "sarif-schema-2.1.0.json").read_text())


class TagCollector(HTMLParser):
    """Collects tags and attributes to prove the page is self-contained and well nested."""

    VOID = frozenset({"meta", "br", "img", "link", "input", "hr"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID and tag not in {"circle", "polyline"}:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag in {"circle", "polyline"}:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack[-3:]}")
        else:
            self.stack.pop()


def parse_html(page: str) -> TagCollector:
    parser = TagCollector()
    parser.feed(page)
    parser.close()
    return parser


# ----- Markdown ---------------------------------------------------------------------------
def test_markdown_lists_failures_by_severity_with_remediation(sample_report: dict) -> None:
    md = render_markdown(sample_report)
    assert md.startswith("# Rampart security audit: web1.example\n")
    assert (
        "**Overall: 4.0 / 10, grade F (capped by a failed critical check), "
        "incomplete: 1 check could not be judged (scored as failures)**"
    ) in md
    headings = re.findall(r"^### (\S+)", md, re.MULTILINE)
    assert headings == ["NET-01", "RDS-03", "HDR-01", "TLS-07"]
    assert "Fix NET-01 \\| carefully." in md  # pipes escaped
    assert "`rampart.hardening.firewall (tag firewall_rules)`" in md
    assert "## Errors (could not be judged, never a pass)" in md
    assert "| Could not be judged | 0 | 1 | 0 | 0 | 0 |" in md
    assert "**PG-05**" in md
    assert "| RDS-01 | web\\* | 2030-01-01 | applied |" in md
    assert "| TLS-07 | \\* | 2020-01-01 | expired |" in md


def test_markdown_tables_have_consistent_columns(sample_report: dict) -> None:
    for block in re.findall(r"(?:^\|.*\|\n)+", render_markdown(sample_report), re.MULTILINE):
        widths = {len(re.findall(r"(?<!\\)\|", line)) for line in block.strip().splitlines()}
        assert len(widths) == 1, block


# ----- HTML -------------------------------------------------------------------------------
def test_html_is_self_contained_and_well_formed(sample_report: dict) -> None:
    page = render_html(
        sample_report, history=[{"generated_at": "a", "score": 3.0}, {"generated_at": "b", "score": 4.0}]
    )
    parser = parse_html(page)
    assert parser.errors == []
    assert parser.stack == []
    tags = [tag for tag, _unused in parser.tags]
    assert "script" not in tags
    assert "link" not in tags
    assert "img" not in tags
    for _unused, attrs in parser.tags:
        for name in ("src", "href"):
            value = attrs.get(name)
            assert value is None or not value.startswith(("http://", "https://", "//")) or name == "href"
    assert "url(" not in page
    assert "@import" not in page
    assert "<polyline" in page  # trend drawn when history exists


def test_html_content_escaped_and_ordered(sample_report: dict) -> None:
    page = render_html(sample_report)
    assert "server_tokens on; &lt;b&gt;&amp;&lt;/b&gt;" in page  # evidence is escaped
    assert "<b>&</b>" not in page
    ids = re.findall(r'<article class="finding \w+" id="([^"]+)"', page)
    assert ids == ["NET-01", "RDS-03", "HDR-01", "TLS-07", "PG-05"]  # attention by severity, then errors
    assert '<div class="grade">F</div>' in page
    assert "Capped by a failed critical check." in page
    assert "redis is on an isolated VLAN (SEC-42)" in page
    assert page.count('class="cat"') == len(sample_report["categories"])


# ----- JUnit ------------------------------------------------------------------------------
def test_junit_parses_with_elementtree(sample_report: dict) -> None:
    root = ET.fromstring(render_junit(sample_report).encode())
    assert root.tag == "testsuites"
    assert root.attrib["tests"] == "11"
    assert root.attrib["failures"] == "4"  # 3 fail + 1 partial
    assert root.attrib["errors"] == "1"
    assert root.attrib["skipped"] == "2"  # n/a + waived
    cases = {case.attrib["name"].split()[0]: case for case in root.iter("testcase")}
    assert len(cases) == 11
    assert cases["NET-01"].find("failure").attrib["type"] == "fail:critical"
    assert cases["HDR-01"].find("failure").attrib["type"] == "partial:high"
    assert cases["PG-05"].find("error") is not None
    assert cases["CRT-08"].find("skipped") is not None
    assert cases["RDS-01"].find("skipped") is not None
    assert list(cases["TLS-01"]) == []
    assert "remediation: Fix NET-01 | carefully." in cases["NET-01"].find("failure").text


def test_junit_parses_with_junitparser(sample_report: dict, tmp_path: Path) -> None:
    junitparser = pytest.importorskip("junitparser")
    path = tmp_path / "report.junit.xml"
    path.write_text(render_junit(sample_report))
    xml = junitparser.JUnitXml.fromfile(str(path))
    outcomes: dict[str, str] = {}
    for suite in xml:
        for case in suite:
            kinds = [type(r).__name__ for r in case.result]
            outcomes[case.name.split()[0]] = kinds[0] if kinds else "passed"
    assert outcomes["NET-01"] == "Failure"
    assert outcomes["PG-05"] == "Error"
    assert outcomes["CRT-08"] == "Skipped"
    assert outcomes["SSH-01"] == "passed"
    assert sum(suite.tests for suite in xml) == 11


# ----- SARIF ------------------------------------------------------------------------------
def test_sarif_validates_against_official_schema(sample_report: dict) -> None:
    log = json.loads(render_sarif(sample_report))
    jsonschema.Draft4Validator.check_schema(SARIF_SCHEMA)
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)


def test_sarif_rules_carry_security_severity(sample_report: dict) -> None:
    log = build_sarif(sample_report)
    run = log["runs"][0]
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    assert rules["NET-01"]["properties"]["security-severity"] == "9.5"
    assert rules["HDR-01"]["properties"]["security-severity"] == "8.0"
    assert rules["HDR-02"]["properties"]["security-severity"] == "5.5"
    assert rules["TLS-07"]["properties"]["security-severity"] == "3.0"
    assert rules["CRT-08"]["properties"]["security-severity"] == "0.0"
    results = {r["ruleId"]: r for r in run["results"]}
    for result in run["results"]:
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
    assert results["NET-01"]["kind"] == "fail"
    assert results["NET-01"]["level"] == "error"
    assert results["TLS-01"]["kind"] == "pass"
    assert results["TLS-01"]["level"] == "none"
    assert results["RDS-01"]["suppressions"][0]["status"] == "accepted"
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert [n["associatedRule"]["id"] for n in notes] == ["PG-05"]


def test_sarif_schema_catches_a_bad_log(sample_report: dict) -> None:
    log = build_sarif(sample_report)
    log["runs"][0]["results"][0]["level"] = "critical"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)


# ----- fleet ------------------------------------------------------------------------------
def test_fleet_aggregates_hosts(sample_report: dict) -> None:
    good = json.loads(json.dumps(sample_report))
    good["host"] = "db1.example"
    good["overall"] = {"score": 9.7, "grade": "A+", "capped_by": None}
    good["counts"]["failed"] = dict.fromkeys(good["counts"]["failed"], 0)
    for finding in good["findings"]:
        finding["status"] = "pass"
    fleet = build_fleet([good, sample_report], {"web1.example": "web1.example/20250601/report.html"})
    assert [h["host"] for h in fleet["hosts"]] == ["web1.example", "db1.example"]  # worst first
    assert fleet["mean_score"] == 6.9  # (4.0 + 9.7) / 2 = 6.85 -> 6.9 (half-up, exact)
    assert fleet["worst_grade"] == "F"
    assert fleet["grades"]["A+"] == 1
    assert fleet["failed"]["critical"] == 2
    assert [c["id"] for c in fleet["failing_checks"]] == ["NET-01", "RDS-03", "HDR-01", "TLS-07"]
    page = render_fleet_html(fleet)
    parser = parse_html(page)
    assert parser.errors == []
    assert 'href="web1.example/20250601/report.html"' in page
    assert "<script" not in page


def test_real_checks_render_to_valid_sarif_and_junit(make_facts) -> None:
    from ansible_collections.rampart.hardening.plugins.module_utils.engine import (  # noqa: PLC0415
        load_builtin_checks,
        run_audit,
    )

    try:
        available = load_builtin_checks()
    except ImportError:
        pytest.skip("check packs are not installed yet")
    report = run_audit(make_facts(), host="bare", available=available).to_dict()
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(json.loads(render_sarif(report)))
    root = ET.fromstring(render_junit(report).encode())
    assert int(root.attrib["tests"]) == len(available)
    assert parse_html(render_html(report)).errors == []
