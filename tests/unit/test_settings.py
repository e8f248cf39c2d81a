"""Settings: defaults, parsing, and a clear message for every value it refuses."""

from __future__ import annotations

import dataclasses

import pytest

from shared import services
from shared.errors import SettingsError
from shared.settings import AZURITE_CONNECTION_STRING, Settings, get_settings


class TestDefaults:
    def test_empty_environment_gives_the_documented_defaults(self) -> None:
        """Nothing set: no storage configured, sample thresholds, chaos off."""
        settings = Settings.from_env({})
        assert settings.storage_connection_string is None
        assert settings.table_endpoint is None
        assert settings.table_prefix == ""
        assert settings.approval_threshold_cents == 100_000
        assert settings.approval_timeout_seconds == 86_400
        assert settings.chaos_fault_rate == 0.0
        assert settings.chaos_seed is None
        assert settings.order_saga_style == "declarative"
        assert (settings.retention_days, settings.retention_schedule) == (30, "0 30 3 * * *")

    def test_default_shipping_countries_exclude_antarctica(self) -> None:
        """The sample's ShippingUnavailable path relies on AQ being absent."""
        countries = Settings.from_env({}).shipping_countries
        assert {"NL", "BE", "DE", "FR", "GB", "US"} <= countries
        assert "AQ" not in countries

    def test_blank_values_count_as_unset(self) -> None:
        """App settings often exist with an empty value; that means 'use the default'."""
        blank = dict.fromkeys(
            ["APPROVAL_THRESHOLD_CENTS", "CHAOS_SEED", "AzureWebJobsStorage"], " "
        )
        assert Settings.from_env(blank) == Settings.from_env({})


