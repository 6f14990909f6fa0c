"""The mitmproxy addons in-process, the way mitmproxy tests its own: taddons.context + tflow.

Each concern is one small addon (routing, listener, local endpoints, HTTP guard); here they run
against test flows without a proxy, so a routing or refusal decision is checked in milliseconds.
"""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from mitmproxy.proxy import mode_specs
from mitmproxy.test import taddons, tflow, tutils

from keeptrusts.addon import Keeptrusts
from keeptrusts.proxy.routing import is_api_flow

ROOT = Path(__file__).resolve().parents[1]
MINIMAL = """
pack: {name: inproc, version: 0.1.0, enabled: true}
policies: {chain: [code-sanitation, agent-firewall, audit-logger]}
"""


@pytest.fixture(scope="module")
def addon(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("inproc")
    cfg = tmp / "policy-config.yaml"
    cfg.write_text(MINIMAL)
    mp = pytest.MonkeyPatch()
    mp.setenv("KEEPTRUSTS_HOME", str(tmp / "home"))
    kt = Keeptrusts()
    with taddons.context(kt) as tctx:
        tctx.configure(kt, keeptrusts_config=str(cfg), keeptrusts_audit_db=str(tmp / "audit.db"),
                       keeptrusts_reload_interval=0, keeptrusts_upstream="http://127.0.0.1:9")
        yield kt
        kt.done()
    mp.undo()


def reverse_flow(path="/v1/chat/completions", method="POST", body=b"{}", **headers):
    f = tflow.tflow()
    f.client_conn.proxy_mode = mode_specs.ProxyMode.parse("reverse:http://127.0.0.1:9@41002")
    f.request = tutils.treq(method=method.encode(), path=path.encode(), content=body, host="127.0.0.1", port=41002)
    f.request.headers["host"] = "127.0.0.1:41002"
    for k, v in headers.items():
        f.request.headers[k.replace("_", "-")] = v
    return f


def guard(addon, cls):
    return next(a for a in addon.addons if isinstance(a, cls))


def test_listener_refuses_foreign_host_and_browser_origin(addon):
    from keeptrusts.proxy.listener import ListenerGuard
    lg = guard(addon, ListenerGuard)
    f = reverse_flow()
    lg.requestheaders(f)
    assert f.response is None  # loopback Host, no Origin: ours to judge
    f = reverse_flow(host="evil.example:41002")
    lg.requestheaders(f)
    assert f.response.status_code == 421
    f = reverse_flow(origin="https://evil.example")
    lg.requestheaders(f)
    assert f.response.status_code == 403 and json.loads(f.response.content)["error"]["code"] == "origin_not_allowed"


def test_local_endpoints_need_the_admin_token(addon):
    from keeptrusts.proxy.local import LocalEndpoints
    le = guard(addon, LocalEndpoints)
    f = reverse_flow("/keeptrusts/status", method="GET", body=b"")
    asyncio.run(le.request(f))
    assert f.response.status_code == 401
    f = reverse_flow("/keeptrusts/status", method="GET", body=b"", x_keeptrusts_admin_token=addon.admin_token)
    asyncio.run(le.request(f))
    assert f.response.status_code == 200 and json.loads(f.response.content)["config"] == "inproc@0.1.0"
    f = reverse_flow("/health", method="GET", body=b"")
    asyncio.run(le.request(f))
    assert f.response.status_code == 200


@pytest.mark.parametrize("method,path,status,code", [
    ("PUT", "/v1/responses", 405, "endpoint_not_modelled"),
    ("POST", "/v1/files", 404, "endpoint_not_modelled"),
    ("POST", "/v1/responses%2fcompact", 400, "invalid_path"),
])
def test_http_guard_refuses_what_it_has_no_model_for(addon, method, path, status, code):
    from keeptrusts.proxy.http_guard import HttpGuard
    hg = guard(addon, HttpGuard)
    f = reverse_flow(path, method=method, body=b'{"input": "x"}', content_type="application/json")
    asyncio.run(hg.request(f))
    assert f.response.status_code == status
    err = json.loads(f.response.content)["error"]
    assert err["code"] == code and err["event_id"].startswith("evt_")


def test_http_guard_forwards_the_judged_body_on_the_canonical_path(addon):
    from keeptrusts.proxy.http_guard import HttpGuard
    hg = guard(addon, HttpGuard)
    # A duplicate key: the upstream must get the value that was judged (the last, as orjson reads it).
    f = reverse_flow("/V1/Responses;x=1", body=b'{"model":"m","input":"AKIAZ7QWERTY5DEMO4KX","input":"hi"}',
                     content_type="application/json")
    asyncio.run(hg.request(f))
    assert f.response is None
    assert f.request.path == "/v1/responses" and json.loads(f.request.content) == {"model": "m", "input": "hi"}
    assert f.request.headers["accept-encoding"] == "identity"


def test_chatgpt_host_only_codex_paths_are_model_traffic(addon):
    rt = addon.runtime
    for path, expected in (("/backend-api/codex/responses", True), ("/backend-api/me", False),
                           ("/backend-api/conversation", False)):
        f = tflow.tflow()
        f.request = tutils.treq(host="chatgpt.com", port=443, path=path.encode())
        f.request.scheme = "https"
        assert is_api_flow(f, rt) is expected, path


def test_a_read_that_returns_model_output_has_its_tool_calls_judged(addon):
    """GET /v1/responses/{id} returns a stored response: its tool calls reach the client only judged."""
    from keeptrusts.proxy.http_guard import HttpGuard
    hg = guard(addon, HttpGuard)
    f = reverse_flow("/v1/responses/resp_123", method="GET", body=b"")
    asyncio.run(hg.request(f))
    assert f.response is None  # a bodiless read is forwarded
    stored = {"id": "resp_123", "object": "response", "status": "completed", "output": [
        {"type": "function_call", "call_id": "c1", "name": "exec_command",
         "arguments": json.dumps({"cmd": "rm -rf ~"})}]}
    f.response = tutils.tresp(content=json.dumps(stored).encode())
    f.response.headers["content-type"] = "application/json"
    hg.responseheaders(f)
    asyncio.run(hg.response(f))
    assert f.response.status_code == 409 and b"function_call" not in f.response.content  # the call never reaches it
    assert json.loads(f.response.content)["error"]["policy"] == "agent-firewall"
