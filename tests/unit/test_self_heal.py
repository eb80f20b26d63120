"""Opt-in self-healing of the audit agent (issue 17 item 4, docs/remediation.md section 8).

The agent asks for the fix of regressed checks of its ``enforce`` categories with a signed request;
answers (applied, rollback, refused with the next window, ...) pair with it, once.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from role_tags import role_tags

from ansible_collections.rampart.hardening.plugins.filter.self_heal import remediation_requests
from ansible_collections.rampart.hardening.plugins.module_utils import agent as ag
from ansible_collections.rampart.hardening.plugins.module_utils import drift as dr
from ansible_collections.rampart.hardening.plugins.module_utils import evidence as ev
from ansible_collections.rampart.hardening.plugins.module_utils import maintenance as mw
from ansible_collections.rampart.hardening.plugins.module_utils import self_heal as sh
from ansible_collections.rampart.hardening.plugins.module_utils.model import CATEGORIES

REPO = Path(__file__).resolve().parents[2]
ROLE = REPO / "roles" / "audit_agent"

NET04 = {
    "id": "NET-04",
    "category": "network",
    "severity": "critical",
    "fix_role": "firewall",
    "fix_tag": "firewall_rules",
}
TLS01 = {"id": "TLS-01", "category": "tls", "severity": "high", "fix_role": "nginx", "fix_tag": "nginx_tls"}
SEC01 = {"id": "SEC-01", "category": "network", "severity": "high"}  # names no role: fixed by hand


def report(statuses: dict[str, str], *findings: dict[str, Any]) -> dict[str, Any]:
    chosen = findings or (NET04, TLS01, SEC01)
    return {
        "generated_at": "2026-12-01T00:00:00+00:00",
        "findings": [{**f, "status": statuses.get(f["id"], "pass")} for f in chosen],
        "overall": {"score": 90, "grade": "A"},
    }


def snapshot(rep: dict[str, Any], files: dict[str, str] | None = None) -> dict[str, Any]:
    """A snapshot whose managed files are {path: content}, owned by the role their path names."""
    owners = {"/etc/nftables.conf": "firewall", "/etc/nginx/nginx.conf": "nginx", "/etc/redis/users.acl": "redis"}
    return {
        "format": dr.SNAPSHOT_FORMAT,
        "host": "web1",
        "taken_at": rep["generated_at"],
        "checks": {f["id"]: f["status"] for f in rep["findings"]},
        "files": {
            path: {"role": owners.get(path, "audit_agent"), "digest": dr.sha256(text.encode())}
            for path, text in (files or {}).items()
        },
    }


class Host:
    """An agent whose audit returns what the test says the host looks like now."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, modes: dict[str, str] | None) -> None:
        (tmp_path / "state").mkdir()
        ev.generate_private_key(str(tmp_path / "host.key"))
        self.host_key = ev.load_private_key(str(tmp_path / "host.key"))
        self.controller = Ed25519PrivateKey.generate()
        (tmp_path / "controller.pub").write_bytes(ev.public_pem(self.controller.public_key()))
        raw = {
            "host": "web1",
            "state_dir": str(tmp_path / "state"),
            "key": str(tmp_path / "host.key"),
            "controller_keys": [str(tmp_path / "controller.pub")],
            "chain_retention_days": 0,
        }
        if modes is not None:
            raw["remediation"] = modes
        (tmp_path / "agent.json").write_text(json.dumps(raw))
        self.config_path = str(tmp_path / "agent.json")
        self.config = ag.Config.load(self.config_path)
        self.now: dict[str, Any] = report({})
        self.files: dict[str, str] = {}
        monkeypatch.setattr(ag, "audit", lambda _config, _facts: (self.now, snapshot(self.now, self.files)))
        monkeypatch.setattr(dr, "attribute", lambda _facts, _items, _baseline: None)
        monkeypatch.setattr(dr, "intent_vs_reality", lambda _facts: [])

    def approve(self, statuses: dict[str, str]) -> None:
        snap = snapshot(report(statuses), self.files)
        envelope = ev.sign_baseline(snap, self.controller, "ops", "2026-12-01T00:00:00+00:00")
        Path(self.config.baseline).write_bytes(ev.canonical_json(envelope))

    def run(self, make_facts: Any, statuses: dict[str, str]) -> int:
        self.now = report(statuses)
        return ag.run(self.config, make_facts())

    def chain(self) -> bytes:
        return Path(self.config.chain).read_bytes()

    def statements(self) -> list[dict[str, Any]]:
        public = self.host_key.public_key()
        return [e.statement for e in ev.verify_chain(self.chain(), {ev.key_id(public): public}).entries]

    def results(self) -> list[str]:
        return [s["predicate"]["result"] for s in self.statements()]

    def requests(self) -> sh.Requests:
        return sh.pair(self.statements())

    def answer(self, event: dict[str, Any]) -> int:
        return ag.main(["--config", self.config_path, "record", "--event", json.dumps(event)])


