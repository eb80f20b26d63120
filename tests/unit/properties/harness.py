"""Run a role's own validation and templates offline, exactly as Ansible does.

- ``RoleRun.validate`` executes the role's ``tasks/validate.yml`` (its ``assert`` and
  ``set_fact`` tasks, with ``vars``, ``loop``, ``loop_control`` and ``when``) with Ansible's
  Templar and the collection's own test and filter plugins: the rules are the role's, not a
  copy of them. It returns the messages of the first failing task (the play stops there).
- ``RoleRun.render`` renders a role template with the options of ``ansible.builtin.template``.
- ``RoleRun.expr`` evaluates a Jinja expression in the role's variable context (used for the
  intent documents the roles write, which are Jinja expressions in their tasks).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import importlib
import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ansible._internal._templating._engine import TemplateEngine
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader
from ansible.template import Templar, trust_as_template
from hypothesis import HealthCheck, Phase, settings

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests" / "unit" / "checks"))  # check_helpers and the PG fixture helpers

# ``make unit``: a fixed seed (derandomized) and a bounded number of examples per property.
# ``make fuzz`` (RAMPART_FUZZ=1): many more examples and a fresh seed every run; shrunk
# counterexamples become ordinary regression tests. Applied per test (@PROPERTY_SETTINGS), so
# other hypothesis tests of the suite keep their own settings.
_COMMON = {"deadline": None, "database": None, "suppress_health_check": [HealthCheck.too_slow,
           HealthCheck.function_scoped_fixture]}  # fmt: skip
if os.environ.get("RAMPART_FUZZ"):
    PROPERTY_SETTINGS = settings(max_examples=int(os.environ.get("RAMPART_PROPERTY_EXAMPLES", "5000")), **_COMMON)
else:
    PROPERTY_SETTINGS = settings(
        max_examples=int(os.environ.get("RAMPART_PROPERTY_EXAMPLES", "150")), derandomize=True, **_COMMON
    )
if os.environ.get("RAMPART_NO_SHRINK"):  # exploring: report the first failure as found
    PROPERTY_SETTINGS = settings(PROPERTY_SETTINGS, phases=[Phase.explicit, Phase.generate])


def bounded(examples: int) -> settings:
    """PROPERTY_SETTINGS with fewer examples in ``make unit`` for a costly property (real keys,
    several checks per input); ``make fuzz`` and RAMPART_PROPERTY_EXAMPLES keep their budget."""
    if os.environ.get("RAMPART_FUZZ") or os.environ.get("RAMPART_PROPERTY_EXAMPLES"):
        return PROPERTY_SETTINGS
    return settings(PROPERTY_SETTINGS, max_examples=examples)


# Configurations tried per role and outcome, printed when the run ends.
TRIED: Counter[str] = Counter()


@atexit.register
def _report_tried() -> None:
    if TRIED:
        parts = ", ".join(f"{key} {value}" for key, value in sorted(TRIED.items()))
        sys.stderr.write(f"agreement: configurations tried: {parts}\n")


ACTIONS = ("ansible.builtin.assert", "ansible.builtin.set_fact")
NO_OPS = ("ansible.builtin.setup",)  # fact gathering: the facts come from HOST_VARS
TEMPLATE_OVERRIDES = {"trim_blocks": True, "lstrip_blocks": False, "newline_sequence": "\n"}
HOST_VARS = {
    "inventory_hostname": "lab-host",
    "ansible_check_mode": False,
    "ansible_managed": "Ansible managed",
    "ansible_facts": {
        "default_ipv4": {"address": "10.0.2.10"},
        "hostname": "lab-host",
        "fqdn": "lab-host.example.test",
        "all_ipv4_addresses": ["10.0.2.10"],
    },
}


def _import_collection() -> None:
    """Import every module of the collection through the plain path finder first.

    ``init_plugin_loader`` installs Ansible's collection finder for the whole process; any
    ``ansible_collections.rampart.hardening`` module imported after that would be imported a
    second time by it (and its classes would differ from the ones the tests already hold).
    """
    for path in sorted((REPO / "plugins").rglob("*.py")):
        relative = path.relative_to(REPO).with_suffix("")
        parts = [p for p in relative.parts if p != "__init__"]
        importlib.import_module(".".join(["ansible_collections", "rampart", "hardening", *parts]))


def _cache_compilation() -> None:
    """Compile each template/expression string once per process instead of once per Templar.

    Ansible compiles every template it renders; the roles' validation is hundreds of small
    expressions per configuration, so this makes thousands of configurations affordable. The
    compiled callables stay bound to an environment with the same plugins and are keyed on
    everything that changes compilation (the source, backslash escaping, the overrides).
    """
    engine = TemplateEngine
    if getattr(engine, "_rampart_cached", False):
        return
    compiled: dict[tuple[Any, ...], Any] = {}

    def cached(original: Any) -> Any:
        def compile_once(self: Any, source: str, options: Any) -> Any:
            key = (original.__name__, str(source), options.escape_backslashes, repr(options.overrides))
            if key not in compiled:
                compiled[key] = original(self, source, options)
            return compiled[key]

        return compile_once

    engine._compile_template = cached(engine._compile_template)
    engine._compile_expression = cached(engine._compile_expression)
    engine._rampart_cached = True


@functools.cache
def _loader() -> DataLoader:
    _import_collection()
    init_plugin_loader([])  # ansible.builtin plugins; the collection's own come from _collection_plugins
    _cache_compilation()
    return DataLoader()


@functools.cache
def _collection_plugins() -> tuple[dict[str, Any], dict[str, Any]]:
    """The collection's own Jinja tests and filters, by FQCN: the very functions Ansible loads."""
    from ansible_collections.rampart.hardening.plugins.filter import (  # noqa: PLC0415
        firewall_rules,
        nginx_model,
    )
    from ansible_collections.rampart.hardening.plugins.test import validate  # noqa: PLC0415

    tests = {f"rampart.hardening.{k}": v for k, v in validate.TestModule().tests().items()}
    filters: dict[str, Any] = {}
    for module in (nginx_model, firewall_rules):
        filters.update({f"rampart.hardening.{k}": v for k, v in module.FilterModule().filters().items()})
    return tests, filters


