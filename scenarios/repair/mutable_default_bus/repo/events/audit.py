"""An audit log that records every payload it is given."""

from events.bus import EventBus


class AuditLog:
    def __init__(self) -> None:
        self.entries: list[object] = []

    def attach(self, bus: EventBus, event: str) -> None:
        bus.subscribe(event, self.entries.append)
