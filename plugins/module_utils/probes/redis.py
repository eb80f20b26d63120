"""Redis facts: redis.conf (with includes), the ACL users, and an unauthenticated PING.

The ACL users are read from the aclfile (or the ``user`` lines of redis.conf) on disk, so
no credential ever has to be passed to redis-cli on a command line (which any local user
could read in /proc). The PING is sent without credentials to learn whether the server
answers unauthenticated clients.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts, ProbeError
from ansible_collections.rampart.hardening.plugins.module_utils.parsers import ParseError
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.redis import (
    AclUser,
    RedisConfig,
    RedisDirective,
    parse_acl_line,
    parse_acl_list,
    parse_redis_conf,
)
from ansible_collections.rampart.hardening.plugins.module_utils.probes import MISSING, intent

DEFAULT_CONFIG = "/etc/redis/redis.conf"
MAX_INCLUDES = 64  # files in all
MAX_INCLUDE_DEPTH = 8


@dataclass
class RedisFacts:
    """Redis facts; an unreadable ACL source makes only the checks that read users error."""

    config: RedisConfig
    config_path: str
    acl_users: list[AclUser] | None
    acl_source: str
    unauthenticated: str | None  # "open", "auth-required" or None when not probed
    files: list[str] = field(default_factory=list)
    acl_error: str | None = None

    @property
    def users(self) -> list[AclUser]:
        if self.acl_users is None:
            raise ProbeError(self.acl_error or "redis ACL users could not be read")
        return self.acl_users

    def user(self, name: str) -> AclUser | None:
        return next((u for u in self.users if u.name == name), None)

    def binds(self) -> list[str]:
        value = self.config.get("bind")
        return value.split() if value else ["*"]  # redis without bind listens everywhere


def _read_config(facts: Facts, path: str) -> tuple[RedisConfig, list[str]]:
    """redis.conf with every include expanded where it stands (the last processed line wins)."""
    text = facts.read_text(path)
    if text is None:
        raise ProbeError(f"redis is installed but {path} does not exist")
    files: list[str] = []
    directives = _expanded(facts, _parse(text, path), files, (path,))
    return RedisConfig(directives, path), files


def _expanded(facts: Facts, config: RedisConfig, files: list[str], chain: tuple[str, ...]) -> list[RedisDirective]:
    """The directives of ``config`` with each ``include`` replaced by the included files' directives.

    Redis 7 semantics: includes nest; a path with wildcards includes the matching files in
    alphabetical order and matching nothing is no error; a plain path that cannot be read stops
    redis-server from starting, so the audit cannot say what it would load (ProbeError).
    """
    files.append(config.path)
    out: list[RedisDirective] = []
    for directive in config.directives:
        if directive.name != "include":
            out.append(directive)
            continue
        pattern = directive.args[0] if directive.args else ""
        where = f"{config.path}:{directive.line}"
        if len(chain) > MAX_INCLUDE_DEPTH:
            raise ProbeError(f"{where}: includes nested deeper than {MAX_INCLUDE_DEPTH} (a loop?)")
        paths = facts.glob(pattern) if any(c in pattern for c in "*?[") else [pattern]
        for included in paths:
            if included in chain:
                raise ProbeError(f"{where}: include loop through {included}")
            text = facts.read_text(included)
            if text is None:
                raise ProbeError(f"{where}: included file {included or '(none)'} cannot be read")
            out += _expanded(facts, _parse(text, included), files, (*chain, included))
        if len(files) > MAX_INCLUDES:
            raise ProbeError(f"{where}: more than {MAX_INCLUDES} included files")
    return out


def _parse(text: str, path: str) -> RedisConfig:
    try:
        return parse_redis_conf(text, path)
    except ParseError as exc:
        raise ProbeError(f"cannot parse {path}: {exc}") from exc


def _users(facts: Facts, config: RedisConfig) -> tuple[list[AclUser], str]:
    aclfile = config.get("aclfile")
    try:
        if aclfile:
            text = facts.read_text(aclfile)
            if text is None:
                raise ProbeError(f"aclfile {aclfile} named in redis.conf does not exist")
            users, source = parse_acl_list(text, aclfile), aclfile
        else:
            lines = config.all("user")
            users = [parse_acl_line(d.text(), f"{d.path or config.path}:{d.line}") for d in lines]
            source = config.path
    except ParseError as exc:
        raise ProbeError(f"cannot parse redis ACL users: {exc}") from exc
    if not any(u.name == "default" for u in users):
        # Redis creates "default" implicitly: on nopass ~* &* +@all. requirepass protects it only
        # without an aclfile: loading one "will cause requirepass to be ignored" (redis.conf).
        default = AclUser("default", enabled=True, nopass=True, key_patterns=["~*"], all_commands=True)
        requirepass = None if aclfile else config.get("requirepass")
        if requirepass:
            default.nopass, default.passwords = False, [">" + requirepass]
        users.insert(0, default)
    return users, source


def _ping(facts: Facts, config: RedisConfig) -> str | None:
    port = config.get("port", "6379") or "6379"
    if port == "0":
        return None  # TLS-only listener: redis-cli would need client TLS settings
    binds = (config.get("bind") or "127.0.0.1").split()
    host = binds[0].lstrip("-")
    host = "127.0.0.1" if host in ("*", "0.0.0.0") else "::1" if host in ("::", "::*") else host
    out = facts.run(("redis-cli", "-h", host, "-p", port, "PING"))
    answer = (out.stdout + out.stderr).upper()
    if out.rc == MISSING:
        return None
    if "PONG" in answer:
        return "open"
    if "NOAUTH" in answer or "WRONGPASS" in answer or "AUTHENTICATION REQUIRED" in answer:
        return "auth-required"
    return None


def present(facts: Facts, config_path: str) -> bool:
    return facts.which("redis-server") or facts.stat(config_path) is not None


def _probe(facts: Facts) -> RedisFacts | None:
    config_path = str(intent(facts, "redis").get("config_file") or DEFAULT_CONFIG)
    if not present(facts, config_path):
        return None
    config, files = _read_config(facts, config_path)
    source = str(config.get("aclfile") or config.path)
    try:
        users: list[AclUser] | None
        users, source = _users(facts, config)
        acl_error = None
    except ProbeError as exc:  # one unreadable item: only the checks that read users error
        users, acl_error = None, str(exc)
    return RedisFacts(config, config_path, users, source, _ping(facts, config), files, acl_error)


def redis(facts: Facts) -> RedisFacts | None:
    """Redis facts, or None when Redis is not installed."""
    return facts.cached("redis", lambda: _probe(facts))
