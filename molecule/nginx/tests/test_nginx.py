"""The nginx role, verified with real requests from the client container over the network.

Sites (molecule/nginx/vars.yml): app.lab.test (self-signed) with /, /static/ (adds its own
header), /api/ (class api, CORS), /ops/ (class admin, basic auth), /executive/ (own class),
=/login (class auth), =/old (redirect); shop.lab.test (ACME placeholder certificate).
Tests that exhaust rate limits run last (pytest keeps file order).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
from pathlib import Path

import pytest
from labhosts import lab_host, must_run

PROXY = lab_host("rampart-nginx-proxy")
CLIENT = lab_host("rampart-nginx-client")
APP = "app.lab.test"
SHOP = "shop.lab.test"
SECURITY_HEADERS = {
    "strict-transport-security": "max-age=63072000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
}
PROFILE_TLS12_CIPHERS = {
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
}


@pytest.fixture(scope="module")
def proxy_ip() -> str:
    return must_run(PROXY, "hostname -I").split()[0]


LAB_CA = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent")) / "lab-ca"


@pytest.fixture(scope="module")
def ca_file() -> str:
    """The lab CA (prepare.yml, on the controller), copied to the client as its only trust anchor."""
    pem = (LAB_CA / "ca.pem").read_text()
    must_run(CLIENT, f"printf %s {shlex.quote(pem)} > /tmp/lab-ca.pem")
    return "/tmp/lab-ca.pem"


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: str) -> None:
        self.status, self.headers, self.body = status, headers, body


def request(ip: str, url: str, *curl_args: str, ca: str | None = None) -> Response:
    """One HTTP(S) request from the client container; names resolve to the proxy's IP."""
    host = url.split("/")[2]
    resolve = ["--resolve", f"{host}:443:{ip}", "--resolve", f"{host}:80:{ip}"]
    tls = ["--cacert", ca] if ca else ["-k"]
    argv = ["curl", "-sS", "--max-time", "10", "-D", "/tmp/h", "-o", "/tmp/b", *resolve, *tls, *curl_args, url]
    result = CLIENT.run(shlex.join(argv) + "; rc=$?; cat /tmp/h; echo '=====BODY'; cat /tmp/b; exit $rc")
    assert result.rc == 0, f"curl {url} failed rc={result.rc}: {result.stderr}"
    head, _, body = result.stdout.partition("=====BODY\n")
    blocks = [b for b in head.replace("\r", "").split("\n\n") if b.strip()]
    lines = blocks[-1].splitlines()
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), value.strip())
    return Response(int(lines[0].split()[1]), headers, body)


def curl_rc(ip: str, url: str, *curl_args: str) -> int:
    host = url.split("/")[2]
    argv = [
        "curl",
        "-sk",
        "--max-time",
        "5",
        "-o",
        "/dev/null",
        "--resolve",
        f"{host}:443:{ip}",
        "--resolve",
        f"{host}:80:{ip}",
    ]
    return CLIENT.run(shlex.join([*argv, *curl_args, url])).rc


def assert_security_headers(response: Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.status, response.headers)
    assert "frame-ancestors" in response.headers.get("content-security-policy", "")
    assert "permissions-policy" in response.headers


def credentials(user: str) -> str:
    """The generated password the role stored on the controller (0600)."""
    base = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "credentials" / "rampart-nginx-proxy"
    path = base / f"nginx-htpasswd-{user}"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    return path.read_text().strip()


# ----- proxying and static content ----------------------------------------------------------
def test_api_reaches_the_toy_upstream(proxy_ip: str, ca_file: str) -> None:
    response = request(proxy_ip, f"https://{APP}/api/", ca=ca_file)
    assert response.status == 200
    assert response.body.startswith("toy upstream ")


def test_static_root_is_served(proxy_ip: str, ca_file: str) -> None:
    response = request(proxy_ip, f"https://{APP}/", ca=ca_file)
    assert response.status == 200
    assert response.body.strip() == "rampart static page"
    assert response.headers["server"] == "nginx"  # server_tokens off: no version


def test_redirect_location(proxy_ip: str, ca_file: str) -> None:
    response = request(proxy_ip, f"https://{APP}/old", ca=ca_file)
    assert response.status == 301
    assert response.headers["location"].endswith("/static/")
    assert_security_headers(response)


def test_acme_placeholder_site_answers(proxy_ip: str) -> None:
    response = request(proxy_ip, f"https://{SHOP}/")
    assert response.status == 200
    assert response.body.startswith("toy upstream ")
    # The site's own CSP replaces the role-wide one.
    assert response.headers["content-security-policy"] == "default-src 'self'; frame-ancestors 'none'"


