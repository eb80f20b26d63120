"""Summarise ``nft -j list ruleset`` JSON: tables, chains with hooks and policies, rules.

Rules are reduced to what the checks reason about: the ports they match, whether the
source address is restricted, the verdict, and whether they count or log. Jumps from a
base chain are followed so ufw/docker style chain trees are judged as a whole.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.exposure import nft_world_operand
from ansible_collections.rampart.hardening.plugins.module_utils.parsers import (
    ParseError,
    Unparsed,
    nothing_parsed,
    strict,
)

VERDICTS = ("accept", "drop", "reject", "jump", "goto", "return", "queue")
SERVICE_PORTS = {"ssh": 22, "http": 80, "https": 443, "domain": 53, "postgresql": 5432}
PortRange = tuple[int, int]
# Transport headers: a match on one of their fields (``icmp type echo-request``, ``tcp flags syn``)
# carries nft's implicit protocol dependency, so the rule only ever sees that protocol.
L4_HEADERS = ("tcp", "udp", "udplite", "sctp", "dccp", "icmp", "icmpv6", "igmp", "esp", "ah", "comp")
MAX_JUMP_DEPTH = 8
# Address families as nft names them in payload protocols, meta nfproto and meta protocol.
FAMILIES = {"ip": "ipv4", "ipv4": "ipv4", "ip6": "ipv6", "ipv6": "ipv6"}


@dataclass
class Rule:
    family: str
    table: str
    chain: str
    text: str
    verdict: str | None = None
    target: str | None = None  # chain name of a jump/goto
    dports: list[PortRange] | None = None  # None: any destination port
    protocols: set[str] = field(default_factory=set)
    source_restricted: bool = False
    loopback_only: bool = False
    stateful_only: bool = False  # matches ct state established/related/invalid only
    counter: bool = False
    log: bool = False
    rate_limited: bool = False
    sources: list[Any] = field(default_factory=list)  # saddr operands as nft printed them
    excluded_dports: list[PortRange] = field(default_factory=list)  # tcp dport != { ... }
    families: set[str] = field(default_factory=set)  # {"ipv4"} / {"ipv6"}: meta nfproto, ip/ip6 header fields
    # A condition this summary does not model (meta nfproto ipv6, ip daddr, iifname eth0, a negation,
    # a set nft did not print): the rule matches only some packets, so as a drop it proves nothing.
    unmodelled: bool = False

    def matches_port(self, port: int) -> bool:
        if any(low <= port <= high for low, high in self.excluded_dports):
            return False
        return self.dports is None or any(low <= port <= high for low, high in self.dports)

    @property
    def unconditional(self) -> bool:
        restricted = self.source_restricted or self.loopback_only or self.stateful_only or self.unmodelled
        return self.dports is None and not (self.excluded_dports or self.protocols or self.families or restricted)

    @property
    def sure_drop(self) -> bool:
        """A drop/reject whose every condition is modelled: for a matching port, the packet is gone."""
        return self.verdict in ("drop", "reject") and not (self.unmodelled or self.rate_limited or self.families)

    def accepts_everything(self, family: str | None = None) -> bool:
        """An accept with no condition but (at most) an address family: every packet of ``family``
        (None: of some family) that reaches it is accepted, whatever the chain's policy says."""
        if self.verdict != "accept" or (family is not None and self.families and family not in self.families):
            return False
        restricted = self.source_restricted or self.loopback_only or self.stateful_only or self.unmodelled
        return self.dports is None and not (self.excluded_dports or self.protocols or restricted)


@dataclass
class Chain:
    family: str
    table: str
    name: str
    hook: str | None = None
    policy: str | None = None
    rules: list[Rule] = field(default_factory=list)

    @property
    def label(self) -> str:
        policy = f" policy {self.policy}" if self.policy else ""
        hook = f" hook {self.hook}" if self.hook else ""
        return f"{self.family} {self.table} {self.name}{hook}{policy}"


