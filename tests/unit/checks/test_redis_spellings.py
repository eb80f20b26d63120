"""RDS-01..05 against redis.conf / ACL spellings the lab fixtures do not use.

Redis semantics relied on (redis.conf of Redis 7, ACL SETUSER docs, acl.c):
- ``include`` is processed where it stands and "Redis always uses the last processed line",
  so a directive after an include overrides the included one; included files may include
  others; paths may contain wildcards (files included in alphabetical order, no match = no
  error); a plain include that cannot be opened stops the server from starting.
- ACL categories are matched case-insensitively (strcasecmp in ACLGetCommandCategoryFlagByName).
- ``(...)`` is a selector (Redis 7): a command is allowed when the root permissions OR any
  selector allow it, so a selector holding ``+@all`` gives the user every command.
"""

from __future__ import annotations

import pytest
from check_helpers import assert_status, fixture, run
from test_redis import HARDENED_CONF, USERS, redis_facts

from ansible_collections.rampart.hardening.plugins.module_utils.model import Status
from ansible_collections.rampart.hardening.plugins.module_utils.parsers import ParseError
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.redis import parse_acl_line

APP_HASH = "#" + "0" * 64


def _with_app(rules: str) -> str:
    return "\n".join(
        line if not line.startswith("user app ") else f"user app on {APP_HASH} {rules}" for line in USERS.splitlines()
    )


# ----- includes: order, nesting, wildcards -------------------------------------------------------


def test_directive_after_an_include_overrides_it(make_facts):
    """The base file says protected-mode yes; redis.conf turns it off after including it."""
    conf = "include /etc/redis/base.conf\n" + HARDENED_CONF.replace("protected-mode yes", "protected-mode no")
    files = {"/etc/redis/base.conf": ("protected-mode yes\nbind 127.0.0.1\n", 0o640)}
    result = run("RDS-01", redis_facts(make_facts, conf=conf, files=files))
    assert_status(result, Status.FAIL)
    assert "protected-mode" in result.message


def test_include_at_the_end_still_overrides(make_facts):
    files = {"/etc/redis/local.conf": ("protected-mode no\n", 0o640)}
    conf = HARDENED_CONF + "include /etc/redis/local.conf\n"
    assert_status(run("RDS-01", redis_facts(make_facts, conf=conf, files=files)), Status.FAIL)


def test_include_overridden_later_is_not_blamed(make_facts):
    """The pass side: an included 'protected-mode no' that redis.conf sets back to yes afterwards."""
    conf = "include /etc/redis/base.conf\n" + HARDENED_CONF
    files = {"/etc/redis/base.conf": ("protected-mode no\nbind 0.0.0.0\n", 0o640)}
    assert_status(run("RDS-01", redis_facts(make_facts, conf=conf, files=files)), Status.PASS)


def test_wildcard_include_is_read(make_facts):
    conf = HARDENED_CONF + "include /etc/redis/redis.d/*.conf\n"
    files = {
        "/etc/redis/redis.d/10-tuning.conf": ("maxmemory 256mb\n", 0o640),
        "/etc/redis/redis.d/50-net.conf": ("bind 0.0.0.0\n", 0o640),
    }
    result = run("RDS-01", redis_facts(make_facts, conf=conf, files=files))
    assert_status(result, Status.FAIL)
    assert "0.0.0.0" in result.message


def test_wildcard_include_applies_files_in_alphabetical_order(make_facts):
    conf = HARDENED_CONF + "include /etc/redis/redis.d/*.conf\n"
    files = {
        "/etc/redis/redis.d/10-a.conf": ("enable-debug-command yes\n", 0o640),
        "/etc/redis/redis.d/20-b.conf": ("enable-debug-command no\n", 0o640),
    }
    assert_status(run("RDS-05", redis_facts(make_facts, conf=conf, files=files)), Status.PASS)
    files["/etc/redis/redis.d/30-c.conf"] = ("enable-debug-command yes\n", 0o640)
    assert_status(run("RDS-05", redis_facts(make_facts, conf=conf, files=files)), Status.FAIL)


def test_wildcard_include_matching_nothing_is_fine(make_facts):
    conf = HARDENED_CONF + "include /etc/redis/redis.d/*.conf\n"
    assert_status(run("RDS-01", redis_facts(make_facts, conf=conf)), Status.PASS)


def test_nested_include_is_read(make_facts):
    conf = HARDENED_CONF + "include /etc/redis/a.conf\n"
    files = {
        "/etc/redis/a.conf": ("include /etc/redis/b.conf\n", 0o640),
        "/etc/redis/b.conf": ("enable-module-command yes\n", 0o640),
    }
    result = run("RDS-05", redis_facts(make_facts, conf=conf, files=files))
    assert_status(result, Status.FAIL)
    assert "/etc/redis/b.conf" in result.message


def test_include_loop_is_an_error_not_a_hang(make_facts):
    conf = HARDENED_CONF + "include /etc/redis/a.conf\n"
    files = {"/etc/redis/a.conf": ("include /etc/redis/redis.conf\n", 0o640)}
    assert_status(run("RDS-01", redis_facts(make_facts, conf=conf, files=files)), Status.ERROR)


def test_missing_plain_include_is_an_error(make_facts):
    """redis-server refuses to start without it: the audit cannot say what the next start loads."""
    conf = HARDENED_CONF + "include /etc/redis/local.conf\n"
    result = run("RDS-01", redis_facts(make_facts, conf=conf))
    assert_status(result, Status.ERROR)
    assert "/etc/redis/local.conf" in result.message


