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
    unjudged,
)
from ansible_collections.rampart.hardening.plugins.module_utils.render.html import (
    CSS,
    grade_colour,
    score_colour,
)
from ansible_collections.rampart.hardening.plugins.module_utils.scoring import SCORING_MODEL, round1

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
        "incomplete": unjudged(report) > 0,
        "unjudged": unjudged(report),
        "categories": {name: cat.get("score") for name, cat in report.get("categories", {}).items()},
        "report": link,
    }


def _worst_grade(grades: list[str]) -> str | None:
    ranked = [g for g in grades if g in GRADES_BEST_FIRST]
    return max(ranked, key=GRADES_BEST_FIRST.index) if ranked else None


def _models(reports: Sequence[Mapping[str, Any]]) -> str:
    """The reports' scoring model, or "mixed: a, b" when hosts were scored differently."""
    models = sorted({str(r.get("scoring_model")) for r in reports if r.get("scoring_model")})
    if not models:
        return SCORING_MODEL
    return models[0] if len(models) == 1 else "mixed: " + ", ".join(models)


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


def _before_rows(hosts: list[dict[str, Any]], previous: Mapping[str, Any]) -> dict[str, Any]:
    """Attach each host's row of an earlier fleet report as ``before``; a summary of that run."""
    earlier = {str(h.get("host")): h for h in previous.get("hosts", []) if isinstance(h, Mapping)}
    keys = ("score", "grade", "failed", "errors", "incomplete", "unjudged")
    for host in hosts:
        row = earlier.get(str(host["host"]))
        host["before"] = {key: row.get(key) for key in keys} if row else None
    return {key: previous.get(key) for key in ("label", "hosts_total", "mean_score", "worst_grade", "grades", "failed")}


def build_fleet(
    reports: Sequence[Mapping[str, Any]],
    links: Mapping[str, str] | None = None,
    previous: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Aggregate per-host reports: hosts (worst first), grade distribution, failing checks.

    ``previous``: an earlier fleet report (this function's output, e.g. before a converge);
    each host then carries its ``before`` row and the page shows both runs.
    """
    links = links or {}
    hosts = [_host_row(r, links.get(str(r.get("host", "")))) for r in reports]
    compared = _before_rows(hosts, previous) if previous else None
    hosts.sort(key=lambda h: (h["score"] is None, h["score"] if h["score"] is not None else 0, h["host"]))
    scores = [h["score"] for h in hosts if h["score"] is not None]
    distribution = {grade: sum(1 for h in hosts if h["grade"] == grade) for grade in GRADES_BEST_FIRST}
    failed_total = {sev: sum(int(h["failed"].get(sev, 0)) for h in hosts) for sev in SEVERITIES}
    return {
        "scoring_model": _models(reports),
        "hosts_total": len(hosts),
        "hosts_incomplete": sum(1 for h in hosts if h["incomplete"]),
        "mean_score": round1(sum((Fraction(str(s)) for s in scores), Fraction(0)) / len(scores)) if scores else None,
        "worst_grade": _worst_grade([h["grade"] for h in hosts if h["grade"]]),
        "grades": distribution,
        "failed": failed_total,
        "hosts": hosts,
        "failing_checks": _failing_checks(reports),
        **({"previous": compared} if compared is not None else {}),
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
        f'<tr><td class="host"><b>{name}</b></td>'
        f'<td><span class="pill" style="background:{grade_colour(host["grade"])}">'
        f"{escape(host['grade'] or 'n/a')}</span>{_incomplete_mark(host)}</td>{_before_cells(host)}"
        f'<td style="min-width:160px"><div class="bar"><span style="width:{width}%;background:{score_colour(score)}">'
        f'</span></div></td><td class="num"><b>{score_text(score)}</b></td>{failed}'
        f'<td class="num">{host["errors"]}</td></tr>'
    )


def _before_cells(host: Mapping[str, Any]) -> str:
    """Grade and failures of the earlier run (only on a page that compares two runs)."""
    if "before" not in host:
        return ""
    before = host["before"]
    if not before:
        return '<td class="muted">not audited</td><td></td>'
    failed = before.get("failed") or {}
    counts = "/".join(str(failed.get(sev, 0)) for sev in SEVERITIES)
    return (
        f'<td class="before"><span class="pill" style="background:{grade_colour(before.get("grade"))}">'
        f"{escape(str(before.get('grade') or 'n/a'))}</span> {score_text(before.get('score'))} &rarr; "
        f'<b>{escape(str(host.get("grade") or "n/a"))}</b></td><td class="num muted before">{counts}</td>'
    )


def _before_heads(fleet: Mapping[str, Any]) -> str:
    if "previous" not in fleet:
        return ""
    return "<th>Before &rarr; now</th><th class=num>failed before (C/H/M/L/I)</th>"


def _before_summary(fleet: Mapping[str, Any]) -> str:
    previous = fleet.get("previous")
    if not previous:
        return ""
    label = escape(str(previous.get("label") or "the previous run"))
    return (
        f'<div class="muted">Compared with {label}: worst grade {escape(str(previous.get("worst_grade") or "n/a"))}, '
        f"mean score {score_text(previous.get('mean_score'))} / 10</div>"
    )


def _incomplete_mark(host: Mapping[str, Any]) -> str:
    if not host.get("incomplete"):
        return ""
    count = int(host.get("unjudged") or 0)
    return f' <span class="incomplete" title="{count} checks could not be judged">incomplete</span>'


def _fleet_incomplete(fleet: Mapping[str, Any]) -> str:
    count = int(fleet.get("hosts_incomplete") or 0)
    if not count:
        return ""
    hosts = "host has" if count == 1 else "hosts have"
    return f'<div class="incomplete"><b>{count} {hosts} an incomplete grade</b> (checks not judged).</div>'


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
        f"<title>Rampart fleet audit</title><style>{CSS}td.num,th.num{{text-align:center}}"
        "td.id,td.host,td.before{white-space:nowrap}</style></head><body><main>"
        "<h1>Rampart fleet audit</h1>"
        f'<div class="muted">{fleet.get("hosts_total", 0)} hosts · scoring model '
        f"<code>{escape(str(fleet.get('scoring_model', '')))}</code></div>"
        '<section class="hero">'
        f'<div class="badge" style="background:{grade_colour(worst)}"><div class="grade">{escape(worst or "n/a")}</div>'
        '<div class="score">worst grade</div></div>'
        f'<div class="hero-body"><div class="headline">Mean score {score_text(fleet.get("mean_score"))} / 10</div>'
        f'<div class="muted">Grades: {grades or "none"}</div>'
        f"{_fleet_incomplete(fleet)}{_before_summary(fleet)}</div></section>"
        "<h2>Hosts (worst first)</h2><table><thead><tr><th style='text-align:left'>Host</th><th class=num>Grade</th>"
        f"{_before_heads(fleet)}<th>Score</th><th></th>{sev_heads}<th class=num>errors</th></tr></thead>"
        f"<tbody>{hosts}</tbody></table>"
        f"{checks_html}"
        "<footer>Failed checks per severity are counts of checks with status fail.</footer>"
        "</main></body></html>\n"
    )
