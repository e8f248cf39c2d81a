"""Orchestrator functions: thin, declarative saga definitions."""
