"""The fleet audit path: audit_host / audit_fleet action plugins, controller-side merge, probe facts."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import pytest
from conftest import adhoc, sample_checks
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.rampart.hardening.plugins.action.audit_fleet import (
    collect_reports,
    load_previous,
    write_fleet,
)
from ansible_collections.rampart.hardening.plugins.action.audit_host import (
    probe_address,
    report_path,
    summary,
    tls_endpoints,
)
from ansible_collections.rampart.hardening.plugins.module_utils.engine import AuditConfigError, run_audit
from ansible_collections.rampart.hardening.plugins.module_utils.live_merge import (
    ReportShapeError,
    finish_report,
    report_from_dict,
)
from ansible_collections.rampart.hardening.plugins.module_utils.probe_targets import (
    certificate_paths,
    firewall_services,
    leaf_fingerprint,
    probe_facts,
    served_fingerprints,
)
from ansible_collections.rampart.hardening.plugins.module_utils.render.fleet import build_fleet, render_fleet_html

NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
LIVE = {
    "RDS-03": {
        "status": "fail",
        "message": "PING from the controller answered +PONG",
        "evidence": ["10.89.0.4:6379 +PONG"],
    }
}
WAIVERS = [
    {"id": "RDS-01", "hosts": "web*", "reason": "redis is on an isolated VLAN (SEC-42)", "expires": "2030-01-01"},
    {"id": "TLS-07", "reason": "old exception", "expires": "2020-01-01"},
]


# ----- controller-side merge ------------------------------------------------------------------
def unfinished(make_facts) -> dict:
    """What security_audit returns to audit_host: the checks run, no live results, no waivers."""
    return run_audit(make_facts(), host="web1.example", now=NOW, available=sample_checks()).to_dict()


def test_report_round_trips_through_its_dict(sample_report: dict) -> None:
    assert report_from_dict(sample_report).to_dict() == sample_report


def test_finishing_on_the_controller_equals_auditing_with_live_results(make_facts, sample_report: dict) -> None:
    # sample_report is run_audit with the live result and the waivers given on the host.
    raw = unfinished(make_facts)
    finished = finish_report(raw, LIVE, WAIVERS)
    assert finished == sample_report
    rds03 = next(f for f in finished["findings"] if f["id"] == "RDS-03")
    assert rds03["status"] == "fail"
    assert rds03["sources"] == ["config", "live"]
    assert finished["overall"] != raw["overall"] or finished["counts"] != raw["counts"]


def test_finishing_without_live_results_or_waivers_changes_nothing(make_facts) -> None:
    raw = unfinished(make_facts)
    assert finish_report(copy.deepcopy(raw)) == raw


def test_finish_rejects_waived_reports_bad_waivers_and_bad_shapes(make_facts, sample_report: dict) -> None:
    with pytest.raises(ReportShapeError, match="already has waived findings"):
        finish_report(sample_report, LIVE)
    with pytest.raises(AuditConfigError, match="'reason' is required"):
        finish_report(unfinished(make_facts), {}, [{"id": "RDS-01", "expires": "2030-01-01"}])
    with pytest.raises(AuditConfigError, match="unknown status"):
        finish_report(unfinished(make_facts), {"RDS-03": {"status": "great"}})
    broken = unfinished(make_facts)
    broken["findings"][0]["severity"] = "catastrophic"
    with pytest.raises(ReportShapeError, match="catastrophic"):
        finish_report(broken)
    with pytest.raises(ReportShapeError, match="findings list"):
        finish_report({"host": "x"})


# ----- what the host returns for the probe -----------------------------------------------------
def make_cert(path_key: str = "leaf") -> tuple[str, str]:
    """A self-signed PEM certificate and its SHA-256 fingerprint as openssl prints it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, path_key)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW)
        .not_valid_after(NOW + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    digest = cert.fingerprint(hashes.SHA256()).hex().upper()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), ":".join(
        digest[i : i + 2] for i in range(0, len(digest), 2)
    )


