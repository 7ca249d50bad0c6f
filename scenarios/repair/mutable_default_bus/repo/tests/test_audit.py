from events.audit import AuditLog
from events.bus import EventBus


def test_audit_log_records():
    bus = EventBus(subscribers={})
    log = AuditLog()
    log.attach(bus, "x")
    bus.publish("x", "hello")
    assert log.entries == ["hello"]
