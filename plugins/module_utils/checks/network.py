"""Network exposure and firewall pack (NET-01..07): nftables ruleset, sockets, sysctls.

NET-04's truth is reachability from another host (live); inside, the check reads which
database/broker sockets listen off-loopback and whether the ruleset accepts them from
anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.checks.common import doubted_by, judge, unless_hidden
from ansible_collections.rampart.hardening.plugins.module_utils.exposure import (
    accepted_result,
    merged_exception,
    split_accepted,
    world_open,
)
from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts, ProbeError
from ansible_collections.rampart.hardening.plugins.module_utils.model import Result, error, failed, not_applicable
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.nftables import Chain, Ruleset
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.sockets import DATA_PORTS
from ansible_collections.rampart.hardening.plugins.module_utils.probes import intent
from ansible_collections.rampart.hardening.plugins.module_utils.probes.firewall import (
    accept_all_rule,
    blocks_by_default,
    input_chains,
    port_exposure,
    ruleset,
)
from ansible_collections.rampart.hardening.plugins.module_utils.probes.sockets import exposed, listeners
from ansible_collections.rampart.hardening.plugins.module_utils.probes.sysctl import (
    interface_value,
    interfaces,
    value,
)
from ansible_collections.rampart.hardening.plugins.module_utils.probes.systemd import active, unit
from ansible_collections.rampart.hardening.plugins.module_utils.registry import check

CIS = "CIS Debian Linux 12 Benchmark"
NFT_WIKI = "https://wiki.nftables.org/wiki-nftables/index.php/Simple_ruleset_for_a_server"
BASELINE_PUBLIC_PORTS = {22, 80, 443}
# (key, expected values, severe) — severe mismatches fail, the others make it partial.
NETWORK_SYSCTLS: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("net.ipv4.ip_forward", ("0",), True),
    ("net.ipv6.conf.all.forwarding", ("0",), True),
    ("net.ipv4.conf.all.rp_filter", ("1", "2"), False),
    ("net.ipv4.conf.default.rp_filter", ("1", "2"), False),
    ("net.ipv4.conf.all.accept_redirects", ("0",), True),
    ("net.ipv4.conf.default.accept_redirects", ("0",), True),
    ("net.ipv6.conf.all.accept_redirects", ("0",), True),
    ("net.ipv6.conf.default.accept_redirects", ("0",), True),
    ("net.ipv4.conf.all.secure_redirects", ("0",), False),
    ("net.ipv4.conf.all.send_redirects", ("0",), False),
    ("net.ipv4.conf.default.send_redirects", ("0",), False),
    ("net.ipv4.conf.all.accept_source_route", ("0",), True),
    ("net.ipv4.conf.default.accept_source_route", ("0",), True),
    ("net.ipv6.conf.all.accept_source_route", ("0",), True),
    ("net.ipv4.tcp_syncookies", ("1",), True),
    ("net.ipv4.conf.all.log_martians", ("1",), False),
    ("net.ipv4.conf.default.log_martians", ("1",), False),
)

# What one interface really does is not its own value alone: the kernel combines it with
# conf.all (include/linux/inetdevice.h): IN_DEV_RX_REDIRECTS is all AND iface on an interface
# that forwards, all OR iface on one that does not; send_redirects, secure_redirects and
# log_martians are OR; accept_source_route is AND; rp_filter is MAX. IPv6 reads only the
# interface (net/ipv6/route.c rt6_do_redirect: no redirect when that interface forwards or its
# accept_redirects is 0); IPv4 forwarding is the receiving interface's own flag (IN_DEV_FORWARD).
# So conf.all = 0 does not stop eth0 = 1 for the OR ones. Only the rows below can make an
# interface worse than the conf.all verdict: AND (accept_source_route), MAX (rp_filter), OR with
# 1 wanted (log_martians) and IPv6 source routing (min(all, iface), exthdrs.c) are decided by a
# hardened conf.all alone, which NETWORK_SYSCTLS judges. The loopback interface is skipped: only
# packets this host sent itself arrive on lo, so no router can redirect it or source-route to
# it there and it sends no redirect to another host.
# (family, parameter, severe): the bad value is anything but 0.
INTERFACE_SYSCTLS: tuple[tuple[str, str, bool], ...] = (
    ("ipv4", "forwarding", True),
    ("ipv4", "accept_redirects", True),
    ("ipv6", "accept_redirects", True),
    ("ipv4", "secure_redirects", False),
    ("ipv4", "send_redirects", False),
)


def _flag(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _effective(family: str, param: str, everywhere: int, own: int, forwards: int | None) -> int:
    """The value the kernel acts on for one interface (see INTERFACE_SYSCTLS)."""
    if family == "ipv6" or param == "forwarding":
        return 0 if forwards else own  # ipv6 redirects: never while the interface forwards
    if param == "accept_redirects" and forwards:
        return int(bool(everywhere and own))
    return int(bool(everywhere or own))


def _family_absent(facts: Facts, family: str) -> bool:
    try:
        return value(facts, f"net.{family}.conf.all.accept_redirects") is None
    except ProbeError:
        return False


def _interface_problems(facts: Facts, forwarding_declared: bool) -> tuple[list[str], list[str], list[str]]:
    """(severe, minor, unread) per interface, by the kernel's effective value."""
    problems: list[str] = []
    minor: list[str] = []
    unread: list[str] = []
    for family in ("ipv4", "ipv6"):
        names = interfaces(facts, family)
        if names is None and _family_absent(facts, family):
            continue  # e.g. IPv6 disabled at boot: the 17-key list above already says so
        if names is None:
            unread.append(f"no list of interfaces under net.{family}.conf (sysctl -a and /proc/sys both failed)")
            continue
        for iface in (name for name in names if name != "lo"):
            for fam, param, severe in INTERFACE_SYSCTLS:
                if fam != family or (param == "forwarding" and forwarding_declared):
                    continue
                try:
                    found = _interface_problem(facts, family, iface, param)
                except ProbeError as exc:
                    unread.append(str(exc))
                    continue
                if found:
                    (problems if severe else minor).append(found)
    return problems, minor, unread


