"""The Keeptrusts mitmproxy addon: the only module that touches mitmproxy flows.

hooks -> wire (parse) -> chain (judge, redact) -> wire (write back) -> audit (record).

Fail closed: mitmproxy swallows exceptions raised in hooks and forwards the flow unchanged, so
every hook that guards a scanned flow catches its own errors and blocks the flow instead.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from mitmproxy import ctx, exceptions, http, tls
from mitmproxy.proxy import mode_specs

from . import errors, paths
from .audit import AuditWriter
from .chain import ChainResult
from .config import ConfigError, load_config
from .exchange import Completion, Exchange, OutputItem
from .identity import budget_exceeded, resolve_identity
from .logging_setup import log_exchange
from .policies import PolicyContext
from .redaction import Redactor, load_key
from .runtime import Runtime
from .verdicts import BLOCK, Verdict, worst
from .wire import requests as wire_requests
from .wire.chat_stream import ChatStream
from .wire.responses_json import judge_response_body
from .wire.responses_stream import ResponsesStream, failed_event
from .wire.sse import SSEStream, dumps, loads

log = logging.getLogger("keeptrusts")

LOCAL_PATHS = ("/health", "/healthz", "/readyz", "/keeptrusts/config", "/keeptrusts/config/reload", "/metrics")
AUDIT_WAIT_SECONDS = 5.0


def _now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def key_fingerprint(key: str | None) -> str | None:
    return "kf_" + hashlib.sha256(key.encode()).hexdigest()[:12] if key else None


def _bearer(flow: http.HTTPFlow) -> str | None:
    auth = flow.request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return flow.request.headers.get("api-key") or None


@dataclass
class Turn:
    """One exchange in flight: an HTTP request, or one response.create over a WebSocket."""

    exchange: Exchange
    record: dict
    started: float
    result: ChainResult = field(default_factory=ChainResult)
    parser: "ResponsesStream | ChatStream | None" = None
    stream: SSEStream | None = None
    forwarded_at: float | None = None
    first_byte_at: float | None = None
    recorded: bool = False
    output_result: ChainResult = field(default_factory=ChainResult)
    response_body: str | None = None
    last_activity: float | None = None       # upstream bytes last seen (for the upstream timeout)
    watchdog: "asyncio.Task | None" = None


class Judge:
    """OutputJudge for one turn: runs the chain's output hooks and restores placeholders."""

    def __init__(self, addon: "Keeptrusts", rt: Runtime, turn: Turn):
        self.addon, self.rt, self.turn = addon, rt, turn

    def item(self, item: OutputItem) -> str | None:
        res = self.rt.chain.output_item(self.turn.exchange, item)
        self.turn.output_result.extend(res)
        if item.is_tool_call and self.rt.restore:
            if item.kind == "function_call":
                item.text, _ = self.addon.redactor.restore_json_string(item.text)
            else:
                item.text, _ = self.addon.redactor.restore(item.text)
        blocked = res.blocked
        return blocked.message if blocked else None

    def done(self, completion: Completion) -> str | None:
        self.turn.exchange.completion = completion
        res = self.rt.chain.response(self.turn.exchange)
        self.turn.output_result.extend(res)
        blocked = res.blocked
        return blocked.message if blocked else None

    def restore(self, text: str) -> str:
        if not self.rt.restore:
            return text
        return self.addon.redactor.restore(text)[0]


