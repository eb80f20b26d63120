"""Unit tests for the nginx role's filters (plugins/filter/nginx_model.py)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.rampart.hardening.plugins.filter.nginx_model import (
    FilterModule,
    nginx_htpasswd_stale,
    nginx_intent,
    nginx_model,
)
from ansible_collections.rampart.hardening.plugins.test import validate

DEFAULTS = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "roles" / "nginx" / "defaults" / "main.yml").read_text()
)
CLASSES = DEFAULTS["rampart_nginx_default_classes"]
HEADERS = DEFAULTS["rampart_nginx_security_headers"]
UPSTREAMS = [{"name": "app", "servers": ["127.0.0.1:8001", "127.0.0.1:8002 max_fails=3"]}]
SITE: dict[str, Any] = {
    "name": "app",
    "server_names": ["app.example.com", "www.app.example.com"],
    "locations": [
        {"path": "/", "root": "/srv/www"},
        {"path": "/api/", "class": "api", "upstream": "app", "upstream_uri": "/"},
        {"path": "/ops/", "class": "admin", "upstream": "app", "allow": ["10.0.0.0/8"]},
        {"path": "/login", "modifier": "=", "class": "auth", "upstream": "app", "rate": "3r/m"},
        {"path": "/old", "redirect": "https://app.example.com/", "redirect_code": 308},
    ],
}


def build(sites: list[dict[str, Any]] | None = None, **kwargs: Any) -> dict[str, Any]:
    return nginx_model(
        sites if sites is not None else [copy.deepcopy(SITE)],
        kwargs.get("classes", CLASSES),
        kwargs.get("upstreams", UPSTREAMS),
        kwargs.get("headers", HEADERS),
    )


def failing_values(model: dict[str, Any]) -> list[str]:
    """Run the shared Jinja tests on what the model asks to validate, like validate.yml."""
    return [v["where"] for v in model["values"] if not getattr(validate, v["test"])(v["value"])]


def test_valid_input_has_no_errors() -> None:
    model = build()
    assert model["errors"] == []
    assert failing_values(model) == []


def test_classes_carry_policy_and_locations_override_it() -> None:
    locations = build()["sites"][0]["locations"]
    root, api, ops, login, _old = locations
    assert root["class"] == "public"
    assert root["policy"]["rate"] == "20r/s"
    assert api["policy"]["methods"][:3] == ["GET", "HEAD", "POST"]
    assert api["zone"] == "rampart_api"
    assert ops["policy"]["auth_group"] == "admin"
    assert ops["policy"]["allow"] == ["10.0.0.0/8"]
    assert ops["policy"]["overrides"] == ["allow"]
    # A location that overrides the rate gets its own limit_req zone.
    assert login["policy"]["rate"] == "3r/m"
    assert login["zone"] == "rampart_auth_app_3"


def test_zones_are_listed_once_per_name() -> None:
    zones = {z["name"]: z["rate"] for z in build()["req_zones"]}
    assert zones == {
        "rampart_admin": "5r/s",
        "rampart_api": "10r/s",
        "rampart_auth_app_3": "3r/m",
        "rampart_public": "20r/s",
    }


def test_rate_null_disables_limit_req() -> None:
    site = copy.deepcopy(SITE)
    site["locations"][0]["rate"] = None
    assert build([site])["sites"][0]["locations"][0]["zone"] is None


def test_head_follows_get_and_options_follows_cors() -> None:
    site = copy.deepcopy(SITE)
    site["locations"][0].update(methods=["GET"], cors_origins=["https://ui.example.com"])
    location = build([site])["sites"][0]["locations"][0]
    assert location["policy"]["methods"] == ["GET", "HEAD", "OPTIONS"]
    assert location["cors_var"] == "rampart_cors_app_0"


def test_proxy_pass_uses_the_upstream_group() -> None:
    api = build()["sites"][0]["locations"][1]
    assert api["proxy_pass"] == "http://rampart_up_app/"
    assert build()["upstreams"][0]["keepalive"] == 32


def test_files_and_certs() -> None:
    model = build()
    assert [f["dest"] for f in model["files"]] == [
        "nginx.conf",
        "rampart/sites/app.conf",
        "snippets/rampart-headers-app.conf",
    ]
    assert model["certs"] == [
        {
            "cert_name": "app.example.com",
            "source": "selfsigned",
            "names": ["app.example.com", "www.app.example.com"],
            "sites": ["app"],
        }
    ]


def test_site_headers_override_and_drop() -> None:
    site = copy.deepcopy(SITE)
    site["headers"] = {"X-Frame-Options": None, "Content-Security-Policy": "default-src 'none'"}
    headers = build([site])["sites"][0]["headers"]
    assert "X-Frame-Options" not in headers
    assert headers["Content-Security-Policy"] == "default-src 'none'"
    assert headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"server_names": ["bad name"]}, "rampart_nginx_sites[0].server_names[0]"),
        ({"headers": {"X-Test": "a\r\nSet-Cookie: x=1"}}, "rampart_nginx_sites[0].headers.X-Test"),
        ({"loc": {"rate": "10/s"}}, "rampart_nginx_sites[0].locations[0].rate"),
        ({"loc": {"client_max_body_size": "10mb"}}, "rampart_nginx_sites[0].locations[0].client_max_body_size"),
        ({"loc": {"allow": ["10.0.0.300/8"]}}, "rampart_nginx_sites[0].locations[0].allow[0]"),
    ],
)
def test_bad_values_are_named(change: dict[str, Any], where: str) -> None:
    site = copy.deepcopy(SITE)
    site["locations"][0].update(change.pop("loc", {}))
    site.update(change)
    assert failing_values(build([site])) == [where]


def test_bad_upstream_address_is_named() -> None:
    model = build(upstreams=[{"name": "app", "servers": ["127.0.0.1:99999"]}])
    assert failing_values(model) == ["rampart_nginx_upstreams[0].servers[0]"]


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ({"path": "/x", "class": "nope", "root": "/srv"}, "'nope' is not a location class"),
        ({"path": "/x", "upstream": "missing"}, "'missing' is not declared in rampart_nginx_upstreams"),
        ({"path": "/x", "root": "/srv", "redirect": "/y"}, "exactly one of upstream, root, alias or redirect"),
        ({"path": "/x"}, "exactly one of upstream, root, alias or redirect (got none)"),
        ({"path": "/x; evil", "root": "/srv"}, "locations[5].path"),
        ({"path": "/x", "root": "srv"}, "must be an absolute path"),
        ({"path": "/x", "redirect": "/y", "redirect_code": 200}, "must be 301, 302, 303, 307 or 308"),
        ({"path": "/x", "root": "/srv", "methods": ["FETCH"]}, "'FETCH' is not an HTTP method"),
        ({"path": "/x", "root": "/srv", "burst": -1}, "burst: -1 must be an integer"),
        ({"path": "/x", "root": "/srv", "limit_conn": 0}, "limit_conn: 0 must be an integer >= 1"),
        (
            {"path": "/x", "root": "/srv", "cors_origins": ["*"], "cors_credentials": True},
            "'*' together with cors_credentials",
        ),
        ({"path": "/x", "root": "/srv", "cors_origins": ["ui.example.com"]}, "is not an origin"),
        ({"path": "/", "root": "/srv"}, "location '/' is declared twice"),
    ],
)
def test_structural_errors(location: dict[str, Any], message: str) -> None:
    site = copy.deepcopy(SITE)
    site["locations"].append(location)
    errors = build([site])["errors"]
    assert any(message in error for error in errors), errors


def test_star_origin_without_credentials_is_allowed() -> None:
    site = copy.deepcopy(SITE)
    site["locations"][0]["cors_origins"] = ["*"]
    model = build([site])
    assert model["errors"] == []
    assert model["cors_maps"][0]["any"] is True


def test_sites_conflicts() -> None:
    other = copy.deepcopy(SITE)
    errors = build([copy.deepcopy(SITE), other])["errors"]
    assert any("server name 'app.example.com' is used by more than one site" in e for e in errors)
    assert any("site name 'app' is used twice" in e for e in errors)


def test_tls_sources() -> None:
    site = copy.deepcopy(SITE)
    site["tls"] = {"source": "provided"}
    errors = build([site])["errors"]
    assert any("needs certificate" in e for e in errors)
    assert any("needs private_key" in e for e in errors)
    site["tls"] = {"source": "letsencrypt"}
    assert any("must be selfsigned, provided or acme" in e for e in build([site])["errors"])
    site["tls"] = {"source": "acme", "cert_name": "../etc"}
    assert any("not a safe directory name" in e for e in build([site])["errors"])


def test_shared_certificate_needs_one_source() -> None:
    first = copy.deepcopy(SITE)
    second = {"name": "b", "server_names": ["b.example.com"], "tls": {"source": "acme", "cert_name": "app.example.com"}}
    errors = build([first, second])["errors"]
    assert any("with a different source" in e for e in errors)


def test_bad_upstream_structure() -> None:
    errors = build(upstreams=[{"name": "a b", "servers": [], "scheme": "ftp", "keepalive": -1}])["errors"]
    assert len(errors) >= 4


def test_bad_class_name_and_header_name() -> None:
    model = build(classes={**CLASSES, "bad class": {}}, headers={"Bad Header": "x"})
    assert any("'bad class' is not a valid class name" in e for e in model["errors"])
    assert any("'Bad Header' is not a valid header name" in e for e in model["errors"])


def test_intent_has_no_secrets_and_names_the_policy() -> None:
    site = copy.deepcopy(SITE)
    site["tls"] = {"source": "provided", "certificate": "PEM", "private_key": "SECRET-KEY"}
    intent = nginx_intent(build([site]), {"tls_profile": "intermediate", "tls_dir": "/etc/rampart/tls"})
    assert "SECRET-KEY" not in repr(intent)
    app = intent["sites"][0]
    assert app["private_key"] == "/etc/rampart/tls/app.example.com/privkey.pem"
    api = app["locations"][1]
    assert (api["class"], api["rate"], api["upstream"]) == ("api", "10r/s", "app")
    assert intent["tls_profile"] == "intermediate"
    assert intent["upstreams"][0]["servers"][1] == "127.0.0.1:8002 max_fails=3"


def test_htpasswd_stale_users() -> None:
    users = [{"name": "ops", "groups": ["admin"]}, {"name": "ceo", "groups": ["admin", "exec"]}]
    lines = ["/h/admin:ops", "/h/admin:ceo", "/h/admin:gone", "/h/exec:ops", "/h/old:ceo", "garbage"]
    assert nginx_htpasswd_stale(lines, users) == [["/h/admin", "gone"], ["/h/exec", "ops"], ["/h/old", "ceo"]]
    assert nginx_htpasswd_stale(None, users) == []


def test_filter_module_exports() -> None:
    assert set(FilterModule().filters()) == {"nginx_model", "nginx_intent", "nginx_htpasswd_stale"}
