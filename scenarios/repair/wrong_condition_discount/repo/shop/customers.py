"""Customers of the shop."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Customer:
    name: str
    is_member: bool = False


def guest() -> Customer:
    return Customer(name="guest", is_member=False)
