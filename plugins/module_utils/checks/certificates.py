"""Certificates and ACME pack (CRT-01..08): nginx's certificate files and certbot's renewal.

The live probe compares the certificate actually served with these files (CRT-02) and
re-checks expiry and chain from the network; the engine merges it under the same ids.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

from ansible_collections.rampart.hardening.plugins.module_utils.checks.common import judge
from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts
from ansible_collections.rampart.hardening.plugins.module_utils.model import Result, error, not_applicable
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.x509 import (
    CertInfo,
    find_subjects,
    hostname_matches,
    issued_by,
)
from ansible_collections.rampart.hardening.plugins.module_utils.probes import intent, now
from ansible_collections.rampart.hardening.plugins.module_utils.probes.certificates import (
    LETSENCRYPT,
    ServedCert,
    certbot_in_use,
    live_names,
    renewal_confs,
    served_certificates,
)
from ansible_collections.rampart.hardening.plugins.module_utils.probes.files import describe
from ansible_collections.rampart.hardening.plugins.module_utils.probes.systemd import unit
from ansible_collections.rampart.hardening.plugins.module_utils.registry import check

CAB_BR = "CA/Browser Forum Baseline Requirements 6.3.2 / 6.1.5"
CERTBOT = "https://eff-certbot.readthedocs.io/en/stable/using.html#renewing-certificates"
SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
STRONG_CURVES = ("secp256r1", "secp384r1", "prime256v1")
CA_CURVES = (*STRONG_CURVES, "secp521r1")
CURVE_LABELS = {"secp256r1": "P-256", "prime256v1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
# Ed448 (224-bit security) is at least as strong as Ed25519; both hash inside the signature.
EDDSA = ("Ed25519", "Ed448")
MIN_RSA_BITS = 2048
STRONG_HASHES = ("sha256", "sha384", "sha512", "sha3-256", "sha3-384", "sha3-512")
MAX_LIFETIME_DAYS = 398


def _with_certs(
    facts: Facts, judge_cert: Callable[[Facts, ServedCert], tuple[list[str], list[str], list[str]]], ok: str
) -> Result:
    certs = served_certificates(facts)
    if certs is None:
        return not_applicable("nginx is not installed")
    if not certs:
        return not_applicable("nginx serves no certificate")
    unreadable = [c.problem for c in certs if c.problem]
    readable = [c for c in certs if not c.problem]
    if unreadable and not readable:
        return error(f"no served certificate could be read: {unreadable[0]}", unreadable)
    problems, minor, seen = [], [], []
    for cert in readable:
        found, notes, saw = judge_cert(facts, cert)
        problems += found
        minor += notes
        seen += saw
    if unreadable and not problems:
        # A certificate the audit could not read may be the expired one: never half a pass.
        others = f" (+{len(unreadable) - 1} more)" if len(unreadable) > 1 else ""
        return error(f"served certificate not inspected: {unreadable[0]}{others}", [*unreadable, *minor, *seen])
    return judge(ok, problems, [*minor, *(f"not inspected: {text}" for text in unreadable)], seen)


def _expiry(_facts: Facts, cert: ServedCert) -> tuple[list[str], list[str], list[str]]:
    leaf = cert.leaf
    days = leaf.days_left(now())
    text = f"{cert.path}: {leaf.summary()} — {days:.0f} days left"
    if days < 0:
        return [f"{cert.path} EXPIRED {-days:.0f} days ago (critical)"], [], [text]
    if days < 14:
        return [f"{cert.path} expires in {days:.0f} days (high)"], [], [text]
    if days < 30:
        return [], [f"{cert.path} expires in {days:.0f} days (medium)"], [text]
    return [], [], [text]


@check(
    id="CRT-01",
    title="Days to expiry of every served certificate (< 30 medium, < 14 high, expired critical)",
    category="certificates",
    severity="critical",
    rationale="An expired certificate takes the site down for every client; short remaining validity "
    "means renewal is failing.",
    remediation="Renew now ('certbot renew --cert-name <name>' then 'systemctl reload nginx') and fix the "
    "renewal schedule (CRT-05).",
    references=(CERTBOT, "RFC 5280 4.1.2.5"),
    fix_role="acme",
    fix_tag="acme_renewal",
)
def crt_expiry(facts: Facts) -> Result:
    """Inspects: Leaf of every ssl_certificate file nginx serves.

    pass: ≥ 30 days left; partial: < 30 days (medium); fail: < 14 days (high) or expired (critical).
    """
    return _with_certs(facts, _expiry, "every served certificate has ≥ 30 days left")


def _reload_path(_facts: Facts, cert: ServedCert) -> tuple[list[str], list[str], list[str]]:
    if cert.path.startswith(f"{LETSENCRYPT}/archive/"):
        return [f"{cert.path}: versioned archive file, renewals will never be served"], [], []
    return [], [], [f"{cert.path}: fingerprint {cert.leaf.fingerprint_sha256[:16]}…"]


@check(
    id="CRT-02",
    title="The certificate served equals the one on disk",
    category="certificates",
    severity="high",
    rationale="A renewed certificate that nginx never reloaded keeps the old one in service until it expires.",
    remediation="Reload nginx after each renewal (deploy hook, CRT-06) and point ssl_certificate at the "
    "live/ path, never at a versioned archive/ file.",
    references=(CERTBOT,),
    fix_role="acme",
    fix_tag="acme_renewal",
)
def crt_served_matches_disk(facts: Facts) -> Result:
    """Inspects: ssl_certificate paths (config side); the served certificate is compared live.

    pass: renewable paths; fail: a versioned /etc/letsencrypt/archive file that renewals never replace.
    """
    return _with_certs(facts, _reload_path, "nginx references renewable certificate paths (served copy compared live)")


def declared_ca_files(facts: Facts) -> list[str]:
    """CA files the roles' intents declare for their TLS (``tls.ca_file``: the internal CA, or the
    operator's CA for provided certificates). A private CA is trusted because it is declared."""

    def load() -> list[str]:
        found = []
        for path in facts.glob(f"{facts.intent_dir}/*.json"):
            tls = (facts.json_file(path, "intent file ") or {}).get("tls")
            ca_file = tls.get("ca_file") if isinstance(tls, dict) else None
            if isinstance(ca_file, str) and ca_file.startswith("/"):
                found.append(ca_file)
        return sorted(set(found))

    return facts.cached("declared-ca-files", load)


