"""rampart-score/2 (and /1 where they differ) against examples computed by hand.

The arithmetic is in each docstring. Under /2 an error scores 0 and caps like a failure of
its severity; under /1 it was left out of the score.
"""

from __future__ import annotations

import pytest

from ansible_collections.rampart.hardening.plugins.module_utils.model import Severity, Status
from ansible_collections.rampart.hardening.plugins.module_utils.scoring import (
    SCORING_MODEL,
    Scored,
    check_model,
    grade_at_least,
    grade_for,
    score_all,
    score_category,
    score_overall,
)

C, H, M, L, INFO = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO
P, PA, F, NA, E = Status.PASS, Status.PARTIAL, Status.FAIL, Status.NOT_APPLICABLE, Status.ERROR


def items(category: str, *pairs: tuple[Severity, Status]) -> list[Scored]:
    return [Scored(category, sev, status) for sev, status in pairs]


def test_mixed_category_without_caps() -> None:
    """H pass 5 + H partial 2.5 + M pass 2 + L fail 0 = 9.5 of 13 -> 10*9.5/13 = 7.307 -> 7.3."""
    cat = score_category("tls", items("tls", (H, P), (H, PA), (M, P), (L, F)))
    assert cat.score == 7.3
    assert cat.weight == 13
    assert cat.capped_by is None
    assert cat.counts == {"pass": 2, "partial": 1, "fail": 1, "not_applicable": 0, "error": 0, "total": 4}


def test_failed_high_caps_category_at_seven() -> None:
    """C pass 10 + C pass 10 + H fail 0 = 20 of 25 -> 8.0, capped to 7.0 by the failed high."""
    cat = score_category("redis", items("redis", (C, P), (C, P), (H, F)))
    assert cat.score == 7.0
    assert cat.capped_by == "high"


def test_failed_critical_caps_category_at_four() -> None:
    """C fail + C pass + C pass + H pass + H pass = 30 of 40 -> 7.5, capped to 4.0."""
    cat = score_category("redis", items("redis", (C, F), (C, P), (C, P), (H, P), (H, P)))
    assert cat.score == 4.0
    assert cat.capped_by == "critical"


def test_cap_does_not_raise_a_lower_score() -> None:
    """A lone failed critical scores 0.0; the cap of 4.0 must not lift it."""
    cat = score_category("network", items("network", (C, F), (L, P)))
    assert cat.score == pytest.approx(0.9)  # 10 * 1/11 = 0.909 -> 0.9
    assert cat.capped_by is None


V1 = "rampart-score/1"


def test_current_model_is_v2() -> None:
    assert SCORING_MODEL == "rampart-score/2"
    with pytest.raises(ValueError, match="unknown scoring model"):
        check_model("rampart-score/3")


def test_error_scores_like_a_failure_and_not_applicable_is_excluded() -> None:
    """H error 0 + C n/a (out) + M pass 2 = 2 of 7 -> 2.857 -> 2.9 (below the 7.0 cap)."""
    cat = score_category("postgresql", items("postgresql", (H, E), (C, NA), (M, P)))
    assert cat.score == 2.9
    assert cat.weight == 7
    assert cat.counts["error"] == 1
    assert cat.counts["not_applicable"] == 1
    assert cat.unjudged == 1


def test_v1_left_errors_out_of_the_score() -> None:
    """/1: H error and C n/a leave only M pass -> 10.0 (the blind spot /2 closes)."""
    cat = score_category("postgresql", items("postgresql", (H, E), (C, NA), (M, P)), V1)
    assert cat.score == 10.0
    assert cat.weight == 2
    assert cat.failed_high == 0


def test_an_errored_high_caps_like_a_failed_one() -> None:
    """C pass 10 + C pass 10 + H error 0 = 20 of 25 -> 8.0, capped to 7.0 by the errored high."""
    cat = score_category("redis", items("redis", (C, P), (C, P), (H, E)))
    assert cat.score == 7.0
    assert cat.capped_by == "high"
    assert cat.failed_high == 1
    assert score_category("redis", items("redis", (C, P), (C, P), (H, E)), V1).score == 10.0