def _interface_problem(facts: Facts, family: str, iface: str, param: str) -> str | None:
    """What is wrong with one interface's parameter, or None; ProbeError when it cannot be read."""
    text = interface_value(facts, family, iface, param)
    if text is None:  # the interface has no such parameter (e.g. IPv6 off on it)
        return None
    key = f"net.{family}.conf.{iface}.{param}"
    own = _flag(text)
    if own is None:
        raise ProbeError(f"cannot judge {key}: {text!r} is not a number")
    everywhere = 0  # IPv6 and IPv4 forwarding read the interface alone
    if family == "ipv4" and param != "forwarding":
        whole = f"net.ipv4.conf.all.{param}"
        everywhere = _flag(value(facts, whole))
        if everywhere is None:
            raise ProbeError(f"cannot judge {key}: {whole} is not readable as a number")
    # An unreadable forwarding flag counts as off: the stricter reading (OR for IPv4 redirects).
    forwards = _flag(interface_value(facts, family, iface, "forwarding")) if param != "forwarding" else None
    if _effective(family, param, everywhere, own, forwards) == 0:
        return None
    if param == "forwarding":
        return f"{key} = {own}: {iface} forwards packets ({family} forwarding is per interface)"
    if family == "ipv6":
        rule = "IPv6 reads only the interface's own value"
    elif param == "accept_redirects" and forwards:
        rule = f"conf.all {everywhere} AND {iface} {own}, as {iface} forwards"
    else:
        rule = f"conf.all {everywhere} OR {iface} {own}"
    return f"{key} = {own}: {param} is in effect on {iface} ({rule}; expected 0)"


def _ruleset_or_fail(facts: Facts) -> tuple[Ruleset | None, Result | None]:
    rules = ruleset(facts)
    if rules is None:
        return None, failed("nft is not installed: no nftables firewall (and ufw on Debian uses nftables)")
    return rules, None