NGINX_DUMP = """# configuration file /etc/nginx/sites-enabled/a:
server {
    ssl_certificate /etc/ssl/a.pem;
    ssl_certificate_key /etc/ssl/a.key;
    ssl_certificate   "/etc/ssl/b.pem" ;
    # ssl_certificate /etc/ssl/commented.pem;
    ssl_certificate /etc/ssl/$ssl_server_name.pem;
}
"""


def test_certificate_paths_follow_nginx_spellings() -> None:
    assert certificate_paths(NGINX_DUMP) == ["/etc/ssl/a.pem", "/etc/ssl/b.pem"]
    assert certificate_paths("") == []


def test_fingerprints_are_the_leaf_of_each_served_file(make_facts) -> None:
    leaf_a, fp_a = make_cert("a")
    leaf_b, fp_b = make_cert("b")
    chain_a = leaf_a + make_cert("intermediate")[0]
    facts = make_facts(
        commands={("nginx", "-T"): NGINX_DUMP},
        files={"/usr/sbin/nginx": ("#!/bin/sh\n", 0o755), "/etc/ssl/a.pem": chain_a, "/etc/ssl/b.pem": leaf_b},
    )
    assert served_fingerprints(facts) == sorted([fp_a, fp_b])
    assert leaf_fingerprint("no certificate here") is None
    assert leaf_fingerprint("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----") is None


def test_probe_facts_without_nginx_or_with_a_broken_intent(make_facts) -> None:
    facts = make_facts(intent={"firewall": "{not json"})
    assert served_fingerprints(facts) == []
    assert firewall_services(facts) == []
    services = [{"ports": [443], "sources": ["any"]}, "junk"]
    facts = make_facts(intent={"firewall": {"services": services}})
    found = probe_facts(facts)
    assert found["firewall_services"] == [{"ports": [443], "sources": ["any"]}]
    assert found["fingerprints"] == []
    assert found["address"] is None or not found["address"].startswith("127.")


# ----- audit_host helpers ---------------------------------------------------------------------
def test_probe_address_choice() -> None:
    assert probe_address("containers.podman.podman", None, "10.89.0.4", "web1", "web1") == "10.89.0.4"
    assert probe_address("community.docker.docker", "192.0.2.7", "10.89.0.4", None, "web1") == "192.0.2.7"
    assert probe_address("ssh", None, "10.0.0.9", "203.0.113.5", "web1") == "203.0.113.5"
    assert probe_address("ansible.builtin.ssh", None, None, None, "web1.example") == "web1.example"
    assert probe_address("local", None, None, None, "localhost") is None


def test_tls_endpoints_get_the_fingerprint_only_when_unambiguous() -> None:
    endpoints = [{"port": 443, "server_name": "a", "expected_fingerprint": None}]
    assert tls_endpoints(endpoints, ["AA:BB"])[0]["expected_fingerprint"] == "AA:BB"
    assert tls_endpoints(endpoints, ["AA:BB", "CC:DD"])[0]["expected_fingerprint"] is None
    given = [{"port": 443, "server_name": "a", "expected_fingerprint": "EE"}]
    assert tls_endpoints(given, ["AA:BB"])[0]["expected_fingerprint"] == "EE"


def test_report_path_and_summary(sample_report: dict) -> None:
    assert report_path("/r", "web1", "20250601T120000Z") == "/r/web1/20250601T120000Z"
    for host, stamp in (("../etc", "x"), ("web1", ".."), ("a/b", "x"), ("web1", "")):
        with pytest.raises(Exception, match="cannot be used as a directory name"):
            report_path("/r", host, stamp)
    result = summary(sample_report, "A")
    assert result["grade"] == sample_report["overall"]["grade"]
    assert result["passed_min_grade"] is False
    assert set(result["failed_checks"]) == {f["id"] for f in sample_report["findings"] if f["status"] == "fail"}
    assert summary(sample_report, None)["passed_min_grade"] is None


