"""The sample's four services: each one's table, its rows, and the data access the API uses.

Activities (activities/) run the saga's local transactions on these tables; the HTTP API
(api/) reads and seeds them through the functions here, never through the activities.
"""
