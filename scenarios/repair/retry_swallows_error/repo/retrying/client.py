"""A client that retries its transport."""

from retrying.policy import retry


class Client:
    def __init__(self, transport, attempts: int = 3) -> None:
        self.transport = transport
        self.attempts = attempts

    def fetch(self, key: str) -> str:
        reply = retry(lambda: self.transport(key), attempts=self.attempts, retry_on=(OSError,))
        return reply["value"]