class Keeptrusts:
    def __init__(self, defaults: dict | None = None) -> None:
        self.defaults = dict(defaults or {})  # initial values of the keeptrusts_* options (kt gateway run)
        self.runtime: Runtime | None = None
        self.config_error: str | None = None
        self.redactor: Redactor | None = None
        self.audit = None
        self.metrics = None
        self.started = time.time()
        self.requests_processed = 0
        self._turns: dict[str, Turn] = {}
        self._ws: dict[str, dict] = {}
        self._recorded: dict[str, http.Response] = {}
        self._proxy_auth: dict[str, str] = {}   # client connection id -> "user:password" from CONNECT
        self._config_mtime: float | None = None
        self._watch_task: asyncio.Task | None = None

    # ------------------------------------------------------------------ options and config
    def load(self, loader) -> None:
        loader.add_option("keeptrusts_config", str, self.defaults.get("keeptrusts_config", ""), "Path to the policy-config.yaml to enforce.")
        loader.add_option("keeptrusts_upstream", str, self.defaults.get("keeptrusts_upstream", ""),
                          "Upstream base URL for OpenAI API traffic (overrides providers.targets[0].base_url; "
                          "env KEEPTRUSTS_UPSTREAM_URL).")
        loader.add_option("keeptrusts_fail_mode", str, self.defaults.get("keeptrusts_fail_mode", ""), "block (default) or allow: what happens when a check cannot run.")
        loader.add_option("keeptrusts_audit_db", str, self.defaults.get("keeptrusts_audit_db", ""), "SQLite audit database (default ~/.keeptrusts/audit.db).")
        loader.add_option("keeptrusts_intercept_hosts", str, self.defaults.get("keeptrusts_intercept_hosts", ""),
                          "Comma-separated API hosts whose TLS is intercepted in explicit proxy mode "
                          "(default api.openai.com); every other host is tunnelled untouched.")
        loader.add_option("keeptrusts_reload_interval", float, 1.0, "Seconds between config file change checks (0: off).")
        _install_json_error_pages()

    def configure(self, updated: set[str]) -> None:
        if self.redactor is None:
            state = paths.state_dir()
            try:
                self.redactor = Redactor(load_key(state))
            except OSError as exc:
                raise exceptions.OptionsError(f"cannot create the redaction key in {state}: {exc}") from None
        if self.metrics is None:
            from .metrics import GatewayMetrics
            self.metrics = GatewayMetrics()
            self.metrics.watch_chain(lambda: self.runtime.chain if self.runtime else None)
        if updated & {"keeptrusts_config", "keeptrusts_upstream", "keeptrusts_fail_mode", "keeptrusts_intercept_hosts"}:
            try:
                self._load_runtime()
            except (ConfigError, ValueError) as exc:
                msg = exc.render() if isinstance(exc, ConfigError) else str(exc)
                if self.runtime is None:
                    raise exceptions.OptionsError(msg) from None
                log.error("keeptrusts: config change refused, keeping %s:\n%s", self.runtime.config.name_version, msg)
        if "keeptrusts_audit_db" in updated or self.audit is None:
            self._open_audit()

    def config_path(self) -> Path:
        opt = ctx.options.keeptrusts_config
        if opt:
            return Path(opt)
        if Path("policy-config.yaml").exists():
            return Path("policy-config.yaml")
        return paths.PROJECT_ROOT / "policies" / "codex-cli.yaml"

    def _load_runtime(self) -> None:
        path = self.config_path()
        mtime = path.stat().st_mtime if path.exists() else None
        config = load_config(path)
        context = PolicyContext(redactor=self.redactor, state_dir=str(paths.state_dir()))
        rt = Runtime.build(config, context, ctx.options.keeptrusts_upstream, ctx.options.keeptrusts_fail_mode,
                           ctx.options.keeptrusts_intercept_hosts)
        _warm_up(rt)
        self.runtime = rt
        self._config_mtime = mtime
        self.config_error = None
        if self.metrics is not None:
            self.metrics.set_config(config.pack.get("name"), config.pack.get("version"))
        log.info("keeptrusts Loaded declarative config %s from %s (chain: %s; upstream %s; fail-mode %s)",
                 config.name_version, path, " -> ".join(config.chain), rt.upstream.url, rt.fail_mode)
        for w in config.warnings:
            log.info("keeptrusts config warning[%s] %s at %s", w.code, w.message, w.path)

    def reload(self) -> tuple[bool, str]:
        """Reload the config file; an invalid change keeps the running config."""
        try:
            self._load_runtime()
            if self.metrics is not None:
                self.metrics.config_reload(True)
            return True, f"loaded {self.runtime.config.name_version}"
        except (ConfigError, ValueError, OSError) as exc:
            msg = exc.render() if isinstance(exc, ConfigError) else str(exc)
            self.config_error = msg
            if self.metrics is not None:
                self.metrics.config_reload(False)
            log.error("keeptrusts: config reload failed, keeping the running config:\n%s", msg)
            return False, msg

    def _open_audit(self) -> None:
        db = ctx.options.keeptrusts_audit_db or str(paths.audit_db())
        Path(db).parent.mkdir(parents=True, exist_ok=True)
        key = os.environ.get("KEEPTRUSTS_AUDIT_HMAC_KEY")
        pricing = None
        if self.runtime:
            from .pricing import overrides_from_config
            pricing = overrides_from_config(self.runtime.config)
        if self.audit is not None:
            self.audit.close(timeout=5)
        self.audit = AuditWriter(db, hmac_key=key.encode() if key else None, pricing_overrides=pricing)
        try:
            self.audit.start()
        except Exception as exc:  # one clear line (the message names the db and the fix), not a traceback
            raise exceptions.OptionsError(str(exc)) from None
        log.info("keeptrusts audit database %s", db)

    def running(self) -> None:
        if ctx.options.keeptrusts_reload_interval > 0 and self._watch_task is None:
            self._watch_task = asyncio.ensure_future(self._watch_config())

    async def _watch_config(self) -> None:
        while True:
            await asyncio.sleep(ctx.options.keeptrusts_reload_interval or 1.0)
            try:
                path = self.config_path()
                mtime = path.stat().st_mtime if path.exists() else None
            except OSError:
                continue
            if mtime is not None and mtime != self._config_mtime:
                self._config_mtime = mtime
                self.reload()

    def client_disconnected(self, client) -> None:
        self._proxy_auth.pop(client.id, None)

    def done(self) -> None:
        if self._watch_task:
            self._watch_task.cancel()
        if self.audit is not None:
            self.audit.close(timeout=5)

    # ------------------------------------------------------------------ explicit proxy: what to intercept
    def tls_clienthello(self, data: tls.ClientHelloData) -> None:
        rt = self.runtime
        if rt is None or not isinstance(data.context.client.proxy_mode, mode_specs.RegularMode):
            return
        host = data.client_hello.sni or (data.context.server.address or ("",))[0]
        if not rt.intercepts(host):
            data.ignore_connection = True  # tunnel untouched: we never see other hosts' traffic

    def http_connect(self, flow: http.HTTPFlow) -> None:
        # Explicit mode: the credentials ride on the CONNECT, not on the requests inside the tunnel.
        auth = flow.request.headers.get("proxy-authorization", "")
        if auth.lower().startswith("basic "):
            import base64
            try:
                self._proxy_auth[flow.client_conn.id] = base64.b64decode(auth[6:].strip()).decode("utf-8")
            except ValueError:
                pass
        rt = self.runtime
        if rt and not rt.egress_allowed(flow.request.host):
            flow.response = http.Response.make(
                403, f"Keeptrusts egress allow-list: {flow.request.host} is not allowed "
                     "(gateway.egress_allowlist in the policy config)\n".encode(),
                {"content-type": "text/plain"})

    # ------------------------------------------------------------------ classification
    def _is_self_addressed(self, flow: http.HTTPFlow) -> bool:
        """An origin-form request sent to our own listener (base URL pointed at the gateway)."""
        if isinstance(flow.client_conn.proxy_mode, mode_specs.ReverseMode):
            return True
        sock = flow.client_conn.sockname
        return bool(sock) and flow.request.port == sock[1] and flow.request.host in (
            "localhost", "127.0.0.1", "::1", "0.0.0.0", sock[0])

    def _route(self, flow: http.HTTPFlow, rt: Runtime) -> bool:
        """Point an API flow at the upstream. False when the flow is not OpenAI API traffic."""
        if self._is_self_addressed(flow):
            target = rt.upstream
        elif rt.intercepts(flow.request.host):
            if not rt.upstream_overridden:
                return True  # explicit mode to the real API host: leave the destination as is
            target = rt.upstream
        else:
            return False
        if isinstance(flow.client_conn.proxy_mode, mode_specs.ReverseMode) and not rt.upstream_overridden:
            return True  # the reverse mode's own target (`--mode reverse:URL`) is where the user sent it
        flow.request.scheme = target.scheme
        flow.request.host = target.host
        flow.request.port = target.port
        if target.prefix and not flow.request.path.startswith(target.prefix + "/"):
            flow.request.path = target.prefix + flow.request.path
        default = 443 if target.scheme == "https" else 80
        flow.request.headers["host"] = target.host if target.port == default else f"{target.host}:{target.port}"
        return True

    # ------------------------------------------------------------------ responses we make ourselves
    def _answer(self, flow: http.HTTPFlow, err: errors.GatewayError, verdict: str | None = None) -> None:
        flow.response = http.Response.make(err.status, err.body(), err.headers(verdict))

    def _local(self, flow: http.HTTPFlow, rt: Runtime | None) -> bool:
        path = flow.request.path.split("?", 1)[0]
        if path not in LOCAL_PATHS or not self._is_self_addressed(flow):
            return False
        if path in ("/health", "/healthz", "/readyz"):
            healthy = rt is not None and (self.audit is None or getattr(self.audit, "healthy", True))
            body = {
                "status": "healthy" if healthy else ("degraded" if rt else "unhealthy"),
                "uptime_seconds": round(time.time() - self.started, 1),
                "version": _version(),
                "config": rt.config.name_version if rt else None,
                "config_error": self.config_error,
                "policies_loaded": len(rt.chain.policies) if rt else 0,
                "chain": rt.config.chain if rt else [],
                "fail_mode": rt.fail_mode if rt else None,
                "upstream": rt.upstream.url if rt else None,
                "audit": {"healthy": getattr(self.audit, "healthy", False),
                          "last_error": getattr(self.audit, "last_error", None)},
                "requests_processed": self.requests_processed,
            }
            status = 200 if healthy or path == "/healthz" else 503
            flow.response = http.Response.make(status, json.dumps(body).encode(), {"content-type": "application/json"})
        elif path == "/keeptrusts/config":
            if flow.request.method == "POST":
                return False
            body = rt.config.masked() if rt else {"error": self.config_error}
            flow.response = http.Response.make(200 if rt else 503, json.dumps(body, default=str).encode(),
                                               {"content-type": "application/json"})
        elif path == "/keeptrusts/config/reload":
            if flow.request.method != "POST":
                self._answer(flow, errors.GatewayError(405, "validation_error", "method_not_allowed",
                                                       "Use POST /keeptrusts/config/reload"))
                return True
            ok, msg = self.reload()
            flow.response = http.Response.make(200 if ok else 422, json.dumps({"ok": ok, "message": msg}).encode(),
                                               {"content-type": "application/json"})
        elif path == "/metrics":
            from .metrics import CONTENT_TYPE
            flow.response = http.Response.make(200, self.metrics.render().encode(), {"content-type": CONTENT_TYPE})
        return True

    # ------------------------------------------------------------------ request side
    def _new_record(self, flow: http.HTTPFlow, rt: Runtime | None, api: str, transport: str) -> dict:
        origin = flow.metadata.get("keeptrusts_origin") or {}
        mode = origin.get("mode") or ("reverse" if self._is_self_addressed(flow) else "explicit")
        peer = flow.client_conn.peername
        target = rt.config.target() if rt else {}
        return {
            "id": "evt_" + uuid.uuid4().hex[:24], "timestamp": _now_iso(), "event_type": "decision",
            "mode": mode, "transport": transport, "client": f"{peer[0]}:{peer[1]}" if peer else None,
            "method": flow.request.method, "host": origin.get("host") or flow.request.pretty_host, "path": flow.request.path.split("?", 1)[0],
            "api": api, "provider": target.get("provider", "openai"), "target_id": target.get("id"),
            "config_name": rt.config.pack.get("name") if rt else None,
            "config_version": rt.config.pack.get("version") if rt else None,
            "bytes_in": len(flow.request.raw_content or b""),
        }

    def _identify(self, flow: http.HTTPFlow, rt: Runtime, record: dict) -> errors.GatewayError | None:
        """Who is calling; swap a gateway token for the provider key. Returns an error to answer with."""
        key = _bearer(flow)
        record["key_fingerprint"] = key_fingerprint(key)
        headers = {k.lower(): v for k, v in flow.request.headers.items()}
        ident = resolve_identity(headers, rt.config, self._proxy_auth.get(flow.client_conn.id))
        if ident.error:
            return errors.unauthorized(ident.error)
        record["developer"], record["developer_source"] = ident.developer, ident.source
        record["key_fingerprint"] = ident.key_fingerprint or record["key_fingerprint"]
        provider_key = rt.config.provider_key()
        is_token = ident.is_gateway_token
        if provider_key and (is_token or not key):
            t = rt.config.target()
            header = t.get("api_key_header") or "authorization"
            prefix = t.get("api_key_prefix", "Bearer")
            flow.request.headers[header] = f"{prefix} {provider_key}".strip() if prefix else provider_key
        elif is_token:
            return errors.unavailable("The gateway token is valid but no provider key is configured: set the "
                                      "environment variable named in providers.targets[0].secret_key_ref.env",
                                      "provider_key_missing")
        return None

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        # A flow loaded from a file (`mitmdump -nr FILE`) arrives with its recorded response: set it aside
        # so the request is judged as if live, and put it back unless the chain answered it (a block).
        if not flow.live and flow.response is not None:
            flow.metadata["keeptrusts_recorded_response"] = True
            self._recorded[flow.id] = flow.response
            flow.response = None

    def request(self, flow: http.HTTPFlow) -> None:
        try:
            self._request(flow)
        finally:
            recorded = self._recorded.pop(flow.id, None)
            if recorded is not None and flow.response is None:
                flow.response = recorded

    def _request(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None or flow.request.method == "CONNECT":
            return
        rt = self.runtime
        try:
            if self._local(flow, rt):
                return
            if rt is None:
                self._answer(flow, errors.unavailable(f"Keeptrusts has no valid policy config: {self.config_error}",
                                                      "config_invalid"))
                return
            # Where the client sent it, before routing points it at the upstream.
            flow.metadata["keeptrusts_origin"] = {
                "host": flow.request.pretty_host,
                "mode": "reverse" if self._is_self_addressed(flow) else "explicit"}
            if not self._route(flow, rt):
                if not rt.egress_allowed(flow.request.host):
                    self._answer(flow, errors.GatewayError(
                        403, "policy_violation", "egress_denied",
                        f"Keeptrusts egress allow-list: {flow.request.host} is not allowed", policy="gateway"))
                return  # not API traffic: passes untouched
            self._handle_api_request(flow, rt)
            turn = self._turns.get(flow.id)
            if turn is not None and flow.response is None and rt.upstream_timeout > 0:
                turn.watchdog = asyncio.ensure_future(self._watch_upstream(flow, turn, rt.upstream_timeout))
        except Exception as exc:  # fail closed
            log.exception("keeptrusts: request handling failed")
            if rt is None or rt.fail_mode == "block":
                self._answer(flow, errors.unavailable(
                    f"Keeptrusts could not check this request ({type(exc).__name__}); fail-mode is block, "
                    "so it was not sent", "gateway_error"), BLOCK)
                turn = self._turns.get(flow.id)
                if turn:
                    turn.record["error"] = f"{type(exc).__name__}: {exc}"[:500]

    def _handle_api_request(self, flow: http.HTTPFlow, rt: Runtime) -> None:
        started = time.perf_counter()
        is_ws = flow.request.headers.get("upgrade", "").lower() == "websocket"
        api = wire_requests.detect_api(flow.request.path)
        record = self._new_record(flow, rt, api, "websocket" if is_ws else "http")
        ex = Exchange(api=api, transport=record["transport"], path=record["path"])
        turn = Turn(ex, record, started)
        self._turns[flow.id] = turn
        self.requests_processed += 1
        self.metrics.request_started()

        err = self._identify(flow, rt, record)
        ex.developer = record.get("developer")
        if err is None and self.audit is not None and not getattr(self.audit, "healthy", True) and rt.fail_mode == "block":
            err = errors.unavailable(f"Keeptrusts cannot write its audit log ({self.audit.last_error}); requests are "
                                     "blocked until it can (fail-mode block). Free disk space or fix the database.",
                                     "audit_unavailable")
        if err is None:
            err = self._check_budget(record)
        if err is not None:
            self._block(flow, turn, err, Verdict("gateway", BLOCK, err.code, err.message))
            return
        if is_ws:
            return  # the upgrade carries no prompt; each response.create message is judged
        if flow.request.method != "POST" or api == "unknown":
            record["reason_code"] = "unscanned_endpoint"
            if rt.unknown_endpoints == "block" and flow.request.method == "POST":
                self._block(flow, turn, errors.GatewayError(
                    403, "policy_violation", "endpoint_blocked",
                    f"Keeptrusts does not scan {flow.request.path}; unknown endpoints are blocked "
                    "(gateway.unknown_endpoints: block)", policy="gateway"),
                    Verdict("gateway", BLOCK, "endpoint_blocked"))
            turn.forwarded_at = time.perf_counter()
            return

        body, err = self._parse_body(flow, rt)
        if err is not None:
            self._block(flow, turn, err, Verdict("gateway", BLOCK, err.code, err.message))
            return
        try:
            segments, tools = wire_requests.extract(api, body)
        except wire_requests.RequestShapeError as exc:
            err = errors.validation(f"Malformed {api} request: {exc}")
            self._block(flow, turn, err, Verdict("gateway", BLOCK, err.code, err.message))
            return
        self._fill_exchange(ex, body, segments, tools, flow.request.headers)
        record["model"] = ex.model
        stream = bool(body.get("stream")) if isinstance(body, dict) else False
        turn.result = rt.chain.request(ex)
        blocked = turn.result.blocked
        if blocked:
            record["request_body"] = self._body_text(body, segments, turn.result)
            if api == "responses" and stream:
                self._block_as_stream(flow, turn, blocked.message)
            else:
                self._block(flow, turn, errors.policy_block(blocked.policy, blocked.message), None)
            return
        if wire_requests.apply(body, segments):
            flow.request.content = dumps(body).encode()
        record["request_body"] = flow.request.get_text(strict=False)
        record["stream"] = stream
        self._warm_audit(record["request_body"])
        turn.forwarded_at = time.perf_counter()

    def _warm_audit(self, body: str) -> None:
        warm = getattr(self.audit, "warm", None)
        if warm is not None:
            warm(body)  # the writer splits the history while the model generates

    def _body_text(self, body, segments, result: ChainResult) -> str:
        """The body of a blocked request as the audit keeps it: redactions applied, and any text in which a
        policy found something it blocked on (without redacting it) withheld, so no secret lands in the audit."""
        flagged: dict[str, set[str]] = {}
        for v in result.verdicts:
            for f in v.findings:
                if f.where and not f.placeholder:
                    flagged.setdefault(f.where, set()).add(f.type)
        for seg in segments:
            if seg.where in flagged and not seg.changed:
                seg.text = f"[withheld by keeptrusts: {', '.join(sorted(flagged[seg.where]))}]"
        wire_requests.apply(body, segments)
        return dumps(body)

    def _parse_body(self, flow: http.HTTPFlow, rt: Runtime):
        raw = flow.request.raw_content or b""
        if len(raw) > rt.max_body_bytes:
            return None, errors.too_large(len(raw), rt.max_body_bytes)
        ctype = flow.request.headers.get("content-type", "")
        if ctype and "json" not in ctype.lower():
            return None, errors.validation(f"Content-Type must be application/json for {flow.request.path}, got {ctype!r}")
        try:
            content = flow.request.get_content(strict=True)
        except ValueError as exc:
            return None, errors.validation(f"Cannot decode the request body ({flow.request.headers.get('content-encoding')}): {exc}")
        if content is None or len(content) > rt.max_body_bytes:
            return None, errors.too_large(len(content or b""), rt.max_body_bytes)
        try:
            body = loads(content)
        except ValueError as exc:
            if "utf-8" in str(exc).lower():
                return None, errors.validation(f"Request body is not valid UTF-8: {exc}")
            if "recursion" in str(exc).lower():
                return None, errors.validation("Request body JSON is nested too deeply")
            return None, errors.validation(f"Request body is not valid JSON: {exc}")
        return body, None

    @staticmethod
    def _fill_exchange(ex: Exchange, body, segments, tools, headers) -> None:
        ex.segments = segments
        ex.tools = tools
        ex.model = wire_requests.request_field(body, "model")
        ex.session_id = (headers.get("session_id") or headers.get("x-session-id") or headers.get("conversation_id")
                         or headers.get("x-conversation-id") or wire_requests.request_field(body, "prompt_cache_key"))
        ex.headers = {k.lower(): v for k, v in headers.items()
                      if k.lower() not in ("authorization", "api-key", "proxy-authorization", "cookie")}

    def _check_budget(self, record: dict) -> errors.GatewayError | None:
        over = budget_exceeded(record.get("developer"))
        if over is None:
            return None
        err = errors.budget(over.message)
        err.retry_after = over.retry_after_s
        return err

    def _block(self, flow: http.HTTPFlow, turn: Turn, err: errors.GatewayError, extra: Verdict | None) -> None:
        if extra is not None:
            turn.result.verdicts.append(extra)
        self._answer(flow, err, BLOCK)
        turn.record["status"] = err.status
        if err.status != 409:
            turn.record["error"] = err.message

    def _block_as_stream(self, flow: http.HTTPFlow, turn: Turn, message: str) -> None:
        """A blocked streaming Responses request: answer as the model would, with `response.failed`.

        Codex shows a `response.failed` (code invalid_prompt) and stops the turn, where it would retry
        an HTTP 409 five times (measured with Codex CLI 0.169.0)."""
        resp = {"id": "resp_keeptrusts_" + secrets.token_hex(8), "object": "response", "status": "in_progress",
                "model": turn.exchange.model, "output": []}
        created = {"type": "response.created", "sequence_number": 0, "response": resp}
        failed = failed_event(resp, message, 1)
        body = "".join(f"event: {e['type']}\ndata: {dumps(e)}\n\n" for e in (created, failed)).encode()
        flow.response = http.Response.make(200, body, {"content-type": "text/event-stream", "cache-control": "no-cache",
                                                       "x-keeptrusts-verdict": BLOCK})
        turn.record["status"] = 409  # audited as the policy block it is

    # ------------------------------------------------------------------ response side
    def responseheaders(self, flow: http.HTTPFlow) -> None:
        turn = self._turns.get(flow.id)
        rt = self.runtime
        if turn is None or rt is None or flow.response is None:
            return
        turn.first_byte_at = turn.last_activity = time.perf_counter()
        if turn.record.get("reason_code") == "unscanned_endpoint":
            return
        ctype = flow.response.headers.get("content-type", "")
        if "text/event-stream" in ctype and flow.response.status_code < 400:
            turn.parser = self._parser(turn, rt)
            turn.record["transport"] = turn.exchange.transport = "sse"
            turn.stream = stream = SSEStream(turn.parser, on_terminal=lambda: self._terminal(flow, turn, wait=True))

            def relay(data: bytes):
                turn.last_activity = time.perf_counter()
                return stream(data)
            flow.response.stream = relay
        elif flow.response.status_code == 101 and turn.watchdog is not None:
            turn.watchdog.cancel()  # a websocket lives as long as the client wants

    async def _watch_upstream(self, flow: http.HTTPFlow, turn: Turn, timeout: float) -> None:
        """gateway.upstream_timeout_seconds: no answer (or, on a stream, no new bytes) for that long ends
        the exchange: a 504 `upstream_timeout` when nothing was sent yet, else the stream is cut."""
        while not turn.recorded and flow.live:
            since = turn.last_activity or turn.forwarded_at or turn.started
            left = since + timeout - time.perf_counter()
            if left > 0:
                await asyncio.sleep(left)
                continue
            if flow.response is not None and turn.stream is None:
                return  # a buffered body that started arriving: mitmproxy's tcp_timeout guards the rest
            msg = (f"Keeptrusts: the upstream {self.runtime.upstream.url if self.runtime else ''} sent nothing for "
                   f"{timeout:g}s (gateway.upstream_timeout_seconds)")
            flow.metadata["keeptrusts_timeout"] = msg
            turn.record["status"], turn.record["error"] = 504, msg
            log.warning("keeptrusts: %s; %s %s", msg, flow.request.method, flow.request.path)
            proxy = ctx.master.addons.get("proxyserver")
            handler = proxy.connections.get(flow.client_conn.id) if proxy else None
            io = handler.transports.get(flow.server_conn) if handler else None
            if io is not None and io.handler is not None:
                io.handler.cancel("upstream timeout")
            else:
                flow.kill()
            return

    def _parser(self, turn: Turn, rt: Runtime):
        judge = Judge(self, rt, turn)
        return ChatStream(judge) if turn.exchange.api == "chat" else ResponsesStream(judge)

    def _terminal(self, flow: http.HTTPFlow, turn: Turn, wait: bool) -> None:
        """The final event is about to reach the client: record the exchange first (and wait for the commit)."""
        if turn.recorded:
            return
        fut = self._submit(flow, turn)
        if wait and fut is not None:
            try:
                fut.result(timeout=AUDIT_WAIT_SECONDS)
            except Exception as exc:  # noqa: BLE001 - reported, the stream itself is already out
                log.error("keeptrusts: audit write failed for %s: %s", turn.record["id"], exc)

    async def response(self, flow: http.HTTPFlow) -> None:
        turn = self._turns.get(flow.id)
        rt = self.runtime
        if turn is None:
            return
        if turn.watchdog is not None:
            turn.watchdog.cancel()
        try:
            if flow.response is not None and flow.response.status_code != 101:
                # A stream callable that never ran means the body arrived whole (a replayed flow): judge it here.
                buffered = turn.stream is None or (not turn.stream.ended and flow.response.raw_content)
                if buffered and rt is not None and turn.record.get("reason_code") != "unscanned_endpoint" \
                        and turn.record.get("status") is None:
                    turn.stream = None
                    self._judge_buffered_response(flow, turn, rt)
        except Exception as exc:
            log.exception("keeptrusts: response handling failed")
            if rt is None or rt.fail_mode == "block":
                self._answer(flow, errors.unavailable(
                    f"Keeptrusts could not check the model's answer ({type(exc).__name__}); fail-mode is block",
                    "gateway_error"), BLOCK)
                turn.record["error"] = f"{type(exc).__name__}: {exc}"[:500]
        if flow.response is not None and flow.response.status_code == 101:
            return  # the websocket carries its own exchanges
        fut = None if turn.recorded else self._submit(flow, turn)
        self._turns.pop(flow.id, None)
        if fut is not None:
            try:
                await asyncio.wait_for(asyncio.wrap_future(fut), AUDIT_WAIT_SECONDS)
            except Exception as exc:  # noqa: BLE001
                log.error("keeptrusts: audit write failed for %s: %s", turn.record["id"], exc)
                if rt is not None and rt.fail_mode == "block" and turn.stream is None:
                    self._answer(flow, errors.unavailable(
                        f"Keeptrusts could not record this exchange in the audit log ({exc}); fail-mode is block",
                        "audit_unavailable"), BLOCK)

    def _judge_buffered_response(self, flow: http.HTTPFlow, turn: Turn, rt: Runtime) -> None:
        resp = flow.response
        ctype = resp.headers.get("content-type", "")
        if resp.status_code >= 400:
            turn.response_body = resp.get_text(strict=False)
            return
        if "text/event-stream" in ctype:
            # A buffered stream (replayed flows, or streaming disabled): run it through the same parser.
            turn.parser = self._parser(turn, rt)
            sse = SSEStream(turn.parser)
            out = b"".join(sse(resp.content or b"")) + b"".join(sse(b""))
            resp.content = out
            return
        if "json" not in ctype:
            return
        try:
            body = json.loads(resp.get_text(strict=False) or "null")
        except ValueError:
            return
        if not isinstance(body, dict):
            return
        turn.response_body = resp.get_text(strict=False)
        changed, message, comp = judge_response_body(turn.exchange.api, body, Judge(self, rt, turn))
        turn.exchange.completion = comp
        quality = next((v.score for v in turn.output_result.verdicts
                        if v.policy == "quality-scorer" and v.score is not None), None)
        if quality is not None:
            resp.headers["x-keeptrusts-quality"] = f"{quality:.3f}"
        if message:
            blocked = turn.output_result.blocked
            err = errors.policy_block(blocked.policy if blocked else "gateway", message, phase="output")
            self._answer(flow, err, BLOCK)
            return
        if changed:
            resp.content = dumps(body).encode()

    def error(self, flow: http.HTTPFlow) -> None:
        timed_out = flow.metadata.get("keeptrusts_timeout")
        if timed_out and flow.response is None:
            # The page mitmproxy builds next, in this same task; only the newest one can be pending.
            _PENDING_ERROR_PAGES[:] = [(time.monotonic(), errors.upstream(504, timed_out))]
        turn = self._turns.pop(flow.id, None)
        if turn is not None and turn.watchdog is not None:
            turn.watchdog.cancel()
        if turn is None or turn.recorded:
            return
        msg = timed_out or (flow.error.msg if flow.error else "unknown error")
        turn.record["error"] = msg
        if turn.record.get("status") is None:
            turn.record["status"] = 504 if "timeout" in msg.lower() else 502
        self._submit(flow, turn)

    # ------------------------------------------------------------------ websocket (Codex's first transport)
    def websocket_start(self, flow: http.HTTPFlow) -> None:
        turn = self._turns.pop(flow.id, None)
        if turn is None:
            return
        self.metrics.request_finished()  # the upgrade itself is done; each response.create counts on its own
        self._ws[flow.id] = {"upgrade": turn, "turn": None}

    async def websocket_message(self, flow: http.HTTPFlow) -> None:
        ws = self._ws.get(flow.id)
        rt = self.runtime
        if ws is None or flow.websocket is None:
            return
        msg = flow.websocket.messages[-1]
        if msg.injected:
            return
        try:
            if msg.from_client:
                self._ws_client_message(flow, ws, msg, rt)
            else:
                fut, inject = self._ws_server_message(flow, ws, msg, rt)
                if fut is not None:  # the final event waits for its audit row
                    try:
                        await asyncio.wait_for(asyncio.wrap_future(fut), AUDIT_WAIT_SECONDS)
                    except Exception as exc:  # noqa: BLE001
                        log.error("keeptrusts: audit write failed for a websocket turn: %s", exc)
                for text in inject or ():
                    ctx.master.commands.call("inject.websocket", flow, True, text.encode(), True)
        except Exception as exc:
            log.exception("keeptrusts: websocket message handling failed")
            if rt is None or rt.fail_mode == "block":
                msg.drop()
                text = f"Keeptrusts could not check this message ({type(exc).__name__}); fail-mode is block"
                turn = ws.get("turn")
                if not msg.from_client and turn is not None and turn.parser is not None and not turn.parser.finished:
                    # The turn is over: its parser drops every later event (a held tool call stays unreleased).
                    for event, _ in turn.parser._fail(text):
                        self._inject(flow, event)
                else:
                    self._inject(flow, failed_event(None, text, None))

    def _inject(self, flow: http.HTTPFlow, event: dict) -> None:
        ws = self._ws.get(flow.id)
        if ws is not None:
            ws["injecting"] = True
        ctx.master.commands.call("inject.websocket", flow, True, dumps(event).encode(), True)

    def _ws_client_message(self, flow: http.HTTPFlow, ws: dict, msg, rt: Runtime | None) -> None:
        if not msg.is_text:
            return
        try:
            body = json.loads(msg.text)
        except ValueError:
            body = None
        if not isinstance(body, dict) or body.get("type") != "response.create":
            return  # other client messages carry no prompt
        upgrade: Turn = ws["upgrade"]
        if ws["turn"] is not None and not ws["turn"].recorded:
            ws["turn"].record["error"] = "superseded by a new response.create"
            self._submit(flow, ws["turn"])
        record = dict(upgrade.record, id="evt_" + uuid.uuid4().hex[:24], timestamp=_now_iso(),
                      transport="websocket", bytes_in=len(msg.content))
        ex = Exchange(api="responses", transport="websocket", path=record["path"], developer=record.get("developer"))
        turn = Turn(ex, record, time.perf_counter())
        ws["turn"] = turn
        self.requests_processed += 1
        self.metrics.request_started()
        if rt is None:
            self._ws_block(flow, msg, turn, "Keeptrusts has no valid policy config", Verdict("gateway", BLOCK, "config_invalid"))
            return
        if self.audit is not None and not getattr(self.audit, "healthy", True) and rt.fail_mode == "block":
            self._ws_block(flow, msg, turn, f"Keeptrusts cannot write its audit log ({self.audit.last_error}); "
                                            "requests are blocked until it can", Verdict("gateway", BLOCK, "audit_unavailable"))
            return
        try:
            segments, tools = wire_requests.extract("responses", body)
        except wire_requests.RequestShapeError as exc:
            self._ws_block(flow, msg, turn, f"Malformed response.create: {exc}", Verdict("gateway", BLOCK, "invalid_request"))
            return
        self._fill_exchange(ex, body, segments, tools, flow.request.headers)
        # Over the WebSocket a turn carries only new items: name the tool behind each output from the
        # calls of earlier turns, so findings can say which command or file produced it.
        calls: dict = ws.setdefault("calls", {})
        for seg in segments:
            if seg.tool_name is None and seg.call_id in calls:
                seg.tool_name = calls[seg.call_id][0]
        ex.meta["call_args"] = {cid: args for cid, (_, args) in calls.items()}
        record["model"] = ex.model
        turn.result = rt.chain.request(ex)
        blocked = turn.result.blocked
        if blocked:
            record["request_body"] = self._body_text(body, segments, turn.result)
            self._ws_block(flow, msg, turn, blocked.message, None)
            return
        if wire_requests.apply(body, segments):
            msg.text = dumps(body)
        record["request_body"] = msg.text
        self._warm_audit(record["request_body"])
        turn.parser = self._parser(turn, rt)
        turn.forwarded_at = time.perf_counter()
        if rt.upstream_timeout > 0:
            turn.watchdog = asyncio.ensure_future(self._watch_ws_turn(flow, ws, turn, rt.upstream_timeout))

    async def _watch_ws_turn(self, flow: http.HTTPFlow, ws: dict, turn: Turn, timeout: float) -> None:
        """gateway.upstream_timeout_seconds for a WebSocket turn: no server event for that long ends the
        turn with response.failed (the connection stays open for the next response.create)."""
        while not turn.recorded and ws.get("turn") is turn and flow.live:
            left = (turn.last_activity or turn.forwarded_at or turn.started) + timeout - time.perf_counter()
            if left > 0:
                await asyncio.sleep(left)
                continue
            if turn.parser is None or turn.parser.finished or flow.id not in self._ws:
                return
            msg = (f"Keeptrusts: the upstream {self.runtime.upstream.url if self.runtime else ''} sent nothing for "
                   f"{timeout:g}s (gateway.upstream_timeout_seconds)")
            log.warning("keeptrusts: %s; websocket turn %s", msg, turn.record["id"])
            turn.record["status"], turn.record["error"] = 504, msg
            for event, _ in turn.parser._fail(msg):  # its late events are dropped from now on
                self._inject(flow, event)
            self._submit(flow, turn)
            return

    def _ws_block(self, flow, msg, turn: Turn, message: str, extra: Verdict | None) -> None:
        if extra is not None:
            extra.message = extra.message or message
            turn.result.verdicts.append(extra)
        msg.drop()
        turn.record["status"] = 409
        self._inject(flow, failed_event({"id": "resp_keeptrusts_" + secrets.token_hex(8), "object": "response",
                                         "model": turn.exchange.model}, message, None))
        self._submit(flow, turn)

    def _ws_server_message(self, flow: http.HTTPFlow, ws: dict, msg, rt: Runtime | None):
        """Returns (audit future or None, messages to inject after it commits or None)."""
        turn: Turn | None = ws.get("turn")
        if turn is not None and turn.parser is not None and turn.parser.blocked:
            # A blocked turn's remaining upstream events (deltas, response.completed with the denied
            # call in its output) never reach the client: it already got response.failed.
            msg.drop()
            return None, None
        if turn is None or turn.parser is None or turn.recorded or not msg.is_text:
            return None, None
        turn.last_activity = time.perf_counter()
        if turn.first_byte_at is None:
            turn.first_byte_at = turn.last_activity
        try:
            event = json.loads(msg.text)
        except ValueError:
            return None, None
        if not isinstance(event, dict):
            return None, None
        raw = msg.text
        out = turn.parser.feed(event, raw)
        inject = None
        # Once one message was held or rewritten, every later one is re-injected too: injected messages
        # are queued behind the live stream, so only injecting them all keeps the events in order.
        if ws.get("injecting") or not (len(out) == 1 and out[0][1] is raw):
            msg.drop()
            ws["injecting"] = True
            inject = [(r if r is not None else dumps(obj)) for obj, r in out]
        fut = None
        if turn.parser.finished:
            calls = ws.setdefault("calls", {})
            for item in turn.parser.completion.items:
                if item.is_tool_call and item.call_id:
                    calls[item.call_id] = (item.name, item.original)
            while len(calls) > 256:  # bounded: only recent calls are ever answered
                calls.pop(next(iter(calls)))
            turn.record["status"] = 409 if turn.parser.blocked else 200
            fut = self._submit(flow, turn)
        return fut, inject

    def websocket_end(self, flow: http.HTTPFlow) -> None:
        ws = self._ws.pop(flow.id, None)
        if ws and ws["turn"] is not None and not ws["turn"].recorded:
            turn = ws["turn"]
            turn.record["error"] = (flow.websocket.close_reason if flow.websocket else None) or "websocket closed before the response completed"
            self._submit(flow, turn)

    # ------------------------------------------------------------------ audit record
    def _submit(self, flow: http.HTTPFlow, turn: Turn):
        if turn.recorded:
            return None
        turn.recorded = True
        rec = turn.record
        now = time.perf_counter()
        verdicts = turn.result.verdicts + turn.output_result.verdicts
        rec["policies"] = [v.to_dict() for v in verdicts]
        rec["verdict"] = worst([v.verdict for v in verdicts])
        if rec.get("reason_code") != "unscanned_endpoint" or verdicts:
            top = rec["verdict"]
            rec["reason_code"] = "all_policies_passed" if top == "allow" else next(
                v.reason_code for v in verdicts if v.verdict == top)
        parser = turn.parser
        comp = turn.exchange.completion or (parser.completion if parser else None)
        if parser is not None and turn.exchange.completion is None:
            turn.exchange.completion = comp
        if comp is not None:
            rec["output"] = {
                "text": comp.text,
                "tool_calls": [{"kind": i.kind, "name": i.name, "call_id": i.call_id, "arguments": i.original}
                               for i in comp.items if i.is_tool_call],
                "finish_reason": comp.finish_reason, "status": comp.status,
            }
            if comp.usage:
                rec["usage"] = comp.usage.__dict__.copy()
        quality = next((v.score for v in verdicts if v.policy == "quality-scorer" and v.score is not None), None)
        rec["quality"] = quality
        if rec.get("status") is None:
            if flow.response is not None:
                rec["status"] = flow.response.status_code
            elif parser is not None:
                rec["status"] = 409 if parser.blocked else 200
        if turn.response_body is not None:
            rec["response_body"] = turn.response_body
        if turn.stream is not None:
            rec["bytes_out"] = turn.stream.bytes_out
        elif flow.response is not None and flow.response.status_code != 101:
            rec["bytes_out"] = len(flow.response.raw_content or b"")
        rec["session_id"] = turn.exchange.session_id
        rec["durations"] = {
            "total_ms": round((now - turn.started) * 1000, 3),
            "policy_ms": round(sum(v.duration_ms for v in verdicts), 3),
            "upstream_ms": round((now - turn.forwarded_at) * 1000, 3) if turn.forwarded_at else None,
            "ttfb_ms": round((turn.first_byte_at - turn.forwarded_at) * 1000, 3)
            if turn.first_byte_at and turn.forwarded_at else None,
        }
        if self.metrics is not None:
            try:
                self.metrics.request_finished()
                self.metrics.observe_exchange(rec)
            except Exception:  # metrics never break traffic
                log.exception("keeptrusts: metrics failed")
        log_exchange(rec)
        if self.audit is None:
            return None
        if rec["verdict"] == "allow" and not (turn.exchange.meta.get("audit") or {}).get("log_all_access", True):
            return None  # audit-logger log_all_access: false records only exchanges a policy acted on
        try:
            return self.audit.submit(rec)
        except Exception as exc:  # noqa: BLE001
            log.error("keeptrusts: audit submit failed: %s", exc)
            return None


# ---------------------------------------------------------------------- helpers

def _warm_up(rt: Runtime) -> None:
    """Run one harmless exchange through the new chain before it serves: lazily built engines (rule
    databases, recognizers) are ready before the first real request, and a chain that cannot run
    at all fails here, keeping the previous config."""
    from .exchange import USER, Segment

    probe = Exchange("chat", "http", "/v1/chat/completions", "warm-up",
                     [Segment(("messages", 0, "content"), USER, "Warm-up: list the files in src/ and run the tests.")])
    rt.chain.request(probe)


def _version() -> str:
    from . import __version__
    return __version__


# An error page the addon decided for the flow whose `error` hook just ran (mitmproxy builds the page
# right after that hook, in the same task, from a message that no longer names the cause).
# A stale entry (the client had already gone, so no page was built) expires after a second.
_PENDING_ERROR_PAGES: list[tuple[float, errors.GatewayError]] = []


def _install_json_error_pages() -> None:
    """mitmproxy answers upstream failures with an HTML page; OpenAI clients expect the JSON envelope.

    The HTTP/1 layer builds those pages in one module-level function, so we replace it once.
    """
    from mitmproxy.proxy.layers.http import _http1

    if getattr(_http1.make_error_response, "_keeptrusts", False):
        return
    from mitmproxy.net.http import http1

    def make_error_response(status_code: int, message: str = "") -> bytes:
        pending = _PENDING_ERROR_PAGES.pop() if _PENDING_ERROR_PAGES else None
        if pending and message == "server closed connection" and time.monotonic() - pending[0] < 1.0:
            err = pending[1]
            status_code = err.status
        elif status_code in (502, 504) or "connect" in message.lower():
            err = errors.upstream(status_code if status_code in (502, 504) else 502,
                                  f"Keeptrusts could not reach the upstream: {message}")
        else:
            err = errors.GatewayError(status_code, "gateway_error", "proxy_error", f"Keeptrusts proxy error: {message}")
        headers = err.headers("error")
        headers["connection"] = "close"
        resp = http.Response.make(status_code, err.body(), headers)
        return http1.assemble_response(resp)

    make_error_response._keeptrusts = True  # type: ignore[attr-defined]
    _http1.make_error_response = make_error_response
