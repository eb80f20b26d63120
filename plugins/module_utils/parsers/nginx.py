"""Parse ``nginx -T`` output into a tree of directives, with nginx's inheritance rules.

``nginx -T`` prints every file nginx read, each after a ``# configuration file <path>:``
header. ``include`` directives stay unexpanded inside each file, so the parser expands
them itself by matching the include pattern against the dumped files, in sorted order
as nginx's glob does. The result is one tree (main -> http -> server -> location ...).

Inheritance (nginx "array" directives such as ``add_header``, ``limit_req``,
``proxy_set_header``): a level that declares the directive at least once REPLACES the
whole set inherited from its parent; :meth:`Context.nearest` implements exactly that,
and for single-valued directives the last occurrence at that level wins.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Union

from ansible_collections.rampart.hardening.plugins.module_utils.parsers import ParseError

FILE_HEADER = re.compile(r"^# configuration file (?P<path>\S.*):$")
MAX_INCLUDE_DEPTH = 16
# Blocks whose body is not nginx syntax (Lua code): skipped as raw text.
RAW_BLOCK_SUFFIX = "_by_lua_block"


@dataclass
class Directive:
    """One nginx directive; ``children`` is a list for block directives, None otherwise."""

    name: str
    args: tuple[str, ...]
    file: str
    line: int
    children: list[Directive] | None = None

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    def text(self) -> str:
        """The directive as written (without its block), for evidence."""
        return " ".join((self.name, *self.args)).strip()

    def evidence(self) -> str:
        return f"{self.text()} ({self.where})"

    def find(self, name: str) -> list[Directive]:
        """Direct children called ``name``."""
        return [child for child in self.children or () if child.name == name]


@dataclass(frozen=True)
class Listen:
    """One ``listen`` of a server."""

    address: str
    port: int
    ssl: bool
    default_server: bool
    directive: Directive | None
    quic: bool = False  # HTTP/3: a UDP socket of its own, always TLS 1.3

    @property
    def socket(self) -> str:
        return f"{self.address}:{self.port}" + ("/quic" if self.quic else "")


@dataclass
class Context:
    """A position in the tree: the chain of blocks from ``http`` to the innermost block."""

    chain: tuple[Directive, ...]

    @property
    def block(self) -> Directive:
        return self.chain[-1]

    @property
    def server(self) -> Directive | None:
        return next((d for d in reversed(self.chain) if d.name == "server"), None)

    @property
    def location(self) -> Directive | None:
        return next((d for d in reversed(self.chain) if d.name == "location"), None)

    def nearest(self, name: str) -> list[Directive]:
        """Directives ``name`` in effect here: those of the innermost level that has any."""
        for block in reversed(self.chain):
            found = block.find(name)
            if found:
                return found
        return []

    def nearest_any(self, names: tuple[str, ...]) -> list[Directive]:
        """Like :meth:`nearest` for directives that share one list (``allow``/``deny``): the
        innermost level declaring ANY of ``names`` replaces the whole parent list, in file order."""
        for block in reversed(self.chain):
            found = [child for child in block.children or () if child.name in names]
            if found:
                return found
        return []

    def value(self, name: str) -> Directive | None:
        """The effective single-valued directive ``name`` (last one at the nearest level)."""
        found = self.nearest(name)
        return found[-1] if found else None

    def child(self, block: Directive) -> Context:
        return Context((*self.chain, block))

    def label(self) -> str:
        """Human name of the context, e.g. ``server app.example.test location /admin/``."""
        parts = []
        for block in self.chain:
            if block.name in ("main", "http"):
                continue
            if block.name == "stream":
                parts.append("stream")
            elif block.name == "server":
                names = [a for d in block.find("server_name") for a in d.args]
                parts.append("server " + (" ".join(names) if names else f"@{block.where}"))
            else:
                parts.append(" ".join((block.name, *block.args)))
        return " ".join(parts) or "http"


@dataclass
class NginxConfig:
    """The parsed dump: files in dump order and the include-expanded tree."""

    files: list[str]
    main: Directive
    raw: dict[str, list[Directive]] = field(default_factory=dict)

    @property
    def http(self) -> Directive | None:
        found = self.main.find("http")
        return found[0] if found else None

    @property
    def prefix(self) -> str:
        """nginx's conf prefix: the directory of the main configuration file."""
        return posixpath.dirname(self.files[0]) if self.files else "/etc/nginx"

    def file_path(self, value: str) -> str:
        """A file argument as nginx opens it.

        ssl_certificate, ssl_certificate_key, ssl_dhparam, auth_basic_user_file, include ...
        resolve a relative path under the conf prefix (ngx_conf_full_name with conf_prefix),
        not the working directory: ``ssl_certificate ssl/app.crt;`` is /etc/nginx/ssl/app.crt.
        Paths holding variables are resolved at request time and returned unchanged.
        """
        if not value or value.startswith("/") or "$" in value:
            return value
        return posixpath.join(self.prefix, value)

    def http_context(self) -> Context | None:
        http = self.http
        return Context((self.main, http)) if http is not None else None

    def servers(self) -> list[Context]:
        """Every ``server`` of the http block, in order."""
        http = self.http_context()
        if http is None:
            return []
        return [http.child(server) for server in http.block.find("server")]

    def stream_servers(self) -> list[Context]:
        """Every ``server`` of the stream block(s): TCP/UDP proxies that may terminate TLS
        (ngx_stream_ssl_module takes the same ssl_* directives and ``listen ... ssl``)."""
        return [
            Context((self.main, stream, server))
            for stream in self.main.find("stream")
            for server in stream.find("server")
        ]

    def walk(self) -> Iterator[Directive]:
        """Every directive of the expanded tree, depth first."""
        stack = [self.main]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children or []))


