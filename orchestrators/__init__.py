"""Orchestrator functions: the order saga, declared (order_saga) and as plain code (imperative)."""

from orchestrators import order_saga, order_saga_imperative

blueprints = [order_saga.bp, order_saga_imperative.bp]
# Every saga the app runs, for the load-time check that their activities are registered.
sagas = [order_saga.ORDER_SAGA]
