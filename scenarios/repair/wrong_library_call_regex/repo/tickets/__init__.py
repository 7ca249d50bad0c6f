"""Ticket ids in commit messages, and a changelog built from them."""
