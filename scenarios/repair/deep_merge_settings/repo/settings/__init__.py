"""Layered application settings."""
