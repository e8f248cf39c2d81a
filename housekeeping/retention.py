"""The retention timer: at SAGA_RETENTION_SCHEDULE, forget what long-ended sagas left behind."""

from __future__ import annotations

import os

import azure.functions as func
from azure.durable_functions import Blueprint, DurableOrchestrationClient

from services.tables import TABLES
from shared import retention as policy
from shared.ledgers import ledger_for
from shared.services import current
from shared.settings import Settings

bp = Blueprint()


# The schedule is read when the worker indexes the app, where app settings are environment
# variables; a change takes effect at the next restart, as a binding expression's would.
@bp.timer_trigger(
    arg_name="timer",
    schedule=Settings.from_env(os.environ).retention_schedule,
    use_monitor=True,
)
@bp.durable_client_input(client_name="client")
async def retention(timer: func.TimerRequest, client: DurableOrchestrationClient) -> None:
    """Delete the idempotency records and purge the histories of the sagas that ended longer
    ago than SAGA_RETENTION_DAYS (shared.retention says why that is safe)."""
    services = current()
    await policy.purge(
        client, TABLES, ledger_for, services.clock(), services.settings.retention_days
    )