def _trusted_issuers(facts: Facts, issuer: str) -> list[CertInfo]:
    """Trusted CA certificates named ``issuer``: the system bundle, the ACME CA bundle from intent, and
    the private CAs the intents declare (:func:`declared_ca_files`)."""

    def load() -> list[CertInfo]:
        bundles = [SYSTEM_BUNDLE]
        ca_bundle = intent(facts, "acme").get("server_ca_bundle")
        if ca_bundle:
            bundles.append(str(ca_bundle))
        bundles += declared_ca_files(facts)
        return [cert for path in bundles for cert in find_subjects(facts.read_text(path) or "", issuer)]

    return facts.cached(f"trusted-issuers:{issuer}", load)


def _chain_and_names(facts: Facts, cert: ServedCert) -> tuple[list[str], list[str], list[str]]:
    problems = []
    chain = cert.chain
    for child, parent in pairwise(chain):
        if not issued_by(child, parent):
            problems.append(f"{cert.path}: {child.subject} is not issued by the next certificate {parent.subject}")
    # A chain verifies only while every certificate in it is valid: an expired (or not yet
    # valid) intermediate breaks verification even though the leaf itself is fine (CRT-01).
    moment = now()
    for ca in chain[1:]:
        if ca.not_after < moment:
            problems.append(f"{cert.path}: chain certificate {ca.subject} expired on {ca.not_after:%Y-%m-%d}")
        elif ca.not_before > moment:
            problems.append(f"{cert.path}: chain certificate {ca.subject} not valid before {ca.not_before:%Y-%m-%d}")
    top = chain[-1]
    roots = _trusted_issuers(facts, top.issuer)
    anchored = any(r.fingerprint_sha256 == top.fingerprint_sha256 or issued_by(top, r) for r in roots)
    if not anchored:
        problems.append(f"{cert.path}: chain ends at {top.issuer}, not a trusted root")
    names = [n for n in cert.names if n not in ("_", "") and not n.startswith("~")]
    uncovered = [n for n in names if not any(hostname_matches(san, n.lstrip(".")) for san in chain[0].sans)]
    problems += [f"{cert.path}: server_name {n} not in SAN {chain[0].sans}" for n in uncovered]
    return problems, [], [f"{cert.path}: {len(chain)} certificate(s), SAN {', '.join(chain[0].sans)}"]


