"""Drift snapshots, nft normalisation, comparison, dpkg attribution, and the agent's run and push."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ansible_collections.rampart.hardening.plugins.module_utils import agent as ag
from ansible_collections.rampart.hardening.plugins.module_utils import drift as dr
from ansible_collections.rampart.hardening.plugins.module_utils import evidence as ev


def ruleset(
    allow: list[str], meter: list[dict[str, Any]], counters: tuple[int, int] = (0, 0), handle: int = 1
) -> dict[str, Any]:
    """A ruleset as `nft -j list ruleset` prints it: a static allowlist set, a dynamic meter set."""
    packets, octets = counters
    return {
        "nftables": [
            {"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}},
            {"table": {"family": "inet", "name": "rampart", "handle": handle}},
            {
                "set": {
                    "family": "inet",
                    "name": "mgmt_v4",
                    "table": "rampart",
                    "type": "ipv4_addr",
                    "handle": handle + 1,
                    "flags": ["interval"],
                    "elem": [{"prefix": {"addr": a.split("/")[0], "len": int(a.split("/")[1])}} for a in allow],
                }
            },
            {
                "set": {
                    "family": "inet",
                    "name": "ssh_meter4",
                    "table": "rampart",
                    "type": "ipv4_addr",
                    "handle": handle + 2,
                    "size": 65535,
                    "flags": ["timeout", "dynamic"],
                    "timeout": 60,
                    **({"elem": meter} if meter else {}),
                }
            },
            {
                "chain": {
                    "family": "inet",
                    "table": "rampart",
                    "name": "input",
                    "handle": handle + 3,
                    "type": "filter",
                    "hook": "input",
                    "prio": 0,
                    "policy": "drop",
                }
            },
            {
                "rule": {
                    "family": "inet",
                    "table": "rampart",
                    "chain": "input",
                    "handle": handle + 4,
                    "expr": [
                        {
                            "match": {
                                "op": "==",
                                "left": {"payload": {"protocol": "tcp", "field": "dport"}},
                                "right": 22,
                            }
                        },
                        {
                            "match": {
                                "op": "==",
                                "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                                "right": "@mgmt_v4",
                            }
                        },
                        {"counter": {"packets": packets, "bytes": octets}},
                        {"accept": None},
                    ],
                }
            },
        ]
    }


def digest_of(data: dict[str, Any]) -> str:
    return dr.sha256(dr.canonical(dr.normalise_ruleset(data)))


# ----- nft normalisation -------------------------------------------------------------------
def test_handles_counters_and_dynamic_set_elements_are_not_drift() -> None:
    quiet = ruleset(["10.0.0.0/24"], [])
    busy = ruleset(
        ["10.0.0.0/24"],
        [{"elem": {"val": "203.0.113.7", "timeout": 60, "expires": 41}}],
        counters=(9000, 123456),
        handle=40,
    )
    assert digest_of(quiet) == digest_of(busy)
    normalised = json.dumps(dr.normalise_ruleset(busy))
    assert "handle" not in normalised
    assert "9000" not in normalised
    assert "203.0.113.7" not in normalised
    assert "metainfo" not in normalised


def test_a_static_allowlist_element_is_drift_and_named() -> None:
    before = dr.normalise_ruleset(ruleset(["10.0.0.0/24"], []))
    after = dr.normalise_ruleset(ruleset(["10.0.0.0/24", "198.51.100.0/24"], []))
    assert dr.sha256(dr.canonical(before)) != dr.sha256(dr.canonical(after))
    changes = dr.ruleset_changes(before, after)
    assert changes == ['set inet rampart mgmt_v4: element added {"prefix":{"addr":"198.51.100.0","len":24}}']


def test_element_order_is_not_drift_but_rule_order_is() -> None:
    one = ruleset(["10.0.0.0/24", "10.1.0.0/24"], [])
    two = ruleset(["10.1.0.0/24", "10.0.0.0/24"], [])
    assert digest_of(one) == digest_of(two)
    swapped = copy.deepcopy(one)
    items = swapped["nftables"]
    rule = items[-1]
    extra = copy.deepcopy(rule)
    extra["rule"]["expr"] = [{"drop": None}]
    items[-1:] = [extra, rule]
    assert digest_of(swapped) != digest_of(one)
    changes = dr.ruleset_changes(dr.normalise_ruleset(one), dr.normalise_ruleset(swapped))
    assert changes == ['added rule inet rampart input: [{"drop":null}]']


def test_per_element_timeouts_in_a_static_set_are_ignored() -> None:
    data = ruleset(["10.0.0.0/24"], [])
    data["nftables"][2]["set"]["elem"].append({"elem": {"val": "192.0.2.9", "timeout": 30, "expires": 12}})
    assert digest_of(data) == digest_of(ruleset(["10.0.0.0/24"], []))


@pytest.mark.parametrize("bad", [{}, {"nftables": {}}, {"nftables": [{"a": 1, "b": 2}]}, []])
def test_malformed_ruleset_is_rejected(bad: Any) -> None:
    with pytest.raises(ValueError, match=r"nft|ruleset item"):
        dr.normalise_ruleset(bad)


def test_nft_snapshot_reports_missing_failing_and_garbage(make_facts: Any) -> None:
    argv = ("nft", "-j", "list", "ruleset")
    assert dr.nft_snapshot(make_facts()) is None
    assert "error" in dr.nft_snapshot(make_facts(commands={argv: (1, "", "Operation not permitted")}))
    assert "cannot parse" in dr.nft_snapshot(make_facts(commands={argv: "{not json"}))["error"]
    good = dr.nft_snapshot(make_facts(commands={argv: json.dumps(ruleset(["10.0.0.0/24"], []))}))
    assert good["digest"].startswith("sha256:")


# ----- snapshot and comparison -------------------------------------------------------------
NGINX_CONF = "/etc/nginx/nginx.conf"
SS = 'tcp LISTEN 0 511 0.0.0.0:443 0.0.0.0:* users:(("nginx",pid=10,fd=6))\n'
SS_MORE = SS + 'tcp LISTEN 0 5 0.0.0.0:8081 0.0.0.0:* users:(("python3",pid=99,fd=3))\n'


def facts_for(make_facts: Any, conf: str = "worker_processes 2;\n", ss: str = SS) -> Any:
    return make_facts(
        commands={
            ("ss", "-Htulpn"): ss,
            ("dpkg-query", "-W", "-f=${Package}\\t${Version}\\t${db:Status-Abbrev}\\n"): (
                "nginx\t1.22.1-9\tii \nnginx-common\t1.22.1-9\tii \n"
            ),
        },
        files={NGINX_CONF: conf, "/etc/nginx/rampart/sites/a.conf": "server {}\n"},
        intent={"nginx": {"role": "nginx"}},
    )


def test_snapshot_pins_role_files_listeners_packages_and_verdicts(make_facts: Any) -> None:
    facts = facts_for(make_facts)
    snap = dr.snapshot(facts, {"findings": [{"id": "TLS-01", "status": "pass"}]}, "web1", "t0")
    pinned = {NGINX_CONF, "/etc/nginx/rampart/sites/a.conf", "/etc/rampart/intent/nginx.json", "/etc/nginx/mime.types"}
    assert set(snap["files"]) == pinned
    assert snap["files"]["/etc/nginx/mime.types"]["digest"] is None  # pinned as absent: creating it is drift
    assert snap["files"][NGINX_CONF]["digest"] == dr.sha256(b"worker_processes 2;\n")
    assert snap["listeners"] == ["tcp/0.0.0.0:443"]
    assert snap["packages"]["nginx"] == "1.22.1-9"
    assert snap["packages"]["openssl"] is None
    assert snap["checks"] == {"TLS-01": "pass"}
    assert snap["roles"] == ["nginx"]


def test_compare_names_every_drift_kind(make_facts: Any) -> None:
    base = dr.snapshot(
        facts_for(make_facts),
        {"findings": [{"id": "NET-01", "status": "pass"}, {"id": "X", "status": "fail"}]},
        "h",
        "t0",
    )
    base["nft"] = {"digest": "sha256:a", "ruleset": dr.normalise_ruleset(ruleset(["10.0.0.0/24"], []))}
    now = dr.snapshot(
        facts_for(make_facts, conf="worker_processes 8;\n", ss=SS_MORE),
        {"findings": [{"id": "NET-01", "status": "fail"}, {"id": "X", "status": "pass"}]},
        "h",
        "t1",
    )
    now["nft"] = {"digest": "sha256:b", "ruleset": dr.normalise_ruleset(ruleset(["10.0.0.0/24", "10.9.0.0/16"], []))}
    now["packages"]["nginx"] = "1.22.1-10"
    kinds = {(item["kind"], item["key"]) for item in dr.compare(base, now)}
    assert kinds == {
        ("managed_file_changed", NGINX_CONF),
        ("firewall_ruleset_changed", "nft ruleset"),
        ("new_listening_port", "tcp/0.0.0.0:8081"),
        ("check_regressed", "NET-01"),
        ("check_fixed", "X"),
        ("package_changed", "nginx"),
    }
    assert dr.compare(base, copy.deepcopy(base)) == []


def test_listeners_that_cannot_be_read_are_drift_not_silence(make_facts: Any) -> None:
    base = dr.snapshot(facts_for(make_facts), {"findings": []}, "h", "t0")
    assert base["listeners_unread"] == []
    garbled = SS + 'tcp LISTEN 0 5 garbage-without-an-address users:(("nc",pid=7,fd=3))\n'
    now = dr.snapshot(facts_for(make_facts, ss=garbled), {"findings": []}, "h", "t1")
    assert now["listeners"] == ["tcp/0.0.0.0:443"]
    items = [i for i in dr.compare(base, now) if i["kind"] == "listeners_unreadable"]
    assert len(items) == 1
    assert "line 2" in items[0]["detail"]
    assert "garbage" in items[0]["detail"]
    # ss missing where the baseline could read it: a blind spot, not "no drift".
    blind = dr.snapshot(
        make_facts(files={NGINX_CONF: "worker_processes 2;\n"}, intent={"nginx": {"role": "nginx"}}),
        {"findings": []},
        "h",
        "t2",
    )
    assert blind["listeners"] is None
    assert [i["kind"] for i in dr.compare(base, blind) if i["category"] == "network"] == ["listeners_unreadable"]
    # A baseline taken before this key existed still compares cleanly with a readable host.
    old_format = {k: v for k, v in base.items() if k != "listeners_unread"}
    assert dr.compare(old_format, copy.deepcopy(base)) == []


def test_intent_vs_reality_flags_an_undeclared_listener(make_facts: Any) -> None:
    items = dr.intent_vs_reality(facts_for(make_facts, ss=SS_MORE))
    assert [(i["kind"], i["key"]) for i in items] == [("intent_vs_reality", "tcp/0.0.0.0:8081")]
    assert dr.intent_vs_reality(facts_for(make_facts)) == []


VERIFY_OUT = "??5??????   c /etc/nginx/nginx.conf\nmissing     /usr/share/doc/nginx/copyright\n"


def test_dpkg_verify_output_is_parsed() -> None:
    assert dr.modified_by_dpkg(VERIFY_OUT) == {"/etc/nginx/nginx.conf", "/usr/share/doc/nginx/copyright"}
    assert dr.modified_by_dpkg("") == set()


def test_changes_are_attributed_to_packages_or_local_edits(make_facts: Any) -> None:
    mime, conf, own = "/etc/nginx/mime.types", NGINX_CONF, "/etc/nginx/rampart/sites/a.conf"
    facts = make_facts(
        commands={
            ("dpkg-query", "-S", mime, conf, own): (
                1,
                f"nginx-common: {mime}\nnginx-common: {conf}\n",
                "no path found",
            ),
            ("dpkg", "--verify", "nginx-common"): (1, VERIFY_OUT, ""),
            ("dpkg-query", "-W", "-f=${Package}\\t${Version}\\n", "nginx-common"): "nginx-common\t1.22.1-10\n",
        }
    )
    items = [{"kind": "managed_file_changed", "key": path, "after": "sha256:x"} for path in (mime, conf, own)]
    dr.attribute(facts, items, {"packages": {"nginx-common": "1.22.1-9"}})
    labels = {item["key"]: item["attribution"] for item in items}
    assert labels[mime]["source"] == "package"
    assert (labels[mime]["version_before"], labels[mime]["version_after"]) == ("1.22.1-9", "1.22.1-10")
    assert labels[conf]["source"] == "local"
    assert labels[own] == {"source": "unowned"}


# ----- the agent ---------------------------------------------------------------------------
@pytest.fixture
def agent_env(tmp_path: Path) -> tuple[ag.Config, Ed25519PrivateKey, Ed25519PrivateKey]:
    state = tmp_path / "state"
    state.mkdir()
    host_key = tmp_path / "host.key"
    ev.generate_private_key(str(host_key))
    controller = Ed25519PrivateKey.generate()
    pub = tmp_path / "controller.pub"
    pub.write_bytes(ev.public_pem(controller.public_key()))
    config = ag.Config(
        host="web1", state_dir=str(state), key=str(host_key), controller_keys=(str(pub),), keep_reports=2
    )
    return config, ev.load_private_key(str(host_key)), controller


def chain_statements(config: ag.Config, host_key: Ed25519PrivateKey) -> list[dict[str, Any]]:
    data = Path(config.chain).read_bytes()
    report = ev.verify_chain(data, {ev.key_id(host_key.public_key()): host_key.public_key()})
    return [entry.statement for entry in report.entries]


def approve(config: ag.Config, snap: dict[str, Any], key: Ed25519PrivateKey) -> None:
    Path(config.baseline).write_bytes(
        ev.canonical_json(ev.sign_baseline(snap, key, "ops", "2026-12-01T00:00:00+00:00"))
    )


def test_agent_scans_then_drifts_against_a_signed_baseline(make_facts: Any, agent_env: Any, capsys: Any) -> None:
    config, host_key, controller = agent_env
    assert ag.run(config, facts_for(make_facts)) == 0
    first = chain_statements(config, host_key)[0]
    assert first["predicateType"] == ev.TEST_RESULT_PREDICATE
    assert first["predicate"]["result"] in ("PASSED", "WARNED", "FAILED")

    _report, snap = ag.audit(config, facts_for(make_facts))
    approve(config, snap, controller)
    assert ag.run(config, facts_for(make_facts)) == 0
    assert ag.run(config, facts_for(make_facts, conf="worker_processes 64;\n")) == 0
    statements = chain_statements(config, host_key)
    second, third = statements[1], statements[2]
    assert second["predicateType"] == ev.DRIFT_PREDICATE
    assert second["predicate"]["result"] == "NO_DRIFT"
    assert second["predicate"]["chain"]["baseline_digest"] == dr.snapshot_digest(snap)
    assert third["predicate"]["result"] == "DRIFT"
    assert [(d["kind"], d["key"]) for d in third["predicate"]["drift"]] == [("managed_file_changed", NGINX_CONF)]
    # the report the entry names is kept, and its digest is the one signed
    saved = Path(config.state_dir, "reports", "3.json").read_bytes()
    assert ev.digest(saved) == third["predicate"]["chain"]["report_digest"]
    assert sorted(p.name for p in Path(config.state_dir, "reports").iterdir()) == ["2.json", "3.json"]


def test_agent_refuses_a_baseline_not_signed_by_the_pinned_key(make_facts: Any, agent_env: Any) -> None:
    config, host_key, _controller = agent_env
    _report, snap = ag.audit(config, facts_for(make_facts))
    approve(config, snap, Ed25519PrivateKey.generate())
    assert ag.run(config, facts_for(make_facts)) == ag.EXIT_BASELINE_REFUSED
    refused = chain_statements(config, host_key)[-1]["predicate"]
    assert refused["result"] == "BASELINE_REFUSED"
    assert "unknown key" in refused["refused"]
    Path(config.baseline).write_text(json.dumps({"snapshot": snap}))  # plain, unsigned
    with pytest.raises(ag.BaselineRefused, match="not a DSSE envelope"):
        ag.load_baseline(config)


class Endpoint:
    """The push contract: idempotent on (host, seq), a different entry under a seen seq is refused."""

    def __init__(self) -> None:
        self.stored: dict[tuple[str, int], str] = {}
        self.up = True
        self.lose_answer_once = False

    def post(self, config: ag.Config, seq: int, line: bytes) -> None:
        if not self.up:
            raise OSError("connection refused")
        key, entry = (config.host, seq), line.decode()
        if key in self.stored and self.stored[key] != entry:
            raise ValueError("409 conflict")
        self.stored[key] = entry
        if self.lose_answer_once:  # stored, but the agent dies / the answer is lost
            self.lose_answer_once = False
            raise OSError("connection reset")


def test_push_delivers_each_entry_exactly_once_across_failures(
    make_facts: Any, agent_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, _host_key, _controller = agent_env
    endpoint = Endpoint()
    monkeypatch.setattr(ag, "_post", endpoint.post)
    endpoint.up = False
    for _unused in range(3):
        ag.run(config, facts_for(make_facts))
        ag.push(config, force=True)
    state = json.loads(Path(config.state_dir, "push.json").read_text())
    assert (state["confirmed"], state["failures"]) == (0, 3)
    assert ag.push(config) == ag.EXIT_PUSH_PENDING  # backing off: nothing tried
    endpoint.up = True
    endpoint.lose_answer_once = True
    ag.push(config, force=True)
    assert json.loads(Path(config.state_dir, "push.json").read_text())["confirmed"] == 0
    ag.push(config, force=True)
    assert sorted(endpoint.stored) == [("web1", 1), ("web1", 2), ("web1", 3)]
    assert json.loads(Path(config.state_dir, "push.json").read_text())["confirmed"] == 3
    lines = Path(config.chain).read_bytes().decode().splitlines()
    assert [endpoint.stored[("web1", n)] for n in (1, 2, 3)] == lines


def test_unreadable_push_state_resends_from_the_start(
    make_facts: Any, agent_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, _host_key, _controller = agent_env
    endpoint = Endpoint()
    monkeypatch.setattr(ag, "_post", endpoint.post)
    ag.run(config, facts_for(make_facts))
    ag.run(config, facts_for(make_facts))
    Path(config.state_dir, "push.json").write_text("{confirmed: 1")
    assert ag.push(config, force=True) == 0
    assert sorted(endpoint.stored) == [("web1", 1), ("web1", 2)]
    # an unreadable chain line stops the push at that line; nothing after it is sent
    lines = Path(config.chain).read_bytes().split(b"\n")
    Path(config.chain).write_bytes(lines[0] + b"\n" + b"garbage\n")
    Path(config.state_dir, "push.json").write_text('{"confirmed": 1, "failures": 0, "next_attempt": 0}')
    endpoint.stored.clear()
    assert ag.push(config, force=True) == ag.EXIT_PUSH_PENDING
    assert endpoint.stored == {}


def test_the_agent_refuses_to_append_to_a_chain_whose_last_entry_is_unreadable(make_facts: Any, agent_env: Any) -> None:
    config, _host_key, _controller = agent_env
    ag.run(config, facts_for(make_facts))
    Path(config.chain).write_bytes(Path(config.chain).read_bytes().replace(b'"payload":"', b'"payload":"#'))
    before = Path(config.chain).read_bytes()
    assert ag.run(config, facts_for(make_facts)) == ag.EXIT_BROKEN_CHAIN
    assert Path(config.chain).read_bytes() == before