class TestParsing:
    def test_every_variable_is_read(self) -> None:
        """Each variable lands in its field, converted to its type."""
        settings = Settings.from_env(
            {
                "SAGA_STORAGE_CONNECTION": "AccountName=a;AccountKey=b",
                "SAGA_TABLE_ENDPOINT": "https://acct.table.core.windows.net/",
                "SAGA_TABLE_PREFIX": "test42",
                "APPROVAL_THRESHOLD_CENTS": "0",
                "APPROVAL_TIMEOUT_SECONDS": " 60 ",
                "SHIPPING_COUNTRIES": "nl, be ,DE",
                "CHAOS_FAULT_RATE": "0.3",
                "CHAOS_SEED": "-7",
                "ORDER_SAGA_STYLE": "Imperative",
                "SAGA_RETENTION_DAYS": "7",
                "SAGA_RETENTION_SCHEDULE": "0 0 */6 * * *",
            }
        )
        assert settings == Settings(
            storage_connection_string="AccountName=a;AccountKey=b",
            table_endpoint="https://acct.table.core.windows.net",
            table_prefix="test42",
            approval_threshold_cents=0,
            approval_timeout_seconds=60,
            shipping_countries=frozenset({"NL", "BE", "DE"}),
            chaos_fault_rate=0.3,
            chaos_seed=-7,
            order_saga_style="imperative",
            retention_days=7,
            retention_schedule="0 0 */6 * * *",
        )

    def test_saga_connection_wins_over_the_functions_storage(self) -> None:
        """The app's own tables may live apart from the Functions host's storage."""
        settings = Settings.from_env(
            {"SAGA_STORAGE_CONNECTION": "mine", "AzureWebJobsStorage": "host's"}
        )
        assert settings.storage_connection_string == "mine"
        assert Settings.from_env({"AzureWebJobsStorage": "host's"}).storage_connection_string

    @pytest.mark.parametrize("value", ["UseDevelopmentStorage=true", "usedevelopmentstorage=TRUE;"])
    def test_development_storage_becomes_the_explicit_azurite_string(self, value: str) -> None:
        """The Tables SDK does not understand the shorthand that Functions accepts."""
        settings = Settings.from_env({"AzureWebJobsStorage": value})
        assert settings.storage_connection_string == AZURITE_CONNECTION_STRING
        assert "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1" in AZURITE_CONNECTION_STRING

    def test_repr_leaves_out_the_connection_string(self) -> None:
        """Logging the settings must not leak an account key."""
        settings = Settings.from_env({"AzureWebJobsStorage": "AccountKey=secret"})
        assert "secret" not in repr(settings)

    def test_settings_are_frozen(self) -> None:
        """Read once, never changed behind the app's back."""
        with pytest.raises(dataclasses.FrozenInstanceError):
            Settings.from_env({}).chaos_seed = 1  # type: ignore[misc]

    def test_get_settings_reads_the_environment_once(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Later changes are ignored until `services.reset()`, as tests do."""
        monkeypatch.setenv("CHAOS_SEED", "1")
        services.reset()
        try:
            assert get_settings() is get_settings()
            monkeypatch.setenv("CHAOS_SEED", "2")
            assert get_settings().chaos_seed == 1
            services.reset()
            assert get_settings().chaos_seed == 2
        finally:
            services.reset()


class TestInvalidValues:
    @pytest.mark.parametrize(
        ("variable", "value", "message"),
        [
            (
                "SAGA_TABLE_ENDPOINT",
                "http://acct.table.core.windows.net",
                "SAGA_TABLE_ENDPOINT must be an https URL such as "
                "https://myaccount.table.core.windows.net, got 'http://acct.table.core.windows.net'",
            ),
            ("SAGA_TABLE_ENDPOINT", "acct", "SAGA_TABLE_ENDPOINT must be an https URL"),
            ("SAGA_TABLE_ENDPOINT", "https://", "SAGA_TABLE_ENDPOINT must be an https URL"),
            (
                "SAGA_TABLE_PREFIX",
                "9lives",
                "SAGA_TABLE_PREFIX must be up to 40 letters and digits starting with a letter, "
                "got '9lives'",
            ),
            ("SAGA_TABLE_PREFIX", "test-1", "got 'test-1'"),
            ("SAGA_TABLE_PREFIX", "t" * 41, "up to 40 letters"),
            (
                "APPROVAL_THRESHOLD_CENTS",
                "12.50",
                "APPROVAL_THRESHOLD_CENTS must be a whole number of cents from 0 up, got '12.50'",
            ),
            ("APPROVAL_THRESHOLD_CENTS", "-1", "from 0 up, got '-1'"),
            (
                "APPROVAL_TIMEOUT_SECONDS",
                "0",
                "APPROVAL_TIMEOUT_SECONDS must be a whole number of seconds from 1 up, got '0'",
            ),
            ("APPROVAL_TIMEOUT_SECONDS", "1d", "got '1d'"),
            (
                "SHIPPING_COUNTRIES",
                "NL,,BE",
                "SHIPPING_COUNTRIES must be comma-separated two-letter ISO 3166-1 country codes "
                "such as 'NL,BE,DE', got 'NL,,BE'",
            ),
            ("SHIPPING_COUNTRIES", "NLD", "got 'NLD'"),
            ("SHIPPING_COUNTRIES", "N1", "got 'N1'"),
            ("CHAOS_FAULT_RATE", "2", "CHAOS_FAULT_RATE must be a number from 0 to 1, got '2'"),
            ("CHAOS_FAULT_RATE", "-0.1", "got '-0.1'"),
            ("CHAOS_FAULT_RATE", "nan", "got 'nan'"),
            ("CHAOS_FAULT_RATE", "30%", "got '30%'"),
            ("CHAOS_SEED", "abc", "CHAOS_SEED must be a whole number, got 'abc'"),
            ("CHAOS_SEED", "1.5", "got '1.5'"),
            (
                "ORDER_SAGA_STYLE",
                "plain",
                "ORDER_SAGA_STYLE must be one of declarative, imperative, got 'plain'",
            ),
            (
                "SAGA_RETENTION_DAYS",
                "0",
                "SAGA_RETENTION_DAYS must be a whole number of days from 1 up, got '0'",
            ),
            (
                "SAGA_RETENTION_SCHEDULE",
                "0 3 * * *",
                "SAGA_RETENTION_SCHEDULE must be an NCRONTAB expression of six fields "
                "(second minute hour day month day-of-week) such as '0 30 3 * * *', "
                "got '0 3 * * *'",
            ),
        ],
    )
    def test_message_names_the_variable_and_the_accepted_form(
        self, variable: str, value: str, message: str
    ) -> None:
        """One bad variable: SettingsError naming it, what it accepts, and what it got."""
        with pytest.raises(SettingsError) as raised:
            Settings.from_env({variable: value})
        assert message in str(raised.value)
        assert raised.value.variable == variable
        assert not raised.value.retryable