@check(
    id="CRT-03",
    title="Chain verifies to a trusted root; SAN covers every server_name",
    category="certificates",
    severity="high",
    rationale="A broken chain or a name missing from the SAN fails validation in browsers and API clients.",
    remediation="Serve fullchain.pem (leaf + intermediates) and request the certificate for every "
    "server_name of the server block.",
    references=("RFC 5280 6.1", "RFC 6125", CERTBOT),
    fix_role="acme",
    fix_tag="acme",
)
def crt_chain(facts: Facts) -> Result:
    """Inspects: Chain order and signatures in each certificate file, anchor in the system CA bundle (or the ACME
    CA bundle from intent, or a private CA an intent declares as ``tls.ca_file``), SANs vs server_name.

    pass: chain verifies to a trusted or declared root and SANs cover every name; fail otherwise (a chain to an
    undeclared private CA, or holding an expired or not yet valid CA certificate, fails).
    """
    return _with_certs(facts, _chain_and_names, "chains verify and SANs cover all names")


def _key_problem(cert: CertInfo, strong_curves: tuple[str, ...]) -> str | None:
    """Why the certificate's public key is weak, or None."""
    if cert.key_type == "RSA" and cert.key_size < MIN_RSA_BITS:
        return f"RSA {cert.key_size} bits < {MIN_RSA_BITS}"
    if cert.key_type == "EC" and (cert.curve or "") not in strong_curves:
        allowed = "/".join(dict.fromkeys(CURVE_LABELS[c] for c in strong_curves))
        return f"EC curve {cert.curve} is not {allowed}"
    if cert.key_type not in ("RSA", "EC", *EDDSA):
        return f"key type {cert.key_type}"
    return None


def _signature_problem(cert: CertInfo) -> str | None:
    """Why the signature on the certificate is forgeable, or None (EdDSA hashes internally)."""
    if cert.signature_hash is not None and cert.signature_hash not in STRONG_HASHES:
        return f"signed with {cert.signature_hash}"
    return None


def _strength(_facts: Facts, cert: ServedCert) -> tuple[list[str], list[str], list[str]]:
    leaf = cert.leaf
    problems = [f"{cert.path}: {p}" for p in (_key_problem(leaf, STRONG_CURVES), _signature_problem(leaf)) if p]
    if leaf.lifetime_days > MAX_LIFETIME_DAYS + 1:
        problems.append(f"{cert.path}: lifetime {leaf.lifetime_days:.0f} days > {MAX_LIFETIME_DAYS}")
    # The leaf is only as strong as every link above it: a factorable intermediate key, or a
    # SHA-1/MD5 signature on the intermediate, lets an attacker issue certificates for any name.
    # A self-signed root is a trust anchor whose self-signature nobody verifies, so only its
    # key counts. CAs may use P-521 (CA/B BR 6.1.5), which the leaf rule does not allow.
    for ca in cert.chain[1:]:
        found = [_key_problem(ca, CA_CURVES), None if ca.self_signed else _signature_problem(ca)]
        problems += [f"{cert.path}: chain certificate {ca.subject}: {p}" for p in found if p]
    seen = [f"{cert.path}: {leaf.summary()}, {leaf.signature_hash}, {leaf.lifetime_days:.0f} days"]
    seen += [f"{cert.path}: chain {ca.summary()}, {ca.signature_hash}" for ca in cert.chain[1:]]
    return problems, [], seen


