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
        # (when, the event id of the failed exchange, the error the guard decided or None)
        self.pending: list[tuple[float, str | None, errors.GatewayError | None]] = []

    def load(self, loader) -> None:
        install(self)

    def expect(self, err: errors.GatewayError | None, event_id: str | None = None) -> None:
        self.pending[:] = [(time.monotonic(), event_id, err)]  # only the newest one can be pending

    def page(self, status_code: int, message: str) -> errors.GatewayError:
        pending = self.pending.pop() if self.pending else None
        if pending and time.monotonic() - pending[0] >= 1.0:
            pending = None  # stale: that client had gone, no page was built for it
        if pending and pending[2] is not None and message == "server closed connection":
            err = pending[2]
        elif status_code in (502, 504) or "connect" in message.lower():
            err = errors.upstream(status_code if status_code in (502, 504) else 502,
                                  f"Keeptrusts could not reach the upstream: {message}")
        else:
            err = errors.GatewayError(status_code, "gateway_error", "proxy_error", f"Keeptrusts proxy error: {message}")
        if pending and pending[1]:
            # The failed exchange is in the audit: say where to look, as every other answer does.
            err.event_id = pending[1]
            if "kt events show" not in err.message:
                err.message = f"{err.message} (details: kt events show {pending[1]})"
        return err


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
