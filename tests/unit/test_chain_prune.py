"""Issue #15 leftovers: pruning the host chain behind a signed anchor, the drift predicate URI,
and the switch that keeps the timer's audit from trying default passwords (SEC-05)."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ansible_collections.rampart.hardening.plugins.module_utils import agent, verify
from ansible_collections.rampart.hardening.plugins.module_utils import drift_report as rep
from ansible_collections.rampart.hardening.plugins.module_utils import evidence as ev

REPO = Path(__file__).resolve().parents[2]
OLD = "2026-01-01T00:00:00+00:00"  # far older than any retention cutoff used below
CUTOFF = "2026-06-01T00:00:00+00:00"
NOW = "2026-12-01T12:00:00+00:00"


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def keyring(key: Ed25519PrivateKey) -> dict[str, Any]:
    return {ev.key_id(key.public_key()): key.public_key()}


def append(path: Path, key: Ed25519PrivateKey, when: str) -> ev.Head:
    def build(head: ev.Head, torn: dict[str, Any] | None) -> bytes:
        fields = ev.ChainFields("web1", head.seq + 1, head.digest, "b0", when, ev.digest(b"r"), None, torn)
        return ev.entry_line(key, ev.DRIFT_PREDICATE, {"result": "NO_DRIFT"}, fields)

    head, _line = ev.append_entry(str(path), build)
    return head


def chain(tmp_path: Path, key: Ed25519PrivateKey, times: list[str]) -> tuple[Path, list[ev.Head]]:
    path = tmp_path / "evidence.intoto.jsonl"
    return path, [append(path, key, when) for when in times]


def prune(path: Path, key: Ed25519PrivateKey, acked: ev.Head | None, **extra: Any) -> int:
    return ev.prune_chain(str(path), private_key=key, host="web1", acknowledged=acked, cutoff=CUTOFF, time=NOW, **extra)


def seqs(data: bytes, key: Ed25519PrivateKey, anchor: ev.Head | None = None) -> list[int]:
    return [entry.seq for entry in ev.verify_chain(data, keyring(key), anchor).entries]


# ----- pruning ----------------------------------------------------------------------------------
def test_prune_then_verify_passes(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    path, heads = chain(tmp_path, key, [OLD] * 4 + [NOW] * 2)
    assert prune(path, key, heads[4]) == 4  # seq 5 is acknowledged but recent: kept
    data = path.read_bytes()
    assert ev.is_anchor(data.split(b"\n")[0])
    report = ev.verify_chain(data, keyring(key))
    assert [e.seq for e in report.entries] == [5, 6]
    assert report.pruned == heads[3]
    assert report.head == heads[5]
    assert seqs(data, key, heads[4]) == [5, 6]  # with the controller's head too
    assert seqs(data, key, heads[3]) == [5, 6]  # a head at the anchor itself
    pem = tmp_path / "host.pub"
    pem.write_bytes(ev.public_pem(key.public_key()))
    assert verify.main([str(path), "--key", str(pem), "--head", f"{heads[4].seq}:{heads[4].digest}"]) == ev.EXIT_OK
    assert verify.main([str(path), "--key", str(pem), "--head", f"{heads[1].seq}:{heads[1].digest}"]) == ev.EXIT_SEQ_GAP
    assert prune(path, key, heads[4]) == 0  # nothing more is old and acknowledged
    append(path, key, NOW)  # the next run still links to the kept head
    assert seqs(path.read_bytes(), key) == [5, 6, 7]


def test_prune_never_drops_unacknowledged_entries(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    path, heads = chain(tmp_path, key, [OLD] * 5)
    before = path.read_bytes()
    assert prune(path, key, None) == 0  # never collected: nothing goes
    assert prune(path, key, ev.Head(2, heads[3].digest)) == 0  # head digest does not match seq 2
    assert prune(path, key, ev.Head(9, heads[4].digest)) == 0  # a head the chain does not hold
    assert path.read_bytes() == before
    assert prune(path, key, heads[1]) == 2  # acknowledged up to seq 2: only 1 and 2 go
    assert seqs(path.read_bytes(), key) == [3, 4, 5]
    assert prune(path, key, heads[4], up_to=3) == 1  # a push endpoint confirmed only up to seq 3
    assert seqs(path.read_bytes(), key) == [4, 5]
    assert prune(path, key, heads[4]) == 1  # the newest entry always stays
    assert seqs(path.read_bytes(), key) == [5]


def test_a_prune_past_the_acknowledged_head_is_a_gap(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    """A host that dropped entries nobody collected: the controller's head names the gap."""
    path, heads = chain(tmp_path, key, [OLD] * 5)
    assert prune(path, key, heads[3]) == 4
    with pytest.raises(ev.EvidenceError) as gap:
        ev.verify_chain(path.read_bytes(), keyring(key), heads[1])
    assert gap.value.code == ev.EXIT_SEQ_GAP
    assert (gap.value.line, gap.value.seq) == (1, 3)
    assert "entries 3..4 were dropped" in gap.value.detail


def _anchor_payload(raw: bytes) -> dict[str, Any]:
    return json.loads(base64.b64decode(json.loads(raw)["payload"]))


