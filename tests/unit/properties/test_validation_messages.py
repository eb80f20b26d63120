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
CA_PATHS = {
    "rampart_internal_ca_cert_path": "/etc/x/tls/server.crt",
    "rampart_internal_ca_key_path": "/etc/x/tls/server.key",
    "rampart_internal_ca_ca_path": "/etc/x/tls/ca.crt",
}
ACME_CERT = {"cert_name": "app", "names": ["app.example.test"]}
ACME = {"rampart_acme_agree_tos": True}
NET = dict(RoleRun("baseline").variables["rampart_baseline_sysctl_network"])
KERNEL = dict(RoleRun("baseline").variables["rampart_baseline_sysctl_kernel"])
NO_LOG_HOST = {"rampart_baseline_accepted_exceptions": {"LOG-03": {"reason": "no central log host yet"}}}
AGE = "age1" + "q" * 58
BACKUP = {"rampart_backup_encryption": "age", "rampart_backup_age_recipients": [AGE]}
PGP = "-----BEGIN PGP PUBLIC KEY BLOCK-----\nmQ\n-----END PGP PUBLIC KEY BLOCK-----\n"
SOURCE = {"name": "web1", "host": "web1.example.test", "host_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5"}

# role -> [(input, path the first refusal must name)]
CASES: dict[str, list[tuple[dict[str, Any], str]]] = {
    "baseline": [
        ({"rampart_baseline_forwarding": "maybe"}, "rampart_baseline_forwarding"),
        (
            {"rampart_baseline_sysctl_network": {**NET, "net.bad key": 1}},
            "rampart_baseline_sysctl_network['net.bad key']",
        ),
        (
            {"rampart_baseline_sysctl_kernel": {**KERNEL, "net.core.somaxconn": 1024}},
            "rampart_baseline_sysctl_kernel['net.core.somaxconn']",
        ),
        (
            {"rampart_baseline_sysctl_network": {**NET, "net.ipv4.conf.all.rp_filter": 0}},
            "rampart_baseline_sysctl_network['net.ipv4.conf.all.rp_filter']",
        ),
        ({"rampart_baseline_unattended_reboot_time": "25:00"}, "rampart_baseline_unattended_reboot_time"),
        ({"rampart_baseline_unattended_origins": []}, "rampart_baseline_unattended_origins"),
        ({"rampart_baseline_unattended_origins": ["origin=Debian", "a;b"]}, "rampart_baseline_unattended_origins[1]"),
        ({"rampart_baseline_time_servers": ["b d"]}, "rampart_baseline_time_servers[0]"),
        ({"rampart_baseline_journal_max_use": "lots"}, "rampart_baseline_journal_max_use"),
        ({"rampart_baseline_log_port": 0}, "rampart_baseline_log_port"),
        ({"rampart_baseline_log_host": "logs.example.test"}, "rampart_baseline_log_tls_ca"),
        ({"rampart_baseline_umask": "999"}, "rampart_baseline_umask"),
        ({"rampart_baseline_pwquality": {"minlen": 14, "bad-key": 1}}, "rampart_baseline_pwquality.bad-key"),
        ({"rampart_baseline_legacy_packages": ["Bad_Pkg"]}, "rampart_baseline_legacy_packages[0]"),
        (
            {"rampart_baseline_accepted_exceptions": {"LOG-02": {"reason": "x"}}},
            "rampart_baseline_accepted_exceptions.LOG-02",
        ),
        ({}, "rampart_baseline_log_host"),  # the default: no log host, LOG-03 not accepted
    ],
    "backup": [
        ({"rampart_backup_encryption": "gpg"}, "rampart_backup_gpg_recipients"),
        ({**BACKUP, "rampart_backup_state_dir": "state"}, "rampart_backup_state_dir"),
        (
            {"rampart_backup_gpg_recipients": [{"fingerprint": "ABCD", "public_key": PGP}]},
            "rampart_backup_gpg_recipients[0].fingerprint",
        ),
        (
            {"rampart_backup_gpg_recipients": [{"fingerprint": "A" * 40, "public_key": "PRIVATE KEY"}]},
            "rampart_backup_gpg_recipients[0].public_key",
        ),
        ({**BACKUP, "rampart_backup_age_recipients": [AGE, "AGE-SECRET-KEY-1X"]}, "rampart_backup_age_recipients[1]"),
        ({**BACKUP, "rampart_backup_keep_min": 5, "rampart_backup_keep_count": 3}, "rampart_backup_keep_count"),
        ({**BACKUP, "rampart_backup_postgresql_compress": 12}, "rampart_backup_postgresql_compress"),
        ({**BACKUP, "rampart_backup_postgresql_databases": ["ok", "a/b"]}, "rampart_backup_postgresql_databases[1]"),
        ({**BACKUP, "rampart_backup_postgresql_enabled": False}, "rampart_backup_postgresql_enabled"),
        ({**BACKUP, "rampart_backup_redis_enabled": True}, "rampart_backup_redis_password"),
        (
            {**BACKUP, "rampart_backup_pull_keys": [{"key": "ssh-ed25519 AAAA", "from": "10.0.0.1 x"}]},
            "rampart_backup_pull_keys[0].from",
        ),
        ({**BACKUP, "rampart_backup_pull_user": "root"}, "rampart_backup_pull_user"),
        ({**BACKUP, "rampart_backup_pull_group": "Pull Group"}, "rampart_backup_pull_group"),
        (  # issue 13: sshd's AllowGroups (the ssh role) would refuse the vaults' pulls
            {**BACKUP, "rampart_backup_pull_keys": [{"key": "ssh-ed25519 AAAA"}], "rampart_ssh_allow_groups": ["ops"]},
            "rampart_backup_pull_group",
        ),
    ],
    "backup_vault": [
        (
            {"rampart_backup_vault_sources": [{**SOURCE, "host_key": "nope"}]},
            "rampart_backup_vault_sources[0].host_key",
        ),
        ({"rampart_backup_vault_sources": [SOURCE, SOURCE]}, "rampart_backup_vault_sources[1].name"),
        ({"rampart_backup_vault_keep_days": 0}, "rampart_backup_vault_keep_days"),
        ({"rampart_backup_vault_state_dir": "state"}, "rampart_backup_vault_state_dir"),
    ],
    "audit_agent": [
        ({"rampart_audit_agent_config_dir": "/etc/rampart agent"}, "rampart_audit_agent_config_dir"),
        ({"rampart_audit_agent_on_calendar": ""}, "rampart_audit_agent_on_calendar"),
        ({"rampart_audit_agent_randomized_delay_sec": -1}, "rampart_audit_agent_randomized_delay_sec"),
        ({"rampart_audit_agent_keep_reports": 0}, "rampart_audit_agent_keep_reports"),
        ({"rampart_audit_agent_chain_retention_days": "x"}, "rampart_audit_agent_chain_retention_days"),
        ({"rampart_audit_agent_host_name": "-bad"}, "rampart_audit_agent_host_name"),
        ({"rampart_audit_agent_push_url": "http://x"}, "rampart_audit_agent_push_url"),
        ({"rampart_audit_agent_push_ca_file": "/nonexistent/ca.pem"}, "rampart_audit_agent_push_ca_file"),
        ({"rampart_audit_agent_push_backoff_max": 5}, "rampart_audit_agent_push_backoff_max"),
        ({"rampart_audit_agent_remediation": {"tls": "fix"}}, "rampart_audit_agent_remediation"),
        ({"rampart_audit_agent_on_calendar": "bogus"}, "rampart_audit_agent_on_calendar"),
    ],
    "internal_ca": [
        ({**CA_PATHS, "rampart_internal_ca_key_path": "server.key"}, "rampart_internal_ca_key_path"),
        (
            {**CA_PATHS, "rampart_internal_ca_ca_path": CA_PATHS["rampart_internal_ca_key_path"]},
            "rampart_internal_ca_ca_path",
        ),
        ({**CA_PATHS, "rampart_internal_ca_key_mode": "0644"}, "rampart_internal_ca_key_mode"),
        (
            {**CA_PATHS, "rampart_internal_ca_subject_alt_names": ["DNS:a.example.test", "a.example.test"]},
            "rampart_internal_ca_subject_alt_names[1]",
        ),
        ({**CA_PATHS, "rampart_internal_ca_subject_alt_names": []}, "rampart_internal_ca_subject_alt_names"),
        ({**CA_PATHS, "rampart_internal_ca_renew_days": 7}, "rampart_internal_ca_renew_days"),
        ({**CA_PATHS, "rampart_internal_ca_cert_validity_days": 30}, "rampart_internal_ca_cert_validity_days"),
        ({**CA_PATHS, "rampart_internal_ca_validity_days": 365}, "rampart_internal_ca_validity_days"),
        ({**CA_PATHS, "rampart_internal_ca_cert_content": CERT}, "rampart_internal_ca_key_content"),
    ],
    "acme": [
        ({"rampart_acme_directory_url": "http://acme.example.test/dir"}, "rampart_acme_directory_url"),
        ({"rampart_acme_email": "ops@"}, "rampart_acme_email"),
        ({"rampart_acme_eab_hmac_key": "a" * 20}, "rampart_acme_eab_kid"),
        ({"rampart_acme_eab_kid": "kid", "rampart_acme_eab_hmac_key": "short"}, "rampart_acme_eab_hmac_key"),
        ({"rampart_acme_renew_before_expiry_days": 14}, "rampart_acme_renew_before_expiry_days"),
        ({"rampart_acme_webroot": "/"}, "rampart_acme_webroot"),
        ({"rampart_acme_certificates": [ACME_CERT]}, "rampart_acme_agree_tos"),
        (
            {
                **ACME,
                "rampart_acme_certificates": [ACME_CERT, {"cert_name": "b", "names": ["b.example.test", "*.x.test"]}],
            },
            "rampart_acme_certificates[1].names[1]",
        ),
        ({**ACME, "rampart_acme_certificates": [ACME_CERT, ACME_CERT]}, "rampart_acme_certificates[0].cert_name"),
        (
            {**ACME, "rampart_acme_certificates": [{**ACME_CERT, "key_type": "rsa", "elliptic_curve": "secp384r1"}]},
            "rampart_acme_certificates[0].elliptic_curve",
        ),
    ],
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
        ({**PG, "rampart_postgresql_accepted_exceptions": "PG-02"}, "rampart_postgresql_accepted_exceptions"),
        (
            {
                **PG,
                "rampart_postgresql_accepted_exceptions": [{"check": "PG-02", "target": "hba:x/y/z", "reason": "r"}],
            },
            "rampart_postgresql_accepted_exceptions[0]",
        ),
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
        (  # issue 20: a per-user quota zeroing every limit (ODB-05 partial)
            {
                "rampart_clickhouse_users": [
                    {"name": "app", "networks": ["10.0.0.1"], "quota": {"queries": 0, "errors": 0}}
                ]
            },
            "rampart_clickhouse_users[0].quota",
        ),
        ({"rampart_clickhouse_databases": ["bad-name"]}, "rampart_clickhouse_databases"),
        ({"rampart_clickhouse_profile_settings": {"readonly": 0}}, "rampart_clickhouse_profile_settings.readonly"),
        ({"rampart_clickhouse_default_user_password": "changeme"}, "rampart_clickhouse_default_user_password"),
        ({"rampart_clickhouse_password_length": 8}, "rampart_clickhouse_password_length"),
        ({"rampart_clickhouse_apt_repository": {"repo": "http://x"}}, "rampart_clickhouse_apt_repository"),
        ({"rampart_clickhouse_systemd_options": {"User": "root"}}, "rampart_clickhouse_systemd_options.User"),
    ],
    "redis": [
        ({"rampart_redis_bind_addresses": []}, "rampart_redis_bind_addresses"),
        ({"rampart_redis_accepted_exceptions": "RDS-01"}, "rampart_redis_accepted_exceptions"),
        (
            {"rampart_redis_accepted_exceptions": [{"check": "RDS-01", "target": "bind:10.9.9.9", "reason": "r"}]},
            "rampart_redis_accepted_exceptions[0]",
        ),
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
    base = {"postgresql": PG, "internal_ca": CA_PATHS, "backup": BACKUP, "baseline": NO_LOG_HOST}.get(role, {})
    assert RoleRun(role, base).validate() == []


def test_baseline_default_refuses_with_the_way_to_accept_it() -> None:
    """No log host (the default) fails LOG-03: refused, naming the variable, its value, LOG-03 and the acceptance."""
    refusals = RoleRun("baseline").validate()
    assert len(refusals) == 1, refusals
    assert named_variable(refusals[0], RoleRun("baseline").variables) == ("rampart_baseline_log_host", "")
    assert "LOG-03" in refusals[0]
    assert 'rampart_baseline_accepted_exceptions: {LOG-03: {reason: "..."}}' in refusals[0]
    assert RoleRun("baseline", NO_LOG_HOST).validate() == []
