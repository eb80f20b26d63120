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


def input_chains(rules: Ruleset, family: str | None = None) -> list[Chain]:
    chains = rules.base_chains("input")
    return [c for c in chains if family is None or c.family == family]


def blocks_by_default(rules: Ruleset, chain: Chain) -> bool:
    """Policy drop, or an unconditional drop/reject as the chain's last word."""
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
            if rule.verdict in ("drop", "reject") and not rule.source_restricted and not rule.rate_limited:
                verdict = "drop"
                break
        if verdict is None and not blocks_by_default(rules, chain):
            exposing.append(Rule(chain.family, chain.table, chain.name, f"{chain.label}: accepted by policy", "accept"))
    return exposing