# ----- audit_fleet helpers and the before/after page --------------------------------------------
def test_fleet_compares_with_an_earlier_run(sample_report: dict, tmp_path: Path) -> None:
    before_report = copy.deepcopy(sample_report)
    before_report["overall"] = {**before_report["overall"], "score": 2.0, "grade": "F"}
    before = build_fleet([before_report])
    (tmp_path / "before").mkdir()
    (tmp_path / "before" / "fleet.json").write_text(json.dumps(before))
    previous = load_previous(str(tmp_path / "before"))
    assert previous["label"] == "run before"
    other = copy.deepcopy(sample_report)
    other["host"] = "new-host"
    fleet = build_fleet([sample_report, other], {}, previous)
    rows = {h["host"]: h for h in fleet["hosts"]}
    assert rows["web1.example"]["before"]["grade"] == "F"
    assert rows["web1.example"]["before"]["score"] == 2.0
    assert rows["new-host"]["before"] is None
    assert fleet["previous"]["worst_grade"] == "F"
    page = render_fleet_html(fleet)
    assert "Before &rarr; now" in page
    assert "not audited" in page
    assert "Compared with run before" in page
    assert "Before &rarr; now" not in render_fleet_html(build_fleet([sample_report]))


def test_load_previous_rejects_what_is_not_a_fleet_report(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="cannot read"):
        load_previous(str(tmp_path / "missing.json"))
    (tmp_path / "x.json").write_text('{"hosts": "no"}')
    with pytest.raises(Exception, match="not a Rampart fleet report"):
        load_previous(str(tmp_path / "x.json"))


def test_collect_reports_and_write_fleet(sample_report: dict, tmp_path: Path) -> None:
    hostvars = {"a": {"rampart_audit": {"report": sample_report}}, "b": {"rampart_audit": {"skipped": True}}, "c": {}}
    assert collect_reports(hostvars, ["a", "b", "c", "gone"], "rampart_audit") == [sample_report]
    fleet = build_fleet([sample_report])
    dest = tmp_path / "fleet" / "run"
    assert write_fleet(fleet, str(dest), dry_run=True) == [str(dest / "fleet.html"), str(dest / "fleet.json")]
    assert not dest.exists()
    write_fleet(fleet, str(dest), dry_run=False)
    assert json.loads((dest / "fleet.json").read_text())["hosts_total"] == 1
    assert oct((dest / "fleet.html").stat().st_mode & 0o777) == "0o640"


# ----- the action plugins as Ansible runs them -------------------------------------------------
CUSTOM = [
    {
        "id": "SITE-01",
        "title": "passwd readable",
        "severity": "low",
        "file": {"path": "/etc/passwd", "mode_max": "0644"},
    },
    {
        "id": "SITE-02",
        "title": "no root in passwd",
        "severity": "high",
        "regex": {"path": "/etc/passwd", "pattern": "^root:", "present": False},
    },
]


def test_audit_host_writes_every_format_and_applies_waivers(tmp_path: Path) -> None:
    args = {
        "categories": ["custom"],
        "custom_checks": CUSTOM,
        "waivers": [{"id": "SITE-02", "reason": "test host", "expires": "2999-01-01"}],
        "live": False,
        "min_grade": "A",
        "report_dir": str(tmp_path),
        "timestamp": "run1",
    }
    result = adhoc("audit_host", args)
    assert result.get("failed") is not True, result
    assert result["changed"] is False
    assert result["grade"] == "A+"
    assert result["passed_min_grade"] is True
    waived = next(f for f in result["report"]["findings"] if f["id"] == "SITE-02")
    assert waived["status"] == "not_applicable"
    assert waived["waived_status"] == "fail"
    run = tmp_path / "localhost" / "run1"
    assert sorted(p.name for p in run.iterdir()) == [
        "report.html",
        "report.json",
        "report.junit.xml",
        "report.md",
        "report.sarif",
    ]
    assert json.loads((run / "report.json").read_text()) == result["report"]


