"""Orchestrator functions: the order saga, declared (order_saga) and as plain code (imperative),
and the transfer saga (transfer_saga)."""

from orchestrators import order_saga, order_saga_imperative, transfer_saga

blueprints = [order_saga.bp, order_saga_imperative.bp, transfer_saga.bp]
# Every saga the app runs, for the load-time check that their activities are registered.
sagas = [order_saga.ORDER_SAGA, transfer_saga.TRANSFER_SAGA]
