"""mitmproxy answers upstream failures with an HTML page; OpenAI clients expect the JSON envelope.

The HTTP/1 layer builds those pages in one module-level function, so it is replaced once. A page the
guard decided for a flow (an upstream timeout) is handed over through `ErrorPages.pending`, read by
the page built right after the flow's `error` hook, in the same task; a stale one expires in a second.
"""
from __future__ import annotations

import time

from mitmproxy import http

from .. import errors


class ErrorPages:
    def __init__(self) -> None:
        self.pending: list[tuple[float, errors.GatewayError]] = []

    def load(self, loader) -> None:
        install(self)

    def expect(self, err: errors.GatewayError) -> None:
        self.pending[:] = [(time.monotonic(), err)]  # only the newest one can be pending

    def page(self, status_code: int, message: str) -> errors.GatewayError:
        pending = self.pending.pop() if self.pending else None
        if pending and message == "server closed connection" and time.monotonic() - pending[0] < 1.0:
            return pending[1]
        if status_code in (502, 504) or "connect" in message.lower():
            return errors.upstream(status_code if status_code in (502, 504) else 502,
                                   f"Keeptrusts could not reach the upstream: {message}")
        return errors.GatewayError(status_code, "gateway_error", "proxy_error", f"Keeptrusts proxy error: {message}")


def install(pages: ErrorPages) -> None:
    from mitmproxy.net.http import http1
    from mitmproxy.proxy.layers.http import _http1

    def make_error_response(status_code: int, message: str = "") -> bytes:
        err = pages.page(status_code, message)
        headers = err.headers("error")
        headers["connection"] = "close"
        return http1.assemble_response(http.Response.make(err.status, err.body(), headers))

    make_error_response._keeptrusts = True  # type: ignore[attr-defined]
    _http1.make_error_response = make_error_response
