"""Drift reports on the controller, built from a host's verified evidence chain.

For each host: what drifted since the baseline in force was approved, when each item was
first and last seen, and which evidence entries (seq) show it; items no longer present are
listed as resolved. A fleet report aggregates hosts. Rendered as JSON, Markdown and HTML.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.evidence import (
    DRIFT_PREDICATE,
    REMEDIATION_PREDICATE,
    predicate_type,
)

REPORT_FORMAT = "rampart-drift-report/1"
MAX_SEQS = 50


def _since_approval(statements: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Entries made against the baseline in force in the last entry (newest approval)."""
    if not statements:
        return []
    current = statements[-1]["predicate"]["chain"].get("baseline_digest")
    run: list[Mapping[str, Any]] = []
    for item in reversed(statements):
        if item["predicate"]["chain"].get("baseline_digest") != current:
            break
        run.append(item)
    return list(reversed(run))


def host_report(host: str, statements: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The drift report of one host from its verified statements (oldest first)."""
    window = _since_approval(statements)
    items: dict[tuple[str, str], dict[str, Any]] = {}
    for stmt in window:
        chain = stmt["predicate"]["chain"]
        for drift in stmt["predicate"].get("drift") or [] if predicate_type(stmt) == DRIFT_PREDICATE else []:
            key = (drift["kind"], drift["key"])
            seen = items.setdefault(
                key, {**drift, "first_seen": {"seq": chain["seq"], "time": chain["time"]}, "entries": []}
            )
            seen.update({k: v for k, v in drift.items() if k not in ("kind", "key")})
            seen["last_seen"] = {"seq": chain["seq"], "time": chain["time"]}
            if len(seen["entries"]) < MAX_SEQS:
                seen["entries"].append(chain["seq"])
    # A remediation record judges nothing: the latest state is the latest audit entry's.
    last = next((stmt for stmt in reversed(window) if predicate_type(stmt) != REMEDIATION_PREDICATE), None)
    latest_keys = {(d["kind"], d["key"]) for d in (last["predicate"].get("drift") or [])} if last else set()
    for key, item in items.items():
        item["status"] = "current" if key in latest_keys else "resolved"
    last_chain = last["predicate"]["chain"] if last else {}
    result = last["predicate"].get("result") if last else None
    return {
        "format": REPORT_FORMAT,
        "host": host,
        "baseline_digest": last_chain.get("baseline_digest"),
        "baseline": (last["predicate"].get("baseline") if last else None),
        "latest": {"seq": last_chain.get("seq"), "time": last_chain.get("time"), "result": result},
        "entries_since_approval": len(window),
        "drift": sorted(items.values(), key=lambda i: (i["status"] != "current", i["first_seen"]["seq"], i["kind"])),
    }


def fleet_report(reports: Sequence[Mapping[str, Any]], generated_at: str) -> dict[str, Any]:
    hosts = []
    for report in sorted(reports, key=lambda r: r["host"]):
        current = [i for i in report["drift"] if i["status"] == "current"]
        hosts.append(
            {
                "host": report["host"],
                "result": report["latest"]["result"],
                "latest_seq": report["latest"]["seq"],
                "current_drift": len(current),
                "kinds": sorted({i["kind"] for i in current}),
            }
        )
    return {"format": REPORT_FORMAT, "generated_at": generated_at, "hosts": hosts, "reports": list(reports)}


# ----- rendering -------------------------------------------------------------------------
def _attribution(item: Mapping[str, Any]) -> str:
    label = item.get("attribution") or {}
    if label.get("source") == "package":
        return f"package upgrade: {label.get('package')} {label.get('version_before')} → {label.get('version_after')}"
    if label.get("source") == "local":
        return f"local change (differs from {label.get('package')})"
    if label.get("source") == "unowned":
        return "local change (no package owns it)"
    return ""


def _seqs(item: Mapping[str, Any]) -> str:
    return ", ".join(str(s) for s in item["entries"])


def _md_cell(text: Any) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def host_markdown(report: Mapping[str, Any]) -> str:
    latest = report["latest"]
    baseline = report.get("baseline") or {}
    lines = [
        f"# Drift report: {report['host']}",
        "",
        f"- Latest entry: seq {latest['seq']} at {latest['time']} — **{latest['result']}**",
        f"- Baseline: `{report['baseline_digest']}` "
        f"(approved {baseline.get('approved_at')} by {baseline.get('approved_by')})",
        f"- Entries since approval: {report['entries_since_approval']}",
        "",
    ]
    if not report["drift"]:
        return "\n".join([*lines, "No drift since the baseline was approved.", ""])
    lines += [
        "| status | kind | subject | detail | attribution | first seen | evidence (seq) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for item in report["drift"]:
        cells = [
            item["status"],
            item["kind"],
            item["key"],
            item.get("detail"),
            _attribution(item),
            f"seq {item['first_seen']['seq']}, {item['first_seen']['time']}",
            _seqs(item),
        ]
        lines.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
    return "\n".join([*lines, ""])


def fleet_markdown(fleet: Mapping[str, Any]) -> str:
    lines = [f"# Fleet drift report ({fleet['generated_at']})", "", "| host | result | seq | current drift | kinds |"]
    lines.append("| --- | --- | --- | --- | --- |")
    for host in fleet["hosts"]:
        cells = [host["host"], host["result"], host["latest_seq"], host["current_drift"], ", ".join(host["kinds"])]
        lines.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
    body = "\n".join(lines)
    return body + "\n\n" + "\n".join(host_markdown(r) for r in fleet["reports"])


CSS = (
    "body{font:15px/1.5 system-ui,sans-serif;margin:0;background:#f6f8fa;color:#1f2328}"
    "main{max-width:1100px;margin:0 auto;padding:24px}table{border-collapse:collapse;width:100%;background:#fff}"
    "td,th{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}"
    ".current{color:#cf222e;font-weight:600}.resolved{color:#1a7f37}.muted{color:#656d76}"
)


def _html_host(report: Mapping[str, Any]) -> str:
    latest = report["latest"]
    head = (
        f"<h2>{escape(report['host'])}</h2><p class='muted'>latest entry seq {escape(str(latest['seq']))} at "
        f"{escape(str(latest['time']))}: <b>{escape(str(latest['result']))}</b>; baseline "
        f"<code>{escape(str(report['baseline_digest']))}</code>; {report['entries_since_approval']} entries "
        "since approval</p>"
    )
    if not report["drift"]:
        return head + "<p>No drift since the baseline was approved.</p>"
    rows = "".join(
        f"<tr><td class='{escape(i['status'])}'>{escape(i['status'])}</td><td>{escape(i['kind'])}</td>"
        f"<td>{escape(str(i['key']))}</td><td>{escape(str(i.get('detail') or ''))}</td>"
        f"<td>{escape(_attribution(i))}</td><td>seq {i['first_seen']['seq']}<br>{escape(i['first_seen']['time'])}</td>"
        f"<td>{escape(_seqs(i))}</td></tr>"
        for i in report["drift"]
    )
    header = "<tr><th>status</th><th>kind</th><th>subject</th><th>detail</th><th>attribution</th>"
    return head + f"<table>{header}<th>first seen</th><th>evidence (seq)</th></tr>{rows}</table>"


def _page(title: str, body: str) -> str:
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{CSS}</style></head><body><main><h1>{escape(title)}</h1>{body}</main></body></html>\n"
    )


def host_html(report: Mapping[str, Any]) -> str:
    return _page(f"Drift report: {report['host']}", _html_host(report))


def fleet_html(fleet: Mapping[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{escape(h['host'])}</td><td>{escape(str(h['result']))}</td><td>{h['latest_seq']}</td>"
        f"<td>{h['current_drift']}</td><td>{escape(', '.join(h['kinds']))}</td></tr>"
        for h in fleet["hosts"]
    )
    table = (
        f"<table><tr><th>host</th><th>result</th><th>seq</th><th>current drift</th><th>kinds</th></tr>{rows}</table>"
    )
    return _page(
        f"Fleet drift report ({fleet['generated_at']})", table + "".join(_html_host(r) for r in fleet["reports"])
    )
