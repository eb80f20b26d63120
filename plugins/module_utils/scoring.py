"""The scoring models ``rampart-score/2`` (current) and ``rampart-score/1`` (CHECKLIST.md).

Under ``/2`` an ``error`` (the audit could not judge the check) scores 0 like a failure of
its severity and triggers the same caps, and the overall grade is marked incomplete with
the number of checks that could not be judged. Under ``/1`` errors were left out of the
score; that model stays available so old reports can be re-scored and compared.

All arithmetic is exact (fractions) and rounded half-up to one decimal, so a score
computed by hand from a report always matches the one the engine printed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from ansible_collections.rampart.hardening.plugins.module_utils.model import (
    Severity,
    Status,
)

SCORING_MODEL_V1 = "rampart-score/1"
SCORING_MODEL_V2 = "rampart-score/2"
SCORING_MODEL = SCORING_MODEL_V2
SCORING_MODELS: tuple[str, ...] = (SCORING_MODEL_V1, SCORING_MODEL_V2)

WEIGHTS: dict[Severity, int] = {
    Severity.CRITICAL: 10,
    Severity.HIGH: 5,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}
VALUES: dict[Status, Fraction] = {
    Status.PASS: Fraction(1),
    Status.PARTIAL: Fraction(1, 2),
    Status.FAIL: Fraction(0),
}
# Under /2 an error weighs like a failure of its severity (value 0) and caps like one.
VALUES_V2: dict[Status, Fraction] = {**VALUES, Status.ERROR: Fraction(0)}
CAP_CRITICAL = Fraction(4)
CAP_HIGH = Fraction(7)
GRADES: tuple[tuple[str, float], ...] = (
    ("A", 9.0),
    ("B", 8.0),
    ("C", 6.5),
    ("D", 5.0),
)
GRADE_ORDER: tuple[str, ...] = ("F", "D", "C", "B", "A", "A+")


@dataclass(frozen=True)
class Scored:
    """The three things scoring needs to know about one result."""

    category: str
    severity: Severity
    status: Status


@dataclass
class CategoryScore:
    """Score of one category; ``score`` is None when nothing in it carries weight."""

    name: str
    score: float | None
    weight: int
    capped_by: str | None
    counts: dict[str, int] = field(default_factory=dict)
    failed_critical: int = 0
    failed_high: int = 0
    unjudged: int = 0


@dataclass
class OverallScore:
    """Overall score and grade; None when no category could be scored.

    ``failed_critical``/``failed_high`` count what caps (fail, and under /2 error too);
    ``unjudged`` counts checks with status error; ``incomplete`` is true when any exists.
    """

    score: float | None
    grade: str | None
    capped_by: str | None
    failed_critical: int
    failed_high: int
    unjudged: int = 0

    @property
    def incomplete(self) -> bool:
        return self.unjudged > 0


def round1(value: Fraction) -> float:
    """Round half-up to one decimal."""
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _cap(value: Fraction, failed_critical: int, failed_high: int) -> tuple[Fraction, str | None]:
    if failed_critical and value > CAP_CRITICAL:
        return CAP_CRITICAL, "critical"
    if failed_critical:
        return value, None
    if failed_high and value > CAP_HIGH:
        return CAP_HIGH, "high"
    return value, None


def check_model(model: str) -> str:
    """``model`` if it is a known scoring model, else ValueError naming the known ones."""
    if model not in SCORING_MODELS:
        raise ValueError(f"unknown scoring model {model!r} (expected one of {', '.join(SCORING_MODELS)})")
    return model


def _values(model: str) -> dict[Status, Fraction]:
    return VALUES_V2 if check_model(model) == SCORING_MODEL_V2 else VALUES


def _capping(model: str) -> tuple[Status, ...]:
    """Statuses that cap a category and deny A+ under ``model``."""
    return (Status.FAIL, Status.ERROR) if model == SCORING_MODEL_V2 else (Status.FAIL,)


def _count(items: list[Scored], severity: Severity, statuses: tuple[Status, ...]) -> int:
    return sum(1 for item in items if item.severity is severity and item.status in statuses)


def score_category(name: str, items: list[Scored], model: str = SCORING_MODEL) -> CategoryScore:
    """Category score = 10 * sum(weight * value) / sum(weight), capped, rounded."""
    values = _values(model)
    counts = {status.value: 0 for status in Status}
    for item in items:
        counts[item.status.value] += 1
    counts["total"] = len(items)
    scored = [item for item in items if item.status in values]
    weight = sum(WEIGHTS[item.severity] for item in scored)
    capping = _capping(model)
    failed_critical = _count(items, Severity.CRITICAL, capping)
    failed_high = _count(items, Severity.HIGH, capping)
    unjudged = counts[Status.ERROR.value]
    if weight == 0:
        return CategoryScore(name, None, 0, None, counts, failed_critical, failed_high, unjudged)
    earned = sum((WEIGHTS[item.severity] * values[item.status] for item in scored), Fraction(0))
    value, capped_by = _cap(10 * earned / weight, failed_critical, failed_high)
    return CategoryScore(name, round1(value), weight, capped_by, counts, failed_critical, failed_high, unjudged)


def grade_for(score: float, failed_critical: int, failed_high: int) -> str:
    """Letter grade of a (rounded) score."""
    if score >= 9.5 and not failed_critical and not failed_high:
        return "A+"
    for grade, threshold in GRADES:
        if score >= threshold:
            return grade
    return "F"


def score_overall(categories: Iterable[CategoryScore]) -> OverallScore:
    """Weight-averaged mean of the scored categories (as reported), with the same caps."""
    cats = list(categories)
    failed_critical = sum(cat.failed_critical for cat in cats)
    failed_high = sum(cat.failed_high for cat in cats)
    unjudged = sum(cat.unjudged for cat in cats)
    scored = [cat for cat in cats if cat.score is not None and cat.weight > 0]
    total_weight = sum(cat.weight for cat in scored)
    if not total_weight:
        return OverallScore(None, None, None, failed_critical, failed_high, unjudged)
    mean = sum((Fraction(str(cat.score)) * cat.weight for cat in scored), Fraction(0)) / total_weight
    value, capped_by = _cap(mean, failed_critical, failed_high)
    score = round1(value)
    grade = grade_for(score, failed_critical, failed_high)
    return OverallScore(score, grade, capped_by, failed_critical, failed_high, unjudged)


def score_all(items: Iterable[Scored], model: str = SCORING_MODEL) -> tuple[dict[str, CategoryScore], OverallScore]:
    """Score every category that has at least one result, then the overall."""
    check_model(model)
    by_category: dict[str, list[Scored]] = {}
    for item in items:
        by_category.setdefault(item.category, []).append(item)
    categories = {name: score_category(name, by_category[name], model) for name in sorted(by_category)}
    return categories, score_overall(categories.values())


def grade_at_least(grade: str | None, minimum: str) -> bool:
    """True when ``grade`` is ``minimum`` or better (no grade never passes)."""
    if minimum not in GRADE_ORDER:
        raise ValueError(f"unknown grade {minimum!r} (expected one of {', '.join(GRADE_ORDER)})")
    if grade is None or grade not in GRADE_ORDER:
        return False
    return GRADE_ORDER.index(grade) >= GRADE_ORDER.index(minimum)
