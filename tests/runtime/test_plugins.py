"""Every extension point registers the same way: in code, or by an installed entry point."""

from __future__ import annotations

from importlib import metadata

import pytest

from ponder.errors import ConfigError
from ponder.kinds import KINDS, get_kind, known_kinds, register_kind
from ponder.kinds.code import CodeKind
from ponder.llm.base import LLM
from ponder.llm.registry import (
    BACKEND_REGISTRY,
    BACKENDS,
    Backend,
    create_llm,
    model_forms,
    register_backend,
)
from ponder.llm.scripted import ScriptedLLM
from ponder.plugins import Registry
from ponder.sandbox.registry import SANDBOX_KINDS, SANDBOXES, open_sandbox, register_sandbox
from ponder.scenarios import (
    SCENARIOS,
    Scenario,
    get_scenario,
    is_scenario_ref,
    known_scenarios,
    register_scenario,
    resolve_task,
)
from ponder.search.greedy import Greedy
from ponder.search.registry import (
    STRATEGIES,
    get_strategy,
    known_strategies,
    register_strategy,
    strategy_class,
)
from ponder.task import HiddenPart, Task, VisibleTask
from ponder.verifiers import Verdict, Verifier, get_verifier, known_verifiers, register_verifier
from ponder.verifiers.registry import VERIFIERS
from tests.runtime.conftest import RecordingSandbox

REGISTRIES = {
    "strategies": STRATEGIES,
    "verifiers": VERIFIERS,
    "scenarios": SCENARIOS,
    "backends": BACKEND_REGISTRY,
    "sandboxes": SANDBOXES,
    "kinds": KINDS,
}
BROKEN = "ponder_no_such_plugin_module:thing"


@pytest.fixture(autouse=True)
def restore_registries():
    """What a test registers (or loads from a fake entry point) is gone after it."""
    saved = {}
    for registry in REGISTRIES.values():
        registry.load_builtins()  # so that a built-in never registers into the snapshot's gap
        saved[registry] = dict(registry.entries)
    yield
    for registry, entries in saved.items():
        registry.entries.clear()
        registry.entries.update(entries)


def installed(monkeypatch, group: str, **named: str) -> None:
    """Pretend an installed package declares `name = "module:attr"` entries in `group`."""
    real = metadata.entry_points

    def entry_points(**params):
        if params.get("group") != group:
            return real(**params)
        return metadata.EntryPoints(metadata.EntryPoint(n, v, group) for n, v in named.items())

    monkeypatch.setattr(metadata, "entry_points", entry_points)


def ref(attr: str) -> str:
    return f"{__name__}:{attr}"


# --- plug-in objects the fake entry points name ---------------------------------------------


class PluginStrategy(Greedy):
    pass


class NoStateStrategy(Greedy):
    State = dict  # not a TypedDict extending SearchState


class ShortVerifier:
    name = "short"

    async def verify(self, task, candidates):
        return [Verdict(score=float(len(c.text) < 10), passed=None) for c in candidates]


class TinyScenario(Scenario):
    name = "tiny"

    def load(self) -> list[Task]:
        visible = VisibleTask(id="tiny/0", kind="math", prompt="1+1?")
        return [Task(visible=visible, hidden=HiddenPart(reference_answer="2"))]


def echo(arg: str, spec: str, opts: dict) -> LLM:
    return ScriptedLLM([arg], name=spec, **opts)


ECHO = Backend("echo", (("echo:TEXT", "replies TEXT (a test double)"),), echo)


def open_recording(**options) -> RecordingSandbox:
    return RecordingSandbox(**options)


class PluginKind(CodeKind):
    name = "plugkind"


NOT_A_THING = 42


def not_a_scenario(source: str | None = None) -> int:
    return 42


# --- in code ---------------------------------------------------------------------------------


def test_a_strategy_registers_in_code():
    @register_strategy("test-coded")
    class Coded(Greedy):
        pass

    assert strategy_class("test-coded") is Coded and Coded.name == "test-coded"
    assert isinstance(get_strategy("test-coded"), Coded)
    assert "test-coded" in known_strategies() and known_strategies() == sorted(known_strategies())
    with pytest.raises(ConfigError, match="lacks SearchState's keys"):
        register_strategy("test-stateless")(NoStateStrategy)


