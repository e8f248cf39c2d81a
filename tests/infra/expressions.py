"""Evaluates pycep's expression trees for given parameter values: the few ARM functions infra/ uses.

The tests use it to ask what a template does with a value (which settings the app gets, which
roles are granted, whether a table prefix passes) instead of comparing expression shapes. It
follows ARM's documented semantics for each function it knows and refuses anything else, so an
expression it cannot evaluate fails the test rather than passing by accident.

pycep writes an identifier and a string literal alike; a string is read as the symbol of that
name when the scope has one, else as a literal (with any ``${name}`` interpolated).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from tests.infra.bicep import INFRA, model

Scope = Mapping[str, Any]
_INTERPOLATION = re.compile(r"\$\{(\w+)\}")


class NotEvaluable(Exception):
    """The expression uses something this evaluator does not model."""


class TemplateScope(Mapping[str, Any]):
    """Parameters (given values, else defaults) and variables of one file; a variable is
    evaluated when first read, so those the evaluator cannot model only fail if used."""

    def __init__(self, relative: str, params: Mapping[str, Any]) -> None:
        parsed = model(relative)
        unknown = set(params) - set(parsed["parameters"])
        if unknown:
            raise KeyError(f"{relative} has no parameters {sorted(unknown)}")
        self._values: dict[str, Any] = {
            name: params[name] if name in params else param["default"]
            for name, param in parsed["parameters"].items()
        }
        self._variables = {name: v["value"] for name, v in parsed.get("variables", {}).items()}
        self._base = (INFRA / relative).parent

    def __getitem__(self, name: str) -> Any:
        if name not in self._values:
            if name not in self._variables:
                raise KeyError(name)
            self._values[name] = evaluate(self._variables[name], self, self._base)
        return self._values[name]

    def __contains__(self, name: object) -> bool:
        return name in self._values or name in self._variables

    def __iter__(self) -> Iterator[str]:
        return iter({**self._variables, **self._values})

    def __len__(self) -> int:
        return len({**self._variables, **self._values})


def template_scope(relative: str, **params: Any) -> TemplateScope:
    """What infra/<relative> computes for these parameter values (defaults for the rest)."""
    return TemplateScope(relative, params)


def evaluate(node: Any, scope: Scope, base: Path = INFRA) -> Any:
    """The value of one pycep expression; ``base`` is the folder loadJsonContent paths start in."""
    if node is None or isinstance(node, bool | int | float):
        return node
    if isinstance(node, str):
        if node in scope:
            return scope[node]
        return _INTERPOLATION.sub(lambda m: _text(_lookup(m.group(1), scope)), node)
    if isinstance(node, list):
        return [evaluate(item, scope, base) for item in node]
    if "operator" in node:
        return _operator(node["operator"], scope, base)
    if "function" in node:
        return _function(node["function"], scope, base)
    if node.get("type") == "lambda_expression":
        raise NotEvaluable("a lambda outside filter()")
    return {key: evaluate(value, scope, base) for key, value in node.items()}


class _With(Mapping[str, Any]):
    """A scope plus a lambda's variable."""

    def __init__(self, scope: Scope, name: str, value: Any) -> None:
        self._scope, self._name, self._value = scope, name, value

    def __getitem__(self, name: str) -> Any:
        return self._value if name == self._name else self._scope[name]

    def __contains__(self, name: object) -> bool:
        return name == self._name or name in self._scope

    def __iter__(self) -> Iterator[str]:
        return iter([self._name, *self._scope])

    def __len__(self) -> int:
        return len(self._scope) + 1


class Runtime(str):
    """A value Azure knows only while deploying, e.g. ``storage.outputs.name``."""


def _dotted(operator: dict[str, Any]) -> str:
    first, rest = operator["operands"]["operand_1"], operator["operands"]["operand_2"]
    tail = _dotted(rest["operator"]) if isinstance(rest, dict) and "operator" in rest else rest
    return f"{first}.{tail}"


def _lookup(name: str, scope: Scope) -> Any:
    if name not in scope:
        raise NotEvaluable(f"unknown symbol {name!r}")
    return scope[name]


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _operator(operator: dict[str, Any], scope: Scope, base: Path) -> Any:
    kind, operands = operator["type"], operator["operands"]

    def arg(name: str) -> Any:
        return evaluate(operands[name], scope, base)

    if kind == "property_accessor":
        # A resource's or module's property is known only at deployment; it may be passed on
        # (an app setting's value), but nothing here computes with it.
        return Runtime(_dotted(operator))
    if kind == "conditional":  # only the branch taken is evaluated, as in ARM's if()
        return arg("true_value") if arg("condition") else arg("false_value")
    binary: dict[str, Callable[[Any, Any], Any]] = {
        "equals": lambda a, b: a == b,  # `==` is case-sensitive; `=~` would not be
        "not_equals": lambda a, b: a != b,
        "and": lambda a, b: bool(a) and bool(b),
        "or": lambda a, b: bool(a) or bool(b),
        "greater_than": lambda a, b: a > b,
    }
    if kind in binary:
        return binary[kind](arg("operand_1"), arg("operand_2"))
    if kind == "not":
        return not arg("bool_value")
    raise NotEvaluable(f"operator {kind}")


def _function(function: dict[str, Any], scope: Scope, base: Path) -> Any:
    kind, parameters = function["type"], function["parameters"]

    def arg(name: str) -> Any:
        return evaluate(parameters[name], scope, base)

    if kind == "empty":
        value = arg("item_to_test")
        return value is None or len(value) == 0
    if kind == "concat":
        parts = [evaluate(value, scope, base) for value in parameters.values()]
        if all(isinstance(part, str) for part in parts):
            return "".join(parts)
        return [item for part in parts for item in part]
    if kind == "contains":
        return arg("item_to_find") in arg("container")  # ordinal, case-sensitive for strings
    if kind == "substring":
        text, start, length = arg("string_to_parse"), arg("start_index"), arg("length")
        if start < 0 or length < 0 or start + length > len(text):
            raise ValueError("substring: index and length must lie within the string")
        return text[start : start + length]
    if kind == "split":
        text, delimiter = arg("input_string"), arg("delimiter")
        delimiters = [delimiter] if isinstance(delimiter, str) else delimiter
        return re.split("|".join(map(re.escape, delimiters)), text)
    if kind == "filter":
        items, predicate = arg("input_array"), parameters["expression"]
        item_name, expression = predicate["detail"]["var_1"], predicate["detail"]["expression"]
        return [item for item in items if evaluate(expression, _With(scope, item_name, item), base)]
    if kind == "string":
        return _text(arg("value_to_convert"))
    if kind == "any":
        return arg("value")
    if kind == "load_json_content":
        return _load_json(base / parameters["file_path"], parameters.get("json_path"))
    raise NotEvaluable(f"function {kind}")


def _load_json(path: Path, json_path: str | None) -> Any:
    """loadJsonContent(path, '$.a.b'): only dotted paths, which is all infra/ uses."""
    value = json.loads(path.read_text(encoding="utf-8"))
    if json_path:
        if not re.fullmatch(r"\$(\.\w+)+", json_path):
            raise NotEvaluable(f"JSONPath {json_path}")
        for key in json_path.split(".")[1:]:
            value = value[key]
    return value