# ----- tokenizer --------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    value: str
    line: int
    quoted: bool = False


def _read_quoted(text: str, pos: int, line: int) -> tuple[str, int, int]:
    quote = text[pos]
    pos += 1
    out = []
    while pos < len(text):
        char = text[pos]
        if char == "\\" and pos + 1 < len(text):
            out.append(text[pos + 1])
            pos += 2
            continue
        if char == quote:
            return "".join(out), pos + 1, line
        if char == "\n":
            line += 1
        out.append(char)
        pos += 1
    raise ParseError(f"line {line}: unterminated quoted string")


def _read_word(text: str, pos: int) -> tuple[str, int]:
    out = []
    while pos < len(text):
        char = text[pos]
        if char.isspace() or char in ";{}":
            # "${var}" keeps its braces: they are part of the word, not a block.
            if char == "{" and out and out[-1] == "$":
                end = text.find("}", pos)
                if end < 0:
                    raise ParseError("unterminated ${variable}")
                out.append(text[pos : end + 1])
                pos = end + 1
                continue
            break
        if char == "\\" and pos + 1 < len(text):
            out.append(text[pos : pos + 2])
            pos += 2
            continue
        out.append(char)
        pos += 1
    return "".join(out), pos


def tokenize(text: str) -> list[Token]:
    """Split nginx config text into words, quoted strings and ``; { }``; comments dropped."""
    tokens: list[Token] = []
    pos, line = 0, 1
    while pos < len(text):
        char = text[pos]
        if char == "\n":
            line += 1
            pos += 1
        elif char.isspace():
            pos += 1
        elif char == "#":
            end = text.find("\n", pos)
            pos = len(text) if end < 0 else end
        elif char in ";{}":
            tokens.append(Token(char, line))
            pos += 1
        elif char in "\"'":
            start_line = line
            value, pos, line = _read_quoted(text, pos, line)
            tokens.append(Token(value, start_line, quoted=True))
        else:
            value, pos = _read_word(text, pos)
            tokens.append(Token(value, line))
    return tokens


