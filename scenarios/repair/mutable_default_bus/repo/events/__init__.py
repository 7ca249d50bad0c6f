"""A tiny publish/subscribe event bus."""
