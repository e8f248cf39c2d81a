"""Fuzzing the HTTP API from its own OpenAPI document (schemathesis): whatever a caller sends,
no 5xx, and every answer conforms to the document (status, headers, content type, body)."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings

from api.openapi import document
from tests.e2e.api import OrderApi
from tests.e2e.conftest import e2e_marks

pytestmark = e2e_marks()

# The same document the app serves at /api/openapi.json (a unit test keeps the two identical).
schema = schemathesis.openapi.from_dict(document())


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_operation_answers_as_documented(case: schemathesis.Case, app: OrderApi) -> None:
    case.call_and_validate(
        base_url=f"{app.base_url}/api",
        session=app.http,
        excluded_checks=[
            # The Functions host (and devhost with it) answers 404, not 405, to a method no
            # function accepts on a route: the app cannot change that.
            schemathesis.checks.unsupported_method,
            # Function keys are enforced by Azure, not by local hosts (func start or devhost).
            schemathesis.checks.ignored_auth,
        ],
    )
