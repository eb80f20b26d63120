"""The agent records remediation events in its signed chain, and the drift report is not cut by them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.rampart.hardening.plugins.module_utils import agent as ag
from ansible_collections.rampart.hardening.plugins.module_utils import drift_report as drr
from ansible_collections.rampart.hardening.plugins.module_utils import evidence as ev


@pytest.fixture
def config(tmp_path: Path) -> ag.Config:
    host_key = tmp_path / "host.key"
    ev.generate_private_key(str(host_key))
    return ag.Config(host="web1", state_dir=str(tmp_path / "state"), key=str(host_key))


def statements(config: ag.Config) -> list[dict[str, Any]]:
    key = ev.load_private_key(config.key).public_key()
    report = ev.verify_chain(Path(config.chain).read_bytes(), {ev.key_id(key): key})
    return [entry.statement for entry in report.entries]


def test_record_appends_a_signed_remediation_entry_that_verifies(config: ag.Config) -> None:
    event = {"event": "rollback", "host": "web1", "checks": ["NGX-03"], "failed_health_probes": ["nginx -t -q"]}
    assert ag.main(["--config", write_config(config), "record", "--event", json.dumps(event)]) == 0
    assert ag.record(config, {"event": "applied", "checks": ["RDS-02"]}) == 0
    first, second = statements(config)
    assert first["predicateType"] == ev.REMEDIATION_PREDICATE
    assert first["predicate"]["result"] == "REMEDIATION_ROLLBACK"
    assert first["predicate"]["remediation"] == event
    assert first["predicate"]["chain"]["report_digest"] == ev.digest(ev.canonical_json(event))
    assert second["predicate"]["chain"]["seq"] == 2
    assert second["predicate"]["result"] == "REMEDIATION_APPLIED"


def test_record_refuses_an_event_that_is_not_an_object(config: ag.Config) -> None:
    assert ag.main(["--config", write_config(config), "record", "--event", "[1, 2]"]) == ag.EXIT_BAD_EVENT
    assert not Path(config.chain).exists()


def test_a_remediation_entry_does_not_hide_current_drift(config: ag.Config) -> None:
    drift_stmt = {
        "predicateType": ev.DRIFT_PREDICATE,
        "predicate": {
            "result": "DRIFT",
            "drift": [{"kind": "managed_file_changed", "key": "/etc/nginx/nginx.conf"}],
            "chain": {"seq": 1, "time": "t1", "baseline_digest": "sha256:b"},
        },
    }
    record_stmt = {
        "predicateType": ev.REMEDIATION_PREDICATE,
        "predicate": {
            "result": "REMEDIATION_APPLIED",
            "chain": {"seq": 2, "time": "t2", "baseline_digest": "sha256:b"},
        },
    }
    report = drr.host_report("web1", [drift_stmt, record_stmt])
    assert report["latest"]["result"] == "DRIFT"
    assert [item["status"] for item in report["drift"]] == ["current"]


def write_config(config: ag.Config) -> str:
    path = Path(config.state_dir).parent / "agent.json"
    path.write_text(json.dumps({"host": config.host, "state_dir": config.state_dir, "key": config.key}))
    return str(path)