@pytest.fixture
def enforcing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Host:
    host = Host(tmp_path, monkeypatch, {"network": "enforce", "tls": "report"})
    host.approve({})
    return host


# ----- configuration ---------------------------------------------------------------------------
def test_modes_are_parsed_and_bad_ones_name_the_variable_and_value() -> None:
    assert sh.parse_modes(None) == {}
    assert sh.parse_modes({"network": "enforce", "tls": "report"}) == {"network": "enforce", "tls": "report"}
    assert sh.enforced({"network": "enforce", "tls": "report"}) == {"network"}
    with pytest.raises(sh.SelfHealConfigError, match=r"rampart_audit_agent_remediation\.network: 'fix'"):
        sh.parse_modes({"network": "fix"})
    with pytest.raises(
        sh.SelfHealConfigError, match="rampart_audit_agent_remediation: unknown check category 'firewall'"
    ):
        sh.parse_modes({"firewall": "enforce"})
    with pytest.raises(sh.SelfHealConfigError, match="must be a mapping"):
        sh.parse_modes(["network"])


def test_the_role_declares_every_category_with_both_modes() -> None:
    specs = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())
    option = specs["argument_specs"]["main"]["options"]["rampart_audit_agent_remediation"]
    assert tuple(option["options"]) == CATEGORIES
    assert all(sub["choices"] == list(sh.MODES) for sub in option["options"].values())
    internal = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
    assert tuple(internal["_rampart_audit_agent_categories"]) == CATEGORIES
    assert yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())["rampart_audit_agent_remediation"] == {}


# ----- request creation per class --------------------------------------------------------------
def test_a_regressed_enforce_check_is_requested_with_its_role_and_tag(enforcing: Host, make_facts: Any) -> None:
    assert enforcing.run(make_facts, {"NET-04": "fail", "TLS-01": "fail", "SEC-01": "fail"}) == 0
    drift, request = enforcing.statements()
    assert drift["predicate"]["result"] == "DRIFT"
    assert request["predicateType"] == ev.REMEDIATION_PREDICATE
    assert request["predicate"]["result"] == "REMEDIATION_REQUESTED"
    event = request["predicate"]["remediation"]
    # TLS-01 is a report category, SEC-01 names no fixing role: only NET-04 is asked for
    assert event["checks"] == ["NET-04"]
    assert event["items"] == [
        {
            "check": "NET-04",
            "category": "network",
            "severity": "critical",
            "status": "fail",
            "role": "firewall",
            "tag": "firewall_rules",
        }
    ]
    assert event["drift_entry"] == drift["predicate"]["chain"]["seq"]
    assert request["predicate"]["chain"]["baseline_digest"] == drift["predicate"]["chain"]["baseline_digest"]
    assert enforcing.requests().open == [2]


def test_report_mode_only_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_facts: Any) -> None:
    for modes in (None, {"network": "report"}):
        place = tmp_path / str(bool(modes))
        place.mkdir()
        host = Host(place, monkeypatch, modes)
        host.approve({})
        assert host.run(make_facts, {"NET-04": "fail"}) == 0
        assert host.results() == ["DRIFT"]
        assert host.statements()[0]["predicate"]["drift"][0]["key"] == "NET-04"


def test_no_request_without_drift_or_without_a_baseline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_facts: Any
) -> None:
    host = Host(tmp_path, monkeypatch, {"network": "enforce"})
    # No approved baseline: a failing check is a finding, not drift.
    assert host.run(make_facts, {"NET-04": "fail"}) == 0
    # Failing already when the baseline was approved: the accepted state, not drift.
    host.approve({"NET-04": "fail"})
    assert host.run(make_facts, {"NET-04": "fail"}) == 0
    assert host.results() == ["FAILED", "NO_DRIFT"]