def test_a_verifier_registers_in_code():
    register_verifier("test-coded")(ShortVerifier)
    verifier = get_verifier("test-coded", sandbox=None, model=None, budget=None)
    assert isinstance(verifier, ShortVerifier) and isinstance(verifier, Verifier)
    assert "test-coded" in known_verifiers()


def test_a_scenario_registers_in_code():
    assert register_scenario("Tiny-Coded", TinyScenario) is TinyScenario
    assert isinstance(get_scenario("tiny-coded"), TinyScenario)  # names are case-insensitive
    assert known_scenarios()[-1] == "tiny-coded" and known_scenarios()[0] == "humaneval"
    assert is_scenario_ref("TINY-CODED/0") and not is_scenario_ref("tiny-coded")
    assert resolve_task("tiny-coded/tiny/0").hidden.reference_answer == "2"

    @register_scenario("tiny-deco")
    class Deco(TinyScenario):
        pass

    assert isinstance(get_scenario("tiny-deco"), Deco)


def test_a_backend_registers_in_code():
    assert register_backend(ECHO) is ECHO
    assert BACKENDS["echo"] is ECHO
    assert ("echo:TEXT", "replies TEXT (a test double)") in model_forms()
    llm = create_llm("echo:hello")
    assert isinstance(llm, ScriptedLLM) and llm.name == "echo:hello"
    with pytest.raises(TypeError):
        BACKENDS["other"] = ECHO  # type: ignore[index]  # the view is read-only


def test_a_sandbox_kind_registers_in_code():
    assert register_sandbox("recording", open_recording) is open_recording
    assert SANDBOX_KINDS["recording"] is open_recording
    assert isinstance(open_sandbox("recording"), RecordingSandbox)

    @register_sandbox("recording2")
    def other() -> RecordingSandbox:
        return RecordingSandbox()

    assert isinstance(open_sandbox("recording2"), RecordingSandbox)
    with pytest.raises(ConfigError, match="bad option for sandbox kind 'recording2'"):
        open_sandbox("recording2", colour="blue")


def test_a_task_kind_registers_in_code():
    kind = PluginKind()
    assert register_kind(kind) is kind
    assert get_kind("plugkind") is kind and "plugkind" in known_kinds()
    assert VisibleTask(id="t", kind="plugkind", prompt="p").kind == "plugkind"


# --- by entry point --------------------------------------------------------------------------


def test_a_strategy_plugin_is_found_through_its_entry_point(monkeypatch):
    installed(monkeypatch, "ponder.strategies", plugged=ref("PluginStrategy"))
    assert "plugged" in known_strategies()
    assert strategy_class("plugged") is PluginStrategy and PluginStrategy.name == "plugged"
    assert isinstance(get_strategy("plugged"), PluginStrategy)


def test_a_verifier_plugin_is_found_through_its_entry_point(monkeypatch):
    installed(monkeypatch, "ponder.verifiers", short=ref("ShortVerifier"))
    assert "short" in known_verifiers()
    assert isinstance(get_verifier("short", sandbox=None), ShortVerifier)


def test_a_scenario_plugin_is_found_through_its_entry_point(monkeypatch):
    installed(monkeypatch, "ponder.scenarios", TinyEP=ref("TinyScenario"))
    assert "tinyep" in known_scenarios() and is_scenario_ref("tinyep/tiny/0")
    assert isinstance(get_scenario("TinyEP"), TinyScenario)


def test_a_backend_plugin_is_found_through_its_entry_point(monkeypatch):
    installed(monkeypatch, "ponder.backends", echo=ref("ECHO"))
    assert "echo" not in BACKENDS  # not loaded yet
    assert ("echo:TEXT", "replies TEXT (a test double)") in model_forms()
    assert create_llm("echo:hi").name == "echo:hi"


def test_a_sandbox_plugin_is_found_through_its_entry_point(monkeypatch):
    installed(monkeypatch, "ponder.sandboxes", recording=ref("open_recording"))
    assert isinstance(open_sandbox("recording"), RecordingSandbox)


