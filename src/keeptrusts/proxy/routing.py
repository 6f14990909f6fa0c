"""What the gateway intercepts and where an API request goes.

Explicit mode: TLS is intercepted only for the configured API hosts (api.openai.com, and chatgpt.com
for Codex signed in with ChatGPT); every other host is tunnelled untouched, or refused by the egress
allow-list. Reverse mode: every request to the listener is ours.
"""
from __future__ import annotations

import base64

from mitmproxy import http, tls
from mitmproxy.proxy import mode_specs

from ..runtime import Runtime, Upstream

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1", "0.0.0.0")
# chatgpt.com carries more than Codex: only these paths are model traffic; the rest passes untouched.
CHATGPT_API_PREFIX = "/backend-api/codex/"


def is_self_addressed(flow: http.HTTPFlow) -> bool:
    """An origin-form request sent to our own listener (base URL pointed at the gateway)."""
    if isinstance(flow.client_conn.proxy_mode, mode_specs.ReverseMode):
        return True
    sock = flow.client_conn.sockname
    return bool(sock) and flow.request.port == sock[1] and flow.request.host in LOOPBACK_NAMES + (sock[0],)


def is_api_flow(flow: http.HTTPFlow, rt: Runtime) -> bool:
    """Model traffic the guards must judge: to our listener, or to an intercepted API host."""
    if is_self_addressed(flow):
        return True
    if not rt.intercepts(flow.request.host):
        return False
    if flow.request.host.lower().endswith("chatgpt.com"):
        return flow.request.path.lower().startswith(CHATGPT_API_PREFIX)
    return True


def point_at_upstream(flow: http.HTTPFlow, rt: Runtime) -> None:
    """Send an API flow to the configured upstream (a no-op where the client's destination is right)."""
    if not is_self_addressed(flow) and not rt.upstream_overridden:
        return  # explicit mode to the real API host: leave the destination as is
    if isinstance(flow.client_conn.proxy_mode, mode_specs.ReverseMode) and not rt.upstream_overridden:
        # The reverse mode's own target (`--mode reverse:URL`) is where the user sent it; the Host header is
        # the client's (keep_host_header, for the listener check), so name the target's host upstream.
        req = flow.request
        default = 443 if req.scheme == "https" else 80
        req.headers["host"] = req.host if req.port == default else f"{req.host}:{req.port}"
        return
    target: Upstream = rt.upstream
    flow.request.scheme = target.scheme
    flow.request.host = target.host
    flow.request.port = target.port
    if target.prefix and not flow.request.path.startswith(target.prefix + "/"):
        flow.request.path = target.prefix + flow.request.path
    default = 443 if target.scheme == "https" else 80
    flow.request.headers["host"] = target.host if target.port == default else f"{target.host}:{target.port}"


class Routing:
    """TLS interception choice, CONNECT credentials and the egress allow-list (explicit mode)."""

    def __init__(self, gw) -> None:
        self.gw = gw

    def tls_clienthello(self, data: tls.ClientHelloData) -> None:
        rt = self.gw.runtime
        if rt is None or not isinstance(data.context.client.proxy_mode, mode_specs.RegularMode):
            return
        host = data.client_hello.sni or (data.context.server.address or ("",))[0]
        if not rt.intercepts(host):
            data.ignore_connection = True  # tunnel untouched: we never see other hosts' traffic

    def http_connect(self, flow: http.HTTPFlow) -> None:
        # Explicit mode: the credentials ride on the CONNECT, not on the requests inside the tunnel.
        auth = flow.request.headers.get("proxy-authorization", "")
        if auth.lower().startswith("basic "):
            try:
                self.gw.proxy_auth[flow.client_conn.id] = base64.b64decode(auth[6:].strip()).decode("utf-8")
            except ValueError:
                pass
        rt = self.gw.runtime
        if rt and not rt.egress_allowed(flow.request.host):
            flow.response = http.Response.make(
                403, f"Keeptrusts egress allow-list: {flow.request.host} is not allowed "
                     "(gateway.egress_allowlist in the policy config)\n".encode(),
                {"content-type": "text/plain"})

    def client_disconnected(self, client) -> None:
        self.gw.proxy_auth.pop(client.id, None)