def test_waived_findings_are_not_requested() -> None:
    now = report({"NET-04": "fail"})
    now["findings"][0]["waived"] = True
    drift = [{"kind": "check_regressed", "key": "NET-04"}]
    assert sh.request_items(now, drift, {"network": "enforce"}) == []
    assert sh.request_items(report({"NET-04": "error"}), drift, {"network": "enforce"})[0]["status"] == "error"


# ----- pairing: one open request, answered once -------------------------------------------------
def test_an_open_request_is_not_repeated(enforcing: Host, make_facts: Any) -> None:
    enforcing.run(make_facts, {"NET-04": "fail"})
    enforcing.run(make_facts, {"NET-04": "fail"})
    assert enforcing.results() == ["DRIFT", "REMEDIATION_REQUESTED", "DRIFT"]


def test_a_request_is_answered_once_not_twice(enforcing: Host, make_facts: Any) -> None:
    enforcing.run(make_facts, {"NET-04": "fail"})
    assert enforcing.answer({"event": "applied", "request": 2, "checks": ["NET-04"], "fixed": ["NET-04"]}) == 0
    before = enforcing.chain()
    assert enforcing.answer({"event": "rollback", "request": 2, "checks": ["NET-04"]}) == ag.EXIT_NOT_OPEN
    assert enforcing.answer({"event": "refused", "request": 99}) == ag.EXIT_NOT_OPEN  # no such request
    assert enforcing.answer({"event": "refused", "request": 1}) == ag.EXIT_NOT_OPEN  # entry 1 is a drift entry
    assert enforcing.chain() == before
    state = enforcing.requests()
    assert state.open == []
    assert state.answers[2]["event"] == "applied"
    assert state.answers[2]["seq"] == 3
    assert state.problems == []
    # an event that answers nothing (an override) is still recorded
    assert enforcing.answer({"event": "override", "request": 2, "override": "INC-1"}) == 0
    # fixed: the next run measures no drift and asks for nothing
    enforcing.run(make_facts, {})
    assert enforcing.results()[-2:] == ["REMEDIATION_OVERRIDE", "NO_DRIFT"]


def test_pairing_flags_a_second_answer_and_an_answer_to_nothing() -> None:
    def stmt(seq: int, event: dict[str, Any]) -> dict[str, Any]:
        return {"predicate": {"remediation": event, "chain": {"seq": seq, "baseline_digest": "sha256:b"}}}

    state = sh.pair(
        [
            stmt(2, {"event": "requested", "checks": ["NET-04"]}),
            stmt(3, {"event": "refused", "request": 2}),
            stmt(4, {"event": "applied", "request": 2}),
            stmt(5, {"event": "applied", "request": 7}),
        ]
    )
    assert state.open == []
    assert state.answers[2]["event"] == "refused"
    assert state.problems == [
        "entry 4: answers request 2 again (entry 3 answered it)",
        "entry 5: answers request 7, which the chain does not hold",
    ]


def test_a_tampered_answer_fails_verification(enforcing: Host, make_facts: Any) -> None:
    enforcing.run(make_facts, {"NET-04": "fail"})
    assert enforcing.answer({"event": "rollback", "request": 2, "checks": ["NET-04"]}) == 0
    lines = enforcing.chain().split(b"\n")
    envelope = json.loads(lines[2])
    stmt = json.loads(base64.b64decode(envelope["payload"]))
    stmt["predicate"]["remediation"]["event"] = "applied"  # claim the fix worked
    stmt["predicate"]["result"] = "REMEDIATION_APPLIED"
    envelope["payload"] = base64.b64encode(ev.canonical_json(stmt)).decode()
    lines[2] = ev.canonical_json(envelope)
    public = enforcing.host_key.public_key()
    with pytest.raises(ev.EvidenceError) as caught:
        ev.verify_chain(b"\n".join(lines), {ev.key_id(public): public})
    assert caught.value.seq == 3
    assert "signature" in caught.value.describe()


