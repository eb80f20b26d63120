"""Normalize the nginx role's sites, location classes and upstreams into one model.

The ``nginx`` role lets users describe *sites* whose *locations* belong to a *class*
(``public``, ``api``, ``admin``, ``auth`` ...) that carries the policy (rate limit,
connection limit, body size, methods, basic auth, IP allowlist, CORS); each location may
override any policy key. Working out the effective policy per location, naming the
``limit_req`` zones and CORS maps, and listing every value that needs a syntax check is
far easier to read (and to unit-test) in Python than in nested Jinja loops, so the role's
templates and its ``validate.yml`` both consume what :func:`nginx_model` returns.

The filter never raises on bad input: structural problems (an unknown class or upstream,
a location that is both a proxy and a redirect, ``*`` CORS with credentials ...) are
returned in ``errors`` and every value that a shared Jinja test must accept is returned in
``values`` together with the variable path it came from, so ``validate.yml`` can fail
with a message that names the variable and the bad value, before any change.
"""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.exposure import world_open
from ansible_collections.rampart.hardening.plugins.module_utils.parsers import ParseError
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.nginx import parse_rate
from ansible_collections.rampart.hardening.plugins.module_utils.probes.nginx import ADMIN_PATH, AUTH_PATH

DOCUMENTATION = r"""
name: nginx_model
short_description: Effective nginx sites, locations and limits for the rampart nginx role
description:
  - Merges location classes with per-location overrides, names limit_req zones and CORS
    maps, and lists values to validate and structural errors.
positional: classes, upstreams, security_headers
options:
  _input:
    description: The list of sites (C(rampart_nginx_sites)).
    type: list
    elements: dict
    required: true
  classes:
    description: Location classes by name (built-in classes merged with the user's).
    type: dict
    required: true
  upstreams:
    description: The list of upstreams (C(rampart_nginx_upstreams)).
    type: list
    elements: dict
    required: true
  security_headers:
    description: Security headers sent on every response of every site.
    type: dict
    required: true
  user_classes:
    description: The user's classes (C(rampart_nginx_classes)), to name the variable a bad class value came from.
    type: dict
    required: false
author: Rampart maintainers
"""

EXAMPLES = r"""
_model: >-
  {{ rampart_nginx_sites | rampart.hardening.nginx_model(classes, rampart_nginx_upstreams,
     rampart_nginx_security_headers) }}
"""

RETURN = r"""
_value:
  description: A dict with C(sites), C(upstreams), C(req_zones), C(cors_maps),
    C(auth_groups), C(server_names), C(values) and C(errors).
  type: dict
"""

# Keys a class may define and a location may override.
POLICY_KEYS = (
    "rate",
    "burst",
    "nodelay",
    "zone_size",
    "limit_conn",
    "client_max_body_size",
    "methods",
    "auth_group",
    "auth_realm",
    "allow",
    "cors_origins",
    "cors_credentials",
    "cors_headers",
    "cors_max_age",
)
# Safe by construction: a class (or location) inherits these for every key it leaves out, so a
# user class without limit_conn still gets a connection limit. Turning a protection off needs an
# explicit null (``limit_conn: null``, ``rate: null``), which validation refuses unless
# rampart_nginx_accepted_exceptions accepts the check it would fail (PROTECTIONS).
POLICY_DEFAULTS: dict[str, Any] = {
    "rate": "10r/s",
    "burst": 20,
    "nodelay": True,
    "zone_size": "10m",
    "limit_conn": 20,
    "client_max_body_size": "1m",
    "methods": ["GET", "HEAD"],
    "auth_group": None,
    "auth_realm": "Restricted",
    "allow": [],
    "cors_origins": [],
    "cors_credentials": False,
    "cors_headers": ["Authorization", "Content-Type"],
    "cors_max_age": 600,
}
# Policy keys whose null turns a protection off, and the check that then fails. Other inputs the
# audit would fail are refused the same way (see _Builder.refuse): client_max_body_size 0
# (DOS-03), an admin-looking path without authentication (AUTH-01), an admin/login path not
# limited below the general locations (DOS-01).
PROTECTIONS = {"rate": "DOS-01", "limit_conn": "DOS-02"}
MODIFIERS = ("", "=", "^~", "~", "~*")
HTTP_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND", "MKCOL", "COPY", "MOVE"}
)
_IDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")
_SERVER_PARAM = re.compile(r"^[a-z_]+(=[A-Za-z0-9._:]+)?$")
# A path or URL in a redirect/location must not break out of the directive.
_UNSAFE = re.compile(r"[\s;{}\"'\\]")
_KINDS = ("upstream", "root", "alias", "redirect")


