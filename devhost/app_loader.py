"""Imports a Functions app (function_app.py) and indexes its functions by trigger type."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import azure.functions as func

from devhost.signatures import FunctionLoadError, check_functions
from devhost.supported import UnsupportedApp, check_supported


class AppLoadError(Exception):
    """The app could not be imported or has no FunctionApp object."""


V1_NOT_SUPPORTED = (
    "v1 (function.json) apps are not supported by devhost: it runs apps of the v2 programming "
    "model, whose function_app.py declares the functions with decorators"
)


@dataclass
class FunctionIndex:
    """The app's functions, by the names the host resolves them with."""

    app_dir: Path
    app_file: Path | None = None  # the file the app was imported from (workers import it too)
    http: list[Any] = field(default_factory=list)
    orchestrators: dict[str, Any] = field(default_factory=dict)
    activities: dict[str, Any] = field(default_factory=dict)
    # load_app refuses an app with entities or other triggers; index_functions keeps them.
    entities: dict[str, Any] = field(default_factory=dict)
    timers: list[Any] = field(default_factory=list)
    unsupported: list[Any] = field(default_factory=list)
    every: list[Any] = field(default_factory=list)  # all of them, in the app's order


def load_app(app_path: str | Path) -> FunctionIndex:
    """Import the app file (its folder goes on sys.path, as the worker does) and index it."""
    path = Path(app_path).resolve()
    if path.is_dir():
        path = path / "function_app.py"
    if not path.exists():
        if _is_v1_app(path.parent):
            raise AppLoadError(f"{path.parent} is a v1 app: {V1_NOT_SUPPORTED}")
        raise AppLoadError(f"no Functions app at {path}")
    app_dir = path.parent
    is_main_app = app_dir == Path.cwd().resolve()
    if str(app_dir) not in sys.path:
        # The worker puts the app folder first; another folder (a test's fixture app) goes
        # last, so it cannot shadow the project's own modules for later imports.
        if is_main_app:
            sys.path.insert(0, str(app_dir))
        else:
            sys.path.append(str(app_dir))
    module = _import(path, "function_app" if is_main_app else _private_name(path))
    apps = [value for value in vars(module).values() if isinstance(value, func.FunctionRegister)]
    if not apps:
        if _is_v1_app(app_dir):
            raise AppLoadError(f"{app_dir} is a v1 app: {V1_NOT_SUPPORTED}")
        raise AppLoadError(f"{path} defines no FunctionApp (e.g. app = df.DFApp())")
    index = index_functions(apps[0], app_dir)
    try:
        # As the worker indexes the app: one function it cannot load fails the whole app.
        check_functions(index.every)
    except FunctionLoadError as error:
        raise AppLoadError(f"FunctionLoadError: {error}") from None
    try:
        # An app Azure would load but devhost cannot run is refused now, not on first use.
        check_supported(index.every)
    except UnsupportedApp as error:
        raise AppLoadError(str(error)) from None
    index.app_file = path
    return index


def _is_v1_app(app_dir: Path) -> bool:
    """A v1 app declares each function in <app>/<function name>/function.json."""
    return app_dir.is_dir() and any(app_dir.glob("*/function.json"))


def _private_name(path: Path) -> str:
    """A module name of its own for an app outside the working folder (tests load several)."""
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    return f"function_app_{path.parent.name}_{digest}"


def _import(path: Path, name: str) -> Any:
    loaded = sys.modules.get(name)
    if loaded is not None and Path(getattr(loaded, "__file__", "") or "").resolve() == path:
        return loaded
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
    index = FunctionIndex(app_dir=app_dir, every=list(functions))
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
