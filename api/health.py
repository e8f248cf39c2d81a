"""`GET /api/health` (anonymous): 200 once Table storage answers, 503 otherwise."""

from __future__ import annotations

import logging

import azure.functions as func
from azure.durable_functions import Blueprint

from api.problems import ProblemError, ProblemType, json_response
from api.responses import Health
from shared.services import current

log = logging.getLogger("api")

STORAGE_TIMEOUT_SECONDS = 2.0

bp = Blueprint()


# Sync: the storage call blocks, and the worker runs sync functions on its thread pool.
@bp.route(route="health", methods=[func.HttpMethod.GET], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Report whether the app can reach its storage."""
    try:
        current().ping(STORAGE_TIMEOUT_SECONDS)
    except Exception:
        log.warning("health: storage is unreachable", exc_info=True)
        problem = ProblemError(
            ProblemType.UNAVAILABLE, "Storage is unreachable.", headers={"Retry-After": "5"}
        )
        return problem.response()
    return json_response(Health(status="ok", storage="ok").to_json())