def _slug(text: str) -> str:
    """A name safe for nginx zone/variable names and file names."""
    return re.sub(r"[^a-z0-9_]+", "_", str(text).lower()).strip("_") or "x"


def _as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


class _Builder:
    def __init__(
        self,
        classes: dict[str, Any],
        upstreams: list[dict[str, Any]],
        security_headers: dict[str, Any],
        user_classes: dict[str, Any] | None = None,
    ) -> None:
        self.classes = classes or {}
        self.upstreams = upstreams or []
        self.security_headers = security_headers or {}
        self.values: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.req_zones: dict[str, dict[str, Any]] = {}
        self.cors_maps: list[dict[str, Any]] = []
        self.auth_groups: set[str] = set()
        self.unprotected: list[dict[str, Any]] = []
        self.current_class = ""  # the class of the location being judged (accepted exceptions name it)
        self.user_classes = user_classes
        self.rates: list[dict[str, Any]] = []
        self.origin: dict[str, str] = {}
        self.defaulted: set[str] = set()
        self.raw: dict[str, list[Any]] = {}

    # ----- helpers -----------------------------------------------------------------
    def refuse(self, where: str, value: Any, check_id: str, why: str, target: str | None = "") -> None:
        """An input the audit would fail: refused unless accepted_exceptions names ``check_id``.

        ``target`` is the object an accepted exception must name (``class:<name>``, the class of
        the location being judged when left empty; None: only a host-wide acceptance covers it).
        """
        if where in self.defaulted:
            why += " (the class leaves the key out and inherits this safe default: set it)"
        if target == "":
            target = f"class:{self.current_class}" if self.current_class else None
        entry = {"where": where, "value": value, "check": check_id, "why": why, "target": target}
        if entry not in self.unprotected:
            self.unprotected.append(entry)

    def check(self, test: str, where: str, value: Any) -> None:
        entry = {"test": test, "where": where, "value": value}
        if entry not in self.values:  # a class's value is checked once, not once per location
            self.values.append(entry)

    def check_headers(self, where: str, headers: Any) -> dict[str, str]:
        if headers is None:
            return {}
        if not isinstance(headers, dict):
            self.errors.append(f"{where}: expected a mapping of header name to value, got {headers!r}")
            return {}
        kept = {}
        for name, value in headers.items():
            if not _HEADER_NAME.match(str(name)):
                self.errors.append(f"{where}: {name!r} is not a valid header name")
                continue
            if value is None or value == "":
                kept[str(name)] = None  # explicitly dropped
                continue
            self.check("header_value", f"{where}.{name}", value)
            kept[str(name)] = value
        return kept

    # ----- upstreams ------------------------------------------------------------------
    def build_upstreams(self) -> list[dict[str, Any]]:
        result = []
        seen = set()
        for index, upstream in enumerate(self.upstreams):
            where = f"rampart_nginx_upstreams[{index}]"
            name = str(upstream.get("name", ""))
            if not _IDENT.match(name):
                self.errors.append(f"{where}.name: {name!r} is not a valid upstream name ([A-Za-z0-9_-])")
            if name in seen:
                self.errors.append(f"{where}.name: upstream {name!r} is declared twice")
            seen.add(name)
            servers = _as_list(upstream.get("servers"))
            if not servers:
                self.errors.append(f"{where}.servers: an upstream needs at least one server")
            for sindex, server in enumerate(servers):
                address, *params = str(server).split()
                self.check("host_port", f"{where}.servers[{sindex}]", address if server else server)
                for param in params:
                    if not _SERVER_PARAM.match(param):
                        self.errors.append(
                            f"{where}.servers[{sindex}]: {server!r}: {param!r} is not a valid server parameter"
                        )
            scheme = upstream.get("scheme", "http")
            if scheme not in ("http", "https"):
                self.errors.append(f"{where}.scheme: {scheme!r} must be http or https")
            keepalive = upstream.get("keepalive", 32)
            if not isinstance(keepalive, int) or isinstance(keepalive, bool) or keepalive < 0:
                self.errors.append(f"{where}.keepalive: {keepalive!r} must be an integer >= 0")
            result.append(
                {
                    "name": name,
                    "id": "rampart_up_" + _slug(name),
                    "servers": [str(s) for s in servers],
                    "keepalive": keepalive,
                    "scheme": scheme,
                    "balance": upstream.get("balance") or "",
                    "ssl_verify": upstream.get("ssl_verify", True),
                    "ssl_trusted_certificate": upstream.get(
                        "ssl_trusted_certificate", "/etc/ssl/certs/ca-certificates.crt"
                    ),
                    "ssl_name": upstream.get("ssl_name"),
                }
            )
        return result

    # ----- policies ---------------------------------------------------------------------
    def class_path(self, class_name: str, key: str) -> str:
        """The variable a class's key came from: the user's classes or the built-in ones."""
        user = self.user_classes
        if user is None or key in (user.get(class_name) or {}):
            return f"rampart_nginx_classes.{class_name}.{key}"
        return f"rampart_nginx_default_classes.{class_name}.{key}"

    def policy_for(self, class_name: str, location: dict[str, Any], where: str = "") -> dict[str, Any]:
        policy = dict(POLICY_DEFAULTS)
        # Where a bad value is named: the location's key, else its class's key (the one to set when
        # the class leaves it out and a safe default applies).
        self.current_class = str(class_name)
        origin = {k: f"rampart_nginx_classes.{class_name}.{k}" for k in POLICY_KEYS}
        inherited = {k: v for k, v in (self.classes.get(class_name) or {}).items() if k in POLICY_KEYS}
        policy.update(inherited)
        origin.update({k: self.class_path(class_name, k) for k in inherited})
        overrides = {k: location[k] for k in POLICY_KEYS if k in location}
        policy.update(overrides)
        origin.update({k: f"{where}.{k}" for k in overrides})
        self.defaulted.update(origin[k] for k in POLICY_KEYS if k not in inherited and k not in overrides)
        raw_methods = _as_list(policy["methods"])
        raw_allow = _as_list(policy["allow"])
        methods = [str(m).upper() for m in _as_list(policy["methods"])]
        if "GET" in methods and "HEAD" not in methods:
            methods.append("HEAD")
        if policy["cors_origins"] and "OPTIONS" not in methods:
            methods.append("OPTIONS")  # CORS preflight
        policy["methods"] = methods
        policy["allow"] = _as_list(policy["allow"])
        policy["cors_origins"] = _as_list(policy["cors_origins"])
        policy["cors_headers"] = _as_list(policy["cors_headers"])
        policy["overrides"] = sorted(overrides)
        self.origin = origin
        self.raw = {"methods": raw_methods, "allow": raw_allow}
        return policy

    def check_policy(self, where: str, policy: dict[str, Any]) -> None:
        at = self.origin
        for key, check_id in PROTECTIONS.items():
            if policy[key] is None:
                self.refuse(at[key], None, check_id, "turns the protection off")
        size = policy["client_max_body_size"]
        if str(size).strip() == "0":
            self.refuse(at["client_max_body_size"], size, "DOS-03", "means no request body limit at all")
        for aindex, source in enumerate(self.raw["allow"]):
            if world_open(source):
                self.errors.append(
                    f"{at['allow']}[{aindex}]: {source!r} admits every address, so the allowlist protects"
                    " nothing; list the client networks (or drop allow)"
                )
            else:
                self.check("cidr", f"{at['allow']}[{aindex}]", source)
        if policy["rate"] is not None:
            self.check("nginx_rate", at["rate"], policy["rate"])
        burst = policy["burst"]
        if not isinstance(burst, int) or isinstance(burst, bool) or burst < 0:
            self.errors.append(f"{at['burst']}: {burst!r} must be an integer >= 0")
        self.check("nginx_size", at["zone_size"], policy["zone_size"])
        self.check("nginx_size", at["client_max_body_size"], size)
        conn = policy["limit_conn"]
        if conn is not None and (not isinstance(conn, int) or isinstance(conn, bool) or conn < 1):
            self.errors.append(f"{at['limit_conn']}: {conn!r} must be an integer >= 1 or null")
        for mindex, method in enumerate(self.raw["methods"]):
            if str(method).upper() not in HTTP_METHODS:
                self.errors.append(f"{at['methods']}[{mindex}]: {method!r} is not an HTTP method nginx can limit")
        group = policy["auth_group"]
        if group is not None and not _IDENT.match(str(group)):
            self.errors.append(f"{at['auth_group']}: {group!r} is not a valid group name ([A-Za-z0-9_-])")
        self.check("header_value", at["auth_realm"], policy["auth_realm"])
        self.check_cors(where, policy)

    def check_sensitive(self, where: str, path: Any, class_name: str, policy: dict[str, Any]) -> None:
        """The audit finds admin and login paths by their path (AUTH-01, DOS-01): so does the role."""
        text = str(path or "")
        admin, auth = bool(ADMIN_PATH.search(text)), bool(AUTH_PATH.search(text))
        if admin and not policy["auth_group"]:
            why = f"looks like an admin path, but its class {class_name!r} requires no authentication"
            self.refuse(f"{where}.path", path, "AUTH-01", why)
        if (admin or auth) and policy["rate"] is None:
            self.errors.append(
                f"{self.origin['rate']}: None turns off the rate limit of {text!r}, an admin/login path; the audit"
                " fails that (DOS-06) and brute-force protection cannot be accepted away: set a strict rate"
            )
        try:
            rate = parse_rate(str(policy["rate"])) if policy["rate"] is not None else None
        except ParseError:
            rate = None  # reported by the nginx_rate test
        if rate is not None:
            self.rates.append(
                {"where": self.origin["rate"], "value": policy["rate"], "rate": rate, "sensitive": admin or auth}
            )

    def check_rates(self) -> None:
        """Admin and login paths must be limited below every general location (DOS-01)."""
        general = [r for r in self.rates if not r["sensitive"]]
        if not general:
            return
        ceiling = min(general, key=lambda r: r["rate"])
        for entry in self.rates:
            if entry["sensitive"] and entry["rate"] >= ceiling["rate"]:
                self.refuse(
                    entry["where"],
                    entry["value"],
                    "DOS-01",
                    f"on an admin/login path is not stricter than {ceiling['value']} of {ceiling['where']}",
                    None,
                )

    def check_cors(self, where: str, policy: dict[str, Any]) -> None:
        for oindex, origin in enumerate(policy["cors_origins"]):
            if origin == "*":
                if policy["cors_credentials"]:
                    self.errors.append(
                        f"{where}.cors_origins: '*' together with cors_credentials is refused by"
                        " browsers and unsafe; list the allowed origins"
                    )
            elif not isinstance(origin, str) or not _ORIGIN.match(origin):
                self.errors.append(
                    f"{where}.cors_origins[{oindex}]: {origin!r} is not an origin like https://app.example.com"
                )
        for hindex, header in enumerate(policy["cors_headers"]):
            if not _HEADER_NAME.match(str(header)):
                self.errors.append(f"{where}.cors_headers[{hindex}]: {header!r} is not a header name")

    def zone_for(self, class_name: str, policy: dict[str, Any], site_id: str, index: int) -> str | None:
        if policy["rate"] is None:
            return None
        class_rate = (self.classes.get(class_name) or {}).get("rate")
        class_size = (self.classes.get(class_name) or {}).get("zone_size", POLICY_DEFAULTS["zone_size"])
        if policy["rate"] == class_rate and policy["zone_size"] == class_size:
            name = "rampart_" + _slug(class_name)
        else:
            name = f"rampart_{_slug(class_name)}_{_slug(site_id)}_{index}"
        self.req_zones.setdefault(
            name, {"name": name, "rate": policy["rate"], "size": policy["zone_size"], "class": class_name}
        )
        return name

    def location_target(self, where: str, kind: str, location: dict[str, Any], upstreams: dict) -> dict[str, Any]:
        """What a location serves: an upstream, a directory or a redirect."""
        result: dict[str, Any] = {}
        if kind == "upstream":
            name = location["upstream"]
            if name not in upstreams:
                self.errors.append(
                    f"{where}.upstream: {name!r} is not declared in rampart_nginx_upstreams"
                    f" (known: {', '.join(sorted(upstreams)) or 'none'})"
                )
                upstream = {"id": _slug(name), "scheme": "http"}
            else:
                upstream = upstreams[name]
            uri = location.get("upstream_uri", "") or ""
            if _UNSAFE.search(uri):
                self.errors.append(f"{where}.upstream_uri: {uri!r} must not contain spaces, quotes or ;{{}}")
            result["upstream"] = upstream
            result["proxy_pass"] = f"{upstream['scheme']}://{upstream['id']}{uri}"
        elif kind in ("root", "alias"):
            value = location[kind]
            if not isinstance(value, str) or not value.startswith("/") or _UNSAFE.search(value):
                self.errors.append(f"{where}.{kind}: {value!r} must be an absolute path without spaces or ;")
            result[kind] = value
            result["index_files"] = _as_list(location.get("index", ["index.html"]))
            result["try_files"] = location.get("try_files", "$uri $uri/ =404")
        else:  # redirect
            url = location["redirect"]
            if not isinstance(url, str) or _UNSAFE.search(url):
                self.errors.append(f"{where}.redirect: {url!r} must be a URL without spaces, quotes or ;")
            code = location.get("redirect_code", 301)
            if code not in (301, 302, 303, 307, 308):
                self.errors.append(f"{where}.redirect_code: {code!r} must be 301, 302, 303, 307 or 308")
            result["redirect"] = url
            result["redirect_code"] = code
        return result

    # ----- sites --------------------------------------------------------------------------
    def build_location(
        self, site_id: str, site_where: str, index: int, location: dict[str, Any], upstreams: dict
    ) -> dict[str, Any]:
        where = f"{site_where}.locations[{index}]"
        path = location.get("path")
        if not isinstance(path, str) or not path or _UNSAFE.search(path):
            self.errors.append(f"{where}.path: {path!r} must be a non-empty path without spaces, quotes or ;{{}}")
        modifier = location.get("modifier", "") or ""
        if modifier not in MODIFIERS:
            self.errors.append(f"{where}.modifier: {modifier!r} must be one of {', '.join(MODIFIERS[1:])} or empty")
        class_name = location.get("class", "public")
        class_known = class_name in self.classes
        if not class_known:
            self.errors.append(
                f"{where}.class: {class_name!r} is not a location class (known: {', '.join(sorted(self.classes))})"
            )
        kinds = [k for k in _KINDS if location.get(k)]
        if len(kinds) != 1:
            self.errors.append(
                f"{where}: a location needs exactly one of upstream, root, alias or redirect"
                f" (got {', '.join(kinds) or 'none'})"
            )
        kind = kinds[0] if kinds else None
        policy = self.policy_for(class_name, location, where)
        self.check_policy(where, policy)
        self.check_sensitive(where, path, class_name, policy)
        if policy["auth_group"]:
            self.auth_groups.add(str(policy["auth_group"]))
        result: dict[str, Any] = {
            "where": where,
            "index": index,
            "path": path,
            "modifier": modifier,
            "class": class_name,
            "kind": kind,
            "policy": policy,
            "zone": self.zone_for(class_name, policy, site_id, index),
            "headers": self.check_headers(f"{where}.headers", location.get("headers")),
            "extra_directives": _as_list(location.get("extra_directives")),
        }
        if kind:
            result.update(self.location_target(where, kind, location, upstreams))
        if policy["cors_origins"]:
            var = f"rampart_cors_{_slug(site_id)}_{index}"
            self.cors_maps.append(
                {
                    "var": var,
                    "origins": [o for o in policy["cors_origins"] if o != "*"],
                    "any": "*" in policy["cors_origins"],
                    "credentials": bool(policy["cors_credentials"]),
                }
            )
            result["cors_var"] = var
        return result

    def build_site(self, index: int, site: dict[str, Any], upstreams: dict) -> dict[str, Any]:
        where = f"rampart_nginx_sites[{index}]"
        names = _as_list(site.get("server_names"))
        if not names:
            self.errors.append(f"{where}.server_names: {names!r}: a site needs at least one server name")
        for nindex, name in enumerate(names):
            self.check("server_name", f"{where}.server_names[{nindex}]", name)
        site_id = str(site.get("name") or (names[0] if names else f"site{index}"))
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$", site_id):
            self.errors.append(f"{where}.name: {site_id!r} may only contain letters, digits, '.', '_' and '-'")
        tls = dict(site.get("tls") or {})
        source = tls.get("source", "selfsigned")
        if source not in ("selfsigned", "provided", "acme"):
            self.errors.append(f"{where}.tls.source: {source!r} must be selfsigned, provided or acme")
        cert_name = str(tls.get("cert_name") or (names[0] if names else site_id))
        if not re.match(r"^[A-Za-z0-9*][A-Za-z0-9._*-]{0,252}$", cert_name) or ".." in cert_name:
            # the certificate directory is named after cert_name, or else the first server name
            cert_where = f"{where}.tls.cert_name" if tls.get("cert_name") else f"{where}.server_names[0]"
            if not tls.get("cert_name") and not names:
                cert_where = f"{where}.name"
            self.errors.append(f"{cert_where}: {cert_name!r} is not a safe directory name (certificates live there)")
        if source == "provided":
            for part in ("certificate", "private_key"):
                if not (tls.get(part) or tls.get(f"{part}_src")):
                    self.errors.append(
                        f"{where}.tls: source 'provided' needs {part} (PEM content) or {part}_src (controller file)"
                    )
        locations = [
            self.build_location(site_id, where, lindex, location, upstreams)
            for lindex, location in enumerate(_as_list(site.get("locations")))
        ]
        keys = [(loc["modifier"], loc["path"]) for loc in locations]
        for dup in sorted({k for k in keys if keys.count(k) > 1}, key=str):
            self.errors.append(f"{where}.locations: location {' '.join(filter(None, dup))!r} is declared twice")
        headers = {k: v for k, v in self.security_headers.items() if v not in (None, "")}
        headers.update(self.check_headers(f"{where}.headers", site.get("headers")))
        headers = {k: v for k, v in headers.items() if v is not None}
        return {
            "where": where,
            "id": site_id,
            "slug": _slug(site_id),
            "server_names": names,
            "cert_name": cert_name,
            "tls": {
                "source": source,
                "cert_name": cert_name,
                "has_certificate": bool(tls.get("certificate")),
                "certificate_src": tls.get("certificate_src"),
                "has_private_key": bool(tls.get("private_key")),
                "private_key_src": tls.get("private_key_src"),
            },
            "headers": headers,
            "locations": locations,
            "extra_directives": _as_list(site.get("extra_directives")),
        }

    def build(self, sites: list[dict[str, Any]]) -> dict[str, Any]:
        self.check_headers("rampart_nginx_security_headers", self.security_headers)
        for name in self.classes:
            if not _IDENT.match(str(name)):
                self.errors.append(f"rampart_nginx_classes: {name!r} is not a valid class name ([A-Za-z0-9_-])")
        upstream_list = self.build_upstreams()
        upstreams = {u["name"]: u for u in upstream_list}
        built = [self.build_site(i, s or {}, upstreams) for i, s in enumerate(_as_list(sites))]
        self.check_rates()
        all_names: list[str] = [n for s in built for n in s["server_names"]]
        for name in sorted({n for n in all_names if all_names.count(n) > 1}):
            self.errors.append(f"rampart_nginx_sites: server name {name!r} is used by more than one site")
        ids = [s["id"] for s in built]
        for site_id in sorted({i for i in ids if ids.count(i) > 1}):
            self.errors.append(f"rampart_nginx_sites: site name {site_id!r} is used twice (set a distinct name)")
        certs: dict[str, dict[str, Any]] = {}
        for site in built:
            cert = certs.setdefault(
                site["cert_name"],
                {"cert_name": site["cert_name"], "source": site["tls"]["source"], "names": [], "sites": []},
            )
            if cert["source"] != site["tls"]["source"]:
                self.errors.append(
                    f"{site['where']}.tls: certificate {site['cert_name']!r} is shared with site"
                    f" {cert['sites'][0]!r} but with a different source"
                    f" ({site['tls']['source']} vs {cert['source']})"
                )
            cert["sites"].append(site["id"])
            cert["names"].extend(n for n in site["server_names"] if n not in cert["names"])
        files = [
            {"template": "conf", "dest": "nginx.conf"},
        ]
        for sindex, site in enumerate(built):
            files.append({"template": "site", "dest": f"rampart/sites/{site['slug']}.conf", "site_index": sindex})
            files.append(
                {"template": "headers", "dest": f"snippets/rampart-headers-{site['slug']}.conf", "site_index": sindex}
            )
        return {
            "files": files,
            "sites": built,
            "certs": sorted(certs.values(), key=lambda c: c["cert_name"]),
            "upstreams": upstream_list,
            "req_zones": sorted(self.req_zones.values(), key=lambda z: z["name"]),
            "cors_maps": self.cors_maps,
            "auth_groups": sorted(self.auth_groups),
            "server_names": all_names,
            "values": self.values,
            "errors": list(dict.fromkeys(self.errors)),
            "unprotected": self.unprotected,
        }


