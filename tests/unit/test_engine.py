"""The engine: selection, error containment, probe memoization, live merging."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ansible_collections.rampart.hardening.plugins.module_utils.engine import (
    AuditConfigError,
    merge_live,
    results_from_dicts,
    run_audit,
)
from ansible_collections.rampart.hardening.plugins.module_utils.facts import (
    CommandOutput,
    Facts,
    FixtureRunner,
    ProbeError,
)
from ansible_collections.rampart.hardening.plugins.module_utils.model import (
    Result,
    Status,
    failed,
    not_applicable,
    partial,
    passed,
)
from ansible_collections.rampart.hardening.plugins.module_utils.registry import (
    RegisteredCheck,
    check,
    get_check,
    make_meta,
    registered_checks,
    unregister,
)


def fake(
    check_id: str, fn: Callable[[Facts], Result], category: str = "tls", severity: str = "high"
) -> RegisteredCheck:
    meta = make_meta(check_id, f"title of {check_id}", category, severity, "why", "fix it")
    return RegisteredCheck(meta=meta, run=fn)


def nginx_version(facts: Facts) -> str:
    def probe() -> str:
        out = facts.run(("nginx", "-v"))
        if out.rc != 0:
            raise ProbeError(f"nginx -v failed with rc {out.rc}")
        return out.stderr.strip()

    return facts.cached("nginx_version", probe)


def test_decorator_registers_and_rejects_duplicates() -> None:
    @check("ZZT-01", "temp", "custom", "low", "why", "fix")
    def temp(facts: Facts) -> Result:
        return passed("ok")

    try:
        assert get_check("ZZT-01") is not None
        assert [c.meta.id for c in registered_checks()] == sorted(c.meta.id for c in registered_checks())
        with pytest.raises(ValueError, match="duplicate check id ZZT-01"):
            check("ZZT-01", "again", "custom", "low", "why", "fix")(temp)
    finally:
        unregister("ZZT-01")


def test_bad_metadata_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown category"):
        make_meta("X-01", "t", "nope", "high", "r", "f")
    with pytest.raises(ValueError, match="unknown severity"):
        make_meta("X-01", "t", "tls", "severe", "r", "f")


def test_errors_never_escape(make_facts) -> None:
    def raises_probe(facts: Facts) -> Result:
        raise ProbeError("cannot parse nginx -T: unexpected '}' at line 3")

    def crashes(facts: Facts) -> Result:
        return {}["missing"]

    def returns_garbage(facts: Facts) -> Result:
        return "pass"  # type: ignore[return-value]

    checks = [fake("A-01", raises_probe), fake("A-02", crashes), fake("A-03", returns_garbage)]
    report = run_audit(make_facts(), available=checks)
    by_id = {f.meta.id: f for f in report.findings}
    assert {f.status for f in report.findings} == {Status.ERROR}
    assert by_id["A-01"].message == "cannot parse nginx -T: unexpected '}' at line 3"
    assert "KeyError" in by_id["A-02"].message
    assert "not a Result" in by_id["A-03"].message
    data = report.to_dict()
    assert [e["id"] for e in data["errors"]] == ["A-01", "A-02", "A-03"]
    # rampart-score/2: errors never count as a pass; they score 0 like failures and mark the grade incomplete
    assert data["overall"]["score"] == 0.0
    assert data["overall"]["grade"] == "F"
    assert data["overall"]["incomplete"] is True
    assert data["overall"]["unjudged"] == 3


def test_probe_runs_once_even_when_it_fails() -> None:
    runner = FixtureRunner({("nginx", "-v"): CommandOutput(1, "", "boom")})
    facts = Facts(runner=runner)

    def uses_version(facts: Facts) -> Result:
        return passed(nginx_version(facts))

    report = run_audit(facts, available=[fake("B-01", uses_version), fake("B-02", uses_version)])
    assert [f.status for f in report.findings] == [Status.ERROR, Status.ERROR]
    assert runner.calls == [("nginx", "-v")]


def test_commands_are_cached_per_argv() -> None:
    runner = FixtureRunner({("ss", "-tln"): CommandOutput(0, "x", "")})
    facts = Facts(runner=runner)
    assert facts.run(["ss", "-tln"]).stdout == "x"
    assert facts.run(("ss", "-tln")).stdout == "x"
    assert facts.run(("missing",)).rc == 127
    assert runner.calls == [("ss", "-tln"), ("missing",)]


def test_selection_by_category_id_pattern_and_skip(make_facts) -> None:
    ok = passed
    checks = [
        fake("TLS-01", lambda f: ok("a")),
        fake("TLS-02", lambda f: ok("b")),
        fake("PG-01", lambda f: ok("c"), category="postgresql"),
    ]
    facts = make_facts()
    assert [f.meta.id for f in run_audit(facts, categories=["tls"], available=checks).findings] == ["TLS-01", "TLS-02"]
    assert [
        f.meta.id for f in run_audit(facts, checks=["TLS-*"], skip_checks=["TLS-02"], available=checks).findings
    ] == ["TLS-01"]
    with pytest.raises(AuditConfigError, match="no check matches 'NOPE-1'"):
        run_audit(facts, checks=["NOPE-1"], available=checks)
    with pytest.raises(AuditConfigError, match="unknown category"):
        run_audit(facts, categories=["firewalls"], available=checks)


def test_findings_are_sorted_by_severity_then_id(make_facts) -> None:
    checks = [
        fake("B-02", lambda f: passed("x"), severity="low"),
        fake("B-01", lambda f: passed("x"), severity="low"),
        fake("Z-09", lambda f: failed("x"), severity="critical"),
    ]
    data = run_audit(make_facts(), available=checks).to_dict()
    assert [f["id"] for f in data["findings"]] == ["Z-09", "B-01", "B-02"]


def test_live_fail_overrides_inside_pass() -> None:
    inside = passed("ssl_protocols TLSv1.2 TLSv1.3", ["nginx -T: ssl_protocols TLSv1.2 TLSv1.3;"])
    live = failed("TLS 1.0 handshake accepted", ["10.0.0.5:443 TLSv1 accepted"])
    merged, sources = merge_live(inside, live)
    assert merged.status is Status.FAIL
    assert merged.message == "config says: ssl_protocols TLSv1.2 TLSv1.3; the network says: TLS 1.0 handshake accepted"
    assert merged.evidence == ["config: nginx -T: ssl_protocols TLSv1.2 TLSv1.3;", "live: 10.0.0.5:443 TLSv1 accepted"]
    assert sources == ["config", "live"]


@pytest.mark.parametrize(
    ("inside", "live", "expected", "sources"),
    [
        (passed("a"), passed("b"), Status.PASS, ["config", "live"]),
        (partial("a"), passed("b"), Status.PARTIAL, ["config", "live"]),
        (passed("a"), partial("b"), Status.PARTIAL, ["config", "live"]),
        (failed("a"), passed("b"), Status.FAIL, ["config", "live"]),
        (partial("a"), failed("b"), Status.FAIL, ["config", "live"]),
        (not_applicable("no nginx"), failed("b"), Status.FAIL, ["live"]),
        (passed("a"), not_applicable("not probed"), Status.PASS, ["config"]),
        (Result(Status.ERROR, "probe broke"), passed("b"), Status.ERROR, ["config", "live"]),
        (Result(Status.ERROR, "probe broke"), failed("b"), Status.FAIL, ["config", "live"]),
        (passed("a"), Result(Status.ERROR, "timeout"), Status.PASS, ["config"]),
    ],
)
def test_live_merge_table(inside: Result, live: Result, expected: Status, sources: list[str]) -> None:
    merged, got_sources = merge_live(inside, live)
    assert merged.status is expected
    assert got_sources == sources


def test_live_results_flow_into_findings(make_facts) -> None:
    live = results_from_dicts({"RDS-03": {"status": "fail", "message": "PING answered PONG", "evidence": ["+PONG"]}})
    facts = make_facts(live=live)
    report = run_audit(facts, available=[fake("RDS-03", lambda f: passed("requirepass set"), category="redis")])
    finding = report.to_dict()["findings"][0]
    assert finding["status"] == "fail"
    assert finding["sources"] == ["config", "live"]
    assert "live: +PONG" in finding["evidence"]


def test_malformed_live_results_are_rejected() -> None:
    with pytest.raises(AuditConfigError, match="unknown status"):
        results_from_dicts({"TLS-01": {"status": "great"}})
    with pytest.raises(AuditConfigError, match="expected a mapping"):
        results_from_dicts({"TLS-01": "fail"})


def test_facts_files_under_root(make_facts) -> None:
    facts = make_facts(
        files={"/etc/nginx/nginx.conf": ("user www-data;\n", 0o640), "/etc/nginx/conf.d/a.conf": ""},
        intent={"nginx": {"server_names": ["a.example"]}, "broken": "{not json"},
    )
    assert facts.read_text("/etc/nginx/nginx.conf") == "user www-data;\n"
    assert facts.read_text("/etc/nope") is None
    st = facts.stat("/etc/nginx/nginx.conf")
    assert st is not None
    assert st.mode == 0o640
    assert not st.is_dir
    assert facts.stat("/etc/nginx").is_dir
    assert facts.glob("/etc/nginx/conf.d/*.conf") == ["/etc/nginx/conf.d/a.conf"]
    assert facts.intent("nginx") == {"server_names": ["a.example"]}
    assert facts.intent("redis") is None
    with pytest.raises(ProbeError, match="malformed intent file"):
        facts.intent("broken")


def test_which_looks_under_root(make_facts) -> None:
    facts = make_facts(files={"/usr/sbin/nginx": ("#!/bin/sh\n", 0o755), "/usr/bin/redis-cli": ("", 0o644)})
    assert facts.which("nginx")
    assert not facts.which("redis-cli")  # not executable
    assert not facts.which("psql")
