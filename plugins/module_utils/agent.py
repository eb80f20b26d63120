"""rampart-agent: the host side of scheduled drift audits (run by rampart-audit.service).

PYTHONPATH=/usr/local/lib/rampart python3 -m ansible_collections.rampart.hardening.plugins.module_utils.agent \
    --config /etc/rampart/agent/agent.json \
    [run|snapshot|check-baseline|export --from SEQ|push|record --event JSON|requests]

``run`` audits the host, compares it with the approved baseline (a DSSE envelope signed by the
controller key; an unsigned or badly signed baseline is refused), appends one signed entry to
the evidence chain and, when a push endpoint is configured, delivers unconfirmed entries.
The chain itself is the push queue: ``push.json`` holds the last seq the endpoint confirmed,
so an entry is retried until confirmed and only then leaves the queue, across reboots.
"""

# rampart-agent is a command line on the host, not module code: it prints and exits by design.
# pylint: disable=ansible-bad-function
from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import ssl
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils import drift as dr
from ansible_collections.rampart.hardening.plugins.module_utils import evidence as ev
from ansible_collections.rampart.hardening.plugins.module_utils import self_heal as sh
from ansible_collections.rampart.hardening.plugins.module_utils.engine import run_audit
from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts

EXIT_BASELINE_REFUSED = 3
EXIT_BROKEN_CHAIN = 4
EXIT_BAD_EVENT = 2  # record --event is not a JSON object
EXIT_PUSH_PENDING = 0  # a down endpoint is normal: entries stay queued
EXIT_NOT_OPEN = 5  # record --event answers a request that is unknown or already answered


@dataclass
class Config:
    host: str
    state_dir: str = "/var/lib/rampart"
    key: str = "/etc/rampart/agent/host.key"
    controller_keys: tuple[str, ...] = ("/etc/rampart/agent/controller.pub",)
    intent_dir: str = "/etc/rampart/intent"
    skip_checks: tuple[str, ...] = ()
    keep_reports: int = 4
    push_url: str | None = None
    push_ca: str | None = None
    push_timeout: float = 10.0
    push_backoff_max: int = 3600
    # Entries the controller acknowledged (acked.json) and older than this many days are pruned (0: never).
    chain_retention_days: int = 90
    # SEC-05 login attempts with default passwords: each one logs a failed authentication, every period.
    try_default_credentials: bool = False
    # Self-healing per check category: report (default) or enforce (docs/remediation.md section 8).
    remediation: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str) -> Config:
        with open(path, encoding="utf-8") as handle:
            raw = json.load(handle)
        push = raw.get("push") or {}
        return cls(
            host=raw.get("host") or socket.gethostname(),
            state_dir=raw.get("state_dir", cls.state_dir),
            key=raw.get("key", cls.key),
            controller_keys=tuple(raw.get("controller_keys") or cls.controller_keys),
            intent_dir=raw.get("intent_dir", cls.intent_dir),
            skip_checks=tuple(raw.get("skip_checks") or ()),
            keep_reports=int(raw.get("keep_reports", cls.keep_reports)),
            push_url=push.get("url") or None,
            push_ca=push.get("ca") or None,
            push_timeout=float(push.get("timeout", cls.push_timeout)),
            push_backoff_max=int(push.get("backoff_max", cls.push_backoff_max)),
            chain_retention_days=int(raw.get("chain_retention_days", cls.chain_retention_days)),
            try_default_credentials=bool(raw.get("try_default_credentials", cls.try_default_credentials)),
            remediation=sh.parse_modes(raw.get("remediation")),
        )

    def facts(self) -> Facts:
        return Facts(intent_dir=self.intent_dir, try_default_logins=self.try_default_credentials)

    @property
    def chain(self) -> str:
        return os.path.join(self.state_dir, "chain", "evidence.intoto.jsonl")

    @property
    def baseline(self) -> str:
        return os.path.join(self.state_dir, "baseline.dsse.json")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def next_fields(
    config: Config, head: ev.Head, torn: dict[str, Any] | None, body: bytes, baseline_digest: str | None
) -> ev.ChainFields:
    """The chain fields of the entry that follows ``head`` (every entry kind links the same way)."""
    return ev.ChainFields(
        host=config.host,
        seq=head.seq + 1,
        prev=head.digest,
        boot_id=boot_id(),
        time=now_iso(),
        report_digest=ev.digest(body),
        baseline_digest=baseline_digest,
        torn_tail=torn,
    )


def boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as handle:
            return handle.read().strip()
    except OSError:
        return "unknown"


