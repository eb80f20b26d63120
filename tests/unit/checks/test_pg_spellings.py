"""PG-01 against listen_addresses spellings the lab snapshot does not use.

listen_addresses entries go to getaddrinfo(): every spelling of the unspecified address
(``::0``, ``0:0:0:0:0:0:0:0``, ``0.0.0.0``) binds every interface like ``*``.
"""

from __future__ import annotations

import pytest
from check_helpers import assert_status, run
from test_postgresql import hardened, pg_facts

from ansible_collections.rampart.hardening.plugins.module_utils.model import Status


def _listening(make_facts, value: str):
    snapshot = hardened()
    snapshot["settings"]["listen_addresses"] = value
    return run("PG-01", pg_facts(make_facts, snapshot))


@pytest.mark.parametrize("value", ["::0", "0:0:0:0:0:0:0:0", "localhost, 0::0", "0.0.0.0", "*", " * "])
def test_every_spelling_of_all_interfaces_fails(make_facts, value):
    result = _listening(make_facts, value)
    assert_status(result, Status.FAIL)
    assert "all interfaces" in result.message


@pytest.mark.parametrize("value", ["localhost", "127.0.0.1,::1", "", "localhost,127.0.0.1"])
def test_loopback_spellings_pass(make_facts, value):
    assert_status(_listening(make_facts, value), Status.PASS)


def test_private_address_stays_partial(make_facts):
    assert_status(_listening(make_facts, "localhost,10.0.0.5"), Status.PARTIAL)