# ----- statements -------------------------------------------------------------------------
class _Parser:
    def __init__(self, tokens: list[Token], path: str) -> None:
        self.tokens = tokens
        self.path = path
        self.pos = 0

    def parse_block(self, closing: bool) -> list[Directive]:
        statements: list[Directive] = []
        words: list[Token] = []
        while self.pos < len(self.tokens):
            token = self.tokens[self.pos]
            self.pos += 1
            if token.quoted or token.value not in ";{}":
                words.append(token)
                continue
            if token.value == "}":
                if words:
                    raise ParseError(f"{self.path}:{token.line}: unexpected '}}' after {words[0].value!r}")
                if not closing:
                    raise ParseError(f"{self.path}:{token.line}: unexpected '}}'")
                return statements
            if not words:
                raise ParseError(f"{self.path}:{token.line}: unexpected {token.value!r}")
            statements.append(self._statement(words, token.value == "{"))
            words = []
        if words:
            raise ParseError(f"{self.path}: unexpected end of file after {words[0].value!r}: expecting ';' or '}}'")
        if closing:
            raise ParseError(f"{self.path}: unexpected end of file, expecting '}}'")
        return statements

    def _statement(self, words: list[Token], opens_block: bool) -> Directive:
        name = words[0].value
        directive = Directive(name, tuple(w.value for w in words[1:]), self.path, words[0].line)
        if opens_block:
            directive.children = self._skip_raw() if name.endswith(RAW_BLOCK_SUFFIX) else self.parse_block(True)
        return directive

    def _skip_raw(self) -> list[Directive]:
        depth = 1
        while self.pos < len(self.tokens) and depth:
            value = self.tokens[self.pos].value
            if not self.tokens[self.pos].quoted:
                depth += {"{": 1, "}": -1}.get(value, 0)
            self.pos += 1
        if depth:
            raise ParseError(f"{self.path}: unexpected end of file in a Lua block")
        return []


def parse_text(text: str, path: str = "<string>") -> list[Directive]:
    """Parse one file's content into statements (includes not expanded)."""
    return _Parser(tokenize(text), path).parse_block(closing=False)


def split_dump(text: str) -> dict[str, str]:
    """``nginx -T`` output -> {path: content} in dump order."""
    files: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        header = FILE_HEADER.match(line)
        if header:
            current = files.setdefault(header.group("path"), [])
        elif current is not None:
            current.append(line)
    if not files:
        raise ParseError("no '# configuration file <path>:' header found: not nginx -T output")
    return {path: "\n".join(lines) for path, lines in files.items()}


def _glob_regex(pattern: str) -> re.Pattern[str]:
    # nginx uses glob(3): '*' never crosses a '/'.
    translated = fnmatch.translate(pattern).replace(".*", "[^/]*")
    return re.compile(translated)


class _Expander:
    def __init__(self, raw: dict[str, list[Directive]], conf_dir: str) -> None:
        self.raw = raw
        self.conf_dir = conf_dir

    def matches(self, pattern: str) -> list[str]:
        absolute = pattern if pattern.startswith("/") else posixpath.join(self.conf_dir, pattern)
        if not any(char in absolute for char in "*?["):
            return [absolute] if absolute in self.raw else []
        regex = _glob_regex(absolute)
        return sorted(path for path in self.raw if regex.fullmatch(path))

    def expand(self, statements: list[Directive], depth: int) -> list[Directive]:
        if depth > MAX_INCLUDE_DEPTH:
            raise ParseError("include nesting deeper than 16 levels (include loop?)")
        out: list[Directive] = []
        for statement in statements:
            if statement.name == "include" and statement.children is None and statement.args:
                for path in self.matches(statement.args[0]):
                    out.extend(self.expand(self.raw[path], depth + 1))
                continue
            copy = Directive(statement.name, statement.args, statement.file, statement.line)
            if statement.children is not None:
                copy.children = self.expand(statement.children, depth)
            out.append(copy)
        return out


def build_config(contents: dict[str, str]) -> NginxConfig:
    """{path: content} (the main file first) -> an include-expanded :class:`NginxConfig`.

    Relative include patterns resolve against the main file's directory (nginx's conf
    prefix, /etc/nginx on Debian); globs expand in sorted order, as nginx's glob(3) does.
    """
    if not contents:
        raise ParseError("no nginx configuration file to parse")
    raw = {path: parse_text(content, path) for path, content in contents.items()}
    main_path = next(iter(raw))
    expander = _Expander(raw, posixpath.dirname(main_path))
    main = Directive("main", (), main_path, 0, expander.expand(raw[main_path], 0))
    return NginxConfig(files=list(raw), main=main, raw=raw)


