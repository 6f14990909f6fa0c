"""Who may talk to the local listener: not a web page, not a rebound DNS name.

A page the developer visits can POST to 127.0.0.1 (a text/plain body needs no CORS preflight) and
open a WebSocket (no CORS at all); DNS rebinding makes its own hostname resolve to 127.0.0.1. So a
request to our listener must name the listener in its Host header (a loopback name or address, or
gateway.allowed_hosts), and a request carrying an Origin (browsers send one; CLI tools and SDKs do
not) must come from gateway.allowed_origins (empty by default). The same holds for WebSocket upgrades
and for model traffic sent through the explicit proxy. Checked on the request headers, before any body.
"""
from __future__ import annotations

import time

from mitmproxy import http

from .. import errors
from .routing import is_api_flow, is_self_addressed

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")


def _host_name(host_header: str) -> str:
    h = host_header.strip().lower()
    if h.startswith("["):
        return h[: h.find("]") + 1] if "]" in h else h
    return h.rsplit(":", 1)[0] if h.count(":") == 1 else h


class ListenerGuard:
    def __init__(self, gw) -> None:
        self.gw = gw

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        rt = self.gw.runtime
        if flow.response is not None or flow.request.method == "CONNECT" or not flow.live:
            return
        err = None
        if is_self_addressed(flow):
            name = _host_name(flow.request.headers.get("host", ""))
            allowed = LOOPBACK_HOSTS + tuple(h.lower() for h in (rt.allowed_hosts if rt else ()))
            if name not in allowed:
                err = errors.GatewayError(
                    421, "policy_violation", "host_not_allowed",
                    f"Keeptrusts answers only requests addressed to its own loopback listener, not Host {name!r} "
                    "(a web page using DNS rebinding looks like this). Use http://127.0.0.1:PORT/v1, or add the "
                    "name to gateway.allowed_hosts.", policy="gateway")
        elif rt is None or not is_api_flow(flow, rt):
            return
        origin = flow.request.headers.get("origin")
        browser = origin is not None or "sec-fetch-mode" in flow.request.headers
        if err is None and browser and (origin or "") not in (rt.allowed_origins if rt else ()):
            err = errors.GatewayError(
                403, "policy_violation", "origin_not_allowed",
                f"Keeptrusts refuses requests from a browser page (Origin {origin!r}): a web page must not spend "
                "your provider key or reach the gateway. CLI tools and SDKs send no Origin; to allow a page, add "
                "its origin to gateway.allowed_origins.", policy="gateway")
        if err is not None:
            # Audited like any refusal: a page probing the gateway is worth knowing about.
            turn = self.gw.new_turn(flow, rt, "unknown", "http", time.perf_counter())
            self.gw.refuse(flow, turn, err)
            self.gw.turns.pop(flow.id, None)
            self.gw.submit(turn, flow)
