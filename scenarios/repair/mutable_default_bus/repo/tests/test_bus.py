from events.bus import EventBus


def test_publish_calls_handlers_in_order():
    bus = EventBus()
    bus.subscribe("e", lambda p: p + 1)
    bus.subscribe("e", lambda p: p * 10)
    assert bus.publish("e", 2) == [3, 20]


def test_unknown_event():
    assert EventBus().publish("nothing-here", 1) == []


def test_buses_are_independent():
    first, second = EventBus(), EventBus()
    first.subscribe("saved", lambda p: "first")
    assert second.publish("saved", 1) == []