def test_after_a_rollback_the_same_checks_are_held_until_the_baseline_changes(enforcing: Host, make_facts: Any) -> None:
    enforcing.run(make_facts, {"NET-04": "fail"})
    enforcing.answer({"event": "rollback", "request": 2, "checks": ["NET-04"]})
    enforcing.run(make_facts, {"NET-04": "fail"})
    assert enforcing.results() == ["DRIFT", "REMEDIATION_REQUESTED", "REMEDIATION_ROLLBACK", "DRIFT"]
    enforcing.approve({"TLS-01": "fail"})  # a new approval releases them
    enforcing.run(make_facts, {"NET-04": "fail", "TLS-01": "fail"})
    assert enforcing.results()[-1] == "REMEDIATION_REQUESTED"


# ----- the window refusal ----------------------------------------------------------------------
def test_a_refusal_outside_the_window_answers_with_the_next_window_and_is_asked_again(
    enforcing: Host, make_facts: Any
) -> None:
    windows = mw.parse_windows([{"days": ["sat"], "start": "06:00", "end": "08:00", "timezone": "Europe/Berlin"}])
    decision = mw.decide(windows, datetime(2026, 12, 2, 21, 0, tzinfo=UTC)).to_dict()  # a Wednesday
    assert not decision["allowed"]
    assert decision["next_open"] == "2026-12-05T05:00:00Z"
    enforcing.run(make_facts, {"NET-04": "fail"})
    # what remediate.yml records when it refuses a request (playbooks/remediate.yml)
    refusal = {
        "event": "refused",
        "request": 2,
        "checks": ["NET-04"],
        "window": decision["reason"],
        "next_open": decision["next_open"],
        "next_open_local": decision["next_open_local"],
    }
    assert enforcing.answer(refusal) == 0
    stmt = enforcing.statements()[-1]
    assert stmt["predicate"]["result"] == "REMEDIATION_REFUSED"
    assert stmt["predicate"]["remediation"]["next_open"] == "2026-12-05T05:00:00Z"
    assert "the next window opens 2026-12-05T05:00:00Z" in stmt["predicate"]["remediation"]["window"]
    assert enforcing.requests().answers[2]["detail"]["next_open_local"] == decision["next_open_local"]
    # a refusal holds nothing: the next run asks again, for the window that opens
    enforcing.run(make_facts, {"NET-04": "fail"})
    assert enforcing.results()[-2:] == ["DRIFT", "REMEDIATION_REQUESTED"]
    assert enforcing.requests().open == [5]


# ----- the controller side ---------------------------------------------------------------------
def test_the_filter_reads_open_and_answered_requests_from_the_chain_text(enforcing: Host, make_facts: Any) -> None:
    enforcing.run(make_facts, {"NET-04": "fail"})
    text = enforcing.chain().decode()
    found = remediation_requests(text)
    assert [(r["seq"], r["checks"], r["tags"]) for r in found["open"]] == [(2, ["NET-04"], ["firewall_rules"])]
    enforcing.answer({"event": "nothing_to_fix", "request": 2})
    found = remediation_requests(enforcing.chain().decode())
    assert found["open"] == []
    assert [(a["request"], a["event"]) for a in found["answered"]] == [(2, "nothing_to_fix")]
    assert remediation_requests("") == {"open": [], "answered": [], "problems": []}
    assert remediation_requests("not json\n{}\n") == {"open": [], "answered": [], "problems": []}


