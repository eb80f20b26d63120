"""Every role's defaults/main.yml agrees with its meta/argument_specs.yml (the README is built from the spec)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

ROLES_DIR = Path(__file__).resolve().parents[2] / "roles"
ROLES = sorted(path.name for path in ROLES_DIR.iterdir() if (path / "meta" / "argument_specs.yml").exists())


def defaults_of(role: str) -> dict[str, Any]:
    return yaml.safe_load((ROLES_DIR / role / "defaults" / "main.yml").read_text()) or {}


def spec_of(role: str) -> dict[str, Any]:
    specs = yaml.safe_load((ROLES_DIR / role / "meta" / "argument_specs.yml").read_text())
    return specs["argument_specs"]["main"]["options"]


def is_templated(value: Any) -> bool:
    return "{{" in yaml.safe_dump(value)


@pytest.mark.parametrize("role", ROLES)
def test_every_default_is_documented_in_the_spec(role: str) -> None:
    undocumented = sorted(set(defaults_of(role)) - set(spec_of(role)))
    assert not undocumented, f"{role}: defaults without an argument spec: {undocumented}"


@pytest.mark.parametrize("role", ROLES)
def test_spec_defaults_equal_the_defaults_file(role: str) -> None:
    spec = spec_of(role)
    differing = {
        name: (value, spec[name]["default"])
        for name, value in defaults_of(role).items()
        if name in spec and "default" in spec[name] and not is_templated(value) and spec[name]["default"] != value
    }
    assert not differing, f"{role}: defaults/main.yml vs argument_specs.yml: {differing}"


def test_firewall_presets_match_the_ports_the_roles_serve() -> None:
    presets = defaults_of("firewall")["rampart_firewall_presets"]
    assert presets["postgresql"]["ports"] == [defaults_of("postgresql")["rampart_postgresql_port"]]
    assert presets["redis"]["ports"] == [defaults_of("redis")["rampart_redis_port"]]
    assert presets["redis-tls"]["ports"] == [defaults_of("redis")["rampart_redis_tls_port"]]
