"""The function app's settings: identity-based connections, the app's own settings, no secrets."""

from typing import Any

from tests.infra.bicep import body, conditional, model, module_output, resources_of_type

FUNCTION = "app/function.bicep"


def _settings(variable: str) -> dict[str, Any]:
    """name -> value expression of one `[{name, value}]` variable of function.bicep."""
    entries = model(FUNCTION)["variables"][variable]["value"]
    return {entry["name"]: entry["value"] for entry in entries}


def _all_setting_names() -> set[str]:
    groups = ["baseSettings", "shippingSetting", "schedulerConnection"]
    return {name for group in groups for name in _settings(group)}


def test_the_site_gets_base_optional_shipping_and_scheduler_settings() -> None:
    """siteConfig.appSettings = baseSettings + the two conditional groups."""
    (app,) = resources_of_type(FUNCTION, "Microsoft.Web/sites").values()
    assert body(app)["properties"]["siteConfig"]["appSettings"] == "appSettings"
    variables = model(FUNCTION)["variables"]
    assert variables["appSettings"]["value"] == {
        "function": {
            "type": "concat",
            "parameters": {
                "arg_1": "baseSettings",
                "arg_2": "shippingSettings",
                "arg_3": "schedulerSettings",
            },
        }
    }


def test_host_storage_is_identity_based() -> None:
    """AzureWebJobsStorage__accountName/__credential/__clientId, never a connection string."""
    settings = _settings("baseSettings")
    assert settings["AzureWebJobsStorage__accountName"] == "storageAccountName"
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert settings["AzureWebJobsStorage__clientId"] == "identityClientId"
    assert "AzureWebJobsStorage" not in _all_setting_names()
    assert "SAGA_STORAGE_CONNECTION" not in _all_setting_names()


def test_the_saga_tables_are_reached_with_the_identity() -> None:
    """SAGA_TABLE_ENDPOINT makes shared/storage.py use DefaultAzureCredential, and
    AZURE_CLIENT_ID tells it which (user-assigned) identity to use."""
    settings = _settings("baseSettings")
    assert settings["SAGA_TABLE_ENDPOINT"] == "storageTableEndpoint"
    assert settings["AZURE_CLIENT_ID"] == "identityClientId"
    assert settings["SAGA_TABLE_PREFIX"] == "tablePrefix"
    main_params = model("main.bicep")["modules"]["functionApp"]["config"]["params"]
    assert main_params["storageTableEndpoint"] == module_output("storage", "tableEndpoint")


def test_telemetry_is_sent_with_the_identity() -> None:
    """Application Insights ingestion authenticates as the user-assigned identity."""
    settings = _settings("baseSettings")
    assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == (
        "Authorization=AAD;ClientId=${identityClientId}"
    )
    # Read from the component at deployment time, never passed through outputs.
    assert "applicationInsights" in str(settings["APPLICATIONINSIGHTS_CONNECTION_STRING"])


def test_the_app_settings_are_wired_from_parameters_and_chaos_is_off() -> None:
    """Approval settings come from parameters; CHAOS_FAULT_RATE is pinned to 0 in Azure."""
    settings = _settings("baseSettings")
    assert settings["CHAOS_FAULT_RATE"] == "0"
    assert "CHAOS_SEED" not in _all_setting_names()
    for name, param in [
        ("APPROVAL_THRESHOLD_CENTS", "approvalThresholdCents"),
        ("APPROVAL_TIMEOUT_SECONDS", "approvalTimeoutSeconds"),
        ("SAGA_RETENTION_DAYS", "retentionDays"),
    ]:
        to_string = {"type": "string", "parameters": {"value_to_convert": param}}
        assert settings[name] == {"function": to_string}
    assert settings["ORDER_SAGA_STYLE"] == "orderSagaStyle"
    assert settings["SAGA_RETENTION_SCHEDULE"] == "retentionSchedule"
    assert _settings("shippingSetting") == {"SHIPPING_COUNTRIES": "shippingCountries"}
    shipping = model(FUNCTION)["variables"]["shippingSettings"]["value"]
    empty = {"function": {"type": "empty", "parameters": {"item_to_test": "shippingCountries"}}}
    assert shipping == conditional(empty, [], "shippingSetting")


def test_flex_consumption_runtime_settings_are_absent() -> None:
    """Flex Consumption rejects FUNCTIONS_WORKER_RUNTIME and FUNCTIONS_EXTENSION_VERSION."""
    names = _all_setting_names()
    assert "FUNCTIONS_WORKER_RUNTIME" not in names
    assert "FUNCTIONS_EXTENSION_VERSION" not in names
    assert not any(name.startswith("WEBSITE_CONTENT") for name in names)


def test_only_non_secret_connection_strings_are_set() -> None:
    """The two *_CONNECTION_STRING settings carry no key: Application Insights' names the
    component (local auth is off) and the scheduler's says Authentication=ManagedIdentity. The
    third name with CONNECTION in it holds a setting's name, not a connection."""
    names = {name for name in _all_setting_names() if "CONNECTION" in name.upper()}
    assert names == {
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "DURABLE_TASK_SCHEDULER_CONNECTION_STRING",
        "AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName",
    }
    scheduler = _settings("schedulerConnection")
    assert scheduler["DURABLE_TASK_SCHEDULER_CONNECTION_STRING"] == (
        "Endpoint=${schedulerEndpoint};Authentication=ManagedIdentity;ClientID=${identityClientId}"
    )
    assert (
        scheduler[
            "AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName"
        ]
        == "DURABLE_TASK_SCHEDULER_CONNECTION_STRING"
    )


def test_scheduler_settings_exist_only_with_the_scheduler_backend() -> None:
    """The provider override and the scheduler's connection, only when useScheduler; no
    TASKHUB_NAME, because the hub is host.json's hubName (test_backend_switch.py)."""
    assert set(_settings("schedulerConnection")) == {
        "AzureFunctionsJobHost__extensions__durableTask__storageProvider__type",
        "AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName",
        "DURABLE_TASK_SCHEDULER_CONNECTION_STRING",
    }
    scheduler = model(FUNCTION)["variables"]["schedulerSettings"]["value"]
    assert scheduler == conditional("useScheduler", "schedulerConnection", [])
