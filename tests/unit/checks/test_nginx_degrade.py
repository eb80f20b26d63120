"""When nginx -t refuses the configuration on disk, the audit still judges the files on disk.

The running master keeps serving its old tree, so the next restart is what matters: the
nginx checks parse the files nginx would load (includes followed as nginx does), TLS-11
fails with nginx's own message, and a weak key or protocol nginx refuses is still judged.
"""

from __future__ import annotations

import pytest
from check_helpers import (
    HARDENED,
    LAB_PASSWD,
    assert_status,
    make_cert,
    pki,
    replace,
    run,
)
from check_helpers import lab_commands as base_commands

from ansible_collections.rampart.hardening.plugins.module_utils.model import Status
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.nginx import split_dump
from ansible_collections.rampart.hardening.plugins.module_utils.probes.nginx import nginx

KEY_REFUSED = (
    1,
    "",
    'nginx: [emerg] cannot load certificate key "/etc/ssl/rampart/app.key": PEM_read_bio_PrivateKey() failed\n'
    "nginx: configuration file /etc/nginx/nginx.conf test failed\n",
)
TLS_IDS = [f"TLS-{n:02d}" for n in range(1, 11)]
CERT = "/etc/ssl/rampart/app.crt"
KEY = "/etc/ssl/rampart/app.key"
BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def disk_tree(text: str = HARDENED) -> dict[str, str]:
    """The files of an nginx -T dump, as they lie on disk."""
    return dict(split_dump(text))


def broken_facts(make_facts, disk: dict[str, str] | None = None, nginx_t=KEY_REFUSED, files=None):
    tree = {**(disk if disk is not None else disk_tree()), "/etc/passwd": LAB_PASSWD, **(files or {})}
    return make_facts(commands=base_commands(nginx=nginx_t), files=tree)


@pytest.mark.parametrize("check_id", TLS_IDS)
def test_refused_config_is_judged_from_disk_like_the_dump(make_facts, check_id):
    """The same files, once via nginx -T and once from disk after nginx -t failed: same verdict."""
    from_dump = run(check_id, broken_facts(make_facts, nginx_t=HARDENED))
    from_disk = run(check_id, broken_facts(make_facts))
    assert from_disk.status is from_dump.status, (from_disk.message, from_dump.message)
    assert from_disk.status is not Status.ERROR, from_disk.message


def test_disk_tree_matches_the_dump_tree(make_facts):
    dump = nginx(broken_facts(make_facts, nginx_t=HARDENED))
    disk = nginx(broken_facts(make_facts))
    assert dump is not None
    assert disk is not None
    assert disk.source == "files on disk"
    assert dump.source == "nginx -T"
    assert sorted(disk.config.files) == sorted(dump.config.files)
    assert [d.text() for d in disk.config.walk()] == [d.text() for d in dump.config.walk()]


def test_tls11_fails_with_nginx_message(make_facts):
    result = run("TLS-11", broken_facts(make_facts))
    assert_status(result, Status.FAIL)
    assert 'cannot load certificate key "/etc/ssl/rampart/app.key"' in result.message
    assert any("[emerg]" in item for item in result.evidence)
    assert any("next restart" in item for item in result.evidence)


def test_tls11_passes_when_nginx_accepts(make_facts):
    assert_status(run("TLS-11", broken_facts(make_facts, nginx_t=HARDENED)), Status.PASS)


def test_tls11_not_applicable_without_nginx(make_facts):
    facts = make_facts(commands=base_commands(nginx=None))
    assert_status(run("TLS-11", facts), Status.NOT_APPLICABLE)


def test_tls11_still_fails_when_the_disk_cannot_be_parsed(make_facts):
    """Our parser failing too makes the other checks error, never TLS-11 pass."""
    disk = disk_tree()
    disk["/etc/nginx/conf.d/rampart-tls.conf"] += "\nserver {\n"
    facts = broken_facts(make_facts, disk=disk)
    assert_status(run("TLS-11", facts), Status.FAIL)
    result = run("TLS-01", facts)
    assert_status(result, Status.ERROR)
    assert "nginx -t failed" in result.message
    assert "rampart-tls.conf" in result.message


