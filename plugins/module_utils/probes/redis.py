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
    parse_acl_line,
    parse_acl_list,
    parse_redis_conf,
)
from ansible_collections.rampart.hardening.plugins.module_utils.probes import MISSING, intent

DEFAULT_CONFIG = "/etc/redis/redis.conf"
MAX_INCLUDES = 8


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
    text = facts.read_text(path)
    if text is None:
        raise ProbeError(f"redis is installed but {path} does not exist")
    config = _parse(text, path)
    files = [path]
    for include in config.all("include")[:MAX_INCLUDES]:
        extra_path = include.args[0] if include.args else ""
        extra = facts.read_text(extra_path)
        if extra is not None:
            config.directives.extend(_parse(extra, extra_path).directives)
            files.append(extra_path)
    return config, files


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
            users = [parse_acl_line(d.text(), f"{config.path}:{d.line}") for d in lines]
            source = config.path
    except ParseError as exc:
        raise ProbeError(f"cannot parse redis ACL users: {exc}") from exc
    if not any(u.name == "default" for u in users):
        # Redis creates "default" implicitly: on, all commands, protected by requirepass if set.
        default = AclUser("default", enabled=True, nopass=True, key_patterns=["~*"], all_commands=True)
        requirepass = config.get("requirepass")
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
