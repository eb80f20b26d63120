"""nginx/TLS: CA certificates in the served chain, location if blocks, HSTS/CSP as browsers read them, listen spellings.

Each test is a realistic variant of the hardened lab that test_nginx_spellings.py does not
cover: weak CA certificates in the served chain (CRT-04), ``add_header`` and ``proxy_pass``
inside ``if`` blocks of a location (nginx gives the matching ``if`` its own location
configuration), HSTS spelled as RFC 6797 allows, and listen sockets written differently.
"""

from __future__ import annotations

import datetime as dt

import pytest
from check_helpers import HARDENED, assert_status, fixture, nginx_facts, pki, replace, run

from ansible_collections.rampart.hardening.plugins.module_utils.model import Status

CERT = "/etc/ssl/rampart/app.crt"
KEY = "/etc/ssl/rampart/app.key"
BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
NAMES = ("app.example.test", "www.example.test")


# ----- CRT-04: every certificate of the served chain, not only the leaf ----------------------
def _issue(subject_cn, private_key, issuer, *, ca, digest="SHA256", names=(), lifetime=90):
    """A certificate for ``private_key`` signed by ``issuer`` = (issuer name, issuer private key),
    or self-signed when ``issuer`` is None."""
    from cryptography import x509  # noqa: PLC0415
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
    from cryptography.x509.oid import NameOID  # noqa: PLC0415

    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)])
    issuer_name, issuer_key = issuer if issuer else (subject, private_key)
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=lifetime - 60))
        .not_valid_after(now + dt.timedelta(days=60))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
    algorithm = getattr(hashes, digest)() if digest else None
    cert = builder.sign(issuer_key, algorithm)
    return cert.public_bytes(serialization.Encoding.PEM).decode(), (subject, private_key)


def _served_chain(*, intermediate_key=None, intermediate_digest="SHA256", leaf_key=None, leaf_digest="SHA256"):
    """(fullchain PEM, root PEM): root (P-384, self-signed) -> intermediate -> leaf."""
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415

    root_key = ec.generate_private_key(ec.SECP384R1())
    root_pem, root = _issue("Lab Root", root_key, None, ca=True, digest="SHA384", lifetime=3650)
    inter_key = intermediate_key or ec.generate_private_key(ec.SECP256R1())
    inter_pem, inter = _issue("Lab Intermediate", inter_key, root, ca=True, digest=intermediate_digest, lifetime=1000)
    leaf = leaf_key or ec.generate_private_key(ec.SECP256R1())
    leaf_pem, _unused = _issue(NAMES[0], leaf, inter, ca=False, digest=leaf_digest, names=NAMES)
    return leaf_pem + inter_pem, root_pem


def _chain_facts(make_facts, fullchain, root):
    files = {CERT: fullchain, KEY: (pki()["key"], 0o600), BUNDLE: root}
    return nginx_facts(make_facts, files=files)


def test_strong_chain_passes_strength(make_facts):
    assert_status(run("CRT-04", _chain_facts(make_facts, *_served_chain())), Status.PASS)


def _rsa(bits):
    from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: PLC0415

    return rsa.generate_private_key(65537, bits)


def _ec(curve):
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415

    return ec.generate_private_key(getattr(ec, curve)())


@pytest.mark.parametrize(("key", "needle"), [("rsa1024", "RSA 1024"), ("SECP224R1", "secp224r1")])
def test_weak_intermediate_key_fails_strength(make_facts, key, needle):
    """A leaf signed by an RSA-1024 (or P-224) intermediate is only as strong as that link:
    whoever factors the intermediate's key issues certificates for any name. The leaf alone passed."""
    intermediate = _rsa(1024) if key == "rsa1024" else _ec(key)
    result = run("CRT-04", _chain_facts(make_facts, *_served_chain(intermediate_key=intermediate)))
    assert_status(result, Status.FAIL)
    assert needle in result.message
    assert "Lab Intermediate" in result.message


@pytest.mark.parametrize(("digest", "needle"), [("sha1", "sha1"), ("md5", "md5")])
def test_intermediate_signed_with_sha1_or_md5_fails_strength(make_facts, digest, needle):
    """The root signed the intermediate with SHA-1 (or MD5): a collision forges that link.
    Made with the openssl CLI (tests/unit/fixtures/certificates/README.md)."""
    chain = fixture(f"certificates/fullchain-{digest}-intermediate.pem")
    root = fixture(f"certificates/root-for-{digest}-intermediate.pem")
    result = run("CRT-04", _chain_facts(make_facts, chain, root))
    assert_status(result, Status.FAIL)
    assert f"signed with {needle}" in result.message
    assert "Lab Intermediate" in result.message