def test_an_errored_critical_caps_at_four() -> None:
    """C error 0 + 3 x C pass 30 + 2 x H pass 10 = 40 of 50 -> 8.0, capped to 4.0."""
    cat = score_category("network", items("network", (C, E), (C, P), (C, P), (C, P), (H, P), (H, P)))
    assert cat.score == 4.0
    assert cat.capped_by == "critical"


def test_errors_cap_the_overall_and_deny_a_plus() -> None:
    """tls: 10 x M pass 20 + H error 0 = 20 of 25 -> 8.0, capped 7.0 (w 25).

    ssh_system: 20 x H pass -> 10.0 (w 100). overall (7.0*25 + 10*100)/125 = 9.4, capped to
    7.0 by the errored high: grade C, incomplete with 1 unjudged check. Under /1 the same
    host scored 10.0 / A+ because the error vanished.
    """
    results = items("tls", *([(M, P)] * 10), (H, E)) + items("ssh_system", *([(H, P)] * 20))
    cats, overall = score_all(results)
    assert cats["tls"].score == 7.0
    assert overall.score == 7.0
    assert overall.capped_by == "high"
    assert overall.grade == "C"
    assert overall.incomplete
    assert overall.unjudged == 1
    _unused, old = score_all(results, V1)
    assert (old.score, old.grade) == (10.0, "A+")


def test_errored_critical_anywhere_caps_overall_at_four() -> None:
    """redis: C error 0 + C pass 10 = 10 of 20 -> 5.0 -> capped 4.0 (w 20);
    ssh_system 8 x H pass 10.0 (w 40): mean (80 + 400)/60 = 8.0 -> capped 4.0, F, incomplete."""
    cats, overall = score_all(items("redis", (C, E), (C, P)) + items("ssh_system", *([(H, P)] * 8)))
    assert cats["redis"].score == 4.0
    assert overall.score == 4.0
    assert overall.capped_by == "critical"
    assert overall.grade == "F"
    assert overall.unjudged == 1


def test_only_errors_score_zero_not_nothing() -> None:
    """Every check in error: 0 of 15 -> 0.0, F, incomplete (under /1: no score at all)."""
    cats, overall = score_all(items("tls", (H, E), (H, E), (H, E)))
    assert cats["tls"].score == 0.0
    assert (overall.score, overall.grade, overall.unjudged) == (0.0, "F", 3)
    _unused, old = score_all(items("tls", (H, E), (H, E), (H, E)), V1)
    assert old.score is None


def test_errored_low_and_info_do_not_cap() -> None:
    """L error 0 + M pass 2 + INFO error (weight 0) = 2 of 3 -> 6.7; no cap; still incomplete."""
    cats, overall = score_all(items("logging", (L, E), (M, P), (INFO, E)))
    assert cats["logging"].score == 6.7
    assert cats["logging"].capped_by is None
    assert overall.grade == "C"
    assert overall.unjudged == 2


def test_info_only_category_has_no_score() -> None:
    """Info weighs 0: a failed info check is reported but the category is not scored."""
    cat = score_category("certificates", items("certificates", (INFO, F), (INFO, P)))
    assert cat.score is None
    assert cat.weight == 0
    assert cat.counts["fail"] == 1


def test_rounding_is_half_up() -> None:
    """4 x M: 2 pass (4) + partial (1) + fail (0) = 5 of 8 -> 6.25 -> 6.3 (not banker's 6.2)."""
    cat = score_category("logging", items("logging", (M, P), (M, P), (M, PA), (M, F)))
    assert cat.score == 6.3


def test_overall_is_weight_averaged_over_categories() -> None:
    """tls 7.3 (w 13) and ssh_system 10.0 (w 6): (94.9 + 60) / 19 = 8.152 -> 8.2, grade B."""
    cats, overall = score_all(
        items("tls", (H, P), (H, PA), (M, P), (L, F)) + items("ssh_system", (H, P), (L, P)),
    )
    assert cats["tls"].score == 7.3
    assert cats["ssh_system"].score == 10.0
    assert overall.score == 8.2
    assert overall.grade == "B"
    assert overall.capped_by is None


