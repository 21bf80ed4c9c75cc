"""Strawberry's extension hooks, with the per-request wrapping done once per extension class.

For every request, Strawberry's `SchemaExtensionsRunner` asks each extension for each of its
four hooks (operation, parse, validate, execute), inspects the hook function and wraps it with
`contextlib.contextmanager` anew (`functools.update_wrapper` included). Which hook a class
defines, and of which kind, never changes: here it is found once per class, and a request
only calls the ready context manager factory with its extension instance. The behaviour is
Strawberry's own (`ExtensionContextManagerBase` enters and exits the same context managers);
hooks that are plain functions rather than generators keep Strawberry's path.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.extensions.context import (
    ExecutingContextManager,
    ExtensionContextManagerBase,
    OperationContextManager,
    ParsingContextManager,
    ValidationContextManager,
    WrappedHook,
)
from strawberry.extensions.runner import SchemaExtensionsRunner

_Factory = tuple[Callable[[SchemaExtension], Any], bool] | None
_factories: dict[tuple[type[SchemaExtension], str], _Factory | str] = {}
_NOT_A_GENERATOR = "strawberry"


def _factory(cls: type[SchemaExtension], hook_name: str) -> _Factory | str:
    key = (cls, hook_name)
    found = _factories.get(key)
    if found is None and key not in _factories:
        hook = getattr(cls, hook_name)
        if hook is getattr(SchemaExtension, hook_name):
            found = None
        elif inspect.isgeneratorfunction(hook):
            found = (contextlib.contextmanager(hook), False)
        elif inspect.isasyncgenfunction(hook):
            found = (contextlib.asynccontextmanager(hook), True)
        else:
            found = _NOT_A_GENERATOR
        _factories[key] = found
    return found


class _PreparedHooks(ExtensionContextManagerBase):
    __slots__ = ()

    def get_hook(self, extension: SchemaExtension) -> WrappedHook | None:
        found = _factory(type(extension), self.HOOK_NAME)
        if found is None:
            return None
        if isinstance(found, str):
            return super().get_hook(extension)
        factory, is_async = found
        return WrappedHook(
            extension=extension, hook=functools.partial(factory, extension), is_async=is_async
        )


class _Operation(_PreparedHooks, OperationContextManager):
    __slots__ = ()


class _Validation(_PreparedHooks, ValidationContextManager):
    __slots__ = ()


class _Parsing(_PreparedHooks, ParsingContextManager):
    __slots__ = ()


class _Executing(_PreparedHooks, ExecutingContextManager):
    __slots__ = ()


class PreparedExtensionsRunner(SchemaExtensionsRunner):
    """`SchemaExtensionsRunner` whose stages use the hooks prepared once per class."""

    def operation(self) -> OperationContextManager:
        return _Operation(self.extensions)

    def validation(self) -> ValidationContextManager:
        return _Validation(self.extensions)

    def parsing(self) -> ParsingContextManager:
        return _Parsing(self.extensions)

    def executing(self) -> ExecutingContextManager:
        return _Executing(self.extensions)
