from settings.loader import load_settings


def test_defaults_only():
    assert load_settings()["db"]["port"] == 5432


def test_user_port_keeps_default_host():
    settings = load_settings('{"db": {"port": 5433}}')
    assert settings["db"] == {"host": "localhost", "port": 5433, "name": "app"}
