"""Shared pytest fixtures. Each helper keeps its fixtures in its own marked section."""
import pytest

# ---------------------------------------------------------------- environment of the code under test (issue 18)
# scripts/test leaves the machine's proxy and CA settings alone, so installs (pip, npm for Codex) work
# behind a TLS-inspecting proxy. What a test runs must not follow them: subprocesses get a scrubbed
# environment (gateway_proc.clean_env, e2e/codex.py), and in-process clients (openai SDK, urllib, kt
# commands) lose, per test, the variables that would route them elsewhere or give them a real key.
# KEEPTRUSTS_HOME points at a throwaway folder so no test writes the user's audit trail or tokens.
# The CA variables stay: they only add trust, and a subprocess that must not see them is scrubbed.
ROUTING_VARS = ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "ALL_PROXY", "all_proxy",
                "NO_PROXY", "no_proxy", "OPENAI_BASE_URL", "OPENAI_API_KEY", "CODEX_API_KEY", "CODEX_HOME",
                "KEEPTRUSTS_UPSTREAM_URL", "KEEPTRUSTS_API_URL", "KEEPTRUSTS_GATEWAY_TOKEN", "KEEPTRUSTS_AUDIT_DB",
                "KEEPTRUSTS_TOKENS_DB")


@pytest.fixture(scope="session")
def _throwaway_kt_home(tmp_path_factory):
    return tmp_path_factory.mktemp("kt-home")


@pytest.fixture(autouse=True)
def _scrub_client_env(monkeypatch, _throwaway_kt_home):
    for name in ROUTING_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KEEPTRUSTS_HOME", str(_throwaway_kt_home))
# ---------------------------------------------------------------- end environment

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
