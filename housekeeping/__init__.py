"""Scheduled upkeep of the app's own data: retention of idempotency records and histories."""

from housekeeping import retention

blueprints = [retention.bp]
