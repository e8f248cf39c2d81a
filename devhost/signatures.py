"""Refuses functions whose parameters don't match their bindings, as the Python worker does.

The worker checks every function when it indexes the app (``Registry.add_indexed_function`` in
azure_functions_worker/functions.py) and one failure fails the whole app; the messages below are
the worker's own. Type annotations are judged by the converters azure-functions registers, which
is where the worker looks them up too.
"""

from __future__ import annotations

import collections.abc
import inspect
import typing
from typing import Any

import azure.functions as func

_IN, _OUT, _INOUT = 0, 1, 2
_RETURN = "$return"
_UNDEFINED_DATA_TYPE = 0
_DURABLE_CLIENT = "durableClient"


class FunctionLoadError(RuntimeError):
    """A function the worker would refuse to load."""

    def __init__(self, function_name: str, message: str) -> None:
        super().__init__(f"cannot load the {function_name} function: {message}")


def check_functions(functions: list[Any]) -> None:
    """Raise FunctionLoadError for the first function the worker would refuse."""
    for function in functions:
        check_function(function)


def check_function(function: Any) -> None:
    name = str(function.get_function_name())
    user_function = function.get_user_function()
    params = dict(inspect.signature(user_function).parameters)
    annotations = typing.get_type_hints(user_function)
    bound: dict[str, Any] = {}
    explicit_return = implicit_return = explicit_return_set = False
    return_binding: str | None = None
    for binding in function.get_bindings():
        if binding.direction == _INOUT:
            raise FunctionLoadError(name, '"inout" bindings are not supported')
        if binding.name == _RETURN and binding.direction != _OUT:
            raise FunctionLoadError(name, '"$return" binding must have direction set to "out"')
        if binding.name == _RETURN:
            explicit_return = True
        else:
            implicit_return = implicit_return or _has_implicit_output(binding.type)
            bound[binding.name] = binding
        if not explicit_return_set:
            if binding.name == _RETURN:
                return_binding, explicit_return_set = binding.type, True
            elif _has_implicit_output(binding.type):
                return_binding = binding.type
    if "context" in params and "context" not in bound:
        params.pop("context")
        if "context" in annotations:
            annotation = annotations["context"]
            if not isinstance(annotation, type) or annotation.__name__ != "Context":
                raise FunctionLoadError(
                    name,
                    'the "context" parameter is expected to be of type azure.functions.Context, '
                    f"got {annotation!r}",
                )
    _check_names(name, params, bound)
    for param in params.values():
        _check_parameter(name, param.name, bound[param.name], annotations)
    if explicit_return and "return" in annotations:
        _check_return(name, annotations["return"], str(return_binding))


def _check_names(name: str, params: dict[str, Any], bound: dict[str, Any]) -> None:
    if set(params) - set(bound):
        raise FunctionLoadError(
            name,
            "the following parameters are declared in Python but not in function.json: "
            f"{set(params) - set(bound)!r}",
        )
    if set(bound) - set(params):
        raise FunctionLoadError(
            name,
            "the following parameters are declared in function.json but not in Python: "
            f"{set(bound) - set(params)!r}",
        )


def _check_parameter(name: str, param: str, binding: Any, annotations: dict[str, Any]) -> None:
    if param not in annotations:
        return
    annotation = annotations[param]
    is_out = _is_out(annotation)
    py_type = annotation
    if is_out:
        args = _generic_args(annotation)
        if len(args) != 1:
            raise FunctionLoadError(
                name, f"binding {param} has invalid Out annotation {annotation!r}"
            )
        py_type = args[0]
    if not isinstance(py_type, type) and not _is_generic_type(py_type):
        raise FunctionLoadError(
            name, f"binding {param} has invalid non-type annotation {annotation!r}"
        )
    binding_out = binding.direction == _OUT
    if binding_out and not is_out:
        raise FunctionLoadError(
            name,
            f'binding {param} is declared to have the "out" direction, but its annotation in '
            "Python is not a subclass of azure.functions.Out",
        )
    if not binding_out and is_out:
        raise FunctionLoadError(
            name,
            f'binding {param} is declared to have the "in" direction in function.json, but its '
            "annotation is azure.functions.Out in Python",
        )
    kind = binding.type
    if py_type in (str, bytes) and not _has_implicit_output(binding.type):
        kind = "generic"
    check = _converter(kind).check_output_type_annotation if is_out else _input_check(kind)
    if check(py_type):
        return
    type_name = getattr(py_type, "__name__", repr(py_type))
    if binding.data_type != _UNDEFINED_DATA_TYPE:
        raise FunctionLoadError(
            name,
            f'{param!r} binding type "{binding.type}" and dataType "{binding.data_type}" in '
            "function.json do not match the corresponding function parameter's Python type "
            f'annotation "{type_name}"',
        )
    raise FunctionLoadError(
        name,
        f'type of {param} binding in function.json "{binding.type}" does not match its Python '
        f'annotation "{type_name}"',
    )