@dataclass
class Ruleset:
    tables: list[tuple[str, str]]
    chains: list[Chain]

    def chain(self, family: str, table: str, name: str) -> Chain | None:
        return next((c for c in self.chains if (c.family, c.table, c.name) == (family, table, name)), None)

    def base_chains(self, hook: str) -> list[Chain]:
        return [c for c in self.chains if c.hook == hook]

    @property
    def rule_count(self) -> int:
        return sum(len(c.rules) for c in self.chains)

    def reachable_rules(self, chain: Chain, depth: int = 0) -> list[Rule]:
        """Rules of ``chain`` with jumped-to chains' rules inlined (conditions of the jump kept)."""
        out: list[Rule] = []
        for rule in chain.rules:
            out.append(rule)
            if rule.verdict in ("jump", "goto") and rule.target and depth < MAX_JUMP_DEPTH:
                inner = self.chain(chain.family, chain.table, rule.target)
                if inner is not None:
                    out.extend(_narrow(child, rule) for child in self.reachable_rules(inner, depth + 1))
        return out


def _narrow(rule: Rule, jump: Rule) -> Rule:
    """A rule reached through a conditional jump also carries the jump's conditions."""
    return replace(
        rule,
        dports=rule.dports if rule.dports is not None else jump.dports,
        protocols=rule.protocols | jump.protocols,
        source_restricted=rule.source_restricted or jump.source_restricted,
        loopback_only=rule.loopback_only or jump.loopback_only,
        stateful_only=rule.stateful_only or jump.stateful_only,
        rate_limited=rule.rate_limited or jump.rate_limited,
        excluded_dports=[*rule.excluded_dports, *jump.excluded_dports],
        families=rule.families | jump.families,
        unmodelled=rule.unmodelled or jump.unmodelled,
    )


# ----- expression helpers -------------------------------------------------------------------
def _port_value(value: Any) -> list[PortRange]:
    if isinstance(value, bool):
        raise ParseError(f"unexpected port value {value!r}")
    if isinstance(value, int):
        return [(value, value)]
    if isinstance(value, str) and value in SERVICE_PORTS:
        return [(SERVICE_PORTS[value], SERVICE_PORTS[value])]
    if isinstance(value, dict) and "range" in value:
        low, high = value["range"]
        return [(int(low), int(high))]
    if isinstance(value, dict) and "set" in value:
        ports: list[PortRange] = []
        for item in value["set"]:
            ports.extend(_port_value(item))
        return ports
    if isinstance(value, dict) and isinstance(value.get("elem"), dict):  # {"elem": {"val": 22, "counter": ...}}
        return _port_value(value["elem"].get("val"))
    return []  # something unknown: no precise ports


_RENDERERS: dict[str, Any] = {
    "payload": lambda v: f"{v.get('protocol', '')} {v.get('field', '')}".strip(),
    "meta": lambda v: str(v.get("key")),
    "ct": lambda v: f"ct {v.get('key')}",
    "set": lambda v: "{ " + ", ".join(_describe(item) for item in v) + " }",
    "range": lambda v: "-".join(_describe(item) for item in v),
    "prefix": lambda v: f"{v.get('addr')}/{v.get('len')}",
}


def _describe(value: Any) -> str:
    """A short nft-like rendering of an expression operand, for evidence."""
    if isinstance(value, dict):
        key = next(iter(value), "?")
        renderer = _RENDERERS.get(key)
        return renderer(value[key]) if renderer else str(key)
    if isinstance(value, list):
        return ",".join(_describe(v) for v in value)
    return str(value)


def _dport_match(rule: Rule, right: Any, op: str, named: dict[str, list[Any]]) -> None:
    """``tcp dport 22`` / ``{ 22, 80 }`` / ``1000-2000`` / ``@set`` / ``!= { ... }``."""
    if isinstance(right, str) and right.startswith("@"):
        right = {"set": named[right[1:]]} if right[1:] in named else None
    ports = _port_value(right)
    if not ports:
        rule.unmodelled = True  # a set nft did not print, or an operand we cannot read: which ports?
    elif op in ("==", "in"):
        rule.dports = ports
    elif op == "!=":
        rule.excluded_dports.extend(ports)
    else:
        rule.unmodelled = True  # < > <= >=