# ----- port 80 ---------------------------------------------------------------------------------
@pytest.mark.parametrize("host", [APP, f"www.{APP}", SHOP])
def test_http_redirects_301_to_https(proxy_ip: str, host: str) -> None:
    response = request(proxy_ip, f"http://{host}/some/path?x=1")
    assert response.status == 301
    assert response.headers["location"] == f"https://{host}/some/path?x=1"


def test_acme_challenge_is_served_over_http(proxy_ip: str) -> None:
    token = "rampart-test-token"
    must_run(PROXY, f"echo challenge-ok > /var/www/acme/.well-known/acme-challenge/{token}")
    for host in (APP, SHOP):
        response = request(proxy_ip, f"http://{host}/.well-known/acme-challenge/{token}")
        assert response.status == 200
        assert response.body.strip() == "challenge-ok"
    missing = request(proxy_ip, f"http://{APP}/.well-known/acme-challenge/missing")
    assert missing.status == 404


# ----- unknown names ----------------------------------------------------------------------------
def test_unknown_sni_is_refused(proxy_ip: str) -> None:
    assert curl_rc(proxy_ip, "https://unknown.lab.test/") == 35  # TLS handshake rejected


def test_unknown_host_header_is_refused(proxy_ip: str) -> None:
    assert curl_rc(proxy_ip, f"https://{APP}/", "--http1.1", "-H", "Host: evil.lab.test") == 52  # 444
    assert curl_rc(proxy_ip, "http://evil.lab.test/") == 52
    assert curl_rc(proxy_ip, f"http://{proxy_ip}/") == 52


# ----- TLS ---------------------------------------------------------------------------------------
def handshake(ip: str, *options: str) -> tuple[bool, str]:
    """openssl s_client from the client; SECLEVEL=0 so the CLIENT would offer old protocols."""
    cmd = (
        f"echo | timeout 10 openssl s_client -connect {ip}:443 -servername {APP} "
        + " ".join(shlex.quote(o) for o in options)
        + " 2>&1"
    )
    result = CLIENT.run(cmd)
    return result.rc == 0 and "Cipher is (NONE)" not in result.stdout, result.stdout


@pytest.mark.parametrize("version", ["-tls1", "-tls1_1"])
def test_old_tls_versions_are_refused(proxy_ip: str, version: str) -> None:
    accepted, output = handshake(proxy_ip, version, "-cipher", "ALL:@SECLEVEL=0")
    assert not accepted, output
    assert "no protocols available" not in output  # the client really offered it