def test_included_files_are_mode_checked(make_facts):
    conf = HARDENED_CONF + "include /etc/redis/redis.d/*.conf\n"
    files = {"/etc/redis/redis.d/50-net.conf": ("requirepass x\n", 0o644)}
    result = run("RDS-06", redis_facts(make_facts, conf=conf, files=files))
    assert_status(result, Status.FAIL)
    assert "50-net.conf" in result.message


# ----- ACL spellings ------------------------------------------------------------------------------


@pytest.mark.parametrize("grant", ["+@ADMIN", "+@Dangerous", "+@ALL", "+CONFIG", "+Debug|Object"])
def test_dangerous_grant_in_any_case_fails(make_facts, grant):
    result = run("RDS-04", redis_facts(make_facts, acl=_with_app(f"~app:* -@all +@read {grant}")))
    assert_status(result, Status.FAIL)


@pytest.mark.parametrize(
    "rules",
    [
        "~app:* -@all +@read (~* +@all)",
        "~app:* -@all +@read (~* +flushall)",
        "~app:* -@all +@read (~cache:* +@admin)",
        "~app:* -@all +@read (~* +@read) (%R~* +@DANGEROUS)",
    ],
)
def test_selector_with_dangerous_commands_fails(make_facts, rules):
    assert_status(run("RDS-04", redis_facts(make_facts, acl=_with_app(rules))), Status.FAIL)


def test_selector_with_all_keys_is_partial(make_facts):
    acl = _with_app("~app:* -@all +@read (~* +get)")
    assert_status(run("RDS-04", redis_facts(make_facts, acl=acl)), Status.PARTIAL)


def test_least_privilege_selector_passes(make_facts):
    rules = "~app:* -@all +@read +@write -@dangerous (~cache:* -@all +get)"
    assert_status(run("RDS-04", redis_facts(make_facts, acl=_with_app(rules))), Status.PASS)


def test_clearselectors_drops_earlier_selectors(make_facts):
    rules = "~app:* -@all +@read (~* +@all) clearselectors"
    assert_status(run("RDS-04", redis_facts(make_facts, acl=_with_app(rules))), Status.PASS)


def test_reset_drops_selectors(make_facts):
    rules = f"(~* +@all) reset on {APP_HASH} ~app:* -@all +@read"
    assert_status(run("RDS-04", redis_facts(make_facts, acl=_with_app(rules))), Status.PASS)


def test_acl_list_selector_output_is_understood(make_facts):
    """ACL LIST prints selectors with their full expansion, e.g. (~* resetchannels -@all +@all)."""
    acl = _with_app("~app:* resetchannels -@all +@read (~* resetchannels -@all +@all)")
    assert_status(run("RDS-04", redis_facts(make_facts, acl=acl)), Status.FAIL)


@pytest.mark.parametrize("line", ["user app on (~* +@all", "user app on ~* +@all)", "user app on ((~* +@all))"])
def test_unbalanced_selector_is_a_parse_error(line):
    with pytest.raises(ParseError):
        parse_acl_line(line)


def test_unbalanced_selector_errors_the_acl_checks(make_facts):
    result = run("RDS-04", redis_facts(make_facts, acl=_with_app("~app:* -@all +@read (~* +@all")))
    assert_status(result, Status.ERROR)


def test_allkeys_in_any_case_is_all_keys(make_facts):
    assert_status(run("RDS-04", redis_facts(make_facts, acl=_with_app("ALLKEYS -@all +@read"))), Status.PARTIAL)


def test_fixture_acl_still_reads(make_facts):
    assert_status(run("RDS-04", redis_facts(make_facts, acl=fixture("redis/users.acl"))), Status.PASS)


# ----- requirepass next to an aclfile --------------------------------------------------------------
# redis.conf: "The requirepass is not compatible with aclfile option and the ACL LOAD command,
# these will cause requirepass to be ignored." An aclfile without a "user default" line leaves
# the default user as ACLCreateDefaultUser() makes it: on nopass ~* &* +@all.
LONG = "a-very-long-generated-secret-123"
NO_DEFAULT = "\n".join(line for line in USERS.splitlines() if not line.startswith("user default "))


def test_requirepass_is_ignored_with_an_aclfile(make_facts):
    conf = HARDENED_CONF + f"requirepass {LONG}\n"
    facts = redis_facts(make_facts, conf=conf, acl=NO_DEFAULT, ping="Could not connect to Redis\n")
    assert_status(run("RDS-02", facts), Status.FAIL)
    assert_status(run("RDS-03", facts), Status.FAIL)


def test_requirepass_still_protects_without_an_aclfile(make_facts):
    conf = HARDENED_CONF.replace("aclfile /etc/redis/users.acl", "") + f"requirepass {LONG}\n"
    assert_status(run("RDS-02", redis_facts(make_facts, conf=conf, acl=None)), Status.PASS)


def test_aclfile_default_line_decides_whatever_requirepass_says(make_facts):
    conf = HARDENED_CONF + f"requirepass {LONG}\n"
    assert_status(run("RDS-02", redis_facts(make_facts, conf=conf)), Status.PASS)  # users.acl: default off


def test_duplicate_user_in_the_aclfile_is_an_error_not_the_first_line(make_facts):
    """acl.c refuses an aclfile naming a user twice ("Duplicate user ... found") and redis-server
    aborts its start: the audit cannot say which line wins, so it must not pick the first."""
    acl = USERS + "user default on nopass ~* &* +@all\n"
    for check_id in ("RDS-02", "RDS-04"):
        result = run(check_id, redis_facts(make_facts, acl=acl))
        assert_status(result, Status.ERROR)
        assert "default" in result.message
