import pytest

from retrying.policy import retry


def test_returns_first_success():
    assert retry(lambda: 7) == 7


def test_retries_until_success():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise OSError("down")
        return "up"

    assert retry(flaky, attempts=3) == "up"


def test_reraises_last_error():
    errors = iter([OSError("one"), OSError("two")])

    def failing():
        raise next(errors)

    with pytest.raises(OSError, match="two"):
        retry(failing, attempts=2)


def test_other_errors_not_retried():
    calls = []

    def bad():
        calls.append(1)
        raise ValueError("no")

    with pytest.raises(ValueError):
        retry(bad, attempts=5, retry_on=(OSError,))
    assert len(calls) == 1
