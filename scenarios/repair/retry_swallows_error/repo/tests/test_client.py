import pytest

from retrying.client import Client


def test_fetch_ok():
    assert Client(lambda key: {"value": key.upper()}).fetch("a") == "A"


def test_fetch_raises_after_retries():
    def down(key):
        raise ConnectionError("unreachable")

    with pytest.raises(ConnectionError):
        Client(down, attempts=2).fetch("a")
