"""Explicit HTTPS_PROXY mode with ordinary OpenAI clients: the openai SDK (sync and async, streaming
and not, chat and responses) and curl talk to https://api.openai.com through the gateway, trusting
its CA, and never change their base URL. (Reverse mode: tests/test_gateway_http.py.)
"""
from __future__ import annotations

import asyncio
import json
import re
import shutil
import ssl
import subprocess

import httpx
import openai
import pytest

from fake_openai import FakeOpenAI, Turn, Text, call

SECRET = "ghp_R8bN2kQ7xZ4mV9cL1tY6pW3sD5fH0jG2aE7u"
PROMPT = f"my token is {SECRET}, grep for it"
API = "https://api.openai.com/v1"


def echo_placeholder_in_a_tool_call(received) -> Turn:
    """The model repeats what it saw (the placeholder) in a tool call, as a real model would."""
    seen = re.findall(r"<SECRET:[^>]+>", received.text)
    return Turn([Text("Searching."), call("exec_command", {"cmd": f"grep -r {seen[0] if seen else 'NOTHING'} ."})])


@pytest.fixture
def explicit(gateway_factory):
    with FakeOpenAI(script=echo_placeholder_in_a_tool_call) as fake:
        gw = gateway_factory(upstream=fake.url)
        ctx = ssl.create_default_context(cafile=str(gw.ca_cert))
        yield fake, gw, ctx


def _check_upstream(fake, n: int = 1) -> None:
    assert len(fake.model_requests()) == n
    assert fake.leaked(SECRET) == [] and "<SECRET:github_token:" in fake.all_text()
    assert all(r.headers["host"].startswith("127.0.0.1:") for r in fake.model_requests())  # routed by the gateway


def test_sdk_sync_responses_json(explicit):
    fake, gw, ctx = explicit
    c = openai.OpenAI(base_url=API, api_key="sk-test-dummy", max_retries=0,
                      http_client=httpx.Client(proxy=gw.proxy_url, verify=ctx))
    r = c.responses.create(model="gpt-4o-mini", input=PROMPT)
    [fc] = [o for o in r.output if o.type == "function_call"]
    assert json.loads(fc.arguments) == {"cmd": f"grep -r {SECRET} ."}  # placeholder restored for the client
    _check_upstream(fake)


def test_sdk_sync_chat_stream(explicit):
    fake, gw, ctx = explicit
    c = openai.OpenAI(base_url=API, api_key="sk-test-dummy", max_retries=0,
                      http_client=httpx.Client(proxy=gw.proxy_url, verify=ctx))
    chunks = list(c.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": PROMPT}],
                                            stream=True, stream_options={"include_usage": True}))
    args = "".join(tc.function.arguments or "" for ch in chunks if ch.choices for tc in (ch.choices[0].delta.tool_calls or []))
    assert json.loads(args) == {"cmd": f"grep -r {SECRET} ."}
    assert chunks[-1].usage.total_tokens > 0
    _check_upstream(fake)


def test_sdk_async_responses_stream_and_chat_json(explicit):
    fake, gw, ctx = explicit

    async def go():
        c = openai.AsyncOpenAI(base_url=API, api_key="sk-test-dummy", max_retries=0,
                               http_client=httpx.AsyncClient(proxy=gw.proxy_url, verify=ctx))
        stream = await c.responses.create(model="gpt-4o-mini", input=PROMPT, stream=True)
        done = [e.item async for e in stream if e.type == "response.output_item.done"]
        chat = await c.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": PROMPT}])
        return done, chat

    done, chat = asyncio.run(go())
    assert json.loads(done[-1].arguments)["cmd"] == f"grep -r {SECRET} ."
    assert json.loads(chat.choices[0].message.tool_calls[0].function.arguments)["cmd"] == f"grep -r {SECRET} ."
    _check_upstream(fake, 2)


def test_sdk_without_the_ca_is_refused(explicit):
    fake, gw, _ = explicit
    c = openai.OpenAI(base_url=API, api_key="sk-test-dummy", max_retries=0,
                      http_client=httpx.Client(proxy=gw.proxy_url, verify=ssl.create_default_context()))
    with pytest.raises(openai.APIConnectionError):
        c.responses.create(model="gpt-4o-mini", input="hi")
    assert fake.model_requests() == []


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_through_the_proxy(explicit):
    fake, gw, _ = explicit
    out = subprocess.run(["curl", "-sS", "--max-time", "20", "--proxy", gw.proxy_url, "--cacert", str(gw.ca_cert),
                          f"{API}/responses", "-H", "Authorization: Bearer sk-test-dummy",
                          "-H", "Content-Type: application/json",
                          "-d", json.dumps({"model": "gpt-4o-mini", "input": PROMPT, "stream": True})],
                         capture_output=True, text=True, timeout=30, env={"PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert "event: response.completed" in out.stdout and SECRET in out.stdout  # restored in the tool call
    _check_upstream(fake)


def test_other_hosts_are_tunnelled_not_intercepted(gateway_factory):
    """A host that is not an OpenAI API host keeps its own certificate: the gateway never decrypts it."""
    with FakeOpenAI(script=["not for the gateway"], tls=True) as other, FakeOpenAI() as upstream:
        gw = gateway_factory(upstream=upstream.url)
        trusting_only_other = ssl.create_default_context(cafile=str(other.ca_path))
        c = openai.OpenAI(base_url=other.base_url, api_key="sk-test-dummy", max_retries=0,
                          http_client=httpx.Client(proxy=gw.proxy_url, verify=trusting_only_other))
        assert c.responses.create(model="m", input=PROMPT).output_text == "not for the gateway"
        assert other.leaked(SECRET) == [SECRET]  # untouched: tunnelled, not scanned
        assert upstream.requests == []
