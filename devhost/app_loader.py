"""Imports a Functions app (function_app.py) and indexes its functions by trigger type."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import azure.functions as func


class AppLoadError(Exception):
    """The app could not be imported or has no FunctionApp object."""


@dataclass
class FunctionIndex:
    """The app's functions, by the names the host resolves them with."""

    app_dir: Path
    http: list[Any] = field(default_factory=list)
    orchestrators: dict[str, Any] = field(default_factory=dict)
    activities: dict[str, Any] = field(default_factory=dict)
    entities: dict[str, Any] = field(default_factory=dict)
    timers: list[Any] = field(default_factory=list)
    unsupported: list[Any] = field(default_factory=list)


def load_app(app_path: str | Path) -> FunctionIndex:
    """Import the app file (its folder goes on sys.path, as the worker does) and index it."""
    path = Path(app_path).resolve()
    if path.is_dir():
        path = path / "function_app.py"
    if not path.exists():
        raise AppLoadError(f"no Functions app at {path}")
    app_dir = path.parent
    if str(app_dir) not in sys.path:
        sys.path.insert(0, str(app_dir))
    module = _import(path)
    apps = [value for value in vars(module).values() if isinstance(value, func.FunctionRegister)]
    if not apps:
        raise AppLoadError(f"{path} defines no FunctionApp (e.g. app = df.DFApp())")
    return index_functions(apps[0], app_dir)


def _import(path: Path) -> Any:
    # Several fixture apps can be loaded in one test process; only the first takes the usual
    # module name, the others get a unique one so they do not replace each other.
    name = "function_app"
    loaded = sys.modules.get(name)
    if loaded is not None and Path(getattr(loaded, "__file__", "")).resolve() == path:
        return loaded
    if loaded is not None:
        name = f"function_app_{abs(hash(str(path)))}"
        if name in sys.modules:
            return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise AppLoadError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        del sys.modules[name]
        raise AppLoadError(f"importing {path} failed: {error!r}") from error
    return module


def index_functions(app: func.FunctionRegister, app_dir: Path) -> FunctionIndex:
    """Index by trigger; get_functions() may run only once per app object, so cache it."""
    functions = getattr(app, "_devhost_functions", None)
    if functions is None:
        functions = app.get_functions()
        app._devhost_functions = functions  # type: ignore[attr-defined]
    index = FunctionIndex(app_dir=app_dir)
    for function in functions:
        trigger: Any = function.get_trigger()
        kind = trigger.get_binding_name()
        name = str(function.get_function_name())
        if kind == "httpTrigger":
            index.http.append(function)
        elif kind == "orchestrationTrigger":
            index.orchestrators[trigger.orchestration or name] = function
        elif kind == "activityTrigger":
            index.activities[trigger.activity or name] = function
        elif kind == "entityTrigger":
            index.entities[name] = function
        elif kind == "timerTrigger":
            index.timers.append(function)
        else:
            index.unsupported.append(function)
    return index