def test_self_signed_root_in_chain_is_not_judged_by_its_own_signature(make_facts):
    """A root served with the chain is a trust anchor: its self-signature is never verified,
    so a SHA-1 self-signature on it is not a weakness (its key still would be)."""
    fullchain, root = _served_chain()
    old_root = fixture("certificates/old-root-sha1-self-signed.pem")
    result = run("CRT-04", _chain_facts(make_facts, fullchain + old_root, root + old_root))
    assert_status(result, Status.PASS)


def test_ed448_leaf_passes_strength(make_facts):
    """Ed448 is stronger than Ed25519 (224-bit security); it failed as an unknown key type."""
    from cryptography.hazmat.primitives.asymmetric import ed448  # noqa: PLC0415

    result = run("CRT-04", _chain_facts(make_facts, *_served_chain(leaf_key=ed448.Ed448PrivateKey.generate())))
    assert_status(result, Status.PASS)


def test_dsa_intermediate_fails_strength(make_facts):
    from cryptography.hazmat.primitives.asymmetric import dsa  # noqa: PLC0415

    result = run("CRT-04", _chain_facts(make_facts, *_served_chain(intermediate_key=dsa.generate_private_key(2048))))
    assert_status(result, Status.FAIL)
    assert "DSA" in result.message + " ".join(result.evidence)


# ----- HDR-01: HSTS as RFC 6797 spells it ------------------------------------------------------
HSTS_LINE = 'add_header Strict-Transport-Security "max-age=63072000" always;'


@pytest.mark.parametrize(
    "value",
    [
        "Max-Age=63072000",
        'max-age="63072000"',
        "MAX-AGE = 63072000; includeSubDomains",
        "includeSubDomains; max-age=63072000",
    ],
)
def test_hsts_directive_name_any_case_and_quoted_value_passes(make_facts, value):
    """RFC 6797 6.1: directive names are case-insensitive and values may be quoted-strings."""
    text = replace(HSTS_LINE, f"add_header Strict-Transport-Security '{value}' always;")(HARDENED)
    assert_status(run("HDR-01", nginx_facts(make_facts, text=text)), Status.PASS)


def test_hsts_first_of_two_headers_is_the_one_browsers_obey(make_facts):
    """RFC 6797 8.1: a UA processes only the first STS header field; the second, long one is ignored."""
    text = replace(
        HSTS_LINE,
        'add_header Strict-Transport-Security "max-age=300" always;\n' + HSTS_LINE,
    )(HARDENED)
    result = run("HDR-01", nginx_facts(make_facts, text=text))
    assert_status(result, Status.FAIL)
    assert "300" in result.message


def test_hsts_with_max_age_twice_is_ignored_by_browsers(make_facts):
    """RFC 6797 6.1: every directive appears at most once; a UA ignores a non-conforming field."""
    text = replace(HSTS_LINE, 'add_header Strict-Transport-Security "max-age=63072000; max-age=0" always;')(HARDENED)
    assert_status(run("HDR-01", nginx_facts(make_facts, text=text)), Status.FAIL)


def test_hsts_without_a_number_fails(make_facts):
    text = replace(HSTS_LINE, 'add_header Strict-Transport-Security "max-age=two-years" always;')(HARDENED)
    assert_status(run("HDR-01", nginx_facts(make_facts, text=text)), Status.FAIL)


# ----- if {} in a location: its own add_header set and its own proxy_pass ---------------------
APP_LOCATION = """\tlocation / {
\t\tlimit_req zone=rampart_general burst=40 nodelay;
\t\tproxy_pass http://127.0.0.1:8080;
\t\tproxy_set_header Host $host;
\t}"""


def test_add_header_inside_location_if_drops_the_security_headers(make_facts):
    """A matching ``if`` in a location is served with the if's own configuration: one
    add_header there replaces every inherited header (all of HSTS, nosniff, CSP...)."""
    text = replace(
        APP_LOCATION,
        APP_LOCATION[:-2]
        + '\t\tif ($arg_debug) {\n\t\t\tadd_header X-Debug "on";\n\t\t\tproxy_pass http://127.0.0.1:8081;\n\t\t}\n\t}',
    )(HARDENED)
    facts = nginx_facts(make_facts, text=text)
    for check_id in ("HDR-01", "HDR-02", "HDR-03", "HDR-04"):
        result = run(check_id, facts)
        assert_status(result, Status.FAIL)
        assert "if ($arg_debug)" in result.message + " ".join(result.evidence), check_id