def _apply_match(rule: Rule, match: dict[str, Any], words: list[str], named: dict[str, list[Any]]) -> None:
    """Fold one ``match`` into the rule summary; what is not modelled marks the rule ``unmodelled``."""
    left, right, op = match.get("left"), match.get("right"), match.get("op", "==")
    words.append(f"{_describe(left)} {'' if op in ('==', 'in') else op + ' '}{_describe(right)}")
    if not isinstance(left, dict):
        rule.unmodelled = True
        return
    payload, meta = left.get("payload") or {}, left.get("meta") or {}
    positive = op in ("==", "in")
    if payload.get("protocol") in L4_HEADERS:
        rule.protocols.add(payload["protocol"])
    if payload.get("protocol") in FAMILIES:  # ip saddr ... only ever matches IPv4 (nft's implicit dependency)
        rule.families.add(FAMILIES[payload["protocol"]])
    if payload.get("field") == "dport":
        _dport_match(rule, right, op, named)
    elif payload.get("field") in ("protocol", "nexthdr") and positive and isinstance(right, str):
        rule.protocols.add(right)  # ip protocol icmp / ip6 nexthdr ipv6-icmp
    elif payload.get("field") == "saddr" and positive:
        rule.source_restricted = True  # until _judge_sources finds every saddr operand world-open
        rule.sources.append(right)
    elif meta.get("key") in ("iifname", "iif") and positive and right == "lo":
        rule.loopback_only = True
    elif meta.get("key") in ("nfproto", "protocol") and positive and right in FAMILIES:
        rule.families.add(FAMILIES[right])  # meta nfproto ipv6 / meta protocol ip6
    elif meta.get("key") == "l4proto" and positive and isinstance(right, str):
        rule.protocols.add(right)
    elif "ct" in left and left["ct"].get("key") == "state" and positive:
        states = set(right) if isinstance(right, list) else {right}
        rule.stateful_only = "new" not in states and "untracked" not in states
    elif not (payload.get("protocol") in L4_HEADERS and payload.get("field") in ("type", "code") and positive):
        rule.unmodelled = True  # icmp type x: the protocol is recorded; a tcp port cannot match it


def _verdict_of(body: Any) -> tuple[str, str | None]:
    """``{"accept": null}`` / ``{"jump": {"target": "x"}}`` -> (verdict, jump target)."""
    if not isinstance(body, dict) or len(body) != 1:
        raise ParseError(f"vmap element has no verdict: {body!r}")
    verdict, detail = next(iter(body.items()))
    if verdict not in (*VERDICTS, "continue"):
        raise ParseError(f"unknown vmap verdict {verdict!r}")
    return verdict, detail.get("target") if isinstance(detail, dict) else None


def _vmap_elements(body: Any, maps: dict[str, list[Any]]) -> list[tuple[Any, Any]]:
    """(key value, verdict) pairs of a ``vmap`` statement: an anonymous ``{"set": [[k, v], ...]}``
    or a named ``"@map"`` (resolved through ``maps``, the named verdict maps of the rule's table)."""
    if not isinstance(body, dict) or "key" not in body:
        raise ParseError(f"vmap without key/data: {body!r}")
    data = body.get("data")
    if isinstance(data, str) and data.startswith("@"):
        if data[1:] not in maps:
            raise ParseError(f"vmap {data}: no such verdict map in the ruleset")
        elements = maps[data[1:]]
    elif isinstance(data, dict) and isinstance(data.get("set"), list):
        elements = data["set"]
    else:
        raise ParseError(f"vmap data is neither a set nor a named map: {data!r}")
    pairs = []
    for element in elements:
        if not isinstance(element, list) or len(element) != 2:
            raise ParseError(f"vmap element is not [key, verdict]: {element!r}")
        key = element[0]
        if isinstance(key, dict) and isinstance(key.get("elem"), dict):  # {"elem": {"val": k, "counter": ...}}
            key = key["elem"].get("val")
        pairs.append((key, element[1]))
    return pairs