def _with_collection(templar: Templar) -> Templar:
    tests, filters = _collection_plugins()
    environment = templar._engine.environment  # Templar.environment is deprecated
    for name, function in tests.items():
        environment.tests[name] = function
    for name, function in filters.items():
        environment.filters[name] = function
    return templar


def _load(path: Path) -> Any:
    if not path.exists():
        return {}
    return _loader().load_from_file(str(path), trusted_as_template=True) or {}


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


@functools.cache
def _role_files(role: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    base = REPO / "roles" / role
    variables = {**_load(base / "defaults" / "main.yml"), **_load(base / "vars" / "main.yml")}
    return variables, list(_load(base / "tasks" / "validate.yml") or [])


class RoleRun:
    """One role with one set of user variables (overrides of its defaults)."""

    def __init__(self, role: str, overrides: Mapping[str, Any] | None = None) -> None:
        self.role = role
        defaults, self.tasks = _role_files(role)
        self.variables: dict[str, Any] = {**HOST_VARS, **defaults, **dict(overrides or {})}

    def load_tasks(self, name: str) -> list[dict[str, Any]]:
        return list(_load(REPO / "roles" / self.role / "tasks" / name) or [])

    def templar(self, extra: Mapping[str, Any] | None = None) -> Templar:
        return _with_collection(Templar(loader=_loader(), variables={**self.variables, **dict(extra or {})}))

    def expr(self, expression: str, extra: Mapping[str, Any] | None = None) -> Any:
        return self.templar(extra).template(trust_as_template("{{ " + expression + " }}"))

    def validate(self) -> list[str]:
        """Messages of the first failing assert task ([] when the role accepts the input)."""
        self.failed_task = ""
        for task in self.tasks:
            failures = self._run_task(task)
            if failures:
                self.failed_task = str(task.get("name", ""))
                return failures
        return []

    def _run_task(self, task: Mapping[str, Any]) -> list[str]:
        action = next((name for name in ACTIONS if name in task), None)
        if action is None and any(name in task for name in NO_OPS):
            return []
        if action is None and "ansible.builtin.command" in task:
            self._probe(task)
            return []
        if action is None:
            raise AssertionError(f"{self.role} validate.yml: unsupported task {task.get('name')!r}")
        task_vars = dict(task.get("vars") or {})
        control = task.get("loop_control") or {}
        if "loop" in task:
            items = self.templar(task_vars).template(task["loop"])
            loop_var = control.get("loop_var", "item")
            index_var = control.get("index_var")
            contexts = [
                {**task_vars, loop_var: item, **({index_var: index} if index_var else {})}
                for index, item in enumerate(items)
            ]
        else:
            contexts = [task_vars]
        failures = []
        for context in contexts:
            templar = self.templar(context)
            conditions = [c for c in _as_list(task.get("when", [])) if c is not None]
            if not all(templar.evaluate_conditional(c) for c in conditions):
                continue
            args = task[action]
            if action.endswith("set_fact"):
                self.variables.update({key: templar.template(value) for key, value in args.items()})
                continue
            # Ansible renders the arguments before it runs the module: a message that cannot be
            # rendered for a valid input fails the play too.
            message = str(templar.template(args.get("fail_msg") or args.get("msg", ""))).strip()
            if not all(templar.evaluate_conditional(c) for c in _as_list(args["that"])):
                failures.append(message)
        return failures

    def _probe(self, task: Mapping[str, Any]) -> None:
        """A read-only probe (``check_mode: false``, ``changed_when: false``, registered) runs for
        real on the test host, as it would on the controller-side host; anything else is refused."""
        args = task["ansible.builtin.command"]
        read_only = task.get("check_mode") is False and task.get("changed_when") is False and "register" in task
        if not read_only or not isinstance(args, Mapping) or "argv" not in args:
            raise AssertionError(f"{self.role} validate.yml: {task.get('name')!r} is not a read-only probe")
        argv = [str(part) for part in self.templar().template(args["argv"])]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        self.variables[task["register"]] = {"rc": done.returncode, "stdout": done.stdout, "stderr": done.stderr}

    def render(self, template: str, extra: Mapping[str, Any] | None = None) -> str:
        path = REPO / "roles" / self.role / "templates" / template
        templar = _with_collection(self.templar(extra).copy_with_new_env(searchpath=[str(path.parent)]))
        text = trust_as_template(path.read_text(encoding="utf-8"))
        result = templar.template(text, escape_backslashes=False, overrides=TEMPLATE_OVERRIDES)
        return "" if result is None else str(result)


_PATH_HEAD = re.compile(r"^(rampart_[a-z0-9_]+)((?:\[\d+\]|\.[A-Za-z0-9_-]+|\['[^']+'\])*):\s")
_PATH_PART = re.compile(r"\[(\d+)\]|\.([A-Za-z0-9_-]+)|\['([^']+)'\]")  # a[0], a.key, a['dotted.key']
_MISSING = object()
# Paths whose value a message may hide: secrets, key material, and lists where a wrong entry
# may be a secret pasted by mistake (an AGE-SECRET-KEY among age recipients, a private block).
SECRET_PATH = re.compile(r"password|_content|secret|hmac|auth_users|tls_(key|ca|cert)$|public_key$|_recipients\[\d+\]$")


def _lookup(variables: Mapping[str, Any], head: str, tail: str) -> Any:
    value: Any = variables.get(head, _MISSING)
    for index, key, quoted in _PATH_PART.findall(tail):
        if value is _MISSING:
            return value
        if index:
            value = value[int(index)] if isinstance(value, list) and int(index) < len(value) else _MISSING
        else:
            value = value.get(key or quoted, _MISSING) if isinstance(value, Mapping) else _MISSING
    return value


def _spellings(value: Any) -> set[str]:
    spelled = {str(value), repr(value)}
    with contextlib.suppress(TypeError, ValueError):
        spelled.add(json.dumps(value))
    if value is None:
        spelled.add("null")
    return spelled


def named_variable(message: str, variables: Mapping[str, Any]) -> tuple[str, Any]:
    """The one variable path a refusal names, checked to exist and to be quoted with its value.

    Returns (path, value); raises AssertionError when the message does not start with a real
    variable path followed by its value.
    """
    match = _PATH_HEAD.match(message)
    assert match, f"refusal does not start with a variable path: {message!r}"
    path = match.group(1) + match.group(2)
    value = _lookup(variables, match.group(1), match.group(2))
    rest = message[match.end() :]
    if value is _MISSING and ("inherits this safe default" in rest or rest.startswith("(left out")):
        return path, None  # a key the user left out: the message names where to set it
    assert value is not _MISSING, f"{path} is not a variable of this input: {message!r}"
    if rest.startswith("(hidden)"):
        assert SECRET_PATH.search(path), f"{path}: only secrets may hide their value"
        return path, value
    assert any(spelled in rest for spelled in _spellings(value)), (
        f"{path}: the value {value!r} is not quoted in {message!r}"
    )
    return path, value


def validated(role: RoleRun) -> bool:
    """Run the role's own validation on its input, as every agreement property starts.

    Refused: each message must name one variable and its value (:func:`named_variable`), counted
    as "<role> refused", and False (nothing to audit). Accepted: counted as "<role>
    accepted+audited", and True (the caller renders and audits it).
    """
    refusals = role.validate()
    if refusals:
        TRIED[f"{role.role} refused"] += 1
        for message in refusals:
            named_variable(message, role.variables)
        return False
    TRIED[f"{role.role} accepted+audited"] += 1
    return True


def intent_of(role: RoleRun, variable: str, tasks_file: str = "intent.yml") -> dict[str, Any]:
    """The intent document the role writes: ``variable`` of the task (in ``tasks_file``) that
    declares it, rendered with that task's vars as Ansible renders it, as the JSON it writes."""
    task = next(t for t in role.load_tasks(tasks_file) if variable in (t.get("vars") or {}))
    return json.loads(json.dumps(role.templar(task["vars"]).template(task["vars"][variable])))


def run_checks(facts: Any, check_ids: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """Each check of ``check_ids`` run through the fixture runner on ``facts``, by id."""
    from ansible_collections.rampart.hardening.plugins.module_utils.engine import (  # noqa: PLC0415
        load_builtin_checks,
        run_check,
    )
    from ansible_collections.rampart.hardening.plugins.module_utils.registry import get_check  # noqa: PLC0415

    load_builtin_checks()
    return {check_id: run_check(get_check(check_id), facts) for check_id in check_ids}


def assert_agrees(results: Mapping[str, Any], accepted: Any = (), reason: str | None = None) -> None:
    """No check of ``results`` fails or is partial. A check the input accepts (id in ``accepted``)
    may instead report the accepted exception (naming ``reason`` when given), never silently pass."""
    from ansible_collections.rampart.hardening.plugins.module_utils.model import Status  # noqa: PLC0415

    for check_id, result in results.items():
        if check_id in accepted and result.status is Status.NOT_APPLICABLE and "accepted exception" in result.message:
            assert reason is None or reason in result.message, (check_id, result.message)
            continue
        assert result.status in (Status.PASS, Status.NOT_APPLICABLE), (check_id, result.message, result.evidence)
