"""Sample data: `PUT/GET /api/inventory/{sku}` and `PUT/GET /api/accounts/{customerId}`.

Synchronous on purpose: Table storage calls block, and the worker runs sync functions on its
thread pool, off the event loop the durable-client endpoints share.
"""

from __future__ import annotations

import azure.functions as func
from azure.durable_functions import Blueprint

from api.models import AccountRequest, StockRequest
from api.parsing import key_param, read_model
from api.problems import guarded, json_response, not_found
from api.responses import AccountView, StockView
from services.inventory import get_stock, put_stock
from services.payments import get_account, put_account

bp = Blueprint()


@bp.route(route="inventory/{sku}", methods=[func.HttpMethod.PUT])
@guarded
def inventory_put(req: func.HttpRequest) -> func.HttpResponse:
    """Set a SKU's available quantity and unit price; reservations are kept."""
    sku = key_param(req, "sku")
    stock = read_model(req, StockRequest)
    view = put_stock(sku, stock.available, stock.unit_price_cents)
    return json_response(StockView.model_validate(view).to_json())


@bp.route(route="inventory/{sku}", methods=[func.HttpMethod.GET])
@guarded
def inventory_get(req: func.HttpRequest) -> func.HttpResponse:
    """A SKU's stock and price."""
    view = get_stock(key_param(req, "sku"))
    if view is None:
        raise not_found("No SKU has this id.")
    return json_response(StockView.model_validate(view).to_json())


@bp.route(route="accounts/{customerId}", methods=[func.HttpMethod.PUT])
@guarded
def accounts_put(req: func.HttpRequest) -> func.HttpResponse:
    """Create or replace a customer's account with this balance."""
    customer_id = key_param(req, "customerId")
    account = read_model(req, AccountRequest)
    view = put_account(customer_id, account.balance_cents)
    return json_response(AccountView.model_validate(view).to_json())


@bp.route(route="accounts/{customerId}", methods=[func.HttpMethod.GET])
@guarded
def accounts_get(req: func.HttpRequest) -> func.HttpResponse:
    """A customer's balance."""
    view = get_account(key_param(req, "customerId"))
    if view is None:
        raise not_found("No account has this customer id.")
    return json_response(AccountView.model_validate(view).to_json())
