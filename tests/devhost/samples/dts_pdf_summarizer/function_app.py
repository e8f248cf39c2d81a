"""Mirrors the durable shape of Durable-Task-Scheduler samples/durable-functions/python/
pdf-summarizer: a blob trigger with a durable client starts an orchestrator that runs three
activities with retries, one of which takes an OpenAI `textCompletion` input binding. (The
sample's Document Intelligence and Blob SDK calls are left out.) devhost runs neither blob
triggers nor the OpenAI extension's bindings, so it must refuse this app."""

import json
import logging

import azure.durable_functions as df
import azure.functions as func

my_app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@my_app.blob_trigger(arg_name="myblob", path="input", connection="AzureWebJobsStorage")
@my_app.durable_client_input(client_name="client")
async def blob_trigger(myblob: func.InputStream, client):
    blob_name = myblob.name.split("/")[1]
    await client.start_new("process_document", client_input=blob_name)


@my_app.orchestration_trigger(context_name="context")
def process_document(context: df.DurableOrchestrationContext):
    retry = df.RetryOptions(first_retry_interval_in_milliseconds=5000, max_number_of_attempts=3)
    blob_name = context.get_input()
    text = yield context.call_activity_with_retry("analyze_pdf", retry, blob_name)
    summary = yield context.call_activity_with_retry("summarize_text", retry, text)
    written = yield context.call_activity_with_retry(
        "write_doc", retry, {"blobName": blob_name, "summary": summary}
    )
    logging.info("summary written to %s", written)


@my_app.activity_trigger(input_name="blobName")
def analyze_pdf(blobName: str) -> str:  # noqa: N803 (the sample's name)
    return f"the text of {blobName}"


@my_app.activity_trigger(input_name="results")
@my_app.generic_input_binding(
    arg_name="response",
    type="textCompletion",
    data_type=func.DataType.STRING,
    prompt="Can you explain what the following text is about? {results}",
    model="%CHAT_MODEL_DEPLOYMENT_NAME%",
)
def summarize_text(results: str, response: str) -> dict:
    return json.loads(response)


@my_app.activity_trigger(input_name="results")
def write_doc(results: dict) -> str:
    return f"{results['blobName']}-summary.txt"