def _vmap_rules(rule: Rule, words: list[str], body: dict[str, Any], maps: dict[str, list[Any]]) -> list[Rule]:
    """A ``vmap`` is one rule per element: "key == element -> verdict" (the nftables wiki's server
    ruleset accepts its ports this way: ``tcp dport vmap { 22 : accept, 5432 : accept }``). Every
    element becomes a copy of the rule so far with the element's match and verdict applied, so
    port, source and ct-state judgement treat it like the equivalent plain rule."""
    left = body["key"]
    out = []
    for value, verdict_body in _vmap_elements(body, maps):
        element = replace(rule, protocols=set(rule.protocols), sources=list(rule.sources))
        element_words = list(words)
        if isinstance(left, dict) and "concat" in left:  # ip saddr . tcp dport vmap { 0.0.0.0/0 . 27017 : accept }
            keys = left["concat"]
            values = value.get("concat") if isinstance(value, dict) else None
            if not isinstance(keys, list) or not isinstance(values, list) or len(keys) != len(values):
                raise ParseError(f"vmap element {value!r} does not match its concatenated key")
            pairs = list(zip(keys, values, strict=True))
        else:
            pairs = [(left, value)]
        for key, item in pairs:
            _apply_match(element, {"left": key, "right": item, "op": "=="}, element_words, maps)
        element.verdict, element.target = _verdict_of(verdict_body)
        element.text = " ".join([*element_words, element.verdict + (f" {element.target}" if element.target else "")])
        out.append(element)
    return out


def parse_rule(raw: dict[str, Any], named: dict[str, list[Any]] | None = None) -> list[Rule]:
    """One ``rule`` item -> the rules it amounts to: itself, or one per element of its verdict map.
    ``named``: the elements of the named sets and maps of the rule's table (``@name`` operands)."""
    named = named or {}
    rule = Rule(str(raw.get("family")), str(raw.get("table")), str(raw.get("chain")), "")
    words: list[str] = []
    expressions = raw.get("expr") or []
    if not isinstance(expressions, list):
        raise ParseError("rule 'expr' is not a list")
    for expression in expressions:
        if not isinstance(expression, dict):
            raise ParseError(f"unexpected rule expression {expression!r}")
        for key, body in expression.items():
            if key == "match":
                _apply_match(rule, body, words, named)
            elif key == "vmap":  # a verdict statement: it ends the rule
                return _vmap_rules(rule, words, body, named)
            elif key in VERDICTS:
                rule.verdict = key
                rule.target = body.get("target") if isinstance(body, dict) else None
                words.append(key + (f" {rule.target}" if rule.target else ""))
            elif key in ("counter", "log"):
                setattr(rule, key, True)
                words.append(key)
            elif key in ("limit", "meter") or (key == "set" and isinstance(body, dict) and body.get("stmt")):
                rule.rate_limited = True
                words.append(key)
            else:
                words.append(key)
    rule.text = " ".join(words)
    return [rule]


def _chain_of(raw: Any) -> tuple[str, str, str] | None:
    if isinstance(raw, dict) and all(isinstance(raw.get(k), str) for k in ("family", "table", "name")):
        return raw["family"], raw["table"], raw["name"]
    return None


def _add_item(
    item: Any,
    tables: list[tuple[str, str]],
    chains: dict[tuple[str, str, str], Chain],
    maps: dict[tuple[str, str], dict[str, list[Any]]],
) -> None:
    """Fold one ``nftables`` list item into tables/chains; ParseError when it is unusable."""
    if not isinstance(item, dict):
        raise ParseError("not a JSON object")
    if "table" in item:
        raw = item["table"]
        if not isinstance(raw, dict) or not isinstance(raw.get("family"), str) or not isinstance(raw.get("name"), str):
            raise ParseError("table without family/name")
        tables.append((raw["family"], raw["name"]))
    elif "chain" in item:
        key = _chain_of(item["chain"])
        if key is None:
            raise ParseError("chain without family/table/name")
        chains[key] = Chain(*key, hook=item["chain"].get("hook"), policy=item["chain"].get("policy"))
    elif "rule" in item:
        if not isinstance(item["rule"], dict):
            raise ParseError("rule is not an object")
        raw = item["rule"]
        family, table = str(raw.get("family")), str(raw.get("table"))
        chain = chains.get((family, table, str(raw.get("chain"))))
        if chain is None:
            raise ParseError(f"rule for unknown chain {family} {table} {raw.get('chain')}")
        chain.rules.extend(parse_rule(raw, maps.get((family, table), {})))


