"""The gateway's own endpoints on its listener: /health, /metrics, /keeptrusts/config, /keeptrusts/status,
/keeptrusts/config/reload. Answered locally, never forwarded."""
from __future__ import annotations

import json
import time

from mitmproxy import http

from .. import admin, errors
from .routing import is_self_addressed

HEALTH_PATHS = ("/health", "/healthz", "/readyz")
LOCAL_PATHS = HEALTH_PATHS + ("/keeptrusts/config", "/keeptrusts/config/reload", "/keeptrusts/status", "/metrics")


def _json(flow: http.HTTPFlow, status: int, body) -> None:
    flow.response = http.Response.make(status, json.dumps(body, default=str).encode(),
                                       {"content-type": "application/json"})


class LocalEndpoints:
    def __init__(self, gw) -> None:
        self.gw = gw

    async def request(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None or flow.request.method == "CONNECT":
            return
        path = flow.request.path.split("?", 1)[0]
        if path not in LOCAL_PATHS or not is_self_addressed(flow):
            return
        gw, rt = self.gw, self.gw.runtime
        if path.startswith("/keeptrusts/") and not admin.check(flow.request.headers.get(admin.HEADER), gw.admin_token):
            err = errors.GatewayError(401, "authentication_error", "admin_token_required",
                                      f"{path} needs the gateway's admin token in the {admin.HEADER} header "
                                      f"(kt reads it from {admin.token_path()})")
            flow.response = http.Response.make(err.status, err.body(), err.headers())
            return
        if path in HEALTH_PATHS:
            body = gw.health()
            ok = body["status"] == "healthy" or (body["status"] == "degraded" and gw.audit_healthy())
            _json(flow, 200 if ok or path == "/healthz" else 503, body)
        elif path == "/keeptrusts/status":
            _json(flow, 200 if rt else 503, gw.status())
        elif path == "/keeptrusts/config":
            if flow.request.method == "POST":
                _json(flow, 405, {"error": "use POST /keeptrusts/config/reload"})
                return
            _json(flow, 200 if rt else 503, rt.config.masked() if rt else {"error": gw.config_error})
        elif path == "/keeptrusts/config/reload":
            if flow.request.method != "POST":
                err = errors.GatewayError(405, "validation_error", "method_not_allowed",
                                          "Use POST /keeptrusts/config/reload")
                flow.response = http.Response.make(err.status, err.body(), err.headers())
                return
            accept = "accept_weaker=1" in flow.request.path.partition("?")[2] or \
                flow.request.headers.get("x-keeptrusts-accept-weaker") == "1"
            ok, msg = await gw.reload_async(accept_weaker=accept)
            _json(flow, 200 if ok else 422, {"ok": ok, "message": msg})
        elif path == "/metrics":
            from ..metrics import CONTENT_TYPE
            flow.response = http.Response.make(200, gw.metrics.render().encode(), {"content-type": CONTENT_TYPE})


def uptime(started: float) -> float:
    return round(time.time() - started, 1)