def test_a_task_kind_plugin_is_found_through_its_entry_point(monkeypatch):
    installed(monkeypatch, "ponder.kinds", plugkind=ref("PluginKind"))
    assert "plugkind" in known_kinds()
    kind = get_kind("plugkind")
    assert isinstance(kind, PluginKind) and get_kind("plugkind") is kind  # built once


def test_code_registration_comes_before_an_entry_point(monkeypatch):
    installed(monkeypatch, "ponder.kinds", plugkind=ref("PluginKind"), code=ref("NOT_A_THING"))
    mine = register_kind(PluginKind())
    assert get_kind("plugkind") is mine
    assert isinstance(get_kind("code"), CodeKind)  # the built-in wins over the plug-in
    assert known_kinds().count("code") == 1


# --- errors ----------------------------------------------------------------------------------

GETTERS = {
    "strategies": (get_strategy, "strategy", "ponder.strategies"),
    "verifiers": (get_verifier, "verifier", "ponder.verifiers"),
    "scenarios": (get_scenario, "scenario", "ponder.scenarios"),
    "backends": (BACKEND_REGISTRY.get, "model backend", "ponder.backends"),
    "sandboxes": (open_sandbox, "sandbox kind", "ponder.sandboxes"),
    "kinds": (get_kind, "task kind", "ponder.kinds"),
}
A_BUILTIN = {
    "strategies": "greedy",
    "verifiers": "tests",
    "scenarios": "gsm8k",
    "backends": "local",
    "sandboxes": "docker",
    "kinds": "math",
}


@pytest.mark.parametrize("which", sorted(GETTERS))
def test_an_unknown_name_lists_the_known_ones_and_the_group(which):
    get, what, group = GETTERS[which]
    with pytest.raises(ConfigError, match=f"unknown {what} 'nosuch'") as err:
        get("nosuch")
    assert A_BUILTIN[which] in err.value.fix and repr(group) in err.value.fix


@pytest.mark.parametrize("which", sorted(GETTERS))
def test_a_broken_plugin_names_itself(monkeypatch, which):
    get, what, group = GETTERS[which]
    installed(monkeypatch, group, broken=BROKEN)
    assert "broken" in REGISTRIES[which].names()
    with pytest.raises(ConfigError, match=f"{what} plug-in 'broken'") as err:
        get("broken")
    assert BROKEN in err.value.message and "failed to load" in err.value.message
    assert repr(group) in err.value.fix


def test_an_unknown_model_string_names_the_backend_group():
    with pytest.raises(ConfigError, match="unknown model string 'nosuch:x'") as err:
        create_llm("nosuch:x")
    assert "openai:MODEL@URL" in err.value.fix and "'ponder.backends'" in err.value.fix


def test_a_broken_backend_plugin_is_left_out_of_the_forms_but_named_when_used(monkeypatch):
    installed(monkeypatch, "ponder.backends", broken=BROKEN)
    assert [f for f, _ in model_forms()][0] == "local"
    with pytest.raises(ConfigError, match=f"model backend plug-in 'broken' \\({BROKEN}\\)"):
        create_llm("broken:x")


@pytest.mark.parametrize(
    ("group", "call", "match"),
    [
        ("ponder.strategies", lambda: strategy_class("bad"), "not a Strategy subclass"),
        ("ponder.backends", lambda: create_llm("bad:x"), "not a Backend"),
        ("ponder.kinds", lambda: get_kind("bad"), "not a Kind"),
        ("ponder.scenarios", lambda: get_scenario("bad"), "not a Scenario"),
    ],
)
def test_a_plugin_of_the_wrong_type_is_a_clear_error(monkeypatch, group, call, match):
    wrong = "not_a_scenario" if group == "ponder.scenarios" else "NOT_A_THING"
    installed(monkeypatch, group, bad=ref(wrong))
    with pytest.raises(ConfigError, match=match):
        call()


def test_the_generic_registry():
    things: Registry[int] = Registry("thing", "ponder.test-things", lazy={"answer": ref("FORTY")})
    assert things.register("one", 1) == 1
    assert things.register("two")(2) == 2
    assert things.names() == ["one", "two", "answer"]
    assert things.get("answer") == 42 and "answer" in things and "three" not in things
    with pytest.raises(ConfigError, match="unknown thing 'three'") as err:
        things.get("three")
    assert "one, two, answer" in err.value.fix


FORTY = 42