def _check_return(name: str, annotation: Any, binding_type: str) -> None:
    if _is_generic_type(annotation) and getattr(_generic_origin(annotation), "__name__", "") == (
        "Out"
    ):
        raise FunctionLoadError(name, "return annotation should not be azure.functions.Out")
    if not isinstance(annotation, type):
        raise FunctionLoadError(name, f"has invalid non-type return annotation {annotation!r}")
    if not _converter(binding_type).check_output_type_annotation(annotation):
        raise FunctionLoadError(
            name,
            f'Python return annotation "{annotation.__name__}" does not match binding type '
            f'"{binding_type}"',
        )


# ---------------------------------------------------------------- the worker's binding registry


class _Generic:
    """The worker's fallback for a binding type no converter is registered for."""

    @staticmethod
    def check_input_type_annotation(py_type: Any) -> bool:
        return issubclass(py_type, (str, bytes))

    @staticmethod
    def check_output_type_annotation(py_type: Any) -> bool:
        return issubclass(py_type, (str, bytes, bytearray))


def _converter(kind: str) -> Any:
    return func.get_binding_registry().get(kind) or _Generic


def _input_check(kind: str) -> Any:
    return _converter(kind).check_input_type_annotation


def _has_implicit_output(kind: str) -> bool:
    converter = func.get_binding_registry().get(kind)
    if converter is None:
        # The worker's generic binding has an implicit output for every unknown type except
        # the durable client (so a function with an unknown binding may return a value).
        return kind != _DURABLE_CLIENT
    return bool(getattr(converter, "has_implicit_output", lambda: False)())


# -------------------------------------- typing checks, as the worker's vendored typing_inspect does

_NOT_GENERIC_ORIGINS = (typing.Union, tuple, typing.ClassVar, collections.abc.Callable)


def _is_generic_type(annotation: Any) -> bool:
    """Generic classes and their subscriptions (``List[int]``, ``Out[str]``), not Union, Tuple,
    ClassVar or Callable, and not the builtin ``list[int]`` form."""
    if isinstance(annotation, type) and issubclass(annotation, typing.Generic):
        return True
    alias_types = (typing._GenericAlias, typing._SpecialGenericAlias)  # type: ignore[attr-defined]
    return isinstance(annotation, alias_types) and annotation.__origin__ not in _NOT_GENERIC_ORIGINS


def _generic_origin(annotation: Any) -> Any:
    if isinstance(annotation, typing._GenericAlias):  # type: ignore[attr-defined]
        return annotation.__origin__ if annotation.__origin__ is not typing.ClassVar else None
    return typing.Generic if annotation is typing.Generic else None


def _generic_args(annotation: Any) -> tuple[Any, ...]:
    if isinstance(annotation, typing._GenericAlias):  # type: ignore[attr-defined]
        return tuple(annotation.__args__)
    return ()


def _is_out(annotation: Any) -> bool:
    if _is_generic_type(annotation):
        origin = _generic_origin(annotation)
        if origin is not None:
            return isinstance(origin, type) and origin.__name__ == "Out"
    return isinstance(annotation, type) and annotation.__name__ == "Out"
