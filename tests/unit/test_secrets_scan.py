"""The credential recogniser against its corpus of real-world spellings, every line named on failure.

corpus-match.txt: lines that carry a credential; corpus-nomatch.txt: lines that must not
match (variables, templates, placeholders in comments, empty values, mere mentions).
Lines starting with '#!' are notes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.rampart.hardening.plugins.module_utils.secrets_scan import (
    key_kind,
    scan_line,
    scan_text,
)

CORPUS = Path(__file__).parent / "fixtures" / "secrets"


def cases(name: str) -> list[str]:
    lines = (CORPUS / name).read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#!")]


MATCH = cases("corpus-match.txt")
NOMATCH = cases("corpus-nomatch.txt")


def test_corpus_is_substantial() -> None:
    assert len(MATCH) >= 60
    assert len(NOMATCH) >= 50


@pytest.mark.parametrize("line", MATCH)
def test_every_credential_spelling_is_recognised(line: str) -> None:
    assert scan_line(line) is not None, f"missed a credential in: {line!r}"


@pytest.mark.parametrize("line", NOMATCH)
def test_no_false_positive(line: str) -> None:
    assert scan_line(line) is None, f"false positive ({scan_line(line)}) in: {line!r}"


def test_hits_never_carry_the_value() -> None:
    text = "\n".join(MATCH)
    for hit in scan_text(text):
        assert "Zt8kq2LmW9pX" not in hit.what
        assert "Vq93kdLx0aPz" not in hit.what
    assert len(scan_text(text)) == len(MATCH)


def test_hit_line_numbers_are_one_based() -> None:
    hits = scan_text("LOG_LEVEL=info\n\nDB_PASSWORD=Zt8kq2LmW9pX\n")
    assert [(h.line, h.what) for h in hits] == [(3, "credential assigned to DB_PASSWORD")]


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("DB_PASSWORD", "credential"),
        ("keyStorePassword", "credential"),
        ("PGPASSWORD", "credential"),
        ("api-key", "credential"),
        ("AWS_SECRET_ACCESS_KEY", "credential"),
        ("STRIPE_KEY", "key"),
        ("PasswordAuthentication", None),
        ("password_file", None),
        ("monkey", None),
    ],
)
def test_key_names(key: str, kind: str | None) -> None:
    assert key_kind(key) == kind
