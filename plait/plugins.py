"""Extension points: how the layers above the core, and other packages, add to it.

The core names things it cannot build itself: a model scheme (``myserver:NAME``), an adapter
method (``embedding-head`` adapters are built by ``plait.finetune``), an evaluation target
(``classify``, ``rag``, ``support``) or a metric. Each is looked up here. Like simonw/llm's
plugin hooks, a package registers its extensions from a function named in the ``plait`` entry
point group; plait's own layers do exactly the same, so the core never imports a layer above it.

Entry points are loaded once, the first time a lookup misses, so ``import plait`` stays light.

Example, in a package of your own::

    # pyproject.toml
    [project.entry-points.plait]
    myplugin = "myplugin:register"

    # myplugin.py
    from plait.plugins import register_model_scheme

    def register() -> None:
        register_model_scheme("echo", lambda ref, settings, options: EchoChat(**options),
                              form="echo:NAME")
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from plait.errors import PlaitError

GROUP = "plait"
"""The entry point group plugins register under."""

ModelBuilder = Callable[[Any, Any, dict[str, Any]], Any]
"""``(ModelRef, Settings, options) -> BaseChatModel`` for a model scheme."""
AdapterLoader = Callable[[str, Any, dict[str, Any], Any, dict[str, Any]], Any]
"""``(name, folder, adapter.json data, Settings, options) -> BaseChatModel`` for an adapter method."""
TargetFactory = Callable[..., Any]
"""``(request: TargetRequest) -> Target`` for an evaluation target (see plait.evaluate.targets)."""
MetricFactory = Callable[[], Any]
"""``() -> Metric`` for a metric that is built when named (judges need a model)."""


class PluginError(PlaitError):
    """A plugin failed to load, or a name was registered twice."""


@dataclass
class _Registry:
    # One registry per process, the way pluggy's plugin manager is: extensions are process-wide
    # by nature. It only grows, under a lock, and nothing in it is configuration.
    kinds: dict[str, dict[str, Any]] = field(default_factory=lambda: {
        "model scheme": {}, "adapter method": {}, "target": {}, "metric": {}, "packaged adapter": {}})
    forms: dict[str, str] = field(default_factory=dict)
    loaded: bool = False
    lock: threading.RLock = field(default_factory=threading.RLock)


_REGISTRY = _Registry()


def _register(kind: str, name: str, value: Any) -> None:
    with _REGISTRY.lock:
        table = _REGISTRY.kinds[kind]
        if name in table and _origin(table[name]) != _origin(value):
            raise PluginError(f"The {kind} {name!r} is registered twice. Two installed plugins claim it: "
                              "uninstall one, or register yours under another name.")
        table[name] = value


def _origin(value: Any) -> tuple[str, str]:
    # The same function registered again (a module reloaded) is not a clash.
    return getattr(value, "__module__", ""), getattr(value, "__qualname__", repr(value))


def register_model_scheme(scheme: str, builder: ModelBuilder, *, form: str | None = None) -> None:
    """Make ``scheme:NAME`` a model reference built by ``builder(ref, settings, options)``.

    Example:
        >>> register_model_scheme("echo-doc", lambda ref, settings, options: None, form="echo-doc:NAME")
    """
    _register("model scheme", scheme, builder)
    _REGISTRY.forms[scheme] = form or f"{scheme}:NAME"


def register_adapter_method(method: str, loader: AdapterLoader) -> None:
    """Build adapters whose ``adapter.json`` says ``"method": method`` with ``loader``.

    Example:
        >>> register_adapter_method("doc-method", lambda name, folder, meta, settings, options: None)
    """
    _register("adapter method", method, loader)


def register_packaged_adapter(name: str, folder: Any) -> None:
    """Ship adapter ``name`` (a folder with ``adapter.json`` and its GGUF) inside a package.

    ``lora:NAME`` finds it when the user's adapter store has no adapter of that name (one trained
    there takes precedence).

    Example:
        >>> register_packaged_adapter("doc-adapter", "/nowhere/doc-adapter")
    """
    _register("packaged adapter", name, str(folder))


def register_target(name: str, factory: TargetFactory) -> None:
    """Make ``name`` an evaluation target: ``target(name, ...)`` calls ``factory(request)``.

    Example:
        >>> register_target("doc-target", lambda request: None)
    """
    _register("target", name, factory)


def register_metric(name: str, factory: MetricFactory) -> None:
    """Make ``name`` a metric ``plait eval`` accepts; ``factory()`` builds it when it is named.

    Example:
        >>> register_metric("doc-metric", lambda: None)
    """
    _register("metric", name, factory)


def load_plugins() -> None:
    """Run every ``plait`` entry point's register function, once per process."""
    with _REGISTRY.lock:
        if _REGISTRY.loaded:
            return
        _REGISTRY.loaded = True  # first: a plugin that looks a name up while registering must not recurse
        for point in sorted(entry_points(group=GROUP), key=lambda p: p.name):
            try:
                point.load()()
            except PluginError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure of third-party code gets one clear message
                raise PluginError(f"The plait plugin {point.name!r} ({point.value}) failed to load: "
                                  f"{type(exc).__name__}: {exc}. Reinstall or upgrade the package that "
                                  "provides it, or uninstall it.") from exc


def lookup(kind: str, name: str) -> Any | None:
    """Return what is registered as ``name`` of ``kind`` (loading plugins on a miss), or None.

    Example:
        >>> lookup("target", "no-such-target") is None
        True
    """
    table = _REGISTRY.kinds[kind]
    if name not in table:
        load_plugins()
    return table.get(name)


def names(kind: str) -> list[str]:
    """Every registered name of ``kind``, plugins loaded, sorted (for error messages and listings)."""
    load_plugins()
    return sorted(_REGISTRY.kinds[kind])


def scheme_forms() -> dict[str, str]:
    """``scheme -> form`` of every registered model scheme, e.g. ``{"echo": "echo:NAME"}``."""
    load_plugins()
    return dict(_REGISTRY.forms)
