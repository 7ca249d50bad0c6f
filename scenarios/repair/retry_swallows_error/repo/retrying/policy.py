"""Call a function again when it fails."""

from collections.abc import Callable


def retry(
    fn: Callable[[], object],
    attempts: int = 3,
    retry_on: tuple[type[BaseException], ...] = (Exception,),
    on_retry: Callable[[int, BaseException], None] | None = None,
) -> object:
    """Call `fn` until it succeeds, at most `attempts` times; re-raise the last error."""
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except retry_on as error:
            if on_retry is not None:
                on_retry(attempt, error)
    return None