# ----- baseline --------------------------------------------------------------------------
class BaselineRefused(Exception):
    """The baseline file exists but is not signed by a pinned controller key."""


def controller_keyring(config: Config) -> dict[str, Any]:
    pems = []
    for path in config.controller_keys:
        try:
            with open(path, "rb") as handle:
                pems.append(handle.read())
        except FileNotFoundError:
            continue
    return ev.load_keyring(pems)


def load_baseline(config: Config) -> tuple[dict[str, Any], str] | None:
    """(baseline snapshot, its digest), None when none was approved; BaselineRefused when unsigned."""
    try:
        with open(config.baseline, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        return None
    try:
        envelope = json.loads(raw)
        keys = controller_keyring(config)
        if not keys:
            raise BaselineRefused("no controller public key is pinned on this host")
        payload = ev.verify_envelope(envelope, keys, ev.BASELINE_PAYLOAD_TYPE)
        approval = json.loads(payload)
    except ev.EvidenceError as exc:
        raise BaselineRefused(f"{config.baseline}: {exc.describe()}") from exc
    except ValueError as exc:
        raise BaselineRefused(f"{config.baseline}: not a signed baseline envelope: {exc}") from exc
    snap = approval.get("snapshot") if isinstance(approval, dict) else None
    if not isinstance(snap, dict) or snap.get("format") != dr.SNAPSHOT_FORMAT:
        raise BaselineRefused(f"{config.baseline}: the signed payload is not a {dr.SNAPSHOT_FORMAT} approval")
    if snap.get("host") != config.host:
        raise BaselineRefused(f"{config.baseline}: approved for host {snap.get('host')!r}, this is {config.host!r}")
    return approval, dr.snapshot_digest(snap)


# ----- one run ---------------------------------------------------------------------------
def audit(config: Config, facts: Facts) -> tuple[dict[str, Any], dict[str, Any]]:
    report = run_audit(facts, skip_checks=config.skip_checks, host=config.host).to_dict()
    return report, dr.snapshot(facts, report, config.host, report["generated_at"])


def test_lists(report: Mapping[str, Any]) -> dict[str, Any]:
    """The test-result/v0.1 fields: result and the check ids per outcome."""
    findings = report.get("findings", [])
    passed = [f["id"] for f in findings if f["status"] == "pass"]
    warned = [f["id"] for f in findings if f["status"] == "partial"]
    failed = [f["id"] for f in findings if f["status"] in ("fail", "error")]
    result = "FAILED" if failed else "WARNED" if warned else "PASSED"
    return {"result": result, "passedTests": passed, "warnedTests": warned, "failedTests": failed}


def predicate_for(
    report: Mapping[str, Any],
    drift_items: list[dict[str, Any]] | None,
    approval: Mapping[str, Any] | None,
    refused: str | None,
) -> tuple[str, dict[str, Any]]:
    tests = test_lists(report)
    configuration = [{"name": "rampart-checklist", "annotations": {"version": report.get("checklist_version")}}]
    overall = report.get("overall", {})
    if drift_items is None and refused is None:
        return ev.TEST_RESULT_PREDICATE, {**tests, "configuration": configuration}
    predicate: dict[str, Any] = {
        "result": "BASELINE_REFUSED" if refused else ("DRIFT" if drift_items else "NO_DRIFT"),
        "drift": drift_items or [],
        "checks": tests,
        "score": {"overall": overall.get("score"), "grade": overall.get("grade")},
        "scoring_model": report.get("scoring_model"),
    }
    if refused:
        predicate["refused"] = refused
    if approval:
        predicate["baseline"] = {
            "approved_at": approval.get("approved_at"),
            "approved_by": approval.get("approved_by"),
            "taken_at": (approval.get("snapshot") or {}).get("taken_at"),
        }
    return ev.DRIFT_PREDICATE, predicate


def run(config: Config, facts: Facts | None = None) -> int:
    facts = facts or config.facts()
    report, current = audit(config, facts)
    refused, items, approval, baseline_digest = None, None, None, None
    try:
        loaded = load_baseline(config)
    except BaselineRefused as exc:
        refused, loaded = str(exc), None
        print(f"rampart-agent: baseline refused: {exc}", file=sys.stderr)
    if loaded is not None:
        approval, baseline_digest = loaded
        items = dr.compare(approval["snapshot"], current) + dr.intent_vs_reality(facts)
        dr.attribute(facts, items, approval["snapshot"])
    full = {"report": report, "snapshot": current, "drift": items, "baseline_digest": baseline_digest}
    body = ev.canonical_json(full)
    predicate_type, predicate = predicate_for(report, items, approval, refused)
    key = ev.load_private_key(config.key)
    os.makedirs(os.path.dirname(config.chain), mode=0o700, exist_ok=True)

    def build(head: ev.Head, torn: dict[str, Any] | None) -> bytes:
        if torn:
            print(f"rampart-agent: torn tail of {torn['bytes']} bytes kept as {torn['kept_as']}", file=sys.stderr)
        fields = next_fields(config, head, torn, body, baseline_digest)
        return ev.entry_line(key, predicate_type, predicate, fields)

    try:
        head, _line = ev.append_entry(config.chain, build)
    except ev.EvidenceError as exc:
        print(f"rampart-agent: {exc.detail} (run rampart-verify on it)", file=sys.stderr)
        return EXIT_BROKEN_CHAIN
    save_report(config, head.seq, body)
    summary = predicate.get("result")
    print(f"rampart-agent: entry {head.seq} {summary}, {len(items or [])} drift item(s), head {head.digest}")
    if items and sh.enforced(config.remediation):
        request_remediation(config, report, items, baseline_digest, head.seq)
    prune(config, key)
    if config.push_url:
        push(config)
    return EXIT_BASELINE_REFUSED if refused else 0


class _NothingToAppend(Exception):
    """The record's builder decided, under the chain lock, that nothing is appended."""


def _requests_in_chain(config: Config) -> sh.Requests:
    """Requests and answers of the host's own chain (read under the append lock; only what follows
    the position cached by the last read, see self_heal.read_requests)."""
    return sh.read_requests(config.chain, os.path.join(config.state_dir, "requests-cache.json"))


def _append_record(
    config: Config, make_event: Callable[[sh.Requests], dict[str, Any] | None], baseline_digest: str | None
) -> tuple[ev.Head, dict[str, Any]] | None:
    """Append one remediation entry whose event ``make_event(requests in the chain)`` builds under the
    chain lock (so "answered once" and "one open request" hold across concurrent writers); it returns
    None (or raises sh.AnswerRefused) to append nothing."""
    key = ev.load_private_key(config.key)
    os.makedirs(os.path.dirname(config.chain), mode=0o700, exist_ok=True)
    made: dict[str, Any] = {}

    def build(head: ev.Head, torn: dict[str, Any] | None) -> bytes:
        event = make_event(_requests_in_chain(config))
        if event is None:
            raise _NothingToAppend
        made.update(event)
        body = ev.canonical_json(dict(event))
        predicate = {"result": "REMEDIATION_" + str(event.get("event", "note")).upper(), "remediation": dict(event)}
        fields = next_fields(config, head, torn, body, baseline_digest)
        return ev.entry_line(key, ev.REMEDIATION_PREDICATE, predicate, fields)

    try:
        head, _line = ev.append_entry(config.chain, build)
    except _NothingToAppend:
        return None
    return head, made


def request_remediation(
    config: Config, report: Mapping[str, Any], items: list[dict[str, Any]], baseline_digest: str | None, seq: int
) -> int | None:
    """After a drift entry: a signed REMEDIATION_REQUESTED entry for the regressed checks of the
    enforce categories, unless a request is still open or every such check is held."""

    def make(state: sh.Requests) -> dict[str, Any] | None:
        if state.open:
            print(f"rampart-agent: remediation request {state.open[0]} is still open, no new request")
            return None
        wanted = sh.request_items(report, items, config.remediation, state.held(baseline_digest))
        return sh.request_event(wanted, seq, now_iso()) if wanted else None

    try:
        appended = _append_record(config, make, baseline_digest)
    except ev.EvidenceError as exc:
        print(f"rampart-agent: {exc.detail} (run rampart-verify on it)", file=sys.stderr)
        return None
    if appended is None:
        return None
    head, event = appended
    print(f"rampart-agent: entry {head.seq} REMEDIATION_REQUESTED for {', '.join(event['checks'] + event['drift'])}")
    return head.seq


def record(config: Config, event: Mapping[str, Any]) -> int:
    """Append one signed entry for an action taken on the host (remediation applied, refused, rolled back).

    The event itself is the predicate's ``remediation`` (its digest is the entry's report digest); the
    baseline in force is carried over so the drift report's window since approval is not cut. An event
    that answers a request (``request: <seq>``) is refused unless that request is open: answered once.
    """
    try:
        loaded = load_baseline(config)
    except BaselineRefused:
        loaded = None

    def make(state: sh.Requests) -> dict[str, Any]:
        sh.check_answer(state, event)
        return dict(event)

    try:
        appended = _append_record(config, make, loaded[1] if loaded else None)
    except sh.AnswerRefused as exc:
        print(f"rampart-agent: not recorded: {exc}", file=sys.stderr)
        return EXIT_NOT_OPEN
    except ev.EvidenceError as exc:
        print(f"rampart-agent: {exc.detail} (run rampart-verify on it)", file=sys.stderr)
        return EXIT_BROKEN_CHAIN
    if appended is None:
        return 0
    head, made = appended
    print(f"rampart-agent: entry {head.seq} REMEDIATION_{str(made.get('event', 'note')).upper()}, head {head.digest}")
    if config.push_url:
        push(config)
    return 0


def acknowledged_head(config: Config) -> ev.Head | None:
    """The head drift.yml wrote back (``acked.json``): what the controller holds safely."""
    try:
        with open(os.path.join(config.state_dir, "acked.json"), encoding="utf-8") as handle:
            return ev.Head.parse(json.load(handle))
    except FileNotFoundError:
        return None
    except (ValueError, TypeError) as exc:
        print(f"rampart-agent: acked.json unreadable ({exc}): nothing is pruned", file=sys.stderr)
        return None


def prune(config: Config, key: Any) -> int:
    """Drop acknowledged entries older than the retention (and, with a push endpoint, confirmed)."""
    if config.chain_retention_days <= 0:
        return 0
    cutoff = (datetime.now(UTC) - timedelta(days=config.chain_retention_days)).isoformat(timespec="seconds")
    up_to = int(_push_state(config)["confirmed"]) if config.push_url else None
    count = ev.prune_chain(
        config.chain,
        private_key=key,
        host=config.host,
        acknowledged=acknowledged_head(config),
        cutoff=cutoff,
        time=now_iso(),
        up_to=up_to,
    )
    if count:
        days = config.chain_retention_days
        print(f"rampart-agent: pruned {count} acknowledged entr{'y' if count == 1 else 'ies'} older than {days} days")
    return count


def save_report(config: Config, seq: int, body: bytes) -> None:
    directory = os.path.join(config.state_dir, "reports")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    ev.write_atomic(os.path.join(directory, f"{seq}.json"), body)
    kept = sorted(int(n[:-5]) for n in os.listdir(directory) if n.endswith(".json") and n[:-5].isdigit())
    for old in kept[: max(0, len(kept) - config.keep_reports)]:
        os.unlink(os.path.join(directory, f"{old}.json"))


# ----- push (exactly once: the endpoint dedups on (host, seq), we advance only on confirm) ---
def _push_state(config: Config) -> dict[str, Any]:
    fresh = {"confirmed": 0, "failures": 0, "next_attempt": 0}
    try:
        with open(os.path.join(config.state_dir, "push.json"), encoding="utf-8") as handle:
            state = json.load(handle)
    except FileNotFoundError:
        return fresh
    except ValueError:
        # Unreadable state: start over. The endpoint is idempotent on (host, seq), so resending
        # what it already has costs requests, never a duplicate.
        print("rampart-agent: push.json unreadable, resending from seq 1", file=sys.stderr)
        return fresh
    if not isinstance(state, dict) or not isinstance(state.get("confirmed"), int):
        return fresh
    return state


def _save_push_state(config: Config, state: Mapping[str, Any]) -> None:
    ev.write_atomic(os.path.join(config.state_dir, "push.json"), ev.canonical_json(dict(state)))


def _post(config: Config, seq: int, line: bytes) -> None:
    body = json.dumps({"host": config.host, "seq": seq, "entry": line.decode("utf-8")}).encode("utf-8")
    request = urllib.request.Request(
        config.push_url or "", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    context = ssl.create_default_context(cafile=config.push_ca)
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context))
    with opener.open(request, timeout=config.push_timeout) as response:
        answer = json.loads(response.read() or b"{}")
    if answer.get("seq") != seq or answer.get("status") not in ("stored", "duplicate"):
        raise ValueError(f"endpoint did not confirm seq {seq}: {answer}")


