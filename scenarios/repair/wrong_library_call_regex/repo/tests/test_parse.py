from tickets.parse import extract_all, extract_ticket


def test_extract_at_start():
    assert extract_ticket("PROJ-42 fix crash") == "PROJ-42"


def test_extract_in_middle():
    assert extract_ticket("Fix crash in parser (PROJ-42)") == "PROJ-42"


def test_none_when_missing():
    assert extract_ticket("typo") is None


def test_extract_all():
    assert extract_all("AB-1 and CD-22") == ["AB-1", "CD-22"]