@check(
    id="NET-01",
    title="A firewall is active and non-empty",
    category="network",
    severity="critical",
    rationale="Without a host firewall every service that binds a public address is exposed.",
    remediation="Apply the rampart firewall role (nftables, inet table, input policy drop) or enable ufw; "
    "make it persistent with 'systemctl enable nftables'.",
    references=(f"{CIS} 4.3.x", NFT_WIKI),
    fix_role="firewall",
    fix_tag="firewall_rules",
)
@doubted_by("nft")
def net_firewall_active(facts: Facts) -> Result:
    """Inspects: `nft -j list ruleset` ip/ip6/inet base chains hooked on input (bridge and arp tables filter
    no IP traffic); nftables/ufw unit state.

    pass: input filtering loaded; partial: not persistent across reboot; fail: no nft, no input chain or empty
    accept chain.
    """
    rules, skip = _ruleset_or_fail(facts)
    if skip:
        return skip
    chains = input_chains(rules)
    seen = [c.label + f" ({len(c.rules)} rules)" for c in chains]
    if not chains:
        tables = [f"{len(rules.tables)} tables"]
        return failed("no ip/ip6/inet nftables chain hooks input: inbound traffic is not filtered", tables)
    if not any(c.rules or c.policy == "drop" for c in chains):
        return failed("input chains exist but are empty with policy accept", seen)
    boot = [u for u in ("nftables.service", "ufw.service") if active(facts, u)]
    minor = (
        []
        if boot or unit(facts, "nftables.service") is None
        else ["nftables.service not active: rules vanish on reboot"]
    )
    return judge("input filtering is loaded", [], minor, seen)


@check(
    id="NET-02",
    title="Inbound default policy drop; drops are counted or logged",
    category="network",
    severity="high",
    rationale="Default-drop means forgotten services stay closed; counting or logging drops makes scans "
    "and misconfigurations visible.",
    remediation="'type filter hook input priority 0; policy drop;' and a final 'counter log prefix \"drop: \"' "
    "rule (rampart firewall role: rampart_firewall_log_drops: true).",
    references=(f"{CIS} 4.3.3", NFT_WIKI),
    fix_role="firewall",
    fix_tag="firewall_rules",
)
@doubted_by("nft")
def net_default_drop(facts: Facts) -> Result:
    """Inspects: Policy and rules of every input base chain (jumps followed); a rule accepting every packet
    (``meta nfproto ipv6 accept``, ``ip saddr 0.0.0.0/0 accept``) before a catch-all drop is a default accept.

    pass: default drop with counted or logged drops; partial: drops not counted/logged; fail: accept by default.
    """
    rules, skip = _ruleset_or_fail(facts)
    if skip:
        return skip
    chains = input_chains(rules)
    if not chains:
        return failed("no input base chain: inbound default is accept")
    problems, minor, seen = [], [], []
    for chain in chains:
        seen.append(chain.label)
        everything = accept_all_rule(rules, chain)
        if everything is not None:
            problems.append(f"{chain.label}: '{everything.text}' accepts every packet before any default drop")
        elif not blocks_by_default(rules, chain):
            problems.append(f"{chain.label}: inbound default is accept")
        elif not any((r.log or r.counter) and r.verdict != "accept" for r in rules.reachable_rules(chain)):
            minor.append(f"{chain.label}: drops are neither counted nor logged")
    return judge("every input chain drops by default and counts/logs drops", problems, minor, seen)


def _declared_ports(facts: Facts) -> set[tuple[str, int]]:
    """(proto, port) the roles declared as public, from every intent file."""
    declared: set[tuple[str, int]] = set()
    firewall = intent(facts, "firewall")
    services = list(firewall.get("services") or [])
    management = firewall.get("management") or {}
    services.append({"protocol": "tcp", "ports": management.get("ports") or []})
    for service in services:
        if isinstance(service, dict):
            declared |= {(str(service.get("protocol") or "tcp"), p) for p in _ports(service.get("ports"))}
    if intent(facts, "nginx"):
        declared |= {("tcp", 80), ("tcp", 443)}
    for role, default in (("postgresql", 5432), ("redis", 6379)):
        data = intent(facts, role)
        if data:
            declared |= {("tcp", p) for p in _ports([data.get("port") or default, data.get("tls_port")])}
    return declared


def _ports(values: Iterable[Any] | None) -> set[int]:
    ports: set[int] = set()
    for item in values or []:
        text = str(item)
        if text.isdigit():
            ports.add(int(text))
        elif "-" in text and all(part.isdigit() for part in text.split("-", 1)):
            low, high = map(int, text.split("-", 1))
            ports |= set(range(low, high + 1))
    return ports


