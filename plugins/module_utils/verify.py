"""rampart-verify: check an evidence chain offline against pinned public keys.

PYTHONPATH=<collections dir> python -m ansible_collections.rampart.hardening.plugins.module_utils.verify \
    evidence.intoto.jsonl --key host.pub [--head 42:sha256:HEX | --head-file acked.json]

Exit codes: 0 ok, 2 usage or unreadable input, 10 bad signature, 11 broken prev, 12 seq gap,
13 unknown key, 14 truncated tail, 15 malformed entry, 16 the acknowledged head is not in
the chain (acknowledged history rewritten or removed). The first bad entry is named.
"""

# The evidence verifier's command line, not module code: it prints and exits by design.
# pylint: disable=ansible-bad-function
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from ansible_collections.rampart.hardening.plugins.module_utils.evidence import (
    EXIT_OK,
    EXIT_USAGE,
    EvidenceError,
    Head,
    load_keyring,
    verify_chain,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rampart-verify", description="Verify a Rampart evidence chain.")
    parser.add_argument("chain", help="the JSON Lines chain ('-' reads stdin)")
    parser.add_argument("--key", action="append", required=True, help="pinned Ed25519 public key, PEM (repeatable)")
    parser.add_argument("--head", help="last acknowledged head, SEQ:sha256:HEX")
    parser.add_argument("--head-file", help="JSON file {seq, digest} with the last acknowledged head")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser


def _head(args: argparse.Namespace) -> Head | None:
    if args.head:
        return Head.parse(args.head)
    if args.head_file:
        with open(args.head_file, encoding="utf-8") as handle:
            return Head.parse(json.load(handle))
    return None


def _emit(args: argparse.Namespace, result: dict[str, object], text: str, failed: bool) -> None:
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        print(text, file=sys.stderr if failed else sys.stdout)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        keys = {}
        for path in args.key:
            with open(path, "rb") as handle:
                keys.update(load_keyring([handle.read()]))
        anchor = _head(args)
        if args.chain == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(args.chain, "rb") as handle:
                data = handle.read()
    except (OSError, ValueError) as exc:
        print(f"rampart-verify: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        report = verify_chain(data, keys, anchor)
    except EvidenceError as exc:
        result = {"ok": False, "code": exc.code, "reason": exc.reason, "seq": exc.seq, "line": exc.line}
        result["detail"] = exc.detail
        _emit(args, result, f"rampart-verify: {args.chain}: FAILED at {exc.describe()}", True)
        return exc.code
    head = report.head.to_dict() if report.head else None
    first = report.entries[0].seq if report.entries else None
    result = {"ok": True, "code": EXIT_OK, "entries": len(report.entries), "first_seq": first, "head": head}
    text = f"rampart-verify: {args.chain}: OK, {len(report.entries)} entries"
    if report.pruned:
        result["pruned"] = report.pruned.to_dict()
        text += f" after a signed anchor (pruned up to seq {report.pruned.seq})"
    if head:
        text += f", head seq {head['seq']} {head['digest']}"
    _emit(args, result, text, False)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
