"""Extension points: schemes, adapter methods, targets and metrics registered from outside the core."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points

import pytest

import plait.plugins as plugins
from plait.config import Settings
from plait.evaluate import metric_from, target
from plait.evaluate.metrics import Metric
from plait.models import parse_ref, resolve_model
from plait.plugins import (PluginError, register_adapter_method, register_metric, register_model_scheme,
                           register_target)
from plait.testing import ScriptedChatModel


@pytest.fixture
def registry(monkeypatch):
    """A registry of its own, with plait's entry points already loaded into it."""
    fresh = plugins._Registry()
    monkeypatch.setattr(plugins, "_REGISTRY", fresh)
    import plait.evaluate.metrics as metrics
    import plait.evaluate.targets as targets
    # What the core registers at import time, registered again into the fresh registry.
    register_target("role", targets._role)
    register_metric("judge", lambda: metrics.judge(metrics.CORRECTNESS_RUBRIC))
    return fresh


def test_a_plugin_scheme_resolves_like_a_builtin(registry):
    built = {}

    def build(ref, settings, options):
        built.update(ref=str(ref), options=options)
        return ScriptedChatModel(replies=[f"echo from {ref.name}"])
    register_model_scheme("echo", build, form="echo:NAME")
    assert parse_ref("echo:parrot").scheme == "echo"
    llm = resolve_model("echo:parrot", settings=Settings(tracing=False), max_tokens=5)
    assert llm.invoke("hi").content == "echo from parrot"
    assert built["ref"] == "echo:parrot" and built["options"]["max_tokens"] == 5
    with pytest.raises(Exception, match="echo:NAME"):  # unknown schemes list the plugin's form too
        parse_ref("nope:x")


def test_adapter_method_from_a_plugin(registry, tmp_path):
    folder = tmp_path / ".plait" / "adapters" / "kw"
    folder.mkdir(parents=True)
    (folder / "adapter.json").write_text(json.dumps({"method": "keywords", "base": "local:gemma-3-270m"}))
    register_adapter_method("keywords", lambda name, where, meta, settings, options:
                            ScriptedChatModel(replies=[f"{name}:{meta['method']}:{where.name}"]))
    llm = resolve_model("lora:kw", settings=Settings(tracing=False, home=tmp_path / ".plait"))
    assert llm.invoke("x").content == "kw:keywords:kw"


def test_targets_and_metrics_by_name(registry):
    seen = {}

    def factory(request):
        seen.update(spec=request.spec, argument=request.argument, options=request.options)
        return "built"
    register_target("mine", factory)
    assert target("mine:arg", k=3) == "built"
    assert seen == {"spec": "mine:arg", "argument": "arg", "options": {"k": 3}}
    register_metric("always_one", lambda: Metric("always_one", lambda case: 1.0))
    assert metric_from("always_one").name == "always_one"
    with pytest.raises(Exception, match="always_one"):  # the unknown-metric message lists it
        metric_from("no_such_metric")


def test_two_plugins_claiming_one_name_is_an_error(registry):
    register_target("dup", lambda request: 1)
    with pytest.raises(PluginError, match="registered twice"):
        register_target("dup", print)


def test_a_broken_plugin_names_itself(registry, monkeypatch):
    class Broken:
        name, value = "broken", "broken_pkg:register"

        def load(self):
            raise ImportError("No module named 'broken_pkg'")
    monkeypatch.setattr(plugins, "entry_points", lambda group: [Broken()])
    with pytest.raises(PluginError, match="'broken' .*broken_pkg:register.*Reinstall"):
        plugins.lookup("target", "nothing-registered")


def test_plait_layers_register_through_entry_points():
    points = {p.name: p.value for p in entry_points(group=plugins.GROUP)}
    assert points == {"agents": "plait.agents.plugin:register", "chains": "plait.chains.plugin:register",
                      "finetune": "plait.finetune.plugin:register"}


def test_the_core_imports_no_layer_until_a_name_needs_one():
    # A fresh interpreter: importing the core and resolving core names pulls in no layer above it;
    # asking for the support target loads the plugins, and only then plait.agents.
    code = """
import sys
import plait, plait.evaluate
from plait.evaluate import metric_from
metric_from("exact_match"); metric_from("judge")
above = ("plait.chains", "plait.agents", "plait.finetune", "plait.tools", "plait.retrieval", "plait.cli", "plait.serve")
print(sorted(m for m in sys.modules if m.startswith(above)))
from plait.plugins import lookup
print(lookup("target", "support").__module__)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    before, module = out.stdout.strip().splitlines()
    assert before == "[]" and module == "plait.agents.plugin"


def test_packaged_adapter_resolves_unless_the_store_has_one(registry, tmp_path):
    from plait.plugins import register_packaged_adapter

    shipped = tmp_path / "pkg" / "kw2"
    shipped.mkdir(parents=True)
    (shipped / "adapter.json").write_text(json.dumps({"method": "keywords2", "base": "local:gemma-3-270m"}))
    register_adapter_method("keywords2", lambda name, where, meta, settings, options:
                            ScriptedChatModel(replies=[f"{name} from {where.parent.name}"]))
    register_packaged_adapter("kw2", shipped)
    settings = Settings(tracing=False, home=tmp_path / ".plait")
    assert resolve_model("lora:kw2", settings=settings).invoke("x").content == "kw2 from pkg"
    trained = tmp_path / ".plait" / "adapters" / "kw2"  # one trained into the store under that name wins
    trained.mkdir(parents=True)
    (trained / "adapter.json").write_text((shipped / "adapter.json").read_text())
    assert resolve_model("lora:kw2", settings=settings).invoke("x").content == "kw2 from adapters"


def test_the_agent_role_defaults_to_the_packaged_tool_adapter_unless_the_user_binds_a_default():
    from plait.models.refs import reference_for

    assert reference_for(None, role="agent", settings=Settings(tracing=False)) == "lora:tool-calls"
    assert reference_for(None, role="classifier", settings=Settings(tracing=False)) == "local:gemma-3-270m"
    bound = Settings(tracing=False, models={"default": "openai:gpt-4o-mini"})
    assert reference_for(None, role="agent", settings=bound) == "openai:gpt-4o-mini"  # the user's default wins
    assert reference_for(None, role="agent", settings=Settings(tracing=False, models={"agent": "local:gemma-3-270m"})) \
        == "local:gemma-3-270m"