def push(config: Config, force: bool = False) -> int:
    """Deliver every entry after the confirmed seq, in order; stop at the first failure."""
    with ev.locked(os.path.join(config.state_dir, "push.lock")):
        state = _push_state(config)
        if not force and time.time() < state.get("next_attempt", 0):
            print(f"rampart-agent: push backing off until {state['next_attempt']:.0f}", file=sys.stderr)
            return EXIT_PUSH_PENDING
        try:
            pending = ev.lines_after(config.chain, int(state["confirmed"]) + 1)
        except FileNotFoundError:
            return 0
        delivered = 0
        for line in pending.split(b"\n")[:-1]:  # complete lines only: a torn tail waits for the next run
            seq = ev.claimed_seq(line)
            if seq is None:
                print(
                    "rampart-agent: an unreadable chain line stops the push (rampart-verify names it)", file=sys.stderr
                )
                return EXIT_PUSH_PENDING
            try:
                _post(config, seq, line)
            except (OSError, ValueError, urllib.error.URLError) as exc:
                state["failures"] = int(state.get("failures", 0)) + 1
                delay = min(config.push_backoff_max, 30 * 2 ** (state["failures"] - 1))
                state["next_attempt"] = time.time() + delay
                _save_push_state(config, state)
                print(f"rampart-agent: push of seq {seq} failed ({exc}); retry in {delay}s", file=sys.stderr)
                return EXIT_PUSH_PENDING
            state.update(confirmed=seq, failures=0, next_attempt=0)
            _save_push_state(config, state)  # the entry leaves the queue only now
            delivered += 1
        print(f"rampart-agent: pushed {delivered} entr{'y' if delivered == 1 else 'ies'}")
        return 0


