"""Saga contracts: one module per saga, shared by its orchestrators, activities and API."""

from contracts import transfer

# The sagas the generic HTTP surface (api/sagas.py) serves under /api/sagas/{name}.
public_sagas = [transfer.TRANSFER_PUBLIC]