@check(
    id="NET-03",
    title="Listening sockets ⊆ declared allowlist",
    category="network",
    severity="high",
    rationale="Every socket reachable from the network is attack surface; anything not declared is either "
    "forgotten or unauthorised.",
    remediation="Stop or rebind undeclared services to 127.0.0.1, or declare them (rampart_firewall_services) "
    "if they are meant to be public.",
    references=(f"{CIS} 2.2.x", "NIST SP 800-123 4.2"),
    fix_role="firewall",
    fix_tag="firewall_rules",
)
@doubted_by("ss")
def net_sockets_allowlist(facts: Facts) -> Result:
    """Inspects: Non-loopback listeners from `ss -Htulpn` vs the allowlist from intents (firewall
    services/management, nginx 80/443, postgresql/redis ports) or the 22/80/443 baseline.

    pass: every listener declared; fail otherwise; n/a: ss missing.
    """
    if listeners(facts) is None:
        return not_applicable("ss (iproute2) is not installed: sockets cannot be listed")
    declared = _declared_ports(facts)
    source = "intent" if declared else "baseline 22/80/443"
    allowed = declared or {(proto, p) for p in BASELINE_PUBLIC_PORTS for proto in ("tcp",)}
    problems, seen = [], []
    for listener in exposed(facts):
        if (listener.proto, listener.port) in allowed:
            seen.append(listener.evidence())
        else:
            problems.append(f"{listener.evidence()} is not in the allowlist ({source})")
    seen.append(f"allowlist from {source}: {', '.join(f'{p}/{n}' for p, n in sorted(allowed))}")
    return judge("every non-loopback socket is declared", problems, seen=seen)


@check(
    id="NET-04",
    title="Database and broker ports are not reachable from outside the allowed sources",
    category="network",
    severity="critical",
    rationale="Exposed databases are mass-scanned and ransomed within hours.",
    remediation="Bind databases to loopback/private addresses and allow their ports only from the "
    "application hosts ('ip saddr { 10.0.0.5 } tcp dport 5432 accept').",
    references=(f"{CIS} 4.3.x", "https://redis.io/docs/latest/operate/oss_and_stack/management/security/"),
    fix_role="firewall",
    fix_tag="firewall_rules",
)
@doubted_by("ss", "nft")
def net_data_ports(facts: Facts) -> Result:
    """Inspects: Off-loopback listeners on DATA_PORTS (5432, 6379, 6380, 3306, 5671, 5672, 15672, 4369, 25672,
    8123, 9000, 9440, 9200, 27017, 11211); input rules that accept one of those ports from any source, whether
    something listens or not (no saddr, or a saddr of 0.0.0.0/0, ::/0, a range or @set holding them, in any
    spelling nft prints; verdict-map elements count as rules; a drop hides a port only when nft's every
    condition on it is understood); firewall intent services that open one to every address.

    pass: no data port accepted from anywhere, listeners filtered or source-restricted; fail: a listener
    accepted from anywhere, an explicit any-source accept rule or declared any-source service on a data port;
    n/a: only deviations an accepted exception names (rampart_firewall_accepted_exceptions, per service).
    Reachability is verified live.
    """
    sockets = exposed(facts)
    rules = ruleset(facts)
    problems: list[tuple[str | None, str]] = []
    seen: list[str] = []
    firewall = intent(facts, "firewall")
    world_services = _world_data_services(firewall)
    for listener in (item for item in sockets if item.port in NET04_PORTS):
        if rules is None:
            problems.append((None, f"{listener.evidence()} listens publicly and no nftables ruleset filters it"))
            continue
        exposing = port_exposure(rules, listener.port, listener.proto)
        if exposing:
            target = _service_target(world_services, listener.port)
            problems.append((target, f"{listener.evidence()} accepted from any source: {exposing[0].text}"))
        else:
            seen.append(f"{listener.evidence()}: filtered or source-restricted")
    if rules is not None:
        problems += _world_accept_rules(rules, world_services)
    problems += [(f"service:{name}", text) for name, text in _world_service_texts(world_services)]
    if not seen and not problems:
        seen.append("no database/broker port listens off-loopback or is accepted from any source")
    failing, accepted = split_accepted(firewall, "NET-04", list(dict.fromkeys(problems)))
    if accepted and not failing:
        return accepted_result("NET-04", merged_exception(accepted), [text for _e, text in accepted], seen)
    seen = [f"accepted exception: {text}" for _e, text in accepted] + seen
    return judge("data ports are filtered to allowed sources (verified live)", failing, seen=seen)