def latest_report(config: Config) -> tuple[int, bytes] | None:
    directory = os.path.join(config.state_dir, "reports")
    try:
        seqs = [int(n[:-5]) for n in os.listdir(directory) if n.endswith(".json") and n[:-5].isdigit()]
    except FileNotFoundError:
        return None
    if not seqs:
        return None
    with open(os.path.join(directory, f"{max(seqs)}.json"), "rb") as handle:
        return max(seqs), handle.read()


def print_snapshot(config: Config, fresh: bool) -> int:
    """The snapshot an approval pins: by default the one of the latest run, so the baseline is
    exactly what the service saw (and its evidence entry is named in the approval)."""
    latest = None if fresh else latest_report(config)
    if latest is None:
        _report, current = audit(config, config.facts())
        out = {"seq": None, "report_digest": None, "snapshot": current}
    else:
        seq, body = latest
        out = {"seq": seq, "report_digest": ev.digest(body), "snapshot": json.loads(body)["snapshot"]}
    sys.stdout.write(json.dumps(out, sort_keys=True) + "\n")
    return 0


# ----- command line ----------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rampart-agent", description="Rampart scheduled drift audit")
    parser.add_argument("--config", default="/etc/rampart/agent/agent.json")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="audit, compare with the baseline, append one signed entry (default)")
    snap = sub.add_parser("snapshot", help="print the snapshot of the latest run (JSON), for approval")
    snap.add_argument("--fresh", action="store_true", help="audit now instead of using the latest run")
    sub.add_parser("check-baseline", help="exit 0 when the installed baseline is signed by a pinned key")
    export = sub.add_parser("export", help="print the chain lines from seq FROM on")
    export.add_argument("--from", dest="start", type=int, default=1)
    push_cmd = sub.add_parser("push", help="deliver unconfirmed entries now")
    push_cmd.add_argument("--force", action="store_true", help="ignore the backoff")
    rec = sub.add_parser("record", help="append a signed entry for an action taken (a remediation event)")
    rec.add_argument("--event", required=True, help="the event, a JSON object")
    sub.add_parser("requests", help="print the remediation requests of the chain: open, answered, problems (JSON)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:  # noqa: PLR0911 - one return per subcommand
    args = build_parser().parse_args(argv)
    config = Config.load(args.config)
    command = args.command or "run"
    if command == "run":
        return run(config)
    if command == "snapshot":
        return print_snapshot(config, args.fresh)
    if command == "check-baseline":
        try:
            loaded = load_baseline(config)
        except BaselineRefused as exc:
            print(f"rampart-agent: baseline refused: {exc}", file=sys.stderr)
            return EXIT_BASELINE_REFUSED
        print("rampart-agent: " + (f"baseline {loaded[1]} is signed" if loaded else "no baseline approved"))
        return 0
    if command == "record":
        event = json.loads(args.event)
        return record(config, event) if isinstance(event, dict) else EXIT_BAD_EVENT
    if command == "requests":
        sys.stdout.write(json.dumps(_requests_in_chain(config).to_dict(), sort_keys=True) + "\n")
        return 0
    if command == "export":
        with contextlib.suppress(FileNotFoundError):
            sys.stdout.buffer.write(ev.lines_after(config.chain, args.start))
        return 0
    return push(config, force=args.force)


if __name__ == "__main__":
    sys.exit(main())
