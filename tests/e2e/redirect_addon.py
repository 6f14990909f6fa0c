"""mitmdump -s addon for recording explicit-proxy sessions: connect api.openai.com to the fake upstream.

Only the server connection goes elsewhere; the recorded flows keep `api.openai.com:443` as their
destination, as a real session would (mitmproxy rewrites the request's host to the address it
connected to, so it is put back before the flow is saved). Set REDIRECT_TO=127.0.0.1:PORT.
"""
import os

API_HOST = "api.openai.com"
TARGET = os.environ.get("REDIRECT_TO", "")


class RedirectApiHost:
    def server_connect(self, data):
        if TARGET and data.server.address and data.server.address[0] == API_HOST:
            host, port = TARGET.rsplit(":", 1)
            data.server.address = (host, int(port))

    def _as_recorded(self, flow):
        if flow.request.headers.get("host", "").split(":")[0] == API_HOST:
            flow.request.host, flow.request.port = API_HOST, 443

    def websocket_start(self, flow):
        self._as_recorded(flow)

    def responseheaders(self, flow):
        self._as_recorded(flow)


addons = [RedirectApiHost()]
