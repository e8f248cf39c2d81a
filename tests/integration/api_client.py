"""An HTTP client for the order API that checks every answer against the OpenAPI document:
the status is documented for that operation and the body validates against its schema."""

from __future__ import annotations

from typing import Any

import jsonschema
import requests

from api.openapi import document


def _operation(method: str, path: str) -> tuple[str, dict[str, Any]]:
    """The documented path template and operation that ``method path`` calls."""
    parts = path.split("?", 1)[0].split("/")
    for template, item in document()["paths"].items():
        pattern = template.split("/")
        if (
            method.lower() in item
            and len(pattern) == len(parts)
            and all(p.startswith("{") or p == part for p, part in zip(pattern, parts, strict=True))
        ):
            return template, item[method.lower()]
    raise AssertionError(f"{method} {path} is not in the OpenAPI document")


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def check_documented(method: str, path: str, response: requests.Response) -> None:
    """Fail unless the response's status, media type, headers and body are documented."""
    template, operation = _operation(method, path)
    spec = operation["responses"].get(str(response.status_code))
    assert spec is not None, f"{method} {template}: status {response.status_code} undocumented"
    spec = _resolve(spec)
    for header, details in spec.get("headers", {}).items():
        if _resolve(details).get("required"):
            assert header in response.headers, f"{method} {template}: no {header} header"
    media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    assert media_type in spec["content"], f"{method} {template}: {media_type} undocumented"
    schema = {**spec["content"][media_type]["schema"], "components": document()["components"]}
    jsonschema.Draft202012Validator(schema).validate(response.json())


class Api:
    """``api.post("/orders", json=...)``: requests' API, relative to the app's `/api`."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/") + "/api"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        response = requests.request(method, self.base_url + path, **kwargs)
        check_documented(method, path, response)
        return response

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)
