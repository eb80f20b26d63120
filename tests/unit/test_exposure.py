"""The shared judgement of "open to the world" used by both the roles' validation and the checks."""

from __future__ import annotations

import pytest

from ansible_collections.rampart.hardening.plugins.module_utils.exposure import (
    accept_declared,
    accepted_exceptions,
    exposed_bind,
    wildcard_bind,
    world_open,
)
from ansible_collections.rampart.hardening.plugins.module_utils.model import Result, Status
from ansible_collections.rampart.hardening.plugins.test import validate


@pytest.mark.parametrize(
    "value",
    ["0.0.0.0/0", "::/0", "all", "ALL", "any", "0/0", "0.0.0.0/1", "128.0.0.0/1", "::/1", "::ffff:0:0/96",
     "::ffff:0.0.0.0/97", " 0.0.0.0/0 "],
)  # fmt: skip
def test_world_open_in_any_spelling(value: str) -> None:
    assert world_open(value)


@pytest.mark.parametrize(
    "value", ["10.0.0.0/8", "0.0.0.0/2", "192.168.1.7", "2001:db8::/32", "::1", "::ffff:10.0.0.0/104", "", None, 7]
)
def test_scoped_sources_are_not_world_open(value: object) -> None:
    assert not world_open(value)


@pytest.mark.parametrize("value", ["*", "0.0.0.0", "::", "[::]", "::0", "0:0:0:0:0:0:0:0", "-::*", "::*"])
def test_wildcard_binds(value: str) -> None:
    assert wildcard_bind(value)
    assert exposed_bind(value)


@pytest.mark.parametrize("value", ["127.0.0.1", "::1", "10.0.0.5", "fd00::5", "", "localhost", None])
def test_non_wildcard_binds(value: object) -> None:
    assert not wildcard_bind(value)


@pytest.mark.parametrize(
    ("value", "exposed"),
    [
        ("8.8.8.8", True),
        ("2001:4860::8", True),
        ("10.0.0.5", False),
        ("127.0.0.1", False),
        ("fe80::1", False),
        ("garbage", False),
    ],
)
def test_exposed_bind(value: str, exposed: bool) -> None:
    assert exposed_bind(value) is exposed


@pytest.mark.parametrize(
    ("value", "ok"),
    [(5432, True), ("6379", True), ("5000-6000", True), (443, False), ("7000-8000", False), ("x", False)],
)
def test_data_port(value: object, ok: bool) -> None:
    assert validate.data_port(value) is ok


@pytest.mark.parametrize(
    "intent",
    [None, {}, {"accepted_exceptions": ["PG-02"]}, {"accepted_exceptions": {"PG-02": {"reason": "  "}}},
     {"accepted_exceptions": {"PG-02": "yes"}}, {"accepted_exceptions": {"PG-02": {}}}],
)  # fmt: skip
def test_malformed_acceptance_accepts_nothing(intent: object) -> None:
    assert accepted_exceptions(intent) == {}
    failed = Result(Status.FAIL, "open", ["e"])
    assert accept_declared(intent, "PG-02", failed) is failed


def test_acceptance_turns_a_failure_into_a_listed_exception_never_a_pass() -> None:
    intent = {"accepted_exceptions": {"DOS-02": {"reason": "batch endpoint"}}, "accepted_exceptions_variable": "v"}
    result = accept_declared(intent, "DOS-02", Result(Status.FAIL, "no limit_conn", ["loc /"]))
    assert result.status is Status.NOT_APPLICABLE
    assert result.message == "accepted exception (v[DOS-02]): batch endpoint"
    assert "accepted (would fail): fail: no limit_conn" in result.evidence
    passed = Result(Status.PASS, "ok")
    assert accept_declared(intent, "DOS-02", passed) is passed
    assert accept_declared(intent, "DOS-01", Result(Status.FAIL, "x")).status is Status.FAIL
