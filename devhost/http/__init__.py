"""devhost's HTTP layer: route templates, HTTP triggers, the durable client binding and API."""
