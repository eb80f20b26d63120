"""rampart-score/1 reports stay readable: they validate, render everywhere and can be re-scored under /2.

``fixtures/report_models/report-v1.json`` is a report as the /1 engine wrote it (the sample host of
conftest.py: PG-05, a high check, could not be judged and was left out of the score).
"""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from ansible_collections.rampart.hardening.plugins.module_utils.render.fleet import build_fleet, render_fleet_html
from ansible_collections.rampart.hardening.plugins.module_utils.render.html import render_html
from ansible_collections.rampart.hardening.plugins.module_utils.render.junit import render_junit
from ansible_collections.rampart.hardening.plugins.module_utils.render.markdown import render_markdown
from ansible_collections.rampart.hardening.plugins.module_utils.render.sarif import build_sarif
from ansible_collections.rampart.hardening.plugins.module_utils.report import rescore

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "docs" / "report.schema.json").read_text())
V1 = json.loads((Path(__file__).parent / "fixtures" / "report_models" / "report-v1.json").read_text())


def validate(report: dict) -> None:
    validator = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    validator.validate(report)


def test_v1_report_still_validates() -> None:
    assert V1["scoring_model"] == "rampart-score/1"
    validate(V1)


def test_v1_report_cannot_claim_v2_fields_and_v2_must_carry_them(sample_report: dict) -> None:
    mixed = copy.deepcopy(V1)
    mixed["overall"]["incomplete"] = True
    with pytest.raises(jsonschema.ValidationError):
        validate(mixed)
    bare_v2 = copy.deepcopy(sample_report)
    del bare_v2["overall"]["incomplete"]
    with pytest.raises(jsonschema.ValidationError):
        validate(bare_v2)
    no_errored = copy.deepcopy(sample_report)
    del no_errored["counts"]["errored"]
    with pytest.raises(jsonschema.ValidationError):
        validate(no_errored)


def test_v1_report_renders_in_every_format() -> None:
    md = render_markdown(V1)
    assert "scoring model `rampart-score/1`" in md
    assert "incomplete: 1 check could not be judged (left out of the score by rampart-score/1)" in md
    assert "rampart-score/1 left them out of the score." in md
    assert "Could not be judged" not in md  # /1 has no per-severity error counts
    html = render_html(V1)
    assert "left out of the score by rampart-score/1" in html
    ET.fromstring(render_junit(V1).split("\n", 1)[1])
    sarif = build_sarif(V1)
    assert sarif["runs"][0]["properties"]["unjudged"] == 1
    fleet = build_fleet([V1])
    assert fleet["hosts"][0]["incomplete"] is True
    assert fleet["scoring_model"] == "rampart-score/1"
    assert "incomplete" in render_fleet_html(fleet)


def test_rescoring_v1_under_v2_scores_the_error(sample_report: dict) -> None:
    """postgresql: C pass 10 + H error 0 = 10/15 -> 6.7 under /2 (10.0 under /1, the error ignored)."""
    assert V1["categories"]["postgresql"]["score"] == 10.0
    again = rescore(V1, "rampart-score/2")
    validate(again)
    assert again["categories"]["postgresql"]["score"] == 6.7
    assert again["overall"] == sample_report["overall"]
    assert again["categories"] == sample_report["categories"]
    assert again["counts"] == sample_report["counts"]
    assert again["findings"] == sample_report["findings"]
    assert V1["scoring_model"] == "rampart-score/1"  # the input is not modified


def test_rescoring_back_to_v1_reproduces_the_old_report(sample_report: dict) -> None:
    assert rescore(sample_report, "rampart-score/1") == V1


def test_fleet_names_mixed_models(sample_report: dict) -> None:
    fleet = build_fleet([V1, sample_report])
    assert fleet["scoring_model"] == "mixed: rampart-score/1, rampart-score/2"
    assert fleet["hosts_incomplete"] == 2


def test_unknown_model_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown scoring model"):
        rescore(V1, "rampart-score/9")
