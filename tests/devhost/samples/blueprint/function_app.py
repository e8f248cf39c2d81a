"""Mirrors azure-functions-durable-python samples-v2/blueprint: a plain func.FunctionApp (function
auth level) that registers a durable Blueprint from another module and adds an HTTP function
of its own."""

import azure.functions as func
from durable_blueprints import bp

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(bp)

NO_NAME = (
    "This HTTP triggered function executed successfully. Pass a name in the query string or in "
    "the request body for a personalized response."
)


@app.route(route="HttpTrigger")
def HttpTrigger(req: func.HttpRequest) -> func.HttpResponse:  # noqa: N802 (the sample's name)
    name = req.params.get("name")
    if not name:
        try:
            name = req.get_json().get("name")
        except ValueError:
            name = None
    if not name:
        return func.HttpResponse(NO_NAME, status_code=200)
    return func.HttpResponse(f"Hello, {name}. This HTTP triggered function executed successfully.")
