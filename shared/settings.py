"""All app configuration, read from the environment once into a frozen `Settings`."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from shared.errors import SettingsError

# Azurite's fixed, publicly documented development account key: not a secret.
_AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
AZURITE_CONNECTION_STRING = (
    f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={_AZURITE_KEY};"
    "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
    "QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;"
    "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"
)
# ISO 3166-1 alpha-2; Antarctica (AQ) is deliberately absent so the sample can fail on it.
DEFAULT_SHIPPING_COUNTRIES = frozenset(
    {"AT", "BE", "CA", "CH", "CZ", "DE", "DK", "ES", "FI", "FR"}
    | {"GB", "IE", "IT", "LU", "NL", "NO", "PL", "PT", "SE", "US"}
)
# Table names are 3-63 letters and digits; the prefix leaves room for the service's own name.
_TABLE_PREFIX = re.compile(r"(?:[A-Za-z][A-Za-z0-9]{0,39})?")
_COUNTRY = re.compile(r"[A-Z]{2}")
# How the order saga is written: a SagaDefinition run by run_saga, or plain code (run_saga_code).
SAGA_STYLES = ("declarative", "imperative")
# NCRONTAB, six fields (second minute hour day month day-of-week); the host checks each field.
# A TimeSpan schedule is left out: Flex Consumption plans do not run one.
_NCRONTAB = re.compile(r"(\S+\s+){5}\S+")


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Validated configuration; the process's is `get_settings()` (or build one with `from_env`)."""

    # Kept out of repr: a connection string may carry an account key into logs.
    storage_connection_string: str | None = field(default=None, repr=False)
    table_endpoint: str | None = None
    table_prefix: str = ""
    approval_threshold_cents: int = 100_000
    approval_timeout_seconds: int = 86_400
    shipping_countries: frozenset[str] = DEFAULT_SHIPPING_COUNTRIES
    chaos_fault_rate: float = 0.0
    chaos_seed: int | None = None
    order_saga_style: str = SAGA_STYLES[0]
    retention_days: int = 30
    retention_schedule: str = "0 30 3 * * *"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Parse and validate; an empty or blank variable counts as unset."""
        env = {name: value.strip() for name, value in environ.items() if value.strip()}
        defaults = cls()
        return cls(
            storage_connection_string=_connection_string(
                env.get("SAGA_STORAGE_CONNECTION") or env.get("AzureWebJobsStorage")
            ),
            table_endpoint=_table_endpoint(env.get("SAGA_TABLE_ENDPOINT")),
            table_prefix=_table_prefix(env.get("SAGA_TABLE_PREFIX", defaults.table_prefix)),
            approval_threshold_cents=_whole_number(
                env, "APPROVAL_THRESHOLD_CENTS", defaults.approval_threshold_cents, "cents", 0
            ),
            approval_timeout_seconds=_whole_number(
                env, "APPROVAL_TIMEOUT_SECONDS", defaults.approval_timeout_seconds, "seconds", 1
            ),
            shipping_countries=_countries(env.get("SHIPPING_COUNTRIES"), defaults),
            chaos_fault_rate=_fraction(env.get("CHAOS_FAULT_RATE"), defaults.chaos_fault_rate),
            chaos_seed=_seed(env.get("CHAOS_SEED")),
            order_saga_style=_style(env.get("ORDER_SAGA_STYLE"), defaults.order_saga_style),
            retention_days=_whole_number(
                env, "SAGA_RETENTION_DAYS", defaults.retention_days, "days", 1
            ),
            retention_schedule=_schedule(
                env.get("SAGA_RETENTION_SCHEDULE"), defaults.retention_schedule
            ),
        )


def get_settings() -> Settings:
    """The settings in use: `shared.services.current().settings`, read from os.environ once per
    process (`shared.services.reset()` reads them again)."""
    from shared.services import current  # imported here: services is built from this module

    return current().settings


def _connection_string(value: str | None) -> str | None:
    if value is not None and value.rstrip(";").lower() == "usedevelopmentstorage=true":
        return AZURITE_CONNECTION_STRING
    return value


def _table_endpoint(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    # Bearer tokens are only ever sent over TLS, so identity-based access needs https.
    if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment:
        raise SettingsError(
            "SAGA_TABLE_ENDPOINT",
            "SAGA_TABLE_ENDPOINT must be an https URL such as "
            f"https://myaccount.table.core.windows.net, got {value!r}",
        )
    return value.rstrip("/")


def _table_prefix(value: str) -> str:
    if not _TABLE_PREFIX.fullmatch(value):
        raise SettingsError(
            "SAGA_TABLE_PREFIX",
            "SAGA_TABLE_PREFIX must be up to 40 letters and digits starting with a letter, "
            f"got {value!r}",
        )
    return value


def _whole_number(env: Mapping[str, str], name: str, default: int, unit: str, least: int) -> int:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        number = int(raw)
    except ValueError:
        number = least - 1
    if number < least:
        raise SettingsError(
            name, f"{name} must be a whole number of {unit} from {least} up, got {raw!r}"
        )
    return number


def _countries(raw: str | None, defaults: Settings) -> frozenset[str]:
    if raw is None:
        return defaults.shipping_countries
    codes = [code.strip().upper() for code in raw.split(",")]
    if not all(_COUNTRY.fullmatch(code) for code in codes):
        raise SettingsError(
            "SHIPPING_COUNTRIES",
            "SHIPPING_COUNTRIES must be comma-separated two-letter ISO 3166-1 country codes "
            f"such as 'NL,BE,DE', got {raw!r}",
        )
    return frozenset(codes)


def _fraction(raw: str | None, default: float) -> float:
    if raw is None:
        return default
    try:
        rate = float(raw)
    except ValueError:
        rate = math.nan
    if not 0 <= rate <= 1:  # also rejects nan
        raise SettingsError(
            "CHAOS_FAULT_RATE", f"CHAOS_FAULT_RATE must be a number from 0 to 1, got {raw!r}"
        )
    return rate


def _seed(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(
            "CHAOS_SEED", f"CHAOS_SEED must be a whole number, got {raw!r}"
        ) from None


def _style(raw: str | None, default: str) -> str:
    if raw is None:
        return default
    if raw.lower() not in SAGA_STYLES:
        raise SettingsError(
            "ORDER_SAGA_STYLE",
            f"ORDER_SAGA_STYLE must be one of {', '.join(SAGA_STYLES)}, got {raw!r}",
        )
    return raw.lower()


def _schedule(raw: str | None, default: str) -> str:
    if raw is None:
        return default
    if not _NCRONTAB.fullmatch(raw):
        raise SettingsError(
            "SAGA_RETENTION_SCHEDULE",
            "SAGA_RETENTION_SCHEDULE must be an NCRONTAB expression of six fields "
            f"(second minute hour day month day-of-week) such as '0 30 3 * * *', got {raw!r}",
        )
    return raw