def parse_dump(text: str) -> NginxConfig:
    """Parse ``nginx -T`` stdout into an include-expanded :class:`NginxConfig`."""
    if not isinstance(text, str) or not text.strip():
        raise ParseError("empty nginx -T output")
    return build_config(split_dump(text))


def include_patterns(statements: list[Directive]) -> list[str]:
    """Arguments of every ``include`` in these statements, in any context (http, server, ...)."""
    found: list[str] = []
    stack = list(reversed(statements))
    while stack:
        node = stack.pop()
        if node.name == "include" and node.children is None and node.args:
            found.append(node.args[0])
        stack.extend(reversed(node.children or []))
    return found


def resolve_include(pattern: str, conf_dir: str) -> str:
    """An include pattern as an absolute path (relative ones under the conf prefix)."""
    return pattern if pattern.startswith("/") else posixpath.join(conf_dir, pattern)


def is_glob(pattern: str) -> bool:
    return any(char in pattern for char in "*?[")


# ----- helpers for checks -----------------------------------------------------------------
def parse_listen(directive: Directive) -> Listen | None:
    """A ``listen`` directive -> Listen (None for unix sockets)."""
    if not directive.args:
        return None
    target, flags = directive.args[0], set(directive.args[1:])
    if target.startswith("unix:"):
        return None
    address, port = "*", 80
    if target.isdigit():
        port = int(target)
    elif target.startswith("["):
        host, _unused, rest = target.partition("]")
        address = host + "]"
        port = int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else 80
    elif ":" in target:
        host, _unused, port_text = target.rpartition(":")
        address = host
        port = int(port_text) if port_text.isdigit() else 80
    else:
        address = target
    default = bool(flags & {"default_server", "default"})
    return Listen(_canonical_address(address), port, "ssl" in flags, default, directive, quic="quic" in flags)


def _canonical_address(address: str) -> str:
    """One spelling per socket address: nginx binds ``listen 80``, ``*:80`` and ``0.0.0.0:80``
    to the same INADDR_ANY socket, and ``[::]``, ``[::0]`` or ``[0:0:0:0:0:0:0:0]`` to the same
    in6addr_any one (ngx_parse_url reads them into one sockaddr), so they share a default server.
    IPv6 literals are compressed; host names are left as written."""
    if address == "0.0.0.0":
        return "*"
    if address.startswith("[") and address.endswith("]"):
        try:
            return f"[{ipaddress.IPv6Address(address[1:-1]).compressed}]"
        except ValueError:
            return address
    return address


def listens(server: Directive) -> list[Listen]:
    """The server's listens; a server without any listens on ``*:80`` (nginx's default)."""
    found = [parse_listen(d) for d in server.find("listen")]
    result = [item for item in found if item is not None]
    if not server.find("listen"):
        result.append(Listen("*", 80, False, False, None))
    return result


def server_names(server: Directive) -> list[str]:
    return [name for d in server.find("server_name") for name in d.args]


def flag(directive: Directive | None) -> bool | None:
    """The value of an on/off directive: True, False, or None when unset or neither.

    nginx compares on/off case-insensitively (ngx_conf_set_flag_slot uses ngx_strcasecmp),
    so ``autoindex ON;`` lists directories exactly like ``autoindex on;``.
    """
    if directive is None or not directive.args:
        return None
    return {"on": True, "off": False}.get(directive.args[0].lower())


# Protocol names nginx knows for ssl_protocols (a bitmask slot: matched case-insensitively).
KNOWN_PROTOCOLS = ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
_PROTOCOL_BY_LOWER = {name.lower(): name for name in KNOWN_PROTOCOLS}


def canonical_protocol(name: str) -> str:
    """``tlsv1.2`` -> ``TLSv1.2`` (nginx accepts any case); unknown names are returned unchanged."""
    return _PROTOCOL_BY_LOWER.get(name.lower(), name)


def is_tls_server(server: Directive) -> bool:
    legacy_ssl_on = any(flag(d) for d in server.find("ssl"))
    return legacy_ssl_on or any(item.ssl for item in listens(server))


