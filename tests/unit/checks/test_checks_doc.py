"""The checklist is fully implemented with its severities, and docs/checks.md is current."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from ansible_collections.rampart.hardening.plugins.module_utils.engine import load_builtin_checks

REPO = Path(__file__).resolve().parents[3]
CHECKLIST = Path("/work/shared/design/CHECKLIST.md")
SEVERITY_LETTERS = {"C": "critical", "H": "high", "M": "medium", "L": "low", "I": "info"}
# Used when the design checklist is not available (e.g. in a Galaxy install): id -> severity letter.
EMBEDDED = (
    "TLS-01 H TLS-02 H TLS-03 M TLS-04 C TLS-05 M TLS-06 M TLS-07 L TLS-08 H TLS-09 M TLS-10 M "
    "HDR-01 H HDR-02 M HDR-03 M HDR-04 M HDR-05 M HDR-06 M "
    "DOS-01 H DOS-02 M DOS-03 M DOS-04 L DOS-05 L DOS-06 M AUTH-01 H AUTH-02 H "
    "CRT-01 C CRT-02 H CRT-03 H CRT-04 H CRT-05 H CRT-06 M CRT-07 H CRT-08 I "
    "NET-01 C NET-02 H NET-03 H NET-04 C NET-05 H NET-06 H NET-07 M "
    "PG-01 H PG-02 C PG-03 H PG-04 H PG-05 H PG-06 M PG-07 M PG-08 M PG-09 L "
    "RDS-01 C RDS-02 C RDS-03 C RDS-04 H RDS-05 H RDS-06 H ODB-01 H ODB-02 C ODB-03 H "
    "SEC-01 H SEC-02 H SEC-03 M SEC-04 H SEC-05 H SSH-01 H SSH-02 M SSH-03 H "
    "SYS-01 H SYS-02 M SYS-03 L BKP-01 H BKP-02 H BKP-03 M LOG-01 M LOG-02 M LOG-03 L"
)


def checklist() -> dict[str, str]:
    """id -> severity from CHECKLIST.md ("- TLS-01 H  ..." lines), else the embedded copy."""
    if CHECKLIST.exists():
        found = re.findall(r"^- ([A-Z]+-\d\d) ([CHMLI])\b", CHECKLIST.read_text(encoding="utf-8"), re.M)
    else:
        words = EMBEDDED.split()
        found = list(zip(words[::2], words[1::2], strict=True))
    return {check_id: SEVERITY_LETTERS[letter] for check_id, letter in found}


def load_doc_script():
    spec = importlib.util.spec_from_file_location("checks_doc", REPO / "scripts" / "checks-doc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_embedded_list_matches_the_design_checklist():
    if not CHECKLIST.exists():
        pytest.skip("design checklist not available")
    words = EMBEDDED.split()
    assert dict(zip(words[::2], [SEVERITY_LETTERS[w] for w in words[1::2]], strict=True)) == checklist()


def test_every_checklist_id_is_registered_with_its_severity():
    registered = {c.meta.id: c.meta.severity.value for c in load_builtin_checks()}
    expected = checklist()
    assert len(expected) == len(EMBEDDED.split()) // 2
    missing = sorted(set(expected) - set(registered))
    assert not missing, f"checklist ids without a check: {missing}"
    wrong = {i: (registered[i], s) for i, s in expected.items() if registered[i] != s}
    assert not wrong, f"severity differs from CHECKLIST.md: {wrong}"


def test_every_check_documents_what_it_inspects_and_its_criteria():
    for registered in load_builtin_checks():
        if not re.match(r"^[A-Z]+-\d\d$", registered.meta.id):
            continue
        doc = registered.run.__doc__ or ""
        assert doc.strip().startswith("Inspects:"), registered.meta.id
        assert "pass" in doc, registered.meta.id
        assert registered.meta.references, registered.meta.id


def test_docs_checks_md_is_current():
    expected = load_doc_script().render()
    current = (REPO / "docs" / "checks.md").read_text(encoding="utf-8")
    assert current == expected, "docs/checks.md is stale: run python scripts/checks-doc.py"
