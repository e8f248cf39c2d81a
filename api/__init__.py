"""HTTP endpoints (one df.Blueprint per module): orders, every public saga, sample data, health,
OpenAPI, the operator pages."""

from api import health, openapi, operator_routes, order_actions, orders, sagas, stock
from contracts import public_sagas

saga_routes = sagas.saga_routes(public_sagas)
blueprints = [
    orders.bp,
    order_actions.bp,
    *(routes.bp for routes in saga_routes),
    stock.bp,
    health.bp,
    openapi.bp,
    operator_routes.bp,
]