def _item_key(item: Any) -> str | None:
    body = next(iter(item.values()), None) if isinstance(item, dict) and len(item) == 1 else None
    if isinstance(body, dict) and body.get("family") and body.get("table"):
        return " ".join(str(body[k]) for k in ("family", "table", "chain", "name") if body.get(k))
    return None


def parse_ruleset_lenient(text: str) -> tuple[Ruleset, list[Unparsed]]:
    """``nft -j list ruleset`` stdout -> (:class:`Ruleset`, items skipped).

    The document must be JSON (the text format ``table inet filter {`` is refused whole: this
    nft has no JSON support); inside it, an item that cannot be understood is skipped and named
    (by its chain when it has one) while the rest of the ruleset is still judged.
    """
    if text.lstrip().startswith(("table ", "#")):
        raise ParseError("nft printed its text format, not JSON (nft without JSON support?)")
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ParseError(f"nft -j output is not valid JSON: {exc}") from exc
    items = document.get("nftables") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise ParseError("nft -j output has no 'nftables' list")
    tables: list[tuple[str, str]] = []
    chains: dict[tuple[str, str, str], Chain] = {}
    unparsed: list[Unparsed] = []
    sets, maps = _named_sets(items), _named_sets(items, "map")
    named = {key: {**sets.get(key, {}), **maps.get(key, {})} for key in {*sets, *maps}}
    for number, item in enumerate(items, 1):
        try:
            _add_item(item, tables, chains, named)
        except (ParseError, TypeError, ValueError, KeyError, AttributeError) as exc:
            unparsed.append(Unparsed("nft -j item", number, json.dumps(item)[:200], str(exc), _item_key(item)))
    nothing_parsed(len(tables) + len(chains), unparsed)
    _judge_sources(chains.values(), sets)  # issue 20: saddr 0.0.0.0/0 restricts nothing
    return Ruleset(tables, list(chains.values())), unparsed


def parse_ruleset(text: str) -> Ruleset:
    """``nft -j list ruleset`` stdout -> :class:`Ruleset` (any unusable item raises)."""
    rules, unparsed = parse_ruleset_lenient(text)
    strict(unparsed)
    return rules


# ----- issue 20: a saddr that admits every address restricts nothing (NET-04) ---------------
def _named_sets(items: list[Any], kind: str = "set") -> dict[tuple[str, str], dict[str, list[Any]]]:
    """Elements of the named sets (or maps), per (family, table): ``ip saddr @name`` is judged by
    them, ``tcp dport vmap @name`` is expanded from them."""
    sets: dict[tuple[str, str], dict[str, list[Any]]] = {}
    for item in items:
        body = item.get(kind) if isinstance(item, dict) else None
        if isinstance(body, dict) and "name" in body:
            elements = body.get("elem") or []
            table = sets.setdefault((str(body.get("family")), str(body.get("table"))), {})
            table[str(body["name"])] = elements if isinstance(elements, list) else [elements]
    return sets


def _judge_sources(chains: Any, sets: dict[tuple[str, str], dict[str, list[Any]]]) -> None:
    """A saddr match restricts only when its operand is not world-open (0.0.0.0/0, ::/0, a set holding one)."""
    for chain in chains:
        for rule in chain.rules:
            if rule.sources:
                named = sets.get((rule.family, rule.table), {})
                rule.source_restricted = not all(nft_world_operand(s, named) for s in rule.sources)