@check(
    id="CRT-04",
    title="RSA ≥ 2048 or ECDSA P-256/P-384; SHA-256+; lifetime ≤ 398 days",
    category="certificates",
    severity="high",
    rationale="Short keys and SHA-1 signatures are forgeable; certificates valid for more than 398 days are "
    "rejected by browsers.",
    remediation="Issue ECDSA P-256 (or RSA 2048+) certificates signed with SHA-256 and valid ≤ 398 days "
    "(ACME certificates are 90 days).",
    references=(CAB_BR, "NIST SP 800-57 Part 1"),
    fix_role="acme",
    fix_tag="acme",
)
def crt_strength(facts: Facts) -> Result:
    """Inspects: Key type/size/curve, signature hash and lifetime of each served leaf; key and signature hash of
    every CA certificate served with it (a self-signed root: its key only).

    pass: RSA ≥ 2048 or P-256/P-384 (or Ed25519/Ed448), SHA-256+, ≤ 398 days, and every chain certificate RSA ≥
    2048 or P-256/P-384/P-521 signed with SHA-256+; fail otherwise.
    """
    return _with_certs(facts, _strength, "keys, signatures and lifetimes are strong")


def _certbot_or_na(facts: Facts) -> Result | None:
    if not certbot_in_use(facts) and not intent(facts, "acme"):
        return not_applicable("no ACME/certbot certificate on this host")
    return None


@check(
    id="CRT-05",
    title="Renewal is scheduled and healthy",
    category="certificates",
    severity="high",
    rationale="ACME certificates live 90 days; without a working timer they expire silently.",
    remediation="'systemctl enable --now certbot.timer'; run 'certbot renew --dry-run' and fix the errors; "
    "re-create missing renewal confs with 'certbot certonly --cert-name <name>'.",
    references=(CERTBOT,),
    fix_role="acme",
    fix_tag="acme_renewal",
)
def crt_renewal(facts: Facts) -> Result:
    """Inspects: certbot.timer and certbot.service state; /etc/letsencrypt/live vs renewal/*.conf.

    pass: timer active, last run successful, a renewal conf per certificate; fail otherwise; n/a: no certbot
    certificates.
    """
    skip = _certbot_or_na(facts)
    if skip:
        return skip
    problems, seen = [], []
    timer, service = unit(facts, "certbot.timer"), unit(facts, "certbot.service")
    if timer is None or not timer.active:
        problems.append("certbot.timer is not active" + (f" ({timer.evidence()})" if timer else " (not installed)"))
    else:
        seen.append(timer.evidence())
    if service is not None and service.result not in ("", "success"):
        problems.append(f"last certbot run failed: result={service.result} status={service.exec_main_status}")
    confs = renewal_confs(facts)
    problems += [f"live certificate {n} has no renewal conf" for n in live_names(facts) if n not in confs]
    seen += [f"renewal conf {c['_path']}" for c in confs.values()]
    return judge("certbot.timer active, last run ok, every certificate renewable", problems, seen=seen)


def _reloads_nginx(text: str) -> bool:
    lowered = text.lower()
    return "nginx" in lowered and any(word in lowered for word in ("reload", "restart", "-s reload"))


@check(
    id="CRT-06",
    title="A deploy hook reloads nginx after renewal",
    category="certificates",
    severity="medium",
    rationale="certbot writes new files but nginx keeps serving the old certificate until it reloads.",
    remediation="certbot renew --deploy-hook 'systemctl reload nginx' (stored as renew_hook in the renewal "
    "conf) or a script in /etc/letsencrypt/renewal-hooks/deploy/.",
    references=(CERTBOT,),
    fix_role="acme",
    fix_tag="acme_renewal",
)
def crt_deploy_hook(facts: Facts) -> Result:
    """Inspects: renew_hook/post_hook/installer in each renewal conf; scripts in renewal-hooks/deploy.

    pass: every renewal reloads nginx; fail otherwise; n/a: no certbot.
    """
    skip = _certbot_or_na(facts)
    if skip:
        return skip
    hooks = [p for p in facts.glob(f"{LETSENCRYPT}/renewal-hooks/deploy/*") if _reloads_nginx(facts.read_text(p) or "")]
    problems, seen = [], [f"global deploy hook {p}" for p in hooks]
    for name, conf in renewal_confs(facts).items():
        own = conf.get("renew_hook", "") + conf.get("post_hook", "")
        if _reloads_nginx(own) or conf.get("installer") == "nginx" or hooks:
            seen.append(f"{name}: reloads nginx ({conf['_path']})")
        else:
            problems.append(f"{name}: no deploy hook reloads nginx ({conf['_path']})")
    if not seen and not problems:
        return not_applicable("no renewal configuration found")
    return judge("every renewal reloads nginx", problems, seen=seen)


