"""Host-side command line: run the audit without a controller.

PYTHONPATH=<collections dir> python -m ansible_collections.rampart.hardening.plugins.module_utils.cli \
    --format json --checks 'TLS-*' --root /
"""

# The audit's command line, not module code: it prints and exits by design.
# pylint: disable=ansible-bad-function
from __future__ import annotations

import argparse
import json
import socket
import sys
from collections.abc import Sequence
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.custom_checks import CustomCheckError
from ansible_collections.rampart.hardening.plugins.module_utils.engine import (
    AuditConfigError,
    results_from_dicts,
    run_audit,
)
from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts
from ansible_collections.rampart.hardening.plugins.module_utils.render.formats import RENDERERS, render, write_reports
from ansible_collections.rampart.hardening.plugins.module_utils.scoring import GRADE_ORDER, grade_at_least


def _split(values: Sequence[str] | None) -> list[str] | None:
    if not values:
        return None
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def _load(path: str | None) -> Any:
    """JSON, or YAML when PyYAML is importable; '-' reads stdin."""
    if not path:
        return None
    text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()  # noqa: SIM115
    try:
        return json.loads(text)
    except ValueError:
        try:
            import yaml  # noqa: PLC0415 - optional on hosts
        except ImportError as exc:
            raise AuditConfigError(f"{path}: not JSON, and PyYAML is not installed to read YAML") from exc
        return yaml.safe_load(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rampart-audit", description="Rampart security audit (rampart-score/2)")
    parser.add_argument("--format", action="append", choices=sorted(RENDERERS), help="output format (repeatable)")
    parser.add_argument("--checks", action="append", help="check ids or globs to run (comma separated, repeatable)")
    parser.add_argument("--skip-checks", action="append", help="check ids or globs to skip")
    parser.add_argument("--categories", action="append", help="categories to run")
    parser.add_argument("--custom-checks", help="file with a list of declarative custom checks (JSON or YAML)")
    parser.add_argument("--waivers", help="file with a list of waivers (JSON or YAML)")
    parser.add_argument("--live-results", help="JSON file with edge_probe live_results")
    parser.add_argument("--root", default="/", help="filesystem root to audit (default /)")
    parser.add_argument("--intent-dir", default="/etc/rampart/intent")
    parser.add_argument("--host", default=None, help="host name in the report (default: this node's name)")
    parser.add_argument("--dest", help="write report.<ext> files to this directory instead of stdout")
    parser.add_argument("--min-grade", choices=GRADE_ORDER, help="exit 3 when the grade is below this")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    formats = args.format or ["json"]
    try:
        facts = Facts(root=args.root, intent_dir=args.intent_dir, live=results_from_dicts(_load(args.live_results)))
        report = run_audit(
            facts,
            categories=_split(args.categories),
            checks=_split(args.checks),
            skip_checks=_split(args.skip_checks) or (),
            waivers=_load(args.waivers) or (),
            custom_checks=_load(args.custom_checks) or (),
            host=args.host or socket.gethostname(),
        ).to_dict()
    except (AuditConfigError, CustomCheckError, OSError) as exc:
        print(f"rampart-audit: {exc}", file=sys.stderr)
        return 2
    if args.dest:
        targets, _changed = write_reports(report, formats, args.dest)
        print("\n".join(targets))
    else:
        sys.stdout.write("".join(render(report, fmt) for fmt in formats))
    if args.min_grade and not grade_at_least(report["overall"]["grade"], args.min_grade):
        print(f"rampart-audit: grade {report['overall']['grade']} is below {args.min_grade}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
