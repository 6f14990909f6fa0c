"""Explicit HTTPS proxy mode: TLS intercepted for the OpenAI API host only, with our CA."""
from __future__ import annotations

import json
import subprocess

import httpx
import openai
import pytest
from gateway_proc import clean_env, wait_rows

AWS_KEY = "AKIAZ7QWERTY5DEMO4KX"


@pytest.fixture
def gw(fake_openai, gateway_factory):
    return gateway_factory(upstream=fake_openai.url)


def test_curl_through_proxy_with_ca(gw, fake_openai):
    fake_openai.script = ["proxied hello"]
    body = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": f"key {AWS_KEY}"}]})
    r = subprocess.run(["curl", "-s", "--proxy", gw.proxy_url, "--cacert", str(gw.ca_cert),
                        "https://api.openai.com/v1/chat/completions", "-H", "content-type: application/json",
                        "-H", "authorization: Bearer sk-test-proxy", "-d", body],
                       capture_output=True, text=True, env=clean_env(), timeout=30)
    assert json.loads(r.stdout)["choices"][0]["message"]["content"] == "proxied hello"
    assert not fake_openai.leaked(AWS_KEY)
    row = wait_rows(gw.audit_db, 1)[0]
    assert row["mode"] == "explicit" and row["host"] == "api.openai.com"
    assert row["verdict"] == "redact"


def test_untrusted_ca_is_refused_by_client(gw):
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--proxy", gw.proxy_url,
                        "https://api.openai.com/v1/models"], capture_output=True, text=True, env=clean_env(), timeout=30)
    assert r.returncode != 0  # our CA is not in the system store: the client must notice interception


def test_openai_sdk_with_https_proxy(gw, fake_openai):
    fake_openai.script = ["via sdk"]
    import ssl
    http_client = httpx.Client(proxy=gw.proxy_url, verify=ssl.create_default_context(cafile=str(gw.ca_cert)))
    c = openai.OpenAI(api_key="sk-test", http_client=http_client, max_retries=0)
    r = c.responses.create(model="gpt-5", input="hello")
    assert r.output_text == "via sdk"
    assert fake_openai.requests[-1].route == "/v1/responses"


def test_other_hosts_are_tunnelled_not_intercepted(gw, fake_openai_factory):
    """A CONNECT to another host is passed through as raw TCP: the client sees that host's own cert."""
    other = fake_openai_factory(tls=True)  # a TLS server with its own self-signed certificate
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--proxy", gw.proxy_url,
                        "--cacert", str(other.ca_path), f"https://127.0.0.1:{other.port}/v1/models"],
                       capture_output=True, text=True, env=clean_env(), timeout=30)
    assert r.stdout == "200"  # verified against the server's own CA, so mitmproxy did not intercept


def test_plain_requests_on_proxy_port_act_as_reverse(gw, fake_openai):
    fake_openai.script = ["one port does both"]
    c = openai.OpenAI(base_url=gw.proxy_url + "/v1", api_key="sk-test", max_retries=0)
    r = c.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert r.choices[0].message.content == "one port does both"