def test_audit_host_check_mode_writes_nothing_and_bad_input_fails_early(tmp_path: Path) -> None:
    args = {"categories": ["custom"], "custom_checks": CUSTOM, "live": False, "report_dir": str(tmp_path / "r")}
    result = adhoc("audit_host", {**args, "timestamp": "run1"}, "--check")
    assert result.get("failed") is not True, result
    assert result["written"]
    assert not (tmp_path / "r").exists()
    assert result["failed_checks"] == ["SITE-02"]
    bad = adhoc("audit_host", {**args, "timestamp": "run1", "waivers": [{"id": "SITE-02"}]})
    assert bad["failed"] is True
    assert "'reason' is required" in bad["msg"]
    missing = adhoc("audit_host", args)
    assert "report_dir and timestamp are required" in missing["msg"]
    escape = adhoc("audit_host", {**args, "timestamp": "../../etc"})
    assert "cannot be used as a directory name" in escape["msg"]


def test_audit_host_merges_the_live_probe() -> None:
    # Probe this machine at its own address; port 1 answers nowhere, so NET-04 passes live.
    args = {"checks": ["NET-04"], "live": True, "ports": [1], "timeout": 1, "formats": []}
    result = adhoc("audit_host", args)
    if result.get("failed") and "no address to probe" in result.get("msg", ""):
        result = adhoc("audit_host", {**args, "address": "127.0.0.1"})
    assert result.get("failed") is not True, result
    assert result["live_checks"] == ["NET-04"]
    net04 = next(f for f in result["report"]["findings"] if f["id"] == "NET-04")
    assert "live" in net04["sources"]
    assert result["probe_address"]


# ----- documentation and code agree --------------------------------------------------------------
@pytest.mark.parametrize("name", ["audit_host", "audit_fleet"])
def test_documented_options_are_the_action_argument_spec(name: str) -> None:
    import importlib  # noqa: PLC0415

    import yaml  # noqa: PLC0415

    action = importlib.import_module(f"ansible_collections.rampart.hardening.plugins.action.{name}")
    doc = importlib.import_module(f"ansible_collections.rampart.hardening.plugins.modules.{name}")
    documented = yaml.safe_load(doc.DOCUMENTATION)["options"]
    spec = action.ARGUMENT_SPEC
    assert sorted(documented) == sorted(spec)
    for option, entry in spec.items():
        assert documented[option]["type"] == entry["type"], option
        assert documented[option].get("default") == entry.get("default"), option
        if option != "categories":  # documented as security_audit's own list, which grows with the packs
            assert sorted(documented[option].get("choices") or []) == sorted(entry.get("choices") or []), option
        assert bool(documented[option].get("required")) == bool(entry.get("required")), option


def test_audit_host_retries_a_failed_connection_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace  # noqa: PLC0415

    from ansible.errors import AnsibleConnectionFailure  # noqa: PLC0415

    from ansible_collections.rampart.hardening.plugins.action import audit_host  # noqa: PLC0415

    monkeypatch.setattr(audit_host, "RETRY_DELAY", 0)
    action = object.__new__(audit_host.ActionModule)
    action._connection = SimpleNamespace(_shell=SimpleNamespace(tmpdir="/root/.ansible/tmp/x"))
    action._display = SimpleNamespace(vvv=lambda *a, **k: None)
    calls: list[dict] = []

    def flaky(**kwargs: object) -> dict:
        calls.append(dict(kwargs))
        if len(calls) == 1:
            raise AnsibleConnectionFailure("Failed to create temporary directory ... exited with result 255")
        return {"report": {}}

    action._execute_module = flaky
    args = dict.fromkeys(audit_host.AUDIT_OPTIONS) | {"host_label": "web1", "live": True}
    assert action._audit(args, {"inventory_hostname": "web1"}) == {"report": {}}
    assert len(calls) == 2
    assert calls[1]["module_args"] == {"host_label": "web1", "probe_facts": True}
    assert action._connection._shell.tmpdir is None

    def down(**kwargs: object) -> dict:
        calls.append(dict(kwargs))
        raise AnsibleConnectionFailure("no such container")

    action._execute_module = down
    calls.clear()
    with pytest.raises(AnsibleConnectionFailure):
        action._audit(args, {"inventory_hostname": "web1"})
    assert len(calls) == 2
