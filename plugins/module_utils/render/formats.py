"""Format dispatch and report file writing shared by the module, the CLI and the filters."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.render.html import render_html
from ansible_collections.rampart.hardening.plugins.module_utils.render.junit import render_junit
from ansible_collections.rampart.hardening.plugins.module_utils.render.markdown import render_markdown
from ansible_collections.rampart.hardening.plugins.module_utils.render.sarif import render_sarif


def render_json(report: Mapping[str, Any]) -> str:
    return json.dumps(report, indent=2, sort_keys=False) + "\n"


RENDERERS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "json": render_json,
    "markdown": render_markdown,
    "html": render_html,
    "junit": render_junit,
    "sarif": render_sarif,
}
FILENAMES: dict[str, str] = {
    "json": "report.json",
    "markdown": "report.md",
    "html": "report.html",
    "junit": "report.junit.xml",
    "sarif": "report.sarif",
}


def render(report: Mapping[str, Any], fmt: str) -> str:
    if fmt not in RENDERERS:
        raise ValueError(f"unknown report format {fmt!r} (expected one of {', '.join(RENDERERS)})")
    return RENDERERS[fmt](report)


def _current(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return None


def write_reports(
    report: Mapping[str, Any], formats: Iterable[str], dest: str, *, dry_run: bool = False, mode: int = 0o640
) -> tuple[list[str], list[str]]:
    """Render and write ``dest/report.<ext>`` per format, only where the content differs.

    Returns (all target paths, paths that changed). With ``dry_run`` nothing is written.
    """
    targets: list[str] = []
    changed: list[str] = []
    if not dry_run:
        os.makedirs(dest, mode=0o750, exist_ok=True)
    for fmt in formats:
        path = os.path.join(dest, FILENAMES[fmt])
        text = render(report, fmt)
        targets.append(path)
        if _current(path) == text:
            continue
        changed.append(path)
        if dry_run:
            continue
        fd, tmp = tempfile.mkstemp(dir=dest, prefix=".rampart-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    return targets, changed
