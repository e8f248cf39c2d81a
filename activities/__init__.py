"""Activity functions: one module per service, its local transactions and compensations."""

from activities import inventory, orders, payments, shipping

blueprints = [orders.bp, inventory.bp, payments.bp, shipping.bp]