def nginx_model(
    sites: list[dict[str, Any]],
    classes: dict[str, Any],
    upstreams: list[dict[str, Any]],
    security_headers: dict[str, Any],
    user_classes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the effective model of the nginx role's input (see the module docstring).

    ``user_classes`` (``rampart_nginx_classes``) lets messages name the variable a class's bad
    value came from: the user's classes or ``rampart_nginx_default_classes``.
    """
    return _Builder(classes, upstreams, security_headers, user_classes).build(sites)


def nginx_intent(model: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """What the role declared, for the audit (``/etc/rampart/intent/nginx.json``).

    ``settings`` carries the role-wide values (TLS profile, HSTS, statuses, paths);
    per-site and per-location policies come from the model. No secrets are included.
    """
    tls_dir = settings.get("tls_dir", "/etc/rampart/tls")
    sites = []
    for site in model.get("sites", []):
        locations = []
        for loc in site["locations"]:
            policy = loc["policy"]
            locations.append(
                {
                    "path": loc["path"],
                    "modifier": loc["modifier"],
                    "class": loc["class"],
                    "kind": loc["kind"],
                    "upstream": loc["upstream"]["name"]
                    if loc.get("kind") == "upstream" and "name" in loc.get("upstream", {})
                    else None,
                    "limit_req_zone": loc["zone"],
                    "rate": policy["rate"],
                    "burst": policy["burst"],
                    "limit_conn": policy["limit_conn"],
                    "client_max_body_size": policy["client_max_body_size"],
                    "methods": policy["methods"],
                    "auth_group": policy["auth_group"],
                    "allow": policy["allow"],
                    "cors_origins": policy["cors_origins"],
                    "cors_credentials": bool(policy["cors_credentials"]),
                    "overrides": policy["overrides"],
                    "headers": {k: v for k, v in loc["headers"].items() if v is not None},
                }
            )
        sites.append(
            {
                "name": site["id"],
                "server_names": site["server_names"],
                "tls_source": site["tls"]["source"],
                "cert_name": site["cert_name"],
                "certificate": f"{tls_dir}/{site['cert_name']}/fullchain.pem",
                "private_key": f"{tls_dir}/{site['cert_name']}/privkey.pem",
                "headers": site["headers"],
                "locations": locations,
            }
        )
    return {
        "role": "nginx",
        "intent_version": 1,
        **settings,
        "sites": sites,
        "upstreams": [
            {k: up[k] for k in ("name", "servers", "keepalive", "scheme", "ssl_verify")}
            for up in model.get("upstreams", [])
        ],
        "limit_req_zones": model.get("req_zones", []),
        "auth_groups": model.get("auth_groups", []),
    }


def nginx_htpasswd_stale(lines: list[str], users: list[dict[str, Any]]) -> list[list[str]]:
    """[file, user] pairs present in htpasswd files but no longer declared for that group.

    ``lines`` is ``grep -H -o '^[^:]*' <files>`` output (``/dir/<group>:<user>``); the
    group is the file name. ``users`` is ``rampart_nginx_auth_users``.
    """
    stale = []
    for line in lines or []:
        path, sep, name = str(line).rpartition(":")
        if not sep or not name:
            continue
        group = path.rsplit("/", 1)[-1]
        declared = {u.get("name") for u in users or [] if group in (u.get("groups") or [])}
        if name not in declared:
            stale.append([path, name])
    return stale


class FilterModule:
    """Ansible filter plugin entry point."""

    def filters(self) -> dict[str, Any]:
        return {
            "nginx_model": nginx_model,
            "nginx_intent": nginx_intent,
            "nginx_htpasswd_stale": nginx_htpasswd_stale,
        }
