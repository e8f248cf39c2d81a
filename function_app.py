"""Functions app entry point: creates the Durable Functions app and registers every blueprint."""

import azure.durable_functions as df
import azure.functions as func

from api.health import bp as health_bp

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)

# Blueprints are df.Blueprint, not func.Blueprint: only the durable one has the orchestration,
# activity and durable-client decorators the saga modules need, so every module uses it alike.
app.register_functions(health_bp)
