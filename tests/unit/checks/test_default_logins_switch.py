"""SEC-05 on the agent's timer: with rampart_audit_agent_try_default_credentials false no login is
attempted and the check says so (not_applicable, skipped by configuration), never a pass; what the
configuration shows is still judged."""

from __future__ import annotations

from check_helpers import assert_status, run
from test_default_logins import FakeNetwork, login_roles, with_network
from test_postgresql import pg_facts

from ansible_collections.rampart.hardening.plugins.module_utils.model import Status

ACCEPTS_DEFAULT = {("pg", "127.0.0.1", "postgres", "postgres")}


def test_switched_off_tries_nothing_and_is_not_a_pass(make_facts):
    net = FakeNetwork(accepted=ACCEPTS_DEFAULT)
    facts = with_network(pg_facts(make_facts, login_roles("postgres")), net)
    facts.try_default_logins = False
    result = run("SEC-05", facts)
    assert_status(result, Status.NOT_APPLICABLE)
    assert "skipped by configuration" in result.message
    assert net.calls == []


def test_switched_on_the_same_host_fails(make_facts):
    net = FakeNetwork(accepted=ACCEPTS_DEFAULT)
    result = run("SEC-05", with_network(pg_facts(make_facts, login_roles("postgres")), net))
    assert_status(result, Status.FAIL)
    assert net.calls


def test_switched_off_still_fails_on_what_the_configuration_shows(make_facts):
    conf = "listeners.tcp.default = 5672\nloopback_users = none\n"
    facts = make_facts(files={"/etc/rabbitmq/rabbitmq.conf": conf})
    facts.try_default_logins = False
    result = run("SEC-05", facts)
    assert_status(result, Status.FAIL)
    assert "guest" in result.message
