"""Hook markers that cost nothing to import, and the plugin's marked hooks read without pluggy.

Every plugin imports ``hookimpl`` and every CPI call imports the active plugin, but only some
calls run a hook through pluggy (``info`` and ``has_vm`` run none): importing pluggy, which
pulls in ``inspect``, would cost every call ~25 ms for nothing. These markers record the same
options as ``pluggy.HookimplMarker`` / ``pluggy.HookspecMarker`` (same keywords, same defaults,
same checks) under their own attribute; the pluggy manager reads them through its documented
extension points (:class:`~cpi_framework.plugin_system.pluggy_manager.CpiPluginManager`), so wrappers,
``tryfirst``, ``specname``... behave exactly as with pluggy's own markers, which keep working.

:func:`marked_hooks` finds a plugin's marked functions the way pluggy's ``register`` does
(attributes of the module, class or instance; properties are not evaluated), so the core can
check hook names and ask ``cpi_hypervisor`` without building a pluggy manager.
"""

# No ``from __future__ import annotations`` here: typing.NamedTuple compiles every field's annotation
# string (~3 ms a process for the records on the path of every call); real annotations cost nothing.

import types
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

PROJECT = "cpi_framework"
IMPL_ATTR = "_cpi_framework_hookimpl"
SPEC_ATTR = "_cpi_framework_hookspec"
PLUGGY_IMPL_ATTR = PROJECT + "_impl"
"""Where ``pluggy.HookimplMarker("cpi_framework")`` records its options: only used to notice
a plugin marked that way, which is then handed to pluggy as a whole (see :func:`marked_hooks`)."""

_F = TypeVar("_F", bound=Callable[..., Any])


class HookimplMarker:
    """``@hookimpl``: the options of ``pluggy.HookimplMarker``, recorded without importing pluggy."""

    def __call__(self, function: _F | None = None, hookwrapper: bool = False, optionalhook: bool = False,
                 tryfirst: bool = False, trylast: bool = False, specname: str | None = None,
                 wrapper: bool = False) -> Any:
        options = {"wrapper": wrapper, "hookwrapper": hookwrapper, "optionalhook": optionalhook,
                   "tryfirst": tryfirst, "trylast": trylast, "specname": specname}

        def mark(func: _F) -> _F:
            setattr(func, IMPL_ATTR, options)
            return func

        return mark if function is None else mark(function)


class HookspecMarker:
    """The hookspec marker: the options of ``pluggy.HookspecMarker``, recorded without importing pluggy."""

    def __call__(self, function: _F | None = None, firstresult: bool = False, historic: bool = False,
                 warn_on_impl: Warning | None = None, warn_on_impl_args: Any = None) -> Any:
        if historic and firstresult:
            raise ValueError("cannot have a historic firstresult hook")
        options = {"firstresult": firstresult, "historic": historic, "warn_on_impl": warn_on_impl,
                   "warn_on_impl_args": warn_on_impl_args}

        def mark(func: _F) -> _F:
            setattr(func, SPEC_ATTR, options)
            return func

        return mark if function is None else mark(function)


def marker_options(holder: object, attr: str) -> dict[str, Any] | None:
    """The options a marker recorded on ``holder`` (a function, or a static/class method around one)."""
    options = getattr(holder, attr, None)
    if options is None:
        options = getattr(getattr(holder, "__func__", None), attr, None)
    return options if isinstance(options, dict) else None


def static_hook_attr(obj: object, name: str) -> tuple[object, Callable[..., Any]] | None:
    """``(marker holder, callable)`` for attribute ``name`` of a plugin, like pluggy's lookup.

    Functions, static and class methods and bound methods only; properties and other
    descriptors are not evaluated (pluggy uses ``inspect.getattr_static`` for the same reason).
    """
    if isinstance(obj, types.ModuleType):
        value = vars(obj).get(name)
        return (value, value) if _is_function(value) else None
    if not isinstance(obj, type):
        value = getattr(obj, "__dict__", {}).get(name)
        if value is not None:
            if _is_method(value):
                return value.__func__, value
            return (value, value) if _is_function(value) else None
    owner = obj if isinstance(obj, type) else type(obj)
    for klass in owner.__mro__:
        if name in vars(klass):
            static = vars(klass)[name]
            break
    else:
        return None
    if isinstance(static, staticmethod):
        return static, static.__func__
    if isinstance(static, classmethod):
        return static, static.__get__(owner, owner)
    if _is_method(static):
        return static.__func__, static
    if _is_function(static):
        return (static, static) if isinstance(obj, type) else (static, static.__get__(obj, owner))
    return None


def _is_function(value: object) -> bool:
    return isinstance(value, types.FunctionType)


def _is_method(value: object) -> bool:
    return isinstance(value, types.MethodType)


class MarkedHook(NamedTuple):
    """One marked attribute of a plugin: the hook it implements and how."""

    hook: str
    function: Callable[..., Any]
    options: dict[str, Any]


def marked_hooks(plugin: object) -> list[MarkedHook] | None:
    """Every attribute of ``plugin`` marked with :data:`cpi_framework.hookspecs.hookimpl`.

    ``None`` when an attribute carries pluggy's own marker instead: such a plugin is left to
    pluggy entirely, so that every one of its hooks is parsed by pluggy's rules.
    """
    found = []
    for name in dir(plugin):
        attr = static_hook_attr(plugin, name)
        if attr is None:
            continue
        holder, function = attr
        if marker_options(holder, PLUGGY_IMPL_ATTR) is not None:
            return None
        options = marker_options(holder, IMPL_ATTR)
        if options is not None:
            found.append(MarkedHook(options["specname"] or name, function, options))
    return found


def spec_names(namespace: object) -> frozenset[str]:
    """The hooks a hookspec module declares (what a marked hook's name must be one of)."""
    return frozenset(name for name, value in vars(namespace).items()
                     if _is_function(value) and marker_options(value, SPEC_ATTR) is not None)
