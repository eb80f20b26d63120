#!/usr/bin/env python3
"""Generate a role's README.md from its meta/argument_specs.yml.

The variable reference is generated, so it cannot drift from the spec; prose that a
person writes (examples, caveats) lives between the HAND-WRITTEN markers and is kept.

    scripts/role-readme.py roles/nginx            # rewrite roles/nginx/README.md
    scripts/role-readme.py --check roles/*        # exit 1 when a README is stale
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

BEGIN = "<!-- BEGIN HAND-WRITTEN -->"
END = "<!-- END HAND-WRITTEN -->"
PLACEHOLDER = "Describe usage, examples and caveats here; this part is kept on regeneration.\n"


def hand_written_part(readme: Path) -> str:
    if not readme.exists():
        return PLACEHOLDER
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        return PLACEHOLDER
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n") + "\n"


def describe(text: Any) -> str:
    if isinstance(text, list):
        text = " ".join(str(part) for part in text)
    return " ".join(str(text or "").split()).replace("|", "\\|")


def format_default(value: Any) -> str:
    if value is None:
        return ""
    rendered = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    rendered = rendered.removesuffix("...").strip()
    return f"`{rendered}`".replace("|", "\\|")


def option_rows(options: dict[str, Any]) -> list[str]:
    rows = []
    for name, spec in sorted(options.items()):
        kind = spec.get("type", "str")
        if kind == "list" and spec.get("elements"):
            kind = f"list of {spec['elements']}"
        choices = spec.get("choices")
        extra = f" Choices: {', '.join(f'`{c}`' for c in choices)}." if choices else ""
        required = "yes" if spec.get("required") else ""
        rows.append(
            f"| `{name}` | {kind} | {required} | {format_default(spec.get('default'))} "
            f"| {describe(spec.get('description'))}{extra} |"
        )
    return rows


def render(role_dir: Path) -> str:
    specs = yaml.safe_load((role_dir / "meta" / "argument_specs.yml").read_text())
    entry = specs["argument_specs"]["main"]
    role = role_dir.name
    lines = [
        f"# rampart.hardening.{role}",
        "",
        describe(entry.get("short_description")),
        "",
        describe(entry.get("description")),
        "",
        BEGIN,
        hand_written_part(role_dir / "README.md").rstrip("\n"),
        END,
        "",
        "## Variables",
        "",
        "Generated from `meta/argument_specs.yml` by `scripts/role-readme.py`; do not edit by hand.",
        "",
        "| Variable | Type | Required | Default | Description |",
        "| --- | --- | --- | --- | --- |",
        *option_rows(entry.get("options", {})),
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("roles", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="only report stale READMEs")
    args = parser.parse_args()
    stale = []
    for role_dir in args.roles:
        if not (role_dir / "meta" / "argument_specs.yml").exists():
            continue
        wanted = render(role_dir)
        readme = role_dir / "README.md"
        if readme.exists() and readme.read_text() == wanted:
            continue
        if args.check:
            stale.append(str(readme))
        else:
            readme.write_text(wanted)
    for path in stale:
        print(f"stale: {path} (run scripts/role-readme.py {Path(path).parent})", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