def test_location_if_without_add_header_inherits_the_headers(make_facts):
    text = replace(
        APP_LOCATION,
        APP_LOCATION[:-2] + "\t\tif ($arg_v2) {\n\t\t\tproxy_pass http://127.0.0.1:8081;\n\t\t}\n\t}",
    )(HARDENED)
    facts = nginx_facts(make_facts, text=text)
    for check_id in ("HDR-01", "HDR-02", "HDR-03", "HDR-04"):
        assert_status(run(check_id, facts), Status.PASS)


def test_cors_reflected_inside_location_if_fails(make_facts):
    text = replace(
        APP_LOCATION,
        APP_LOCATION[:-2] + "\t\tif ($http_origin) {\n"
        "\t\t\tadd_header Access-Control-Allow-Origin $http_origin always;\n"
        '\t\t\tadd_header Access-Control-Allow-Credentials "true" always;\n'
        "\t\t}\n\t}",
    )(HARDENED)
    assert_status(run("HDR-06", nginx_facts(make_facts, text=text)), Status.FAIL)


def test_proxy_pass_inside_location_if_to_a_public_address_fails(make_facts):
    text = replace(
        APP_LOCATION,
        APP_LOCATION[:-2] + "\t\tif ($cookie_beta) {\n\t\t\tproxy_pass http://93.184.215.14;\n\t\t}\n\t}",
    )(HARDENED)
    result = run("TLS-10", nginx_facts(make_facts, text=text))
    assert_status(result, Status.FAIL)
    assert "93.184.215.14" in result.message


def test_verified_https_inside_location_if_inherits_the_location_verify(make_facts):
    text = replace(
        APP_LOCATION,
        APP_LOCATION[:-2] + "\t\tproxy_ssl_verify on;\n"
        "\t\tif ($cookie_beta) {\n\t\t\tproxy_pass https://93.184.215.14;\n\t\t}\n\t}",
    )(HARDENED)
    assert_status(run("TLS-10", nginx_facts(make_facts, text=text)), Status.PASS)


# ----- TLS-06: one socket, several spellings -------------------------------------------------
CATCH_ALL_80 = "\tlisten 80 default_server;\n\tlisten [::]:80 default_server;"
APP_80 = "\tlisten 80;\n\tlisten [::]:80;\n\tserver_name app.example.test"
CATCH_ALL_443 = "\tlisten 443 ssl default_server;\n\tlisten [::]:443 ssl default_server;"
APP_443 = "\tlisten 443 ssl http2;\n\tlisten [::]:443 ssl http2;"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (APP_80, "\tlisten 0.0.0.0:80;\n\tlisten [::]:80;\n\tserver_name app.example.test"),
        (APP_80, "\tlisten *:80;\n\tlisten [0:0:0:0:0:0:0:0]:80;\n\tserver_name app.example.test"),
        (CATCH_ALL_80, "\tlisten 0.0.0.0:80 default_server;\n\tlisten [::0]:80 default_server;"),
        (APP_443, "\tlisten *:443 ssl http2;\n\tlisten [::]:443 ssl http2;"),
        (CATCH_ALL_443, "\tlisten 0.0.0.0:443 ssl default_server;\n\tlisten [::]:443 ssl default_server;"),
    ],
)
def test_wildcard_spellings_are_one_socket(make_facts, old, new):
    """``listen 80``, ``listen *:80`` and ``listen 0.0.0.0:80`` are the same INADDR_ANY socket
    (and ``[::]`` / ``[0:0:0:0:0:0:0:0]`` the same in6addr_any): the catch-all is its default."""
    text = replace(old, new)(HARDENED)
    assert_status(run("TLS-06", nginx_facts(make_facts, text=text)), Status.PASS)


def test_app_alone_on_a_specific_address_still_fails(make_facts):
    """A specific address is its own address:port for server selection: the catch-all on *:80
    is not its default, so the app answers unknown names sent to that address."""
    text = replace(APP_80, "\tlisten 192.0.2.10:80;\n\tlisten [::]:80;\n\tserver_name app.example.test")(HARDENED)
    result = run("TLS-06", nginx_facts(make_facts, text=text))
    assert_status(result, Status.FAIL)
    assert "192.0.2.10:80" in result.message


# ----- HDR-03: a CSP frame-ancestors that lets every site frame the page ---------------------
CSP_LINE = "add_header Content-Security-Policy \"default-src 'self'; frame-ancestors 'none'\" always;"
XFO_LINE = 'add_header X-Frame-Options "DENY" always;\n'


@pytest.mark.parametrize("sources", ["*", "https:", "https://*", "'self' *", "http: https:"])
def test_csp_frame_ancestors_any_site_fails_framing(make_facts, sources):
    """``frame-ancestors *`` (or a bare scheme) allows framing by any site: the word
    frame-ancestors alone passed HDR-03 although X-Frame-Options was gone."""
    text = replace(
        CSP_LINE, f"add_header Content-Security-Policy \"default-src 'self'; frame-ancestors {sources}\" always;"
    )(replace(XFO_LINE, "")(HARDENED))
    result = run("HDR-03", nginx_facts(make_facts, text=text))
    assert_status(result, Status.FAIL)


