"""Saga contracts: one module per saga, shared by its orchestrators, activities and API."""