def _key_files(facts: Facts) -> list[str]:
    certs = served_certificates(facts) or []
    paths = [c.key_path for c in certs if c.key_path and "$" not in c.key_path]
    paths += facts.glob(f"{LETSENCRYPT}/archive/*/privkey*.pem")
    return list(dict.fromkeys(paths))


@check(
    id="CRT-07",
    title="Private keys 0600 (or 0640 to a dedicated group); ACME account and archive dirs 0700",
    category="certificates",
    severity="high",
    rationale="A readable private key lets any local account impersonate the site.",
    remediation="chmod 0600 the keys (or 0640 root:ssl-cert); chmod 0700 /etc/letsencrypt/accounts "
    "/etc/letsencrypt/archive.",
    references=("CIS Debian Linux 12 Benchmark 6.1.x", CERTBOT),
    fix_role="acme",
    fix_tag="acme",
)
def crt_key_permissions(facts: Facts) -> Result:
    """Inspects: stat() of ssl_certificate_key files, letsencrypt privkeys, accounts/ and archive/ directories.

    pass: keys 0600 (or 0640 to a dedicated group), directories 0700; fail otherwise.
    """
    problems, seen = [], []
    for path in _key_files(facts):
        st = facts.stat(path)
        if st is None:
            problems.append(f"{path}: private key file does not exist")
            continue
        seen.append(describe(st))
        group_ok = st.mode & 0o777 == 0o640 and st.group not in ("root", "users", "staff") and st.gid != 0
        if st.mode & 0o077 and not group_ok:
            problems.append(f"{describe(st)}: key readable beyond its owner")
    for directory in (f"{LETSENCRYPT}/accounts", f"{LETSENCRYPT}/archive"):
        st = facts.stat(directory)
        if st is not None:
            seen.append(describe(st))
            if st.mode & 0o077:
                problems.append(f"{describe(st)}: should be 0700")
    if not seen and not problems:
        return not_applicable("no TLS private key found")
    return judge("private keys and ACME directories are private", problems, seen=seen)


def _stapling(_facts: Facts, cert: ServedCert) -> tuple[list[str], list[str], list[str]]:
    if not cert.leaf.ocsp_urls:
        return [], [], [f"{cert.path}: no OCSP URL, stapling not applicable"]
    if cert.stapling:
        return [], [], [f"{cert.path}: ssl_stapling on"]
    return [f"{cert.path}: certificate has OCSP URL {cert.leaf.ocsp_urls[0]} but ssl_stapling is off"], [], []


@check(
    id="CRT-08",
    title="OCSP stapling configured when the certificate carries an OCSP URL",
    category="certificates",
    severity="info",
    rationale="Stapling saves clients an OCSP round trip; Let's Encrypt certificates no longer carry OCSP "
    "URLs, so this is informational.",
    remediation="ssl_stapling on; ssl_stapling_verify on; with a resolver, for certificates with an OCSP URL.",
    references=("https://letsencrypt.org/2024/12/05/ending-ocsp/", "RFC 6066 8"),
    fix_role="nginx",
    fix_tag="nginx_tls",
)
def crt_ocsp(facts: Facts) -> Result:
    """Inspects: OCSP URL (AIA) of each served leaf and effective ssl_stapling.

    pass: stapling on where an OCSP URL exists (or none exists); fail: OCSP URL without stapling (info weight).
    """
    return _with_certs(facts, _stapling, "stapling configured where an OCSP URL exists")