# Data ports NET-04 judges: the same list the roles refuse to open to the world (rampart.hardening.data_port).
NET04_PORTS: tuple[int, ...] = DATA_PORTS


def _world_data_services(firewall: dict[str, Any]) -> dict[str, set[int]]:
    """Firewall intent services open to every address -> the data ports they open."""
    found: dict[str, set[int]] = {}
    for service in firewall.get("services") or []:
        if not isinstance(service, dict):
            continue
        sources = service.get("sources") or ["any"]
        ports = {p for p in _ports(service.get("ports")) if p in NET04_PORTS}
        if ports and any(world_open(str(s)) for s in sources):
            found[str(service.get("name"))] = ports
    return found


def _world_service_texts(services: dict[str, set[int]]) -> list[tuple[str, str]]:
    return [
        (name, f"firewall intent: service '{name}' opens {', '.join(map(str, sorted(ports)))} to every address")
        for name, ports in services.items()
    ]


def _service_target(services: dict[str, set[int]], port: int) -> str | None:
    """The declared any-source service that opens ``port`` (its accepted exception covers the rule)."""
    return next((f"service:{name}" for name, ports in services.items() if port in ports), None)


def _world_accept_rules(rules: Ruleset, services: dict[str, set[int]]) -> list[tuple[str | None, str]]:
    """Explicit input rules accepting a data port from any source, listening or not (one line per rule)."""
    found: dict[str, list[int]] = {}
    targets: dict[str, str | None] = {}
    for port in NET04_PORTS:
        for rule in port_exposure(rules, port, "tcp"):
            if rule.family == "-" or rule.text.endswith(": accepted by policy"):
                continue  # a default-accept chain: NET-02 fails it, NET-04 judges what listens
            label = f"{rule.family} {rule.table} {rule.chain}: {rule.text}"
            found.setdefault(label, []).append(port)
            targets.setdefault(label, _service_target(services, port))
    return [
        (targets[label], f"{label} accepts data port(s) {', '.join(map(str, ports))} from any source")
        for label, ports in found.items()
    ]


@check(
    id="NET-05",
    title="IPv6 is filtered too",
    category="network",
    severity="high",
    rationale="An ip-only ruleset leaves every IPv6 listener wide open.",
    remediation="Use an 'inet' table (covers IPv4 and IPv6) or add an ip6 table with the same policy.",
    references=(f"{CIS} 4.3.x", NFT_WIKI),
    fix_role="firewall",
    fix_tag="firewall_rules",
)
@doubted_by("nft")
def net_ipv6(facts: Facts) -> Result:
    """Inspects: inet/ip6 input chains (no rule accepting every IPv6 packet); net.ipv6.conf.all.disable_ipv6.

    pass: IPv6 disabled or an inet/ip6 input chain drops by default; fail otherwise.
    """
    if value(facts, "net.ipv6.conf.all.disable_ipv6") == "1":
        return judge("IPv6 is disabled", [], seen=["net.ipv6.conf.all.disable_ipv6 = 1"])
    rules, skip = _ruleset_or_fail(facts)
    if skip:
        return skip
    v6 = [c for c in input_chains(rules) if c.family in ("inet", "ip6")]
    filtering = [c for c in v6 if blocks_by_default(rules, c, "ipv6")]
    if filtering:
        return judge("IPv6 input is filtered", [], seen=[c.label for c in filtering])
    problems = [_v6_problem(rules, c) for c in v6] or ["no inet/ip6 input chain: IPv6 is unfiltered"]
    return judge("", problems, seen=[c.label for c in input_chains(rules)])


def _v6_problem(rules: Ruleset, chain: Chain) -> str:
    everything = accept_all_rule(rules, chain, "ipv6")
    if everything is not None:
        return f"{chain.label}: '{everything.text}' accepts every IPv6 packet"
    return f"{chain.label}: accepts by default"


def _docker_present(facts: Facts, rules: Ruleset | None) -> bool:
    if unit(facts, "docker.service") is not None or facts.stat("/var/run/docker.sock") is not None:
        return True
    return rules is not None and any(c.name == "DOCKER" for c in rules.chains)


