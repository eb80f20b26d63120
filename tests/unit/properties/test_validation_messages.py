"""One error per bad variable: every validation rule of every role names its own variable.

For each role, every ``assert`` task of ``tasks/validate.yml`` is broken by at least one input
below (a test fails when a rule has none, so a new rule needs a case here). The role's own
validation runs on it; the first failing task must be that rule, and each of its messages
must start with one variable path that exists in the input, followed by its value (secrets
say ``(hidden)``), not "one of A, B, C or D is wrong".
"""

from __future__ import annotations

from typing import Any

import pytest
from harness import RoleRun, named_variable

SITE = [{"name": "app", "server_names": ["app.example.test"], "locations": [{"path": "/", "root": "/srv/www"}]}]
PG = {
    "rampart_postgresql_databases": [{"name": "appdb", "owner": "app", "readonly_users": ["app_ro"]}],
    "rampart_postgresql_listen_addresses": ["127.0.0.1"],
}
WORLD_PG = [{"database": "appdb", "user": "app", "source": "0.0.0.0/0"}]
CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

# role -> [(input, path the first refusal must name)]
CASES: dict[str, list[tuple[dict[str, Any], str]]] = {
    "nginx": [
        ({"rampart_nginx_sites": [{"server_names": [], "locations": []}]}, "rampart_nginx_sites[0].server_names"),
        (
            {"rampart_nginx_sites": [{**SITE[0], "server_names": ["bad..name"]}]},
            "rampart_nginx_sites[0].server_names[0]",
        ),
        (
            {"rampart_nginx_sites": [{**SITE[0], "server_names": ["a_b.example.test"]}]},
            "rampart_nginx_sites[0].server_names[0]",
        ),
        ({"rampart_nginx_sites": [{**SITE[0], "headers": {"X-A": 'a"b'}}]}, "rampart_nginx_sites[0].headers.X-A"),
        (
            {"rampart_nginx_classes": {"public": {"rate": "10/s"}}, "rampart_nginx_sites": SITE},
            "rampart_nginx_classes.public.rate",
        ),
        (
            {"rampart_nginx_classes": {"public": {"client_max_body_size": "1 m"}}, "rampart_nginx_sites": SITE},
            "rampart_nginx_classes.public.client_max_body_size",
        ),
        (
            {"rampart_nginx_classes": {"public": {"allow": ["10.0.0.0/33"]}}, "rampart_nginx_sites": SITE},
            "rampart_nginx_classes.public.allow[0]",
        ),
        (
            {"rampart_nginx_upstreams": [{"name": "app", "servers": ["bad host:80"]}]},
            "rampart_nginx_upstreams[0].servers[0]",
        ),
        (
            {"rampart_nginx_upstreams": [{"name": "app", "servers": ["bad_host:80"]}]},
            "rampart_nginx_upstreams[0].servers[0]",
        ),
        ({"rampart_nginx_client_header_buffer_size": "1 k"}, "rampart_nginx_client_header_buffer_size"),
        ({"rampart_nginx_send_timeout": "ten"}, "rampart_nginx_send_timeout"),
        ({"rampart_nginx_hsts_max_age": -5}, "rampart_nginx_hsts_max_age"),
        ({"rampart_nginx_limit_conn_status": 200}, "rampart_nginx_limit_conn_status"),
        ({"rampart_nginx_tls_dir": "relative/dir"}, "rampart_nginx_tls_dir"),
        (
            {"rampart_nginx_accepted_exceptions": {"TLS-01": {"reason": "x"}}},
            "rampart_nginx_accepted_exceptions.TLS-01",
        ),
        (
            {"rampart_nginx_accepted_exceptions": [{"check": "DOS-02", "target": "class:nosuch", "reason": "x"}]},
            "rampart_nginx_accepted_exceptions[0]",
        ),
        (
            {"rampart_nginx_sites": [{**SITE[0], "locations": [{"path": "/", "root": "/srv", "limit_conn": None}]}]},
            "rampart_nginx_sites[0].locations[0].limit_conn",
        ),
        ({"rampart_nginx_auth_users": [{"name": "ops", "password": "short"}]}, "rampart_nginx_auth_users[0].password"),
        (
            {"rampart_nginx_sites": [{**SITE[0], "locations": [{"path": "/ops/", "root": "/srv", "class": "admin"}]}]},
            "rampart_nginx_auth_users",
        ),
    ],
    "postgresql": [
        ({**PG, "rampart_postgresql_port": 0}, "rampart_postgresql_port"),
        (
            {**PG, "rampart_postgresql_accepted_exceptions": {"PG-02": {"reason": " "}}},
            "rampart_postgresql_accepted_exceptions.PG-02",
        ),
        ({**PG, "rampart_postgresql_listen_addresses": ["127.0.0.1", "*"]}, "rampart_postgresql_listen_addresses[1]"),
        (
            {**PG, "rampart_postgresql_databases": [{"name": "pg_x", "owner": "app"}]},
            "rampart_postgresql_databases[0].name",
        ),
        (
            {**PG, "rampart_postgresql_databases": [{"name": "a", "owner": "o"}, {"name": "b", "owner": "o"}]},
            "rampart_postgresql_databases[0].owner",
        ),
        ({**PG, "rampart_postgresql_hba": WORLD_PG}, "rampart_postgresql_hba[0].source"),
        ({**PG, "rampart_postgresql_passwords": {"app": "postgres"}}, "rampart_postgresql_passwords.app"),
        ({**PG, "rampart_postgresql_tls_cert_content": CERT}, "rampart_postgresql_tls_key_content"),
        ({**PG, "rampart_postgresql_settings": {"ssl": "off"}}, "rampart_postgresql_settings.ssl"),
    ],
    "clickhouse": [
        (
            {"rampart_clickhouse_accepted_exceptions": {"ODB-01": {"reason": "x"}}},
            "rampart_clickhouse_accepted_exceptions.ODB-01",
        ),
        ({"rampart_clickhouse_listen_addresses": ["10.0.0.5"]}, "rampart_clickhouse_listen_addresses"),
        ({"rampart_clickhouse_listen_addresses": ["127.0.0.1", "::"]}, "rampart_clickhouse_listen_addresses[1]"),
        ({"rampart_clickhouse_https_port": 0}, "rampart_clickhouse_https_port"),
        ({"rampart_clickhouse_plaintext_enabled": False}, "rampart_clickhouse_plaintext_enabled"),
        (
            {"rampart_clickhouse_tls_enabled": True, "rampart_clickhouse_tls_certificate_source": "provided"},
            "rampart_clickhouse_tls_certificate_source",
        ),
        ({"rampart_clickhouse_default_user_networks": ["10.0.0.0/8"]}, "rampart_clickhouse_default_user_networks"),
        ({"rampart_clickhouse_users": [{"name": "app", "networks": ["::/0"]}]}, "rampart_clickhouse_users[0]"),
        (
            {"rampart_clickhouse_users": [{"name": "a", "networks": ["10.0.0.1"]}] * 2},
            "rampart_clickhouse_users[1].name",
        ),
        ({"rampart_clickhouse_default_quota": {"duration": 3600, "queries": 0}}, "rampart_clickhouse_default_quota"),
        ({"rampart_clickhouse_databases": ["bad-name"]}, "rampart_clickhouse_databases"),
        ({"rampart_clickhouse_profile_settings": {"readonly": 0}}, "rampart_clickhouse_profile_settings.readonly"),
        ({"rampart_clickhouse_default_user_password": "changeme"}, "rampart_clickhouse_default_user_password"),
        ({"rampart_clickhouse_password_length": 8}, "rampart_clickhouse_password_length"),
        ({"rampart_clickhouse_apt_repository": {"repo": "http://x"}}, "rampart_clickhouse_apt_repository"),
        ({"rampart_clickhouse_systemd_options": {"User": "root"}}, "rampart_clickhouse_systemd_options.User"),
    ],
    "redis": [
        ({"rampart_redis_bind_addresses": []}, "rampart_redis_bind_addresses"),
        (
            {"rampart_redis_bind_addresses": ["127.0.0.1", "0.0.0.0"], "rampart_redis_tls_enabled": True},
            "rampart_redis_bind_addresses[1]",
        ),
        (
            {"rampart_redis_accepted_exceptions": {"RDS-02": {"reason": "x"}}},
            "rampart_redis_accepted_exceptions.RDS-02",
        ),
        ({"rampart_redis_bind_addresses": ["10.0.0.5"]}, "rampart_redis_bind_addresses"),
        ({"rampart_redis_port": 70000}, "rampart_redis_port"),
        ({"rampart_redis_acl_file": "users.acl"}, "rampart_redis_acl_file"),
        (
            {"rampart_redis_tls_enabled": True, "rampart_redis_tls_certificate_source": "provided"},
            "rampart_redis_tls_cert_content",
        ),
        ({"rampart_redis_tls_protocols": ["TLSv1.1"]}, "rampart_redis_tls_protocols"),
        ({"rampart_redis_users": [{"name": "a b"}]}, "rampart_redis_users[0].name"),
        ({"rampart_redis_users": [{"name": "default"}]}, "rampart_redis_users[0].name"),
        ({"rampart_redis_users": [{"name": "app", "commands": ["+@all"]}]}, "rampart_redis_users[0].commands"),
        (
            {"rampart_redis_default_user_enabled": True, "rampart_redis_default_user_keys": ["a b"]},
            "rampart_redis_default_user_keys",
        ),
        ({"rampart_redis_users": [{"name": "app", "password": "changeme"}]}, "rampart_redis_users[0].password"),
        ({"rampart_redis_password_length": 8}, "rampart_redis_password_length"),
        ({"rampart_redis_maxmemory": "lots"}, "rampart_redis_maxmemory"),
        ({"rampart_redis_systemd_options": {"User": "root"}}, "rampart_redis_systemd_options.User"),
    ],
    "ssh": [
        ({"rampart_ssh_port": 0}, "rampart_ssh_port"),
        ({"rampart_ssh_listen_addresses": ["127.0.0.1", "nope"]}, "rampart_ssh_listen_addresses[1]"),
        ({"rampart_ssh_management_user": "root"}, "rampart_ssh_management_user"),
        ({"rampart_ssh_management_authorized_keys": ["not a key"]}, "rampart_ssh_management_authorized_keys[0]"),
        ({"rampart_ssh_allow_groups": []}, "rampart_ssh_allow_groups"),
        ({"rampart_ssh_max_auth_tries": 6}, "rampart_ssh_max_auth_tries"),
        ({"rampart_ssh_log_level": "INFO"}, "rampart_ssh_log_level"),
        ({"rampart_ssh_allowed_forwarding": ["x11", "ports"]}, "rampart_ssh_allowed_forwarding"),
        ({"rampart_ssh_ciphers": []}, "rampart_ssh_ciphers"),
        ({"rampart_ssh_moduli_min_bits": 2048}, "rampart_ssh_moduli_min_bits"),
        ({"rampart_ssh_ciphers": ["aes128-cbc"]}, "rampart_ssh_ciphers[0]"),
        (
            {"rampart_ssh_kex_algorithms": ["curve25519-sha256", "sntrup761x25519-sha512@openssh.com"]},
            "rampart_ssh_kex_algorithms[0]",
        ),
        (
            {"rampart_ssh_match_blocks": [{"criteria": {"user": "a"}, "settings": {"PermitRootLogin": "yes"}}]},
            "rampart_ssh_match_blocks[0].settings.PermitRootLogin",
        ),
        ({"rampart_ssh_extra_settings": {"Banner": "a\nb"}}, "rampart_ssh_extra_settings.Banner"),
        (
            {"rampart_ssh_match_blocks": [{"criteria": {}, "settings": {"Banner": "none"}}]},
            "rampart_ssh_match_blocks[0]",
        ),
        ({"rampart_ssh_rollback_timeout": 20}, "rampart_ssh_rollback_timeout"),
    ],
    "firewall": [
        ({"rampart_firewall_backend": "iptables"}, "rampart_firewall_backend"),
        (
            {"rampart_firewall_accepted_exceptions": {"NET-01": {"reason": "x"}}},
            "rampart_firewall_accepted_exceptions.NET-01",
        ),
        ({"rampart_firewall_management_port": 0}, "rampart_firewall_management_port"),
        ({"rampart_firewall_log_rate": "fast"}, "rampart_firewall_log_rate"),
        ({"rampart_firewall_log_prefix": "drop;"}, "rampart_firewall_log_prefix"),
        ({"rampart_firewall_management_sources": ["bad"]}, "rampart_firewall_management_sources[0]"),
        ({"rampart_firewall_sets": {"app": ["10.0.0.0/8", "bad"]}}, "rampart_firewall_sets.app[1]"),
        (
            {"rampart_firewall_services": [{"name": "https", "protocol": "icmp"}]},
            "rampart_firewall_services[0].protocol",
        ),
        ({"rampart_firewall_services": [{"name": "api", "ports": [70000]}]}, "rampart_firewall_services[0].ports"),
        (
            {"rampart_firewall_services": [{"name": "api", "ports": [8443], "sources": ["nope"]}]},
            "rampart_firewall_services[0].sources[0]",
        ),
        ({"rampart_firewall_services": [{"name": "postgresql"}]}, "rampart_firewall_services[0].sources"),
        (  # issue 20: a @set holding 0.0.0.0/0 is every address
            {
                "rampart_firewall_services": [{"name": "redis", "sources": ["@w"]}],
                "rampart_firewall_sets": {"w": ["::/0"]},
            },
            "rampart_firewall_services[0].sources",
        ),
        (
            {"rampart_firewall_accepted_exceptions": [{"check": "NET-04", "target": "service:x", "reason": "r"}]},
            "rampart_firewall_accepted_exceptions[0]",
        ),
    ],
}


def assert_rules(role: str) -> list[str]:
    return [t["name"] for t in RoleRun(role).tasks if "ansible.builtin.assert" in t]


@pytest.mark.parametrize(
    ("role", "user", "path"), [(role, user, path) for role, cases in CASES.items() for user, path in cases]
)
def test_refusal_names_one_variable_and_its_value(role: str, user: dict[str, Any], path: str) -> None:
    run = RoleRun(role, user)
    refusals = run.validate()
    assert refusals, f"{role} accepted {user}"
    named = [named_variable(message, run.variables)[0] for message in refusals]
    assert named[0] == path, refusals


@pytest.mark.parametrize("role", sorted(CASES))
def test_every_validation_rule_is_walked(role: str) -> None:
    hit = set()
    for user, _unused in CASES[role]:
        run = RoleRun(role, user)
        run.validate()
        hit.add(run.failed_task)
    missing = [name for name in assert_rules(role) if name not in hit]
    assert not missing, f"{role}: no case breaks {missing}"


@pytest.mark.parametrize("role", sorted(CASES))
def test_defaults_are_accepted(role: str) -> None:
    base = {"postgresql": PG}.get(role, {})
    assert RoleRun(role, base).validate() == []
