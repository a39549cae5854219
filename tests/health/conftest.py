"""Fixtures for health checks: a fake vendor server on 127.0.0.1 and test-only outbound settings."""
import pytest

from tests.health.fakes import FakeServer


@pytest.fixture
def fake_server():
    server = FakeServer().start()
    yield server
    server.stop()


@pytest.fixture
def loopback_allowed(settings):
    """Test-only operator allow-list for the fake servers, with short timeouts so failures end quickly."""
    settings.HEALTH_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.HEALTH_CONNECT_TIMEOUT = 1.0
    settings.HEALTH_READ_TIMEOUT = 1.0
    settings.HEALTH_DEADLINE = 1.5
    return settings
