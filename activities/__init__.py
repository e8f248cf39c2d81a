"""Activity functions: one module per service, its local transactions and compensations."""
