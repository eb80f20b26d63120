"""Fleet report: many hosts' reports aggregated (JSON dict and a self-contained HTML page)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from html import escape
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.render.common import (
    SEVERITIES,
    score_text,
    severity_rank,
)
from ansible_collections.rampart.hardening.plugins.module_utils.render.html import (
    CSS,
    grade_colour,
    score_colour,
)
from ansible_collections.rampart.hardening.plugins.module_utils.scoring import round1

GRADES_BEST_FIRST: tuple[str, ...] = ("A+", "A", "B", "C", "D", "F")


def _host_row(report: Mapping[str, Any], link: str | None) -> dict[str, Any]:
    overall = report.get("overall", {})
    counts = report.get("counts", {})
    return {
        "host": report.get("host", ""),
        "score": overall.get("score"),
        "grade": overall.get("grade"),
        "capped_by": overall.get("capped_by"),
        "generated_at": report.get("generated_at"),
        "failed": dict(counts.get("failed", {})),
        "errors": len(report.get("errors", [])),
        "categories": {name: cat.get("score") for name, cat in report.get("categories", {}).items()},
        "report": link,
    }


def _worst_grade(grades: list[str]) -> str | None:
    ranked = [g for g in grades if g in GRADES_BEST_FIRST]
    return max(ranked, key=GRADES_BEST_FIRST.index) if ranked else None


def _failing_checks(reports: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    table: dict[str, dict[str, Any]] = {}
    for report in reports:
        for finding in report.get("findings", []):
            if finding.get("status") not in ("fail", "partial"):
                continue
            entry = table.setdefault(
                finding["id"],
                {
                    "id": finding["id"],
                    "title": finding.get("title", ""),
                    "severity": finding.get("severity"),
                    "hosts": [],
                },
            )
            entry["hosts"].append(report.get("host", ""))
    rows = sorted(table.values(), key=lambda e: (severity_rank(str(e["severity"])), -len(e["hosts"]), e["id"]))
    for row in rows:
        row["hosts"] = sorted(row["hosts"])
    return rows


def build_fleet(reports: Sequence[Mapping[str, Any]], links: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Aggregate per-host reports: hosts (worst first), grade distribution, failing checks."""
    links = links or {}
    hosts = [_host_row(r, links.get(str(r.get("host", "")))) for r in reports]
    hosts.sort(key=lambda h: (h["score"] is None, h["score"] if h["score"] is not None else 0, h["host"]))
    scores = [h["score"] for h in hosts if h["score"] is not None]
    distribution = {grade: sum(1 for h in hosts if h["grade"] == grade) for grade in GRADES_BEST_FIRST}
    failed_total = {sev: sum(int(h["failed"].get(sev, 0)) for h in hosts) for sev in SEVERITIES}
    return {
        "scoring_model": next((r.get("scoring_model") for r in reports), "rampart-score/1"),
        "hosts_total": len(hosts),
        "mean_score": round1(sum((Fraction(str(s)) for s in scores), Fraction(0)) / len(scores)) if scores else None,
        "worst_grade": _worst_grade([h["grade"] for h in hosts if h["grade"]]),
        "grades": distribution,
        "failed": failed_total,
        "hosts": hosts,
        "failing_checks": _failing_checks(reports),
    }


def _host_html(host: Mapping[str, Any]) -> str:
    score = host["score"]
    width = 0 if score is None else max(2, round(score * 10))
    name = escape(str(host["host"]))
    if host.get("report"):
        name = f'<a href="{escape(str(host["report"]), quote=True)}">{name}</a>'
    failed = "".join(
        f'<td class="num sev-{sev}">{host["failed"].get(sev, 0) or "<span class=muted>0</span>"}</td>'
        for sev in SEVERITIES
    )
    return (
        f"<tr><td><b>{name}</b></td>"
        f'<td><span class="pill" style="background:{grade_colour(host["grade"])}">'
        f"{escape(host['grade'] or 'n/a')}</span></td>"
        f'<td style="min-width:220px"><div class="bar"><span style="width:{width}%;background:{score_colour(score)}">'
        f'</span></div></td><td class="num"><b>{score_text(score)}</b></td>{failed}'
        f'<td class="num">{host["errors"]}</td></tr>'
    )


def render_fleet_html(fleet: Mapping[str, Any]) -> str:
    """The fleet dict (from build_fleet) as one self-contained HTML page."""
    hosts = "".join(_host_html(h) for h in fleet.get("hosts", []))
    sev_heads = "".join(f"<th class=num>{sev}</th>" for sev in SEVERITIES)
    grades = " · ".join(f"{escape(g)}: {n}" for g, n in fleet.get("grades", {}).items() if n)
    checks = "".join(
        f"<tr><td class='id'>{escape(c['id'])}</td><td>{escape(c['title'])}</td>"
        f"<td><span class='pill {escape(str(c['severity']))}'>{escape(str(c['severity']))}</span></td>"
        f"<td class='num'>{len(c['hosts'])}</td><td>{escape(', '.join(c['hosts']))}</td></tr>"
        for c in fleet.get("failing_checks", [])
    )
    checks_html = (
        "<h2>Failing checks across the fleet</h2><table><thead><tr><th>Check</th><th>Title</th><th>Severity</th>"
        f"<th>Hosts</th><th>Which</th></tr></thead><tbody>{checks}</tbody></table>"
        if checks
        else '<h2>Failing checks across the fleet</h2><div class="ok">No failed or partial checks on any host.</div>'
    )
    worst = fleet.get("worst_grade")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Rampart fleet audit</title><style>{CSS}td.num,th.num{{text-align:center}}</style></head><body><main>"
        "<h1>Rampart fleet audit</h1>"
        f'<div class="muted">{fleet.get("hosts_total", 0)} hosts · scoring model '
        f"<code>{escape(str(fleet.get('scoring_model', '')))}</code></div>"
        '<section class="hero">'
        f'<div class="badge" style="background:{grade_colour(worst)}"><div class="grade">{escape(worst or "n/a")}</div>'
        '<div class="score">worst grade</div></div>'
        f'<div class="hero-body"><div class="headline">Mean score {score_text(fleet.get("mean_score"))} / 10</div>'
        f'<div class="muted">Grades: {grades or "none"}</div></div></section>'
        "<h2>Hosts (worst first)</h2><table><thead><tr><th style='text-align:left'>Host</th><th class=num>Grade</th>"
        f"<th>Score</th><th></th>{sev_heads}<th class=num>errors</th></tr></thead><tbody>{hosts}</tbody></table>"
        f"{checks_html}"
        "<footer>Failed checks per severity are counts of checks with status fail.</footer>"
        "</main></body></html>\n"
    )
