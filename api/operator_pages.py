"""The operator pages' HTML: one template with its style and scripts inlined, so a page is a
single response that needs nothing else (no CDN, no fonts, no asset requests carrying keys)."""

from __future__ import annotations

import base64
import functools
import hashlib
from importlib import resources

_SCRIPTS = {"list": ["common.js", "list.js"], "order": ["common.js", "timeline.js", "order.js"]}
_TITLES = {"list": "Orders", "order": "Order"}


def _asset(name: str) -> str:
    return resources.files("api").joinpath("operator_assets", name).read_text(encoding="utf-8")


def _digest(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@functools.cache
def page(name: str) -> tuple[str, dict[str, str]]:
    """The page ``name`` ("list" or "order") and its headers, built once per process. The
    Content-Security-Policy admits only this page's own inline script and style and calls to
    the app itself."""
    style = _asset("operator.css")
    script = "\n".join(_asset(file) for file in _SCRIPTS[name])
    html = (
        _asset("page.html")
        .replace("<!--title-->", _TITLES[name])
        .replace("<!--style-->", style)
        .replace("<!--script-->", script)
    )
    policy = (
        f"default-src 'none'; script-src {_digest(script)}; style-src {_digest(style)}; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )
    headers = {
        "Content-Security-Policy": policy,
        "Cache-Control": "no-store",
        # The page's URL may hold the function key (`code`): never send it on.
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    }
    return html, headers
