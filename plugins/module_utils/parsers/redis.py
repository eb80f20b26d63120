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
        return f"{found[-1].text()} ({self.path}:{found[-1].line})" if found else f"{name} not set ({self.path})"


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
        directives.append(RedisDirective(words[0].lower(), tuple(words[1:]), number))
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

    @property
    def has_password(self) -> bool:
        return bool(self.passwords) and not self.nopass

    @property
    def plaintext_passwords(self) -> list[str]:
        return [p[1:] for p in self.passwords if p.startswith(">")]

    @property
    def all_keys(self) -> bool:
        return any(p in ("~*", "allkeys", "%RW~*") for p in self.key_patterns)

    def dangerous_grants(self) -> list[str]:
        """Why this user can run dangerous commands (empty when least-privilege)."""
        reasons = []
        if self.all_commands and not self.dangerous_denied:
            reasons.append("+@all")
        for grant in self.granted:
            base = grant[1:].split("|")[0].lower()
            if grant[1:] in BROAD_CATEGORIES - {"@all"} or base in DANGEROUS_COMMANDS:
                reasons.append(grant)
        return reasons


def _apply_rule(user: AclUser, rule: str) -> None:
    lowered = rule.lower()
    if lowered == "on":
        user.enabled = True
    elif lowered == "off":
        user.enabled = False
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
    elif lowered == "reset":
        _reset(user)


def _reset(user: AclUser) -> None:
    fresh = AclUser(user.name, source=user.source)
    for name in ("enabled", "nopass", "passwords", "key_patterns", "all_commands", "dangerous_denied", "granted"):
        setattr(user, name, getattr(fresh, name))


def parse_acl_line(line: str, source: str = "") -> AclUser:
    """``user <name> <rules...>`` (aclfile / redis.conf / ACL LIST) -> AclUser."""
    words = line.split()
    if len(words) < 2 or words[0].lower() != "user":
        raise ParseError(f"not an ACL user line: {line[:60]!r}")
    user = AclUser(words[1], source=source)
    for rule in words[2:]:
        _apply_rule(user, rule)
    return user


def parse_acl_list(text: str, source: str = "ACL LIST") -> list[AclUser]:
    """An aclfile or ``redis-cli ACL LIST`` output -> users (blank lines and comments skipped)."""
    users = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            users.append(parse_acl_line(stripped, f"{source}:{number}"))
        except ParseError as exc:
            raise ParseError(f"{source}:{number}: {exc}") from exc
    return users
