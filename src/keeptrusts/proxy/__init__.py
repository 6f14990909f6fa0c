"""The mitmproxy side of the gateway: small addons with one concern each (mitmproxy's own style).

addon.Keeptrusts owns the shared state (runtime, audit, redactor, metrics) and lists these as its
child addons, in hook order: routing (what to intercept, where it goes), local endpoints (/health,
/keeptrusts/...), the HTTP guard, the WebSocket guard, JSON error pages. All guards call the one
transport-free turn pipeline in keeptrusts.turn.
"""
