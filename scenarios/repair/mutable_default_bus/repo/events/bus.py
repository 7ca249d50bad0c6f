"""Synchronous publish/subscribe."""

from collections.abc import Callable

Handler = Callable[[object], object]


class EventBus:
    def __init__(self, subscribers: dict[str, list[Handler]] = {}) -> None:
        self.subscribers = subscribers

    def subscribe(self, event: str, handler: Handler) -> None:
        self.subscribers.setdefault(event, []).append(handler)

    def publish(self, event: str, payload: object) -> list[object]:
        """Call every handler of `event` in subscription order; return their results."""
        return [handler(payload) for handler in self.subscribers.get(event, [])]
