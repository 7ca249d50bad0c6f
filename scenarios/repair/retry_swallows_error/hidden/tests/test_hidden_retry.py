"""Hidden grading tests: when every attempt fails, the last error reaches the caller."""

import pytest

from retrying.client import Client
from retrying.policy import retry


def test_last_of_several_errors_is_raised():
    errors = iter([OSError("first"), OSError("second"), OSError("third")])

    def flaky():
        raise next(errors)

    with pytest.raises(OSError, match="third"):
        retry(flaky, attempts=3, retry_on=(OSError,))


def test_single_attempt_raises_at_once():
    calls = []

    def broken():
        calls.append(1)
        raise TimeoutError("slow")

    with pytest.raises(TimeoutError):
        retry(broken, attempts=1)
    assert calls == [1]


def test_client_surfaces_transport_error():
    def transport(key):
        raise ConnectionError(key)

    with pytest.raises(ConnectionError, match="k1"):
        Client(transport, attempts=2).fetch("k1")
