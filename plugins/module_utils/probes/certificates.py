"""Certificates served by nginx (read from disk) and certbot's renewal configuration."""

from __future__ import annotations

from dataclasses import dataclass, field

from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts, ProbeError
from ansible_collections.rampart.hardening.plugins.module_utils.parsers import ParseError
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.nginx import flag, server_names
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.x509 import (
    CertInfo,
    dh_param_bits,
    parse_pem_chain,
)
from ansible_collections.rampart.hardening.plugins.module_utils.probes.nginx import nginx, tls_servers

LETSENCRYPT = "/etc/letsencrypt"


@dataclass
class ServedCert:
    """One ``ssl_certificate`` file nginx serves, with the names of the servers using it."""

    path: str
    key_path: str | None
    chain: list[CertInfo] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    stapling: bool = False
    problem: str | None = None  # unreadable / unparsable file

    @property
    def leaf(self) -> CertInfo | None:
        return self.chain[0] if self.chain else None


def _load_chain(facts: Facts, path: str) -> tuple[list[CertInfo], str | None]:
    if "$" in path:
        return [], f"{path}: chosen at runtime from a variable, not inspected"
    text = facts.read_text(path)
    if text is None:
        return [], f"{path}: file does not exist"
    try:
        return parse_pem_chain(text), None
    except ParseError as exc:
        return [], f"{path}: {exc}"


def _collect(facts: Facts) -> list[ServedCert] | None:
    info = nginx(facts)
    if info is None:
        return None
    served: dict[str, ServedCert] = {}
    for server in tls_servers(info):
        certs = server.nearest("ssl_certificate")
        keys = server.nearest("ssl_certificate_key")
        stapling = server.value("ssl_stapling")
        for index, directive in enumerate(certs):
            if not directive.args:
                continue
            path = info.config.file_path(directive.args[0])
            key = info.config.file_path(keys[index].args[0]) if index < len(keys) and keys[index].args else None
            entry = served.get(path)
            if entry is None:
                chain, problem = _load_chain(facts, path)
                entry = served[path] = ServedCert(path, key, chain, problem=problem)
            entry.names.extend(n for n in server_names(server.block) if n not in entry.names)
            entry.stapling = entry.stapling or bool(flag(stapling))
    return list(served.values())


def served_certificates(facts: Facts) -> list[ServedCert] | None:
    """Certificates of nginx's TLS servers; None when nginx is absent."""
    return facts.cached("served-certificates", lambda: _collect(facts))


def parse_renewal_conf(text: str) -> dict[str, str]:
    """certbot renewal conf (configobj) -> flat {key: value}; section headers are dropped."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "[")):
            continue
        key, sep, value = stripped.partition("=")
        if sep:
            values.setdefault(key.strip(), value.strip())
    return values


def renewal_confs(facts: Facts) -> dict[str, dict[str, str]]:
    """{certificate name: renewal settings} from /etc/letsencrypt/renewal/*.conf."""

    def probe() -> dict[str, dict[str, str]]:
        confs = {}
        for path in facts.glob(f"{LETSENCRYPT}/renewal/*.conf"):
            text = facts.read_text(path)
            if text is None:
                continue
            name = path.rsplit("/", 1)[-1][: -len(".conf")]
            confs[name] = parse_renewal_conf(text)
            confs[name]["_path"] = path
        return confs

    return facts.cached("certbot-renewal", probe)


def live_names(facts: Facts) -> list[str]:
    """Certificate names under /etc/letsencrypt/live (README is not a certificate)."""
    return [p.rsplit("/", 1)[-1] for p in facts.glob(f"{LETSENCRYPT}/live/*") if not p.endswith("README")]


def certbot_in_use(facts: Facts) -> bool:
    return bool(live_names(facts) or renewal_confs(facts))


def read_dh_bits(facts: Facts, path: str) -> int:
    text = facts.read_text(path)
    if text is None:
        raise ProbeError(f"ssl_dhparam file {path} does not exist")
    try:
        return dh_param_bits(text)
    except ParseError as exc:
        raise ProbeError(f"cannot parse {path}: {exc}") from exc