def test_the_requests_command_prints_the_state(enforcing: Host, make_facts: Any, capsys: Any) -> None:
    enforcing.run(make_facts, {"NET-04": "fail"})
    capsys.readouterr()
    assert ag.main(["--config", enforcing.config_path, "requests"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [r["seq"] for r in printed["open"]] == [2]


# ----- drift that no check names ---------------------------------------------------------------
MANAGED = {
    "/etc/nftables.conf": "ruleset v1",
    "/etc/nginx/nginx.conf": "nginx v1",
    "/etc/rampart/agent/agent.json": "{}",
}


@pytest.fixture
def enforcing_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Host:
    host = Host(tmp_path, monkeypatch, {"network": "enforce", "tls": "report", "logging": "enforce"})
    host.files = dict(MANAGED)
    host.approve({})
    return host


def test_a_hand_edited_managed_file_of_an_enforce_category_is_requested_without_a_failing_check(
    enforcing_files: Host, make_facts: Any
) -> None:
    # Every check passes; the firewall's file (network: enforce), nginx's (tls: report) and the
    # agent's own (logging: enforce, but the agent never rewrites its own policy) were edited.
    enforcing_files.files = {path: text + " edited" for path, text in MANAGED.items()}
    enforcing_files.run(make_facts, {})
    assert enforcing_files.results() == ["DRIFT", "REMEDIATION_REQUESTED"]
    event = enforcing_files.statements()[-1]["predicate"]["remediation"]
    assert event["checks"] == []
    assert event["drift"] == ["/etc/nftables.conf"]
    assert event["tags"] == ["firewall_rules"]
    (item,) = event["items"]
    assert (item["drift"], item["role"], item["tag"], item["category"]) == (
        "managed_file_changed",
        "firewall",
        "firewall_rules",
        "network",
    )
    assert item["digest"] == dr.sha256(b"ruleset v1 edited")
    # the controller's filter hands the same targets to remediate.yml
    (open_request,) = remediation_requests(enforcing_files.chain().decode())["open"]
    assert open_request["drift"] == ["/etc/nftables.conf"]


def test_drift_a_repair_did_not_undo_is_held_until_it_changes_again(enforcing_files: Host, make_facts: Any) -> None:
    enforcing_files.files = {**MANAGED, "/etc/nftables.conf": "foreign edit"}
    enforcing_files.run(make_facts, {})
    enforcing_files.answer({"event": "applied", "request": 2, "drift": ["/etc/nftables.conf"]})
    # the re-applied tag did not restore the file: asking again would repeat the run every cycle
    enforcing_files.run(make_facts, {})
    assert enforcing_files.results()[-1] == "DRIFT"
    # a new edit (another digest) is new drift: asked for again
    enforcing_files.files["/etc/nftables.conf"] = "another edit"
    enforcing_files.run(make_facts, {})
    assert enforcing_files.results()[-2:] == ["DRIFT", "REMEDIATION_REQUESTED"]


def test_drift_a_repair_undid_is_asked_for_again_when_it_comes_back(enforcing_files: Host, make_facts: Any) -> None:
    enforcing_files.files = {**MANAGED, "/etc/nftables.conf": "foreign edit"}
    enforcing_files.run(make_facts, {})
    enforcing_files.answer({"event": "applied", "request": 2, "drift": ["/etc/nftables.conf"]})
    enforcing_files.files = dict(MANAGED)  # the repair worked: the next run sees no drift
    enforcing_files.run(make_facts, {})
    assert enforcing_files.results()[-1] == "NO_DRIFT"
    enforcing_files.files = {**MANAGED, "/etc/nftables.conf": "foreign edit"}  # the same edit again
    enforcing_files.run(make_facts, {})
    assert enforcing_files.results()[-2:] == ["DRIFT", "REMEDIATION_REQUESTED"]


def test_refused_drift_is_asked_for_again(enforcing_files: Host, make_facts: Any) -> None:
    enforcing_files.files = {**MANAGED, "/etc/nftables.conf": "foreign edit"}
    enforcing_files.run(make_facts, {})
    enforcing_files.answer({"event": "refused", "request": 2, "drift": ["/etc/nftables.conf"]})
    enforcing_files.run(make_facts, {})
    assert enforcing_files.results()[-2:] == ["DRIFT", "REMEDIATION_REQUESTED"]


@pytest.mark.parametrize(
    ("item", "target"),
    [
        ({"kind": "firewall_ruleset_changed", "key": "nft ruleset"}, ("firewall", "firewall_rules")),
        ({"kind": "managed_file_changed", "key": "/etc/redis/users.acl", "role": "redis"}, ("redis", "redis_acl")),
        ({"kind": "managed_file_changed", "key": "/etc/redis/redis.conf", "role": "redis"}, ("redis", "redis_config")),
        (
            {"kind": "managed_file_changed", "key": "/etc/postgresql/15/main/pg_hba.conf", "role": "postgresql"},
            ("postgresql", "postgresql_hba"),
        ),
        ({"kind": "managed_file_changed", "key": "/etc/rampart/intent/ssh.json", "role": "ssh"}, ("ssh", "ssh_intent")),
        ({"kind": "managed_file_changed", "key": "/etc/rampart/agent/agent.json", "role": "audit_agent"}, None),
        ({"kind": "managed_file_changed", "key": "/etc/x.conf"}, None),
        ({"kind": "new_listening_port", "key": "tcp 0.0.0.0:6379"}, None),
        ({"kind": "package_changed", "key": "nginx"}, None),
        ({"kind": "check_regressed", "key": "NET-04"}, None),
        ({}, None),
    ],
)
def test_fix_target_of_each_drift_kind(item: dict[str, Any], target: tuple[str, str] | None) -> None:
    assert dr.fix_target(item) == target


def test_every_drift_target_tag_selects_tasks_of_its_role() -> None:
    pairs = set(dr.KIND_FIX.values())
    pairs |= {(role, tag) for role, rules in dr.ROLE_FILE_TAGS.items() for _pattern, tag in rules}
    pairs |= {(role, f"{role}_intent") for role in dr.ROLE_FILE_TAGS}
    for role, tag in sorted(pairs):
        assert tag in role_tags(role), f"drift repair tag {tag!r} selects no task of role {role}"
    # every role whose files are snapshotted is repaired, except the agent (it does not rewrite itself)
    assert set(dr.ROLE_FILES) - set(dr.ROLE_FILE_TAGS) == {"audit_agent"}


# ----- reading the chain incrementally ---------------------------------------------------------
def paired_whole(path: Path) -> dict[str, Any]:
    return sh.pair(sh.statements_of(path.read_bytes())).to_dict()


def test_the_cached_read_pairs_exactly_what_a_whole_read_pairs(
    enforcing_files: Host, make_facts: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chain, cache = Path(enforcing_files.config.chain), str(tmp_path / "cache.json")
    read_sizes: list[int] = []
    real_statements_of = sh.statements_of
    monkeypatch.setattr(sh, "statements_of", lambda data: read_sizes.append(len(data)) or real_statements_of(data))
    enforcing_files.files = {**MANAGED, "/etc/nftables.conf": "foreign edit"}
    steps = [
        lambda: enforcing_files.run(make_facts, {"NET-04": "fail"}),
        lambda: enforcing_files.answer({"event": "applied", "request": 2, "drift": ["/etc/nftables.conf"]}),
        lambda: enforcing_files.run(make_facts, {}),
        lambda: enforcing_files.answer({"event": "refused", "request": 99}),  # refused: not open
        lambda: enforcing_files.run(make_facts, {"NET-04": "fail"}),
    ]
    for step in steps:
        step()
        read_sizes.clear()
        incremental = sh.read_requests(str(chain), cache)
        assert incremental.to_dict() == paired_whole(chain)
        assert incremental.held(None) == sh.pair(real_statements_of(chain.read_bytes())).held(None)
    # after the first read, each read parses only what was appended since the last one
    size_before = chain.stat().st_size
    enforcing_files.run(make_facts, {"NET-04": "fail"})
    read_sizes.clear()
    sh.read_requests(str(chain), cache)
    assert read_sizes == [chain.stat().st_size - size_before]
    # and so does the agent, with its own cache beside the chain
    assert Path(enforcing_files.config.state_dir, "requests-cache.json").exists()


def test_a_rewritten_chain_or_a_broken_cache_is_read_whole(enforcing: Host, make_facts: Any, tmp_path: Path) -> None:
    chain, cache = Path(enforcing.config.chain), tmp_path / "cache.json"
    enforcing.run(make_facts, {"NET-04": "fail"})
    assert sh.read_requests(str(chain), str(cache)).open == [2]
    # pruned or replaced: the cached last line is no longer where the cache says
    lines = chain.read_bytes().splitlines(keepends=True)
    chain.write_bytes(lines[0])
    assert sh.read_requests(str(chain), str(cache)).to_dict() == paired_whole(chain)
    assert sh.read_requests(str(chain), str(cache)).open == []
    for broken in (b"{", b'{"format": "rampart-requests/1", "line_start": "x"}', b"[]"):
        chain.write_bytes(b"".join(lines))
        cache.write_bytes(broken)
        assert sh.read_requests(str(chain), str(cache)).open == [2]
    # an unwritable cache place only costs a whole read
    assert sh.read_requests(str(chain), str(tmp_path / "missing-dir" / "cache.json")).open == [2]
    assert sh.read_requests(str(tmp_path / "no-chain.jsonl"), str(cache)).open == []