def test_weak_protocol_on_disk_is_judged_when_nginx_refuses(make_facts):
    weak = replace("ssl_protocols TLSv1.2 TLSv1.3;", "ssl_protocols TLSv1 TLSv1.2 TLSv1.3;")(HARDENED)
    result = run("TLS-01", broken_facts(make_facts, disk=disk_tree(weak)))
    assert_status(result, Status.FAIL)
    assert "TLSv1" in result.message


def test_weak_key_nginx_refuses_is_still_judged(make_facts):
    """nginx refuses an RSA 1024 key ("ee key too small"); CRT-04 reads the certificate from disk."""
    leaf, _unused, _unused = make_cert(names=("app.example.test", "www.example.test"), key="1024")
    refused = (
        1,
        "",
        '2026/12/01 15:35:09 [emerg] 10293#10293: SSL_CTX_use_certificate("/etc/ssl/rampart/app.crt") failed '
        "(SSL: error:0A00018F:SSL routines::ee key too small)\n",
    )
    files = {CERT: leaf, KEY: (pki()["key"], 0o600), BUNDLE: pki()["ca"]}
    facts = broken_facts(make_facts, nginx_t=refused, files=files)
    result = run("CRT-04", facts)
    assert_status(result, Status.FAIL)
    assert "RSA 1024" in result.message
    tls11 = run("TLS-11", facts).message
    assert "ee key too small" in tls11
    assert "[emerg] SSL_CTX_use_certificate" in tls11  # time and pid stripped: stable between runs
    assert "10293#" not in tls11


def test_includes_are_followed_in_any_context_relative_to_the_prefix(make_facts):
    """include in server context, a relative glob (under /etc/nginx) and a nested include."""
    disk = {
        "/etc/nginx/nginx.conf": "events {}\nhttp {\n  include sites/*.conf;\n}\n",
        "/etc/nginx/sites/b.conf": "server {\n  listen 443 ssl;\n  include snippets/tls.conf;\n}\n",
        "/etc/nginx/sites/a.conf": "server {\n  listen 80;\n  return 301 https://$host$request_uri;\n}\n",
        "/etc/nginx/snippets/tls.conf": "ssl_protocols TLSv1 TLSv1.2;\ninclude snippets/more.conf;\n",
        "/etc/nginx/snippets/more.conf": "ssl_ciphers HIGH;\n",
        "/etc/nginx/unused.conf": "this is not included {",
    }
    info = nginx(broken_facts(make_facts, disk=disk))
    assert info is not None
    assert info.config.files == [
        "/etc/nginx/nginx.conf",
        "/etc/nginx/sites/a.conf",
        "/etc/nginx/sites/b.conf",
        "/etc/nginx/snippets/tls.conf",
        "/etc/nginx/snippets/more.conf",
    ]
    servers = info.config.servers()
    assert [s.block.file for s in servers] == ["/etc/nginx/sites/a.conf", "/etc/nginx/sites/b.conf"]  # glob sorted
    tls = servers[1]
    assert tls.value("ssl_protocols").args == ("TLSv1", "TLSv1.2")
    assert tls.value("ssl_ciphers").args == ("HIGH",)


def test_missing_plain_include_is_an_error_with_both_messages(make_facts):
    disk = {"/etc/nginx/nginx.conf": "events {}\nhttp { include /etc/nginx/gone.conf; }\n"}
    result = run("TLS-01", broken_facts(make_facts, disk=disk))
    assert_status(result, Status.ERROR)
    assert "cannot load certificate key" in result.message
    assert "/etc/nginx/gone.conf is missing" in result.message


def test_include_loop_is_bounded(make_facts):
    disk = {
        "/etc/nginx/nginx.conf": "events {}\nhttp { include loop.conf; }\n",
        "/etc/nginx/loop.conf": "include loop.conf;\n",
    }
    result = run("TLS-01", broken_facts(make_facts, disk=disk))
    assert_status(result, Status.ERROR)
    assert "include" in result.message
