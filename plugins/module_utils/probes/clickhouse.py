"""ClickHouse's effective configuration, merged the way the server merges it.

ClickHouse reads ``config.xml`` and merges every ``*.xml``/``*.conf`` file of ``config.d/``
and ``conf.d/`` over it (sorted by path); the users file (``users_config``, default
``users.xml`` next to it) gets ``users.d/`` and ``conf.d/`` the same way. Merging follows
ConfigProcessor::mergeRecursive: an element matches the first not-yet-matched sibling with
the same name and attributes (``replace``/``remove``/substitution attributes ignored);
``remove`` deletes it, ``replace`` swaps it, otherwise the two merge recursively and text
replaces text; unmatched elements are appended. ``incl`` substitutions come from
``include_from`` (default ``/etc/metrika.xml``). Checks judge the result, so a password
or a network given in any file, or removed by a later one, counts as the server sees it.
"""

from __future__ import annotations

import copy
import posixpath
import xml.etree.ElementTree as ET

from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts, ProbeError

CONFIG = "/etc/clickhouse-server/config.xml"
DEFAULT_INCLUDE_FROM = "/etc/metrika.xml"
_IGNORED_ATTRS = frozenset({"replace", "remove", "incl", "from_zk", "from_env"})


def _identifier(element: ET.Element) -> tuple[str, tuple[tuple[str, str], ...]]:
    attrs = tuple(sorted((k, v) for k, v in element.attrib.items() if k not in _IGNORED_ATTRS))
    return element.tag, attrs


def _drop_text(element: ET.Element) -> None:
    """Non-whitespace text of the original node is replaced by the merged file's text."""
    if element.text and element.text.strip():
        element.text = None
    for child in element:
        if child.tail and child.tail.strip():
            child.tail = None


def merge(config: ET.Element, with_root: ET.Element) -> None:
    """Merge ``with_root``'s children into ``config`` (in place), as ClickHouse does."""
    _drop_text(config)
    if with_root.text and with_root.text.strip():
        config.text = (config.text or "") + with_root.text
    unmatched: dict[tuple, list[ET.Element]] = {}
    for child in config:
        unmatched.setdefault(_identifier(child), []).append(child)
    for with_child in list(with_root):
        remove, replace = "remove" in with_child.attrib, "replace" in with_child.attrib
        if remove and replace:
            raise ProbeError(f"both remove and replace attributes set for element <{with_child.tag}>")
        candidates = unmatched.get(_identifier(with_child)) or []
        if candidates:
            target = candidates.pop(0)
            if remove:
                config.remove(target)
            elif replace:
                new = copy.deepcopy(with_child)
                del new.attrib["replace"]
                new.tail = target.tail
                config[list(config).index(target)] = new
            else:
                merge(target, with_child)
        elif not remove:
            config.append(copy.deepcopy(with_child))


def _substitute(node: ET.Element, include_from: ET.Element | None) -> None:
    """Apply ``incl="name"`` substitutions below ``node`` (an optional missing one removes the element)."""
    for child in list(node):
        name = child.attrib.get("incl")
        if name is not None:
            source = include_from.find(name) if include_from is not None else None
            if source is None:
                if "optional" in child.attrib:
                    node.remove(child)
                    continue
            else:
                del child.attrib["incl"]
                if "replace" in child.attrib:
                    for grandchild in list(child):
                        child.remove(grandchild)
                    child.text = None
                    del child.attrib["replace"]
                if source.text and source.text.strip():
                    child.text = (child.text or "") + source.text
                for included in source:
                    child.append(copy.deepcopy(included))
                child.attrib.update(source.attrib)
        _substitute(child, include_from)


def _parse(facts: Facts, path: str) -> ET.Element | None:
    text = facts.read_text(path)
    if text is None:
        return None
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        raise ProbeError(f"cannot parse {path}: {exc}") from exc


def merge_files(facts: Facts, path: str) -> list[str]:
    """The drop-ins ClickHouse merges over ``path``: <name>.d/ and conf.d/, *.xml and *.conf, sorted."""
    folder, base = posixpath.split(path)
    stem = posixpath.splitext(base)[0]
    found: set[str] = set()
    for directory in (f"{folder}/{stem}.d", f"{folder}/conf.d"):
        for pattern in ("*.xml", "*.conf"):
            found.update(p for p in facts.glob(f"{directory}/{pattern}") if not posixpath.basename(p).startswith("."))
    return sorted(found)


def load(facts: Facts, path: str) -> tuple[ET.Element, list[str]] | None:
    """The preprocessed document of ``path`` and the files it came from; None when ``path`` is absent."""
    root = _parse(facts, path)
    if root is None:
        return None
    used = [path]
    for drop_in in merge_files(facts, path):
        with_root = _parse(facts, drop_in)
        if with_root is not None:
            merge(root, with_root)
            used.append(drop_in)
    include_path = (root.findtext("include_from") or "").strip() or DEFAULT_INCLUDE_FROM
    include_from = _parse(facts, include_path)
    if include_from is not None:
        used.append(include_path)
    _substitute(root, include_from)
    return root, used


def users_path(config: ET.Element, config_path: str = CONFIG) -> str:
    """Where the server reads users: ``users_config`` or ``user_directories/users_xml/path`` (relative to the
    config's folder), else config.xml itself."""
    value = (config.findtext("users_config") or config.findtext("user_directories/users_xml/path") or "").strip()
    if not value:
        return config_path
    return value if value.startswith("/") else posixpath.join(posixpath.dirname(config_path), value)


def effective(facts: Facts, config_path: str = CONFIG) -> tuple[ET.Element, ET.Element, list[str]]:
    """(merged server config, merged users config, files read). ProbeError when config.xml is missing."""
    loaded = load(facts, config_path)
    if loaded is None:
        raise ProbeError(f"{config_path} is missing")
    config, used = loaded
    path = users_path(config, config_path)
    if path == config_path:
        return config, config, used
    users = load(facts, path)
    if users is None:
        raise ProbeError(f"users file {path} (users_config) is missing")
    return config, users[0], used + users[1]
