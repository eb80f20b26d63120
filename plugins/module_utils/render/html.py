"""A self-contained HTML page for one report (inline CSS, no scripts, no external assets)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.render.common import (
    SEVERITIES,
    STATUS_LABELS,
    category_label,
    errors_section_note,
    findings_with_status,
    fix_hint,
    incomplete_note,
    score_text,
)

GRADE_COLOURS: dict[str, str] = {
    "A+": "#1a7f37",
    "A": "#2da44e",
    "B": "#6e9f18",
    "C": "#bf8700",
    "D": "#d1670a",
    "F": "#cf222e",
}
NO_GRADE_COLOUR = "#6e7781"

CSS = """
:root{--bg:#f6f8fa;--card:#fff;--ink:#1f2328;--muted:#656d76;--line:#d0d7de;
--critical:#a40e26;--high:#cf222e;--medium:#bc4c00;--low:#0969da;--info:#6e7781;
--pass:#1a7f37;--partial:#9a6700;--fail:#cf222e;--na:#6e7781;--error:#8250df}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:15px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI","Noto Sans",Helvetica,Arial,sans-serif}
main{max-width:1100px;margin:0 auto;padding:32px 24px 48px}
h1{font-size:26px;margin:0 0 4px}
h2{font-size:19px;margin:36px 0 12px;padding-bottom:6px;border-bottom:1px solid var(--line)}
.muted{color:var(--muted)}
.incomplete{color:#9a3412;margin:4px 0}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
.hero{display:flex;gap:28px;align-items:center;background:var(--card);border:1px solid var(--line);
border-radius:12px;padding:24px 28px;margin-top:20px}
.badge{flex:none;width:132px;height:132px;border-radius:50%;display:flex;flex-direction:column;
align-items:center;justify-content:center;color:#fff;box-shadow:inset 0 -6px 0 rgba(0,0,0,.12)}
.badge .grade{font-size:52px;font-weight:700;line-height:1}
.badge .score{font-size:15px;opacity:.95;margin-top:6px}
.hero-body{flex:1}
.hero-body .headline{font-size:20px;font-weight:600;margin-bottom:4px}
.chips{display:flex;flex-wrap:wrap;gap:8px;margin-top:14px}
.chip{border-radius:999px;padding:3px 12px;font-size:13px;font-weight:600;border:1px solid var(--line);background:#fff}
.chip b{font-size:15px;margin-right:4px}
.sev-critical{color:var(--critical)}.sev-high{color:var(--high)}.sev-medium{color:var(--medium)}
.sev-low{color:var(--low)}.sev-info{color:var(--info)}
.chip.zero{color:var(--muted);font-weight:400}
.cats{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:8px 20px}
.cat{display:grid;grid-template-columns:190px 1fr 56px 250px;gap:14px;align-items:center;
padding:9px 0;border-bottom:1px solid #eaeef2}
.cat:last-child{border-bottom:0}
.cat .name{font-weight:600}
.bar{height:12px;background:#eaeef2;border-radius:6px;overflow:hidden}
.bar span{display:block;height:100%;border-radius:6px}
.cat .num{font-weight:700;text-align:right;font-variant-numeric:tabular-nums}
.cat .counts{font-size:12.5px;color:var(--muted)}
.cat .counts .f{color:var(--fail);font-weight:600}.cat .counts .e{color:var(--error);font-weight:600}
.cap{font-size:11px;font-weight:600;color:#fff;background:var(--high);border-radius:4px;padding:0 5px;margin-left:6px}
.finding{background:var(--card);border:1px solid var(--line);border-left:6px solid var(--info);
border-radius:10px;padding:14px 18px;margin:12px 0}
.finding.critical{border-left-color:var(--critical)}.finding.high{border-left-color:var(--high)}
.finding.medium{border-left-color:var(--medium)}.finding.low{border-left-color:var(--low)}
.finding h3{margin:0;font-size:16px;display:flex;gap:8px;align-items:center;flex-wrap:wrap}
.pill{font-size:11.5px;font-weight:700;text-transform:uppercase;letter-spacing:.03em;
border-radius:999px;padding:1px 9px;color:#fff}
.pill.critical{background:var(--critical)}.pill.high{background:var(--high)}.pill.medium{background:var(--medium)}
.pill.low{background:var(--low)}.pill.info{background:var(--info)}
.st{font-size:11.5px;font-weight:700;border-radius:4px;padding:1px 7px;border:1px solid}
.st.fail{color:var(--fail);border-color:var(--fail)}.st.partial{color:var(--partial);border-color:var(--partial)}
.st.error{color:var(--error);border-color:var(--error)}.st.pass{color:var(--pass);border-color:var(--pass)}
.st.not_applicable{color:var(--na);border-color:var(--na)}
.src{font-size:11.5px;color:var(--muted);border:1px dashed var(--line);border-radius:4px;padding:0 6px}
.id{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;color:var(--muted);font-weight:600}
.msg{margin:8px 0 6px}
.evidence{background:#f6f8fa;border:1px solid #eaeef2;border-radius:6px;padding:8px 12px;margin:8px 0;
white-space:pre-wrap;word-break:break-word;max-height:240px;overflow:auto}
.remedy{margin:6px 0 0}.remedy b{color:var(--pass)}
.refs{font-size:13px;color:var(--muted);margin-top:4px}
.refs a{color:var(--low)}
table{width:100%;border-collapse:collapse;background:var(--card);border:1px solid var(--line);border-radius:10px;
overflow:hidden;font-size:14px}
th,td{text-align:left;padding:7px 12px;border-bottom:1px solid #eaeef2;vertical-align:top}
th{background:#f6f8fa;font-size:12.5px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
tr:last-child td{border-bottom:0}
details{margin-top:12px}summary{cursor:pointer;font-weight:600}
.ok{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 18px;color:var(--pass);
font-weight:600}
footer{margin-top:40px;font-size:12.5px;color:var(--muted)}
.trend{margin-top:10px}
@media print{body{background:#fff}.finding,.cats,.hero{break-inside:avoid}}
"""


def grade_colour(grade: str | None) -> str:
    return GRADE_COLOURS.get(grade or "", NO_GRADE_COLOUR)


def score_colour(score: float | None) -> str:
    if score is None:
        return NO_GRADE_COLOUR
    if score >= 9.0:
        return GRADE_COLOURS["A"]
    if score >= 8.0:
        return GRADE_COLOURS["B"]
    if score >= 6.5:
        return GRADE_COLOURS["C"]
    if score >= 5.0:
        return GRADE_COLOURS["D"]
    return GRADE_COLOURS["F"]


def _trend_svg(history: Sequence[Mapping[str, Any]]) -> str:
    points = [(str(h.get("generated_at", "")), h.get("score")) for h in history if h.get("score") is not None]
    if len(points) < 2:
        return ""
    width, height, pad = 320, 60, 6
    step = (width - 2 * pad) / (len(points) - 1)
    coords = [
        (pad + i * step, height - pad - (float(score) / 10) * (height - 2 * pad))
        for i, (_unused, score) in enumerate(points)
    ]
    polyline = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#0969da">'
        f"<title>{escape(when)}: {float(score):.1f}</title></circle>"
        for (x, y), (when, score) in zip(coords, points, strict=True)
    )
    return (
        f'<div class="trend"><span class="muted">Trend ({len(points)} runs)</span><br>'
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="score trend">'
        f'<polyline points="{polyline}" fill="none" stroke="#0969da" stroke-width="2"/>{dots}</svg></div>'
    )


def _hero(report: Mapping[str, Any], history: Sequence[Mapping[str, Any]]) -> str:
    overall = report.get("overall", {})
    grade = overall.get("grade")
    failed = report.get("counts", {}).get("failed", {})
    chips = "".join(
        f'<span class="chip sev-{sev}{"" if failed.get(sev) else " zero"}"><b>{failed.get(sev, 0)}</b>{sev}</span>'
        for sev in SEVERITIES
    )
    status = report.get("counts", {}).get("status", {})
    summary = (
        f"{report.get('counts', {}).get('total', 0)} checks: {status.get('pass', 0)} passed, "
        f"{status.get('partial', 0)} partial, {status.get('fail', 0)} failed, "
        f"{status.get('not_applicable', 0)} not applicable, {status.get('error', 0)} "
        f"{'error' if status.get('error', 0) == 1 else 'errors'}"
    )
    cap = ""
    if overall.get("capped_by"):
        cap = f'<div class="muted">Capped by a failed {escape(str(overall["capped_by"]))} check.</div>'
    note = incomplete_note(report)
    if note:
        cap += f'<div class="incomplete"><b>Grade {escape(note)}.</b></div>'
    return (
        '<section class="hero">'
        f'<div class="badge" style="background:{grade_colour(grade)}">'
        f'<div class="grade">{escape(grade or "n/a")}</div>'
        f'<div class="score">{score_text(overall.get("score"))} / 10</div></div>'
        '<div class="hero-body">'
        f'<div class="headline">Overall score {score_text(overall.get("score"))} / 10, '
        f"grade {escape(grade or 'n/a')}</div>"
        f'{cap}<div class="muted">{escape(summary)}</div>'
        f'<div class="chips"><span class="muted" style="align-self:center">Failed by severity:</span>{chips}</div>'
        f"{_trend_svg(history)}</div></section>"
    )


def _categories(report: Mapping[str, Any]) -> str:
    rows = []
    for name, cat in sorted(report.get("categories", {}).items()):
        score = cat.get("score")
        counts = cat.get("counts", {})
        width = 0 if score is None else max(2, round(score * 10))
        cap = f'<span class="cap">cap {escape(str(cat["capped_by"]))}</span>' if cat.get("capped_by") else ""
        parts = [f"{counts.get('pass', 0)} pass"]
        if counts.get("partial"):
            parts.append(f"{counts['partial']} partial")
        if counts.get("fail"):
            parts.append(f'<span class="f">{counts["fail"]} fail</span>')
        if counts.get("error"):
            parts.append(f'<span class="e">{counts["error"]} error</span>')
        if counts.get("not_applicable"):
            parts.append(f"{counts['not_applicable']} n/a")
        rows.append(
            '<div class="cat">'
            f'<div class="name">{escape(category_label(name))}{cap}</div>'
            f'<div class="bar"><span style="width:{width}%;background:{score_colour(score)}"></span></div>'
            f'<div class="num">{score_text(score)}</div>'
            f'<div class="counts">{" · ".join(parts)}</div></div>'
        )
    return f'<h2>Categories</h2><div class="cats">{"".join(rows)}</div>'


def _link(ref: str) -> str:
    if ref.startswith(("https://", "http://")):
        return f'<a href="{escape(ref, quote=True)}">{escape(ref)}</a>'
    return escape(ref)


def _finding(finding: Mapping[str, Any]) -> str:
    severity = escape(str(finding.get("severity")))
    status = str(finding.get("status"))
    sources = "".join(f'<span class="src">{escape(s)}</span>' for s in finding.get("sources") or [])
    evidence = finding.get("evidence") or []
    evidence_html = f'<pre class="evidence">{escape(chr(10).join(str(e) for e in evidence))}</pre>' if evidence else ""
    fix = f" Fix with <code>{escape(fix_hint(finding))}</code>." if fix_hint(finding) else ""
    refs = finding.get("references") or []
    refs_html = f'<div class="refs">References: {", ".join(_link(str(r)) for r in refs)}</div>' if refs else ""
    return (
        f'<article class="finding {severity}" id="{escape(str(finding["id"]), quote=True)}">'
        f'<h3><span class="pill {severity}">{severity}</span>'
        f'<span class="st {escape(status)}">{escape(STATUS_LABELS.get(status, status))}</span>'
        f'<span class="id">{escape(str(finding["id"]))}</span>{escape(str(finding.get("title", "")))} {sources}</h3>'
        f'<div class="msg">{escape(str(finding.get("message", "")))}</div>{evidence_html}'
        f'<div class="remedy"><b>Remediation:</b> {escape(str(finding.get("remediation", "")))}{fix}</div>'
        f"{refs_html}</article>"
    )


def _attention(report: Mapping[str, Any]) -> str:
    findings = findings_with_status(report, ("fail", "partial"))
    if not findings:
        return '<h2>Findings</h2><div class="ok">No failed or partial checks.</div>'
    return f"<h2>Findings needing attention ({len(findings)})</h2>{''.join(_finding(f) for f in findings)}"


def _errors(report: Mapping[str, Any]) -> str:
    errors = findings_with_status(report, ("error",))
    if not errors:
        return ""
    return (
        f"<h2>Errors ({len(errors)})</h2>"
        f'<p class="muted">{escape(errors_section_note(report))} They never count as a pass.</p>'
        f"{''.join(_finding(f) for f in errors)}"
    )


def _waivers(report: Mapping[str, Any]) -> str:
    waivers = report.get("waivers", [])
    if not waivers:
        return ""
    rows = "".join(
        f"<tr><td class='id'>{escape(w['id'])}</td><td>{escape(w['hosts'])}</td><td>{escape(w['expires'])}</td>"
        f"<td>{escape(w['state'])}</td><td>{escape(w['reason'])}</td></tr>"
        for w in waivers
    )
    return (
        "<h2>Waivers</h2><table><thead><tr><th>Check</th><th>Hosts</th><th>Expires</th><th>State</th>"
        f"<th>Reason</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _others(report: Mapping[str, Any]) -> str:
    findings = findings_with_status(report, ("pass", "not_applicable"))
    if not findings:
        return ""
    rows = "".join(
        f"<tr><td class='id'>{escape(str(f['id']))}</td><td>{escape(str(f.get('title', '')))}</td>"
        f"<td><span class='pill {escape(str(f['severity']))}'>{escape(str(f['severity']))}</span></td>"
        f"<td><span class='st {escape(str(f['status']))}'>{escape(STATUS_LABELS[str(f['status'])])}</span></td>"
        f"<td>{escape(str(f.get('message', '')))}</td></tr>"
        for f in findings
    )
    return (
        f"<details><summary>Passed and not applicable checks ({len(findings)})</summary>"
        "<table style='margin-top:10px'><thead><tr><th>Check</th><th>Title</th><th>Severity</th><th>Status</th>"
        f"<th>Result</th></tr></thead><tbody>{rows}</tbody></table></details>"
    )


def render_html(report: Mapping[str, Any], history: Sequence[Mapping[str, Any]] = ()) -> str:
    """The report as one self-contained HTML page. ``history``: earlier {generated_at, score} for a trend."""
    host = escape(str(report.get("host") or "unnamed host"))
    engine = report.get("engine", {})
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Rampart audit: {host}</title><style>{CSS}</style></head><body><main>"
        f"<h1>Rampart security audit: {host}</h1>"
        f'<div class="muted">Generated {escape(str(report.get("generated_at", "")))} · scoring model '
        f"<code>{escape(str(report.get('scoring_model', '')))}</code> · checklist "
        f"{escape(str(report.get('checklist_version', '')))}</div>"
        f"{_hero(report, history)}{_categories(report)}{_attention(report)}{_errors(report)}"
        f"{_waivers(report)}{_others(report)}"
        f"<footer>{escape(str(engine.get('name', 'rampart')))} {escape(str(engine.get('version', '')))}. "
        "Scores: pass 1, partial 0.5, fail 0, weighted critical 10, high 5, medium 2, low 1, info 0; "
        "a failed critical caps at 4.0, a failed high at 7.0.</footer>"
        "</main></body></html>\n"
    )