def test_overall_ignores_unscored_categories() -> None:
    """certificates is info-only and network is all n/a: overall = ssh_system alone = 10.0."""
    cats, overall = score_all(
        items("certificates", (INFO, F)) + items("network", (C, NA)) + items("ssh_system", (H, P), (M, P)),
    )
    assert cats["certificates"].score is None
    assert cats["network"].score is None
    assert overall.score == 10.0
    assert overall.grade == "A+"


def test_failed_critical_anywhere_caps_overall_at_four() -> None:
    """redis 4.0 (w 20, critical fail) and ssh_system 10.0 (w 40): mean 8.0 -> capped to 4.0, F."""
    cats, overall = score_all(
        items("redis", (C, F), (C, P)) + items("ssh_system", *([(H, P)] * 8)),
    )
    assert cats["redis"].score == 4.0  # 10 * 10/20 = 5.0 -> capped 4.0
    assert overall.score == 4.0
    assert overall.capped_by == "critical"
    assert overall.grade == "F"


def test_failed_high_anywhere_caps_overall_at_seven() -> None:
    """network: C pass 10 + H fail 0 = 10 of 15 -> 6.67 -> 6.7 (already below its 7.0 cap).

    ssh_system: 12 x H pass -> 10.0 (w 60). overall (6.7*15 + 10*60)/75 = 9.34, capped to
    7.0 because a high failed somewhere; grade C.
    """
    cats, overall = score_all(items("network", (C, P), (H, F)) + items("ssh_system", *([(H, P)] * 12)))
    assert cats["network"].score == 6.7
    assert cats["network"].capped_by is None
    assert overall.score == 7.0
    assert overall.capped_by == "high"
    assert overall.grade == "C"


def test_all_not_applicable_has_no_overall() -> None:
    cats, overall = score_all(items("redis", (C, NA), (H, NA)))
    assert cats["redis"].score is None
    assert overall.score is None
    assert overall.grade is None


def test_partial_critical_does_not_cap() -> None:
    """C partial (5) + C pass (10) = 15 of 20 -> 7.5; partial is not a failure."""
    cat = score_category("redis", items("redis", (C, PA), (C, P)))
    assert cat.score == 7.5
    assert cat.capped_by is None


@pytest.mark.parametrize(
    ("score", "fc", "fh", "grade"),
    [
        (10.0, 0, 0, "A+"),
        (9.5, 0, 0, "A+"),
        (9.5, 0, 1, "A"),
        (9.4, 0, 0, "A"),
        (9.0, 0, 0, "A"),
        (8.9, 0, 0, "B"),
        (8.0, 0, 0, "B"),
        (7.9, 0, 0, "C"),
        (6.5, 0, 0, "C"),
        (6.4, 0, 0, "D"),
        (5.0, 0, 0, "D"),
        (4.9, 0, 0, "F"),
        (0.0, 1, 0, "F"),
    ],
)
def test_grade_thresholds(score: float, fc: int, fh: int, grade: str) -> None:
    assert grade_for(score, fc, fh) == grade


def test_overall_uses_category_scores_as_reported() -> None:
    """Two categories 6.25->6.3 (w 8) and 10.0 (w 2): (6.3*8 + 20)/10 = 7.04 -> 7.0."""
    cats = [
        score_category("logging", items("logging", (M, P), (M, P), (M, PA), (M, F))),
        score_category("secrets", items("secrets", (M, P))),
    ]
    overall = score_overall(cats)
    assert overall.score == 7.0
    assert overall.grade == "C"


def test_grade_at_least() -> None:
    assert grade_at_least("A+", "A")
    assert grade_at_least("B", "B")
    assert not grade_at_least("C", "B")
    assert not grade_at_least(None, "F")
    with pytest.raises(ValueError, match="unknown grade"):
        grade_at_least("A", "Z")
