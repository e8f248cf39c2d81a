"""Functions app entry point: creates the Durable Functions app and registers every blueprint."""

import logging

import azure.durable_functions as df
import azure.functions as func

from activities import blueprints as activity_blueprints
from api import blueprints as api_blueprints
from housekeeping import blueprints as housekeeping_blueprints
from orchestrators import blueprints as orchestrator_blueprints
from orchestrators import sagas
from shared.saga import check_registered

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)

# The Python worker passes INFO records on to Application Insights, and the Azure SDKs log each
# storage request and answer at INFO: two billed records per Table call. Warnings still show.
logging.getLogger("azure.core.pipeline.policies.http_logging_policy").setLevel(logging.WARNING)

# Blueprints are df.Blueprint, not func.Blueprint: only the durable one has the orchestration,
# activity and durable-client decorators the saga modules need, so every module uses it alike.
for blueprint in [
    *api_blueprints,
    *orchestrator_blueprints,
    *activity_blueprints,
    *housekeeping_blueprints,
]:
    app.register_functions(blueprint)
# A step naming an activity the app lacks would hang its instances in Azure: refuse to load.
check_registered(app, *sagas)
