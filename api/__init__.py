"""HTTP endpoints (one df.Blueprint per module): orders, sample data, health, OpenAPI."""

from api import health, openapi, order_actions, orders, stock

blueprints = [orders.bp, order_actions.bp, stock.bp, health.bp, openapi.bp]
