"""Invoices with lines, tax and money formatting."""
