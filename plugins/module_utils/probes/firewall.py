"""Firewall facts: the nftables ruleset (ufw and Docker on Debian also live in nftables)."""

from __future__ import annotations

from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.nftables import (
    Chain,
    Rule,
    Ruleset,
    parse_ruleset_lenient,
)
from ansible_collections.rampart.hardening.plugins.module_utils.probes import lenient, run_checked


def ruleset(facts: Facts) -> Ruleset | None:
    """The parsed ``nft -j list ruleset``, or None when nft is not installed; items that cannot be
    understood are skipped and kept in ``facts.unparsed("nft")``."""

    def probe() -> Ruleset | None:
        out = run_checked(facts, ("nft", "-j", "list", "ruleset"))
        return None if out is None else lenient(facts, "nft", parse_ruleset_lenient, out.stdout, "nft -j list ruleset")

    return facts.cached("nft", probe)


# Families whose input hook sees the IP packets addressed to the host's sockets. A bridge table's
# input hook sees bridged frames, an arp table's ARP only: neither filters a TCP connection.
IP_FAMILIES = ("ip", "ip6", "inet")


def input_chains(rules: Ruleset, family: str | None = None) -> list[Chain]:
    """Base chains on the IP input hook (ip, ip6 and inet tables), optionally of one family."""
    chains = [c for c in rules.base_chains("input") if c.family in IP_FAMILIES]
    return [c for c in chains if family is None or c.family == family]


def accept_all_rule(rules: Ruleset, chain: Chain, family: str | None = None) -> Rule | None:
    """The first rule (jumps followed) accepting every packet (of ``family``) before a catch-all drop:
    ``meta nfproto ipv6 accept``, ``ip saddr 0.0.0.0/0 accept``, ``jump trusted`` to a bare accept."""
    for rule in rules.reachable_rules(chain):
        if rule.unconditional and rule.sure_drop:
            return None  # nothing after a catch-all drop is reached
        if rule.accepts_everything(family):
            return rule
    return None


def blocks_by_default(rules: Ruleset, chain: Chain, family: str | None = None) -> bool:
    """Policy drop, or an unconditional drop/reject as the chain's last word, and no rule before it
    that accepts every packet (of ``family``, "ipv4"/"ipv6"; None: of either)."""
    if accept_all_rule(rules, chain, family) is not None:
        return False
    if chain.policy == "drop":
        return True
    flat = chain.rules
    return bool(flat) and flat[-1].unconditional and flat[-1].verdict in ("drop", "reject")


def port_exposure(rules: Ruleset, port: int, proto: str = "tcp") -> list[Rule]:
    """Input rules that accept ``port`` from any source (empty when the port is filtered).

    With an accept-by-default input chain the port is exposed unless a rule drops it;
    that case is reported as a synthetic rule naming the policy.
    """
    exposing: list[Rule] = []
    chains = input_chains(rules)
    if not chains:
        return [Rule("-", "-", "-", "no input base chain: nothing filters inbound traffic", "accept")]
    for chain in chains:
        verdict = None
        for rule in rules.reachable_rules(chain):
            if rule.stateful_only or rule.loopback_only or not rule.matches_port(port):
                continue
            if rule.protocols and proto not in rule.protocols | {"th"}:
                continue  # the rule only matches another protocol (icmp, udp...)
            if rule.verdict == "accept" and not rule.source_restricted:
                exposing.append(rule)
                verdict = "accept"
                break
            if rule.sure_drop and not rule.source_restricted:
                verdict = "drop"  # a drop with a condition we do not model (meta nfproto ipv6) may let it by
                break
        if verdict is None and not blocks_by_default(rules, chain):
            exposing.append(Rule(chain.family, chain.table, chain.name, f"{chain.label}: accepted by policy", "accept"))
    return exposing
