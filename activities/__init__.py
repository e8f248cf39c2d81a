"""Activity functions: one module per service, its local transactions and compensations."""

from activities import inventory, orders, payments, shipping, transfers

blueprints = [orders.bp, inventory.bp, payments.bp, shipping.bp, transfers.bp]