@pytest.mark.parametrize(
    "sources", ["'self'", "'none'", "https://portal.example.test", "'self' https://*.example.test", "'NONE'"]
)
def test_csp_frame_ancestors_listing_sites_passes_framing(make_facts, sources):
    text = replace(
        CSP_LINE, f"add_header Content-Security-Policy \"default-src 'self'; FRAME-ANCESTORS {sources}\" always;"
    )(replace(XFO_LINE, "")(HARDENED))
    assert_status(run("HDR-03", nginx_facts(make_facts, text=text)), Status.PASS)


def test_csp_without_frame_ancestors_value_is_not_a_framing_policy(make_facts):
    """An empty source list is 'none' per CSP3, but a directive name inside another value is not one."""
    text = replace(
        CSP_LINE,
        "add_header Content-Security-Policy \"default-src 'self' https://frame-ancestors.example.test\" always;",
    )(replace(XFO_LINE, "")(HARDENED))
    assert_status(run("HDR-03", nginx_facts(make_facts, text=text)), Status.FAIL)


# ----- HDR-05: cookie attributes, not substrings ---------------------------------------------
COOKIE_FLAGS_LINE = "proxy_cookie_flags ~ secure httponly samesite=strict;"


@pytest.mark.parametrize(
    "cookie",
    [
        "sid=1; Path=/secure-area; HttpOnly; SameSite=Lax",  # 'secure' only inside the path
        "httponly_secure_samesite=1; Path=/",  # the words only in the cookie's name
        "sid=1; Secure; HttpOnly; SameSite=None",  # SameSite=None opts out of the protection
    ],
)
def test_set_cookie_flags_are_attributes_not_substrings(make_facts, cookie):
    text = replace(HSTS_LINE, f'{HSTS_LINE}\nadd_header Set-Cookie "{cookie}" always;')(HARDENED)
    assert_status(run("HDR-05", nginx_facts(make_facts, text=text)), Status.FAIL)


@pytest.mark.parametrize(
    "cookie", ["sid=1; Path=/; Secure; HttpOnly; SameSite=Strict", "sid=1;secure;httponly;samesite=lax"]
)
def test_set_cookie_with_every_attribute_passes(make_facts, cookie):
    text = replace(HSTS_LINE, f'{HSTS_LINE}\nadd_header Set-Cookie "{cookie}" always;')(HARDENED)
    assert_status(run("HDR-05", nginx_facts(make_facts, text=text)), Status.PASS)


@pytest.mark.parametrize(
    "flags", ["~ nosecure nohttponly nosamesite", "~ secure httponly nosamesite", "~ secure httponly samesite=none"]
)
def test_proxy_cookie_flags_that_strip_the_flags_fail(make_facts, flags):
    """``nosecure``/``nohttponly``/``nosamesite`` REMOVE the flags the backend set (and contain the
    words secure/httponly/samesite, which passed)."""
    text = replace(COOKIE_FLAGS_LINE, f"proxy_cookie_flags {flags};")(HARDENED)
    assert_status(run("HDR-05", nginx_facts(make_facts, text=text)), Status.FAIL)


def test_location_if_that_only_returns_is_not_a_serving_context(make_facts):
    """A CORS preflight answered inside the if (``return 204``) serves no content, like a
    location that only returns: its own add_header set is not judged for HSTS/CSP."""
    text = replace(
        APP_LOCATION,
        APP_LOCATION[:-2] + "\t\tif ($request_method = OPTIONS) {\n"
        '\t\t\tadd_header Access-Control-Allow-Methods "GET, POST";\n'
        "\t\t\treturn 204;\n\t\t}\n\t}",
    )(HARDENED)
    facts = nginx_facts(make_facts, text=text)
    for check_id in ("HDR-01", "HDR-04"):
        assert_status(run(check_id, facts), Status.PASS)


def test_proxy_pass_inside_limit_except_to_a_public_address_fails(make_facts):
    """proxy_pass is valid in limit_except (context: location, if in location, limit_except):
    writes (every method but GET/HEAD) go to the public address in clear text."""
    text = replace(
        APP_LOCATION,
        APP_LOCATION[:-2] + "\t\tlimit_except GET {\n\t\t\tproxy_pass http://93.184.215.14;\n\t\t}\n\t}",
    )(HARDENED)
    result = run("TLS-10", nginx_facts(make_facts, text=text))
    assert_status(result, Status.FAIL)
    assert "93.184.215.14" in result.message