def locations(context: Context) -> list[Context]:
    """Every location under ``context``, nested ones included, depth first."""
    found: list[Context] = []
    for block in context.block.find("location"):
        inner = context.child(block)
        found.append(inner)
        found.extend(locations(inner))
    return found


def location_ifs(context: Context) -> list[Context]:
    """The ``if`` blocks directly inside a location.

    When its condition holds, nginx serves the request with the ``if`` block's own location
    configuration (ngx_http_rewrite_module "if" creates one, merged from the location): an
    ``add_header`` there replaces every header inherited from the location, and a
    ``proxy_pass`` there sends the request elsewhere. ``if`` inside a server cannot hold
    either (nginx -t: "not allowed here"), and ``if`` blocks do not nest.
    """
    if context.location is None or context.block.name != "location":
        return []
    return [context.child(block) for block in context.block.find("if")]


TIME_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "M": 2592000, "y": 31536000}
SIZE_UNITS = {"": 1, "k": 1024, "K": 1024, "m": 1024**2, "M": 1024**2, "g": 1024**3, "G": 1024**3}


def parse_time(value: str) -> float:
    """nginx time ("10s", "1m30s", "500ms", "60") -> seconds."""
    parts = re.findall(r"(\d+)(ms|[smhdwMy]?)", value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise ParseError(f"invalid nginx time {value!r}")
    return sum(int(number) * TIME_UNITS.get(unit or "s", 1) for number, unit in parts)


def parse_size(value: str) -> int:
    """nginx size ("1m", "16k", "512") -> bytes."""
    match = re.fullmatch(r"(\d+)([kKmMgG]?)", value)
    if not match:
        raise ParseError(f"invalid nginx size {value!r}")
    return int(match.group(1)) * SIZE_UNITS[match.group(2)]


def parse_rate(value: str) -> float:
    """limit_req_zone rate ("10r/s", "30r/m") -> requests per second."""
    match = re.fullmatch(r"rate=(\d+(?:\.\d+)?)r/([sm])", value) or re.fullmatch(r"(\d+(?:\.\d+)?)r/([sm])", value)
    if not match:
        raise ParseError(f"invalid nginx rate {value!r}")
    number = float(match.group(1))
    return number if match.group(2) == "s" else number / 60


def directive_option(directive: Directive, key: str) -> str | None:
    """The value of a ``key=value`` argument (e.g. zone=name of limit_req)."""
    prefix = key + "="
    return next((arg[len(prefix) :] for arg in directive.args if arg.startswith(prefix)), None)


# ----- access rules (ngx_http_access_module) ------------------------------------------------
# Union, not ``X | Y``: a module-level alias is evaluated, and module_utils also load on Pythons before 3.10.
Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]  # noqa: UP007
WHOLE = {4: ipaddress.ip_network("0.0.0.0/0"), 6: ipaddress.ip_network("::/0")}


def _rule_networks(directive: Directive) -> list[Network]:
    """The networks one allow/deny covers: ``all`` is both families; unix: and unreadable
    addresses (nginx -t refuses those) cover no IP network."""
    target = directive.args[0] if directive.args else ""
    if target == "all":
        return list(WHOLE.values())
    try:
        return [ipaddress.ip_network(target, strict=False)]
    except ValueError:
        return []


def allows_whole_family(rules: list[Directive], version: int, *, unmatched_allowed: bool) -> bool:
    """Whether allow/deny ``rules`` (in order, first match wins) let every address of IP
    ``version`` through.

    Allows seen before the first deny of the whole family count; together (e.g.
    0.0.0.0/1 + 128.0.0.0/1) they may cover the family. When no rule denies the whole
    family, unmatched clients are let through by the access module itself
    (``unmatched_allowed``, the ``satisfy all`` case), while under ``satisfy any`` an
    unmatched client still has to pass authentication.
    """
    allowed: list[Network] = []
    for directive in rules:
        networks = [n for n in _rule_networks(directive) if n.version == version]
        if directive.name == "deny" and WHOLE[version] in networks:
            break
        if directive.name == "allow":
            allowed.extend(networks)
    else:
        if unmatched_allowed:
            return True
    return WHOLE[version] in ipaddress.collapse_addresses(allowed)
