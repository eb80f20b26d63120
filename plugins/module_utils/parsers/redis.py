"""Parse redis.conf directives and ACL rules (aclfile lines, ``user`` directives, ACL LIST)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from ansible_collections.rampart.hardening.plugins.module_utils.parsers import ParseError

# Commands an application user should never hold (subset of @dangerous that matters most).
DANGEROUS_COMMANDS = frozenset(
    {
        "acl",
        "bgrewriteaof",
        "bgsave",
        "cluster",
        "config",
        "debug",
        "failover",
        "flushall",
        "flushdb",
        "keys",
        "migrate",
        "module",
        "monitor",
        "replicaof",
        "restore",
        "save",
        "shutdown",
        "slaveof",
        "swapdb",
        "sync",
        "psync",
        "replconf",
    }
)
BROAD_CATEGORIES = frozenset({"@all", "@dangerous", "@admin"})


@dataclass(frozen=True)
class RedisDirective:
    name: str
    args: tuple[str, ...]
    line: int
    path: str = ""  # the file it comes from (an included file's directives keep their own)

    def text(self) -> str:
        return " ".join((self.name, *self.args))


@dataclass
class RedisConfig:
    directives: list[RedisDirective]
    path: str = "redis.conf"

    def all(self, name: str) -> list[RedisDirective]:
        return [d for d in self.directives if d.name == name]

    def get(self, name: str, default: str | None = None) -> str | None:
        """Last value of a single-valued directive (redis applies the last one)."""
        found = self.all(name)
        return " ".join(found[-1].args) if found else default

    def evidence(self, name: str) -> str:
        found = self.all(name)
        if not found:
            return f"{name} not set ({self.path})"
        return f"{found[-1].text()} ({found[-1].path or self.path}:{found[-1].line})"


def parse_redis_conf(text: str, path: str = "redis.conf") -> RedisConfig:
    """redis.conf content -> directives (names lower-cased, quotes removed)."""
    directives = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            words = shlex.split(stripped, posix=True)
        except ValueError as exc:
            raise ParseError(f"{path}:{number}: {exc}") from exc
        if not words[0].replace("-", "").isalnum():
            raise ParseError(f"{path}:{number}: not a redis directive: {stripped[:60]!r}")
        directives.append(RedisDirective(words[0].lower(), tuple(words[1:]), number, path))
    return RedisConfig(directives, path)


@dataclass
class AclUser:
    name: str
    enabled: bool = False
    nopass: bool = False
    passwords: list[str] = field(default_factory=list)  # ">plain" or "#sha256" entries
    key_patterns: list[str] = field(default_factory=list)
    all_commands: bool = False
    dangerous_denied: bool = False
    granted: list[str] = field(default_factory=list)  # +@category / +command grants
    source: str = ""
    # Redis 7 selectors "(~keys +cmds)": a command is allowed when the root permissions OR any
    # selector allow it, so each selector is judged like the root permissions.
    selectors: list[AclUser] = field(default_factory=list)

    @property
    def has_password(self) -> bool:
        return bool(self.passwords) and not self.nopass

    @property
    def plaintext_passwords(self) -> list[str]:
        return [p[1:] for p in self.passwords if p.startswith(">")]

    @property
    def all_keys(self) -> bool:
        """Root permissions or a selector reach every key (``~*``, ``allkeys``, ``%R~*``... any case)."""
        return any(_all_keys_pattern(p) for p in self.key_patterns) or any(s.all_keys for s in self.selectors)

    def dangerous_grants(self) -> list[str]:
        """Why this user can run dangerous commands (empty when least-privilege), selectors included."""
        reasons = []
        if self.all_commands and not self.dangerous_denied:
            reasons.append("+@all")
        for grant in self.granted:
            name = grant[1:].lower()  # Redis matches categories and commands case-insensitively
            if name in BROAD_CATEGORIES - {"@all"} or name.split("|")[0] in DANGEROUS_COMMANDS:
                reasons.append(grant)
        for selector in self.selectors:
            reasons += [f"{grant} (in selector {selector.source})" for grant in selector.dangerous_grants()]
        return reasons


def _all_keys_pattern(pattern: str) -> bool:
    """``allkeys``, ``~*`` or ``%R~*`` / ``%W~*`` / ``%RW~*``: the pattern admits every key."""
    lowered = pattern.lower()
    return lowered == "allkeys" or (lowered.startswith(("~", "%")) and lowered.split("~", 1)[-1] == "*")


def _apply_rule(user: AclUser, rule: str) -> None:
    lowered = rule.lower()
    if lowered in ("on", "off"):
        user.enabled = lowered == "on"
    elif lowered == "nopass":
        user.nopass, user.passwords = True, []
    elif lowered == "resetpass":
        user.nopass, user.passwords = False, []
    elif rule.startswith((">", "#")):
        user.passwords.append(rule)
        user.nopass = False
    elif rule.startswith(("~", "%")) or lowered in ("allkeys", "resetkeys"):
        user.key_patterns = [] if lowered == "resetkeys" else [*user.key_patterns, rule]
    elif lowered in ("+@all", "allcommands"):
        user.all_commands, user.dangerous_denied = True, False
    elif lowered in ("-@all", "nocommands"):
        user.all_commands, user.granted = False, []
    elif lowered == "-@dangerous":
        user.dangerous_denied = True
        user.granted = [g for g in user.granted if g[1:].lower() != "@dangerous"]
    elif rule.startswith("+"):
        user.granted.append(rule)
    elif rule.startswith("-"):
        user.granted = [g for g in user.granted if g[1:].lower() != rule[1:].lower()]
    elif lowered == "clearselectors":
        user.selectors = []
    elif lowered == "reset":  # reset = resetpass resetkeys resetchannels off clearselectors -@all
        _reset(user)


def _reset(user: AclUser) -> None:
    fresh = AclUser(user.name, source=user.source)
    for name in (
        "enabled",
        "nopass",
        "passwords",
        "key_patterns",
        "all_commands",
        "dangerous_denied",
        "granted",
        "selectors",
    ):
        setattr(user, name, getattr(fresh, name))


def _rules(words: list[str], line: str) -> list[str | list[str]]:
    """ACL words -> rules, a selector ``(~k +c ...)`` (spread over words) as one list of its rules.

    Like ACLMergeSelectorArguments: a word starting with ``(`` opens a selector that the next word
    ending with ``)`` closes; an unclosed, stray or nested parenthesis is refused (so is the file
    by redis-server).
    """
    rules: list[str | list[str]] = []
    current: list[str] | None = None
    for word in words:
        opens, closes = word.startswith("("), word.endswith(")")
        inner = word[1 if opens else 0 : len(word) - 1 if closes else len(word)]
        stray_close = closes and not opens and current is None
        if (opens and current is not None) or "(" in inner or ")" in inner or stray_close:
            raise ParseError(f"unbalanced selector parenthesis in ACL rule {word!r}: {line[:60]!r}")
        if opens:
            current = []
        if current is None:
            rules.append(word)
            continue
        current += [inner] if inner else []
        if closes:
            rules.append(current)
            current = None
    if current is not None:
        raise ParseError(f"unclosed selector parenthesis in ACL rules: {line[:60]!r}")
    return rules


def parse_acl_line(line: str, source: str = "") -> AclUser:
    """``user <name> <rules...>`` (aclfile / redis.conf / ACL LIST) -> AclUser (selectors included)."""
    words = line.split()
    if len(words) < 2 or words[0].lower() != "user":
        raise ParseError(f"not an ACL user line: {line[:60]!r}")
    user = AclUser(words[1], source=source)
    for rule in _rules(words[2:], line):
        if isinstance(rule, list):
            selector = AclUser(words[1], source=f"({' '.join(rule)})")
            for inner in rule:
                _apply_rule(selector, inner)
            user.selectors.append(selector)
        else:
            _apply_rule(user, rule)
    return user


def parse_acl_list(text: str, source: str = "ACL LIST") -> list[AclUser]:
    """An aclfile or ``redis-cli ACL LIST`` output -> users (blank lines and comments skipped)."""
    users: list[AclUser] = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            user = parse_acl_line(stripped, f"{source}:{number}")
        except ParseError as exc:
            raise ParseError(f"{source}:{number}: {exc}") from exc
        if any(u.name == user.name for u in users):
            # acl.c: "Duplicate user found" -> the whole file is refused (redis-server will not start).
            raise ParseError(f"{source}:{number}: duplicate user {user.name!r}: redis refuses the file")
        users.append(user)
    return users
