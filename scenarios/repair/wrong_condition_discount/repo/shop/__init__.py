"""A toy shop: customers and order pricing."""
