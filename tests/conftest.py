"""Shared pytest fixtures. Each helper keeps its fixtures in its own marked section."""
import pytest

# ---------------------------------------------------------------- fake OpenAI upstream (issue 8)
# tests/ is on sys.path (rootdir conftest, no __init__.py), so the package imports as `fake_openai`.
from fake_openai import FakeOpenAI


@pytest.fixture
def fake_openai():
    """A running FakeOpenAI (plain HTTP, WebSocket accepted). Set `fake_openai.script = [...]` in the test."""
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def fake_openai_factory():
    """Start fakes with options: `fake = fake_openai_factory(script=[...], websocket="refuse", tls=True)`."""
    started = []

    def make(**kw) -> FakeOpenAI:
        fake = FakeOpenAI(**kw).start()
        started.append(fake)
        return fake

    yield make
    for fake in started:
        fake.stop()
# ---------------------------------------------------------------- end fake OpenAI upstream

# ---------------------------------------------------------------- gateway process (issue 3)
from gateway_proc import Gateway  # noqa: E402


@pytest.fixture
def gateway_factory(tmp_path):
    """Start `kt gateway run` subprocesses: `gw = gateway_factory(upstream=fake.url, config=..., args=[...])`."""
    started = []

    def make(upstream: str, **kw) -> Gateway:
        gw = Gateway(tmp_path / f"gw{len(started)}", upstream, **kw).start()
        started.append(gw)
        return gw

    yield make
    for gw in started:
        gw.stop()
# ---------------------------------------------------------------- end gateway process