@check(
    id="NET-06",
    title="Docker-published ports are filtered (DOCKER-USER)",
    category="network",
    severity="high",
    rationale="Docker inserts its own NAT and forward rules ahead of ufw and the input chain, so published "
    "ports bypass the host firewall unless DOCKER-USER filters them.",
    remediation="Add rules to the DOCKER-USER chain (or rampart firewall role docker integration) that drop "
    "forwarded traffic to containers except from allowed sources.",
    references=("https://docs.docker.com/engine/network/packet-filtering-firewalls/",),
    fix_role="firewall",
    fix_tag="firewall_docker",
)
@doubted_by("nft", hides=lambda line: line.key is None or "DOCKER" in line.key, absent_too=True)
def net_docker(facts: Facts) -> Result:
    """Inspects: docker.service, /var/run/docker.sock, DOCKER/DOCKER-USER chains.

    pass: DOCKER-USER has drop/reject rules; fail: Docker without them; n/a: no Docker.
    """
    rules = ruleset(facts)
    if not _docker_present(facts, rules):
        return not_applicable("Docker is not installed")
    user_chains = [c for c in (rules.chains if rules else []) if c.name == "DOCKER-USER"]
    filtering = [c for c in user_chains if any(r.verdict in ("drop", "reject") for r in c.rules)]
    if filtering:
        return judge("DOCKER-USER filters published ports", [], seen=[c.label for c in filtering])
    reason = "DOCKER-USER has no drop/reject rule" if user_chains else "no DOCKER-USER chain"
    return judge("", [f"Docker present but {reason}: published ports bypass the firewall"])


@check(
    id="NET-07",
    title="Network sysctls: no forwarding, rp_filter, no redirects/source routing, syncookies, martians logged",
    category="network",
    severity="medium",
    rationale="Forwarding and redirects turn the host into a router for attackers; rp_filter and syncookies "
    "blunt spoofing and SYN floods; logged martians reveal spoofing.",
    remediation="Set these sysctls for conf.all and for every interface (conf.* lines, e.g. "
    "'net.ipv4.conf.*.accept_redirects = 0', as the baseline role writes them to "
    "/etc/sysctl.d/60-rampart-network.conf) and apply with 'sysctl --system'; declare forwarding in the "
    "firewall intent if the host routes.",
    references=(f"{CIS} 3.3.x",),
    fix_role="baseline",
    fix_tag="baseline_sysctl",
)
def net_sysctls(facts: Facts) -> Result:
    """Inspects: 17 network sysctls (forwarding, rp_filter, redirects, source routing, syncookies, log_martians),
    and per interface but lo the value the kernel acts on: conf.all combined with conf.<iface> (redirects
    accepted/sent/secure, IPv4 forwarding).

    pass: all hardened (forwarding allowed when declared in the firewall or baseline intent, or Docker present);
    partial: only rp_filter/send_redirects/secure_redirects/log_martians off (also on one interface);
    fail: forwarding, redirects (also on one interface), source routing or syncookies. Judged inside a
    container too: these live in its own network namespace.
    """
    forwarding_declared = (
        bool(intent(facts, "firewall").get("forwarding"))
        or bool(intent(facts, "baseline").get("forwarding"))
        or _docker_present(facts, None)
    )
    problems, minor, seen, unread = [], [], [], []
    for key, expected, severe in NETWORK_SYSCTLS:
        try:
            current = value(facts, key)
        except ProbeError as exc:  # this key's line was unreadable: judge the others, doubt the verdict
            unread.append(str(exc))
            continue
        if current is None:
            minor.append(f"{key}: not readable")
            continue
        seen.append(f"{key} = {current}")
        if current in expected or (("forwarding" in key or "ip_forward" in key) and forwarding_declared):
            continue
        (problems if severe else minor).append(f"{key} = {current} (expected {'/'.join(expected)})")
    if not seen:
        return error("no network sysctl is readable (sysctl -a and /proc/sys both failed)", unread)
    own_problems, own_minor, own_unread = _interface_problems(facts, forwarding_declared)
    problems, minor, unread = problems + own_problems, minor + own_minor, unread + own_unread
    return unless_hidden(judge("network sysctls hardened", problems, minor, seen), unread)