def _resign(payload: dict[str, Any], key: Ed25519PrivateKey) -> bytes:
    return ev.canonical_json(ev.sign_envelope(ev.canonical_json(payload), key, ev.ANCHOR_PAYLOAD_TYPE))


def test_a_forged_anchor_is_caught(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    path, heads = chain(tmp_path, key, [OLD] * 4)
    prune(path, key, heads[2])
    anchor, *rest = path.read_bytes().split(b"\n")
    payload = _anchor_payload(anchor)

    def verdict(first: bytes, head: ev.Head | None = None) -> tuple[int, int | None]:
        with pytest.raises(ev.EvidenceError) as bad:
            ev.verify_chain(b"\n".join([first, *rest]), keyring(key), head)
        return bad.value.code, bad.value.line

    # signed by another key, or bytes changed after signing
    assert verdict(_resign(payload, Ed25519PrivateKey.generate())) == (ev.EXIT_UNKNOWN_KEY, 1)
    envelope = json.loads(anchor)
    envelope["payload"] = ev.b64encode(ev.canonical_json({**payload, "seq": 2}))
    assert verdict(ev.canonical_json(envelope)) == (ev.EXIT_BAD_SIGNATURE, 1)
    # signed with the host key but naming another digest: the first kept entry does not link to it
    assert verdict(_resign({**payload, "digest": heads[0].digest}, key)) == (ev.EXIT_BROKEN_PREV, 2)
    # ... and against the controller's head at that seq it is a rewritten acknowledged entry
    assert verdict(_resign({**payload, "digest": heads[0].digest}, key), heads[2]) == (ev.EXIT_HEAD_MISMATCH, 1)
    # an anchor payload that is not a chain anchor
    assert verdict(_resign({**payload, "_type": "other"}, key)) == (ev.EXIT_MALFORMED, 1)


def test_export_and_push_read_a_pruned_chain(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    path, heads = chain(tmp_path, key, [OLD] * 3 + [NOW])
    prune(path, key, heads[2])
    # drift.yml pulls from its head (seq 3, now the anchor): the anchor comes along and links
    pulled = ev.lines_after(str(path), 3)
    assert ev.is_anchor(pulled.split(b"\n")[0])
    assert seqs(pulled, key, heads[2]) == [4]
    # the push queue (confirmed 3) starts at seq 4 and never sees the anchor
    assert ev.lines_after(str(path), 4).split(b"\n")[0] == path.read_bytes().split(b"\n")[1]


def test_agent_prunes_after_its_run_only_what_acked_json_allows(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    config = agent.Config(host="web1", state_dir=str(tmp_path), chain_retention_days=30)
    Path(config.chain).parent.mkdir()
    heads = [append(Path(config.chain), key, when) for when in [OLD, OLD, OLD]]
    assert agent.prune(config, key) == 0  # no acked.json yet
    (tmp_path / "acked.json").write_text(json.dumps(heads[1].to_dict()))
    assert agent.prune(config, key) == 2
    assert seqs(Path(config.chain).read_bytes(), key) == [3]
    config.chain_retention_days = 0
    assert agent.prune(config, key) == 0


def test_agent_config_reads_the_role_switches(tmp_path: Path) -> None:
    path = tmp_path / "agent.json"
    path.write_text(json.dumps({"host": "web1"}))
    defaults = agent.Config.load(str(path))
    assert (defaults.chain_retention_days, defaults.try_default_credentials) == (90, False)
    assert defaults.facts().try_default_logins is False
    path.write_text(json.dumps({"host": "web1", "chain_retention_days": 7, "try_default_credentials": True}))
    loaded = agent.Config.load(str(path))
    assert (loaded.chain_retention_days, loaded.facts().try_default_logins) == (7, True)


# ----- the drift predicate URI ------------------------------------------------------------------
def test_drift_predicate_is_documented_under_the_collection_repository() -> None:
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text(encoding="utf-8"))
    assert f"{galaxy['repository']}/-/blob/main/docs/drift.md#drift-predicate-v1" == ev.DRIFT_PREDICATE
    assert f"{galaxy['repository']}/-/blob/main/docs/drift.md#chain-anchor-v1" == ev.ANCHOR_TYPE
    doc = (REPO / "docs" / "drift.md").read_text(encoding="utf-8")
    slugs = {
        re.sub(r"[^a-z0-9 -]", "", h.lower()).strip().replace(" ", "-") for h in re.findall(r"^#+ (.+)$", doc, re.M)
    }
    assert {"drift-predicate-v1", "chain-anchor-v1"} <= slugs
    assert ev.DRIFT_PREDICATE in doc


def test_old_chains_with_the_placeholder_uri_still_read_as_drift() -> None:
    old = "https://example.invalid/rampart/hardening/drift/v1"
    chain_fields = {"seq": 1, "time": OLD}
    drift = [{"kind": "firewall_changed", "key": "ruleset", "category": "network"}]
    statements = [{"predicateType": old, "predicate": {"result": "DRIFT", "drift": drift, "chain": chain_fields}}]
    assert ev.predicate_type(statements[0]) == ev.DRIFT_PREDICATE
    assert old != ev.DRIFT_PREDICATE
    report = rep.host_report("web1", statements)
    assert [(item["kind"], item["status"]) for item in report["drift"]] == [("firewall_changed", "current")]