@pytest.mark.parametrize(("version", "label"), [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")])
def test_current_tls_versions_are_accepted(proxy_ip: str, version: str, label: str) -> None:
    accepted, output = handshake(proxy_ip, version)
    assert accepted, output
    assert f"Protocol  : {label}" in output or f"New, {label}" in output


def test_only_profile_ciphers_are_accepted(proxy_ip: str) -> None:
    # Try every TLS 1.2 suite the client's OpenSSL knows, one handshake each, in one exec.
    script = (
        "for c in $(openssl ciphers 'ALL:COMPLEMENTOFALL:@SECLEVEL=0' | tr ':' ' '); do "
        f"echo | timeout 5 openssl s_client -connect {proxy_ip}:443 -servername {APP} -tls1_2 "
        '-cipher "$c:@SECLEVEL=0" >/dev/null 2>&1 && echo "$c"; done; true'
    )
    accepted = set(must_run(CLIENT, script).split())
    assert accepted, "no TLS 1.2 cipher accepted at all"
    assert accepted <= PROFILE_TLS12_CIPHERS, accepted - PROFILE_TLS12_CIPHERS
    # The lab certificate is ECDSA, so the ECDSA suites of the profile answer.
    assert "ECDHE-ECDSA-AES128-GCM-SHA256" in accepted


def test_sslyze_mozilla_intermediate_passes(proxy_ip: str) -> None:
    """sslyze (controller venv) against the proxy container's IP, trusting the lab CA."""
    ca = LAB_CA / "ca.pem"
    sslyze = Path(os.environ.get("RAMPART_VENV", ".venv")) / "bin" / "sslyze"
    result = subprocess.run(
        [
            str(sslyze if sslyze.exists() else "sslyze"),
            "--mozilla_config=intermediate",
            f"--certinfo_ca_file={ca}",
            f"{APP}:443{{{proxy_ip}}}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert f"{APP}:443: OK - Compliant." in result.stdout


# ----- headers -----------------------------------------------------------------------------------
def test_headers_on_200_404_and_401(proxy_ip: str, ca_file: str) -> None:
    ok = request(proxy_ip, f"https://{APP}/", ca=ca_file)
    missing = request(proxy_ip, f"https://{APP}/no-such-page", ca=ca_file)
    unauthorized = request(proxy_ip, f"https://{APP}/ops/", ca=ca_file)
    assert (ok.status, missing.status, unauthorized.status) == (200, 404, 401)
    for response in (ok, missing, unauthorized):
        assert_security_headers(response)


def test_headers_kept_in_a_location_that_adds_its_own(proxy_ip: str, ca_file: str) -> None:
    for path in ("/static/", "/static/missing"):
        response = request(proxy_ip, f"https://{APP}{path}", ca=ca_file)
        assert response.headers.get("cache-control") == "public, max-age=60", path
        assert_security_headers(response)


def test_cors_allows_only_listed_origins(proxy_ip: str, ca_file: str) -> None:
    allowed = request(proxy_ip, f"https://{APP}/api/", "-H", "Origin: https://ui.lab.test", ca=ca_file)
    assert allowed.headers.get("access-control-allow-origin") == "https://ui.lab.test"
    assert allowed.headers.get("access-control-allow-credentials") == "true"
    assert_security_headers(allowed)
    other = request(proxy_ip, f"https://{APP}/api/", "-H", "Origin: https://evil.lab.test", ca=ca_file)
    assert "access-control-allow-origin" not in other.headers
    assert "access-control-allow-credentials" not in other.headers
    preflight = request(
        proxy_ip, f"https://{APP}/api/", "-X", "OPTIONS", "-H", "Origin: https://ui.lab.test", ca=ca_file
    )
    assert preflight.status == 204
    assert "POST" in preflight.headers.get("access-control-allow-methods", "")


# ----- auth, body size, methods ------------------------------------------------------------------
def test_admin_requires_credentials(proxy_ip: str, ca_file: str) -> None:
    url = f"https://{APP}/ops/"
    anonymous = request(proxy_ip, url, ca=ca_file)
    assert anonymous.status == 401
    assert anonymous.headers["www-authenticate"] == 'Basic realm="Restricted"'
    wrong = request(proxy_ip, url, "-u", "ops:not-the-password", ca=ca_file)
    assert wrong.status == 401
    good = request(proxy_ip, url, "-u", f"ops:{credentials('ops')}", ca=ca_file)
    assert good.status == 200
    assert good.body.startswith("toy upstream ")


def test_auth_groups_are_separate(proxy_ip: str, ca_file: str) -> None:
    url = f"https://{APP}/executive/"
    assert request(proxy_ip, url, "-u", f"ops:{credentials('ops')}", ca=ca_file).status == 401
    assert request(proxy_ip, url, "-u", "ceo:lab-only-executive-password", ca=ca_file).status == 200


def test_htpasswd_uses_bcrypt_and_is_private() -> None:
    for group in ("admin", "executive"):
        htpasswd = PROXY.file(f"/etc/nginx/rampart/htpasswd/{group}")
        assert (htpasswd.user, htpasswd.group, htpasswd.mode) == ("root", "www-data", 0o640)
        for line in htpasswd.content_string.splitlines():
            assert line.split(":", 1)[1].startswith("$2b$"), line.split(":", 1)[0]


def test_oversize_body_gets_413(proxy_ip: str, ca_file: str) -> None:
    must_run(CLIENT, "head -c 2097152 /dev/zero > /tmp/2m.bin")
    response = request(proxy_ip, f"https://{APP}/api/", "--data-binary", "@/tmp/2m.bin", ca=ca_file)
    assert response.status == 413
    assert_security_headers(response)


@pytest.mark.parametrize(("method", "path"), [("DELETE", "/ops/"), ("PUT", "/"), ("POST", "/executive/")])
def test_disallowed_method_gets_405(proxy_ip: str, ca_file: str, method: str, path: str) -> None:
    response = request(proxy_ip, f"https://{APP}{path}", "-X", method, ca=ca_file)
    assert response.status == 405
    assert_security_headers(response)


# ----- the host ------------------------------------------------------------------------------------
def test_provided_certificate_is_installed_as_given() -> None:
    served = PROXY.file(f"/etc/rampart/tls/{APP}/fullchain.pem").content_string
    assert served == (LAB_CA / "app.lab.test.pem").read_text()


def test_acme_placeholder_is_self_signed_for_the_site() -> None:
    subject = must_run(
        PROXY, f"openssl x509 -noout -subject -ext subjectAltName -in /etc/rampart/tls/{SHOP}/fullchain.pem"
    )
    assert f"DNS:{SHOP}" in subject


def test_hardening_on_the_host() -> None:
    users = must_run(PROXY, "ps -o user= -C nginx").split()
    assert users.count("root") == 1, users  # the master only
    assert set(users) == {"root", "www-data"}, users
    assert PROXY.user("www-data").shell in ("/usr/sbin/nologin", "/bin/false")
    for log in ("/var/log/nginx/access.log", "/var/log/nginx/error.log"):
        assert PROXY.file(log).mode == 0o640
    for cert in (APP, SHOP):
        key = PROXY.file(f"/etc/rampart/tls/{cert}/privkey.pem")
        assert (key.user, key.mode) == ("root", 0o600)
    assert not PROXY.file("/etc/nginx/sites-enabled/default").exists
    dump = must_run(PROXY, "nginx -T 2>/dev/null")
    assert "sites-enabled" not in dump
    assert "keepalive 32;" in dump
    assert 'proxy_set_header Connection "";' in dump


def test_intent_file_describes_the_declared_edge() -> None:
    intent_file = PROXY.file("/etc/rampart/intent/nginx.json")
    assert (intent_file.user, intent_file.mode) == ("root", 0o600)
    assert PROXY.file("/etc/rampart/intent").mode == 0o700
    intent = json.loads(intent_file.content_string)
    assert intent["tls_profile"] == "intermediate"
    assert intent["tls_protocols"] == ["TLSv1.2", "TLSv1.3"]
    assert intent["classes"]["api"]["rate"] == "10r/s"
    assert intent["limit_req_status"] == 429
    app = next(site for site in intent["sites"] if site["name"] == "app")
    ops = next(loc for loc in app["locations"] if loc["path"] == "/ops/")
    assert ops["auth_group"] == "admin"
    assert ops["rate"] == "5r/s"
    assert "password" not in intent_file.content_string


def test_invalid_config_never_went_live(proxy_ip: str, ca_file: str) -> None:
    """side_effect.yml tried an invalid directive: staged, refused, the live config untouched."""
    staged = PROXY.file("/var/lib/rampart/nginx-staging/rampart/sites/app.conf").content_string
    assert "rampart_bogus_directive" in staged, "side_effect.yml did not run"
    assert PROXY.run("grep -rq rampart_bogus_directive /etc/nginx").rc == 1
    must_run(PROXY, "nginx -t -q")
    assert request(proxy_ip, f"https://{APP}/", ca=ca_file).status == 200


# ----- rate limits (last: they use up the buckets) ------------------------------------------------
def burst(ip: str, url: str, count: int) -> list[str]:
    host = url.split("/")[2]
    cmd = (
        f"curl -sk --resolve {host}:443:{ip} -o /dev/null -w '%{{http_code}}\\n' "
        f"--parallel --parallel-immediate --parallel-max {count} '{url}?[1-{count}]'"
    )
    return must_run(CLIENT, cmd).split()


def test_user_class_without_limit_conn_inherits_the_default_limit(proxy_ip: str) -> None:
    # Class "reports" sets no limit_conn (and a rate far above this test), so the safe default
    # of 20 connections per client applies: 30 slow downloads at once, 20 are served and the
    # rest are refused at once with limit_conn_status 429.
    host = APP
    cmd = (
        f"curl -sk --http1.1 --resolve {host}:443:{proxy_ip} -o /dev/null -w '%{{http_code}}\\n' "
        "--limit-rate 50k --max-time 6 --parallel --parallel-immediate --parallel-max 30 "
        f"'https://{host}/reports/big.bin?[1-30]'"
    )
    codes = CLIENT.run(cmd).stdout.split()  # rc 28: the served downloads are cut by --max-time
    assert len(codes) == 30, codes
    assert codes.count("429") == 10, codes
    assert codes.count("200") == 20, codes
    effective = must_run(PROXY, "nginx -T 2>/dev/null")
    block = effective.split("location /reports/ {", 1)[1].split("\n    }", 1)[0]
    assert "limit_conn rampart_conn 20;" in block


def test_api_burst_beyond_rate_and_burst_gets_429(proxy_ip: str) -> None:
    codes = burst(proxy_ip, f"https://{APP}/api/", 60)  # api: 10r/s, burst 20
    assert codes.count("429") >= 20, codes
    assert codes.count("200") >= 10, codes
    assert set(codes) <= {"200", "429"}, codes
    limited = request(proxy_ip, f"https://{APP}/api/")
    if limited.status == 429:
        assert_security_headers(limited)


def test_api_requests_within_the_rate_succeed(proxy_ip: str) -> None:
    time.sleep(3)  # the bucket drains at 10 r/s
    codes = []
    for _ in range(8):
        codes.append(request(proxy_ip, f"https://{APP}/api/").status)
        time.sleep(0.2)
    assert codes == [200] * 8


def test_login_is_limited_strictly(proxy_ip: str) -> None:
    codes = burst(proxy_ip, f"https://{APP}/login", 10)  # auth: 1r/m, burst 5
    assert codes.count("429") >= 4, codes
    assert codes.count("200") >= 1, codes
