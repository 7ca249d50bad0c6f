"""One registry for every extension point: entries registered in code, then installed plug-ins.

A plug-in package declares its entries in its pyproject.toml, e.g.

    [project.entry-points."ponder.strategies"]
    mysearch = "mypkg.search:MySearch"

Imports nothing of Ponder but its errors, so any module may build a registry.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from importlib import metadata
from typing import Any, Generic, TypeVar, overload

from ponder.errors import ConfigError

T = TypeVar("T")
V = TypeVar("V")


class Registry(Generic[T]):
    """Named objects of one sort (`what`, e.g. "strategy"), found in this order: entries
    registered in code (the built-in `modules` are imported on first use, to register theirs),
    `lazy` built-ins given as "module:attr" references (loaded on first `get`), then the
    entry points of `group` in installed packages.

    `adapt(name, obj)` checks or converts what is registered or loaded (e.g. instantiates a
    class); the ConfigErrors it raises pass through unchanged. Loaded objects are kept.
    """

    def __init__(
        self,
        what: str,
        group: str,
        *,
        modules: Iterable[str] = (),
        lazy: Mapping[str, str] | None = None,
        adapt: Callable[[str, Any], T] | None = None,
        ignore_case: bool = False,
    ) -> None:
        self.what, self.group, self.ignore_case = what, group, ignore_case
        self.entries: dict[str, T] = {}  # registered or loaded, by (folded) name
        self._modules = tuple(modules)
        self._lazy = {
            self._key(n): metadata.EntryPoint(n, v, group) for n, v in (lazy or {}).items()
        }
        self._adapt = adapt or (lambda name, obj: obj)
        self._imported = False

    def _key(self, name: str) -> str:
        return name.lower() if self.ignore_case else name

    @overload
    def register(self, name: str) -> Callable[[V], V]: ...
    @overload
    def register(self, name: str, obj: V) -> V: ...
    def register(self, name: str, obj: Any = None) -> Any:
        """Register `obj` as `name`; without `obj`, a decorator that does so."""

        def add(o: V) -> V:
            self.entries[self._key(name)] = self._adapt(name, o)
            return o

        return add if obj is None else add(obj)

    def load_builtins(self) -> None:
        if not self._imported:
            for module in self._modules:
                importlib.import_module(module)
            self._imported = True

    def plugins(self) -> dict[str, metadata.EntryPoint]:
        """The installed entry points of this registry's group, by (folded) name."""
        return {self._key(ep.name): ep for ep in metadata.entry_points(group=self.group)}

    def names(self) -> list[str]:
        """Registered and built-in names in registration order, then plug-ins sorted."""
        self.load_builtins()
        own = [*self.entries, *(n for n in self._lazy if n not in self.entries)]
        return own + sorted(set(self.plugins()) - set(own))

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        self.load_builtins()
        key = self._key(name)
        return key in self.entries or key in self._lazy or key in self.plugins()

    def get(self, name: str) -> T:
        """The entry called `name`; a ConfigError names the known ones when there is none."""
        self.load_builtins()
        key = self._key(name)
        if key in self.entries:
            return self.entries[key]
        if key in self._lazy:  # a built-in: its import errors are bugs, shown as they are
            self.register(name, self._lazy[key].load())
            return self.entries[key]
        plugin = self.plugins().get(key)
        if plugin is None:
            raise ConfigError(
                f"unknown {self.what} {name!r}",
                fix=f"use one of: {', '.join(self.names())} (or install a plug-in that "
                f"declares it in the {self.group!r} entry-point group)",
            )
        try:
            self.register(name, plugin.load())
        except ConfigError:
            raise
        except Exception as exc:  # a broken plug-in must name itself
            raise ConfigError(
                f"{self.what} plug-in {name!r} ({plugin.value}) failed to load: {exc}",
                fix=f"reinstall or fix the package that declares {plugin.name!r} in the "
                f"{self.group!r} entry-point group",
            ) from exc
        return self.entries[key]
