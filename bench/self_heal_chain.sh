#!/usr/bin/env bash
# Benchmark: what reading the whole evidence chain costs the agent when self-healing is on. In
# `enforce` mode each scheduled run with drift pairs the requests and answers of the host's chain
# (plugins/module_utils/self_heal.py: statements_of + pair), and each answer does it again under
# the chain lock. Measured on synthetic chains of realistic drift entries (signed, 15-minute
# period): one day (96 entries) and the default retention of 90 days (8640 entries), read whole
# and, as the agent does, from its cache (read_requests: only what follows the last read), against
# a reference in the same invocation: signing and appending one entry (what every run does anyway).
#
#   bench/self_heal_chain.sh [DAYS]   (default 90)
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
export PYTHONPATH="$RAMPART_COLLECTIONS_DIR${PYTHONPATH:+:$PYTHONPATH}"
python - "${1:-90}" <<'PY'
import os
import sys
import tempfile
import time

from ansible_collections.rampart.hardening.plugins.module_utils import evidence as ev
from ansible_collections.rampart.hardening.plugins.module_utils import self_heal as sh

days = int(sys.argv[1])
key = ev.Ed25519PrivateKey.generate()
# A drift entry as the agent writes one: about 70 checks' verdicts and a few drift items.
checks = [f"CHK-{n:02d}" for n in range(70)]
predicate = {
    "result": "DRIFT",
    "drift": [
        {"kind": "managed_file_changed", "key": f"/etc/nginx/rampart/sites/site{n}.conf", "category": "tls",
         "before": "sha256:" + "a" * 64, "after": "sha256:" + "b" * 64, "role": "nginx",
         "detail": f"/etc/nginx/rampart/sites/site{n}.conf (nginx role) changed"}
        for n in range(3)
    ],
    "checks": {"result": "FAILED", "passedTests": checks[:-2], "warnedTests": [], "failedTests": checks[-2:]},
    "score": {"overall": 9.4, "grade": "A"},
}


def append(path: str, count: int) -> float:
    """Append ``count`` signed entries; seconds per entry."""
    started = time.perf_counter()
    for _ in range(count):
        def build(head: ev.Head, _torn: object) -> bytes:
            fields = ev.ChainFields(host="web1", seq=head.seq + 1, prev=head.digest, boot_id="bench",
                                    time="2026-12-01T00:00:00Z", report_digest="sha256:" + "c" * 64)
            return ev.entry_line(key, ev.DRIFT_PREDICATE, predicate, fields)
        ev.append_entry(path, build)
    return (time.perf_counter() - started) / count


def pair_seconds(path: str, rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        with open(path, "rb") as handle:
            sh.pair(sh.statements_of(handle.read()))
        best = min(best, time.perf_counter() - started)
    return best


with tempfile.TemporaryDirectory() as tmp:
    day, full = os.path.join(tmp, "day.jsonl"), os.path.join(tmp, "full.jsonl")
    reference = append(day, 96)
    append(full, 96 * days)
    entry_bytes = os.path.getsize(day) // 96
    one_day, whole = pair_seconds(day), pair_seconds(full)
    cache = os.path.join(tmp, "cache.json")
    sh.read_requests(full, cache)  # the previous run's read
    append(full, 1)
    started = time.perf_counter()
    sh.read_requests(full, cache)
    cached = time.perf_counter() - started
    print(f"one signed entry appended (reference):  {reference * 1000:8.1f} ms  ({entry_bytes} bytes)")
    print(f"pair one day's chain (96 entries):       {one_day * 1000:8.1f} ms  ratio {one_day / reference:6.1f}")
    print(f"pair {days} days' chain ({96 * days} entries):  {whole * 1000:8.1f} ms  ratio {whole / reference:6.1f}"
          f"  ({os.path.getsize(full) // 1024} KiB)")
    print(f"the same, from the cache (one new entry): {cached * 1000:8.1f} ms  ratio {cached / reference:6.1f}")
PY
