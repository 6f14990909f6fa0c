"""The Keeptrusts mitmproxy addon: the root that owns the gateway's state.

hooks -> wire (parse) -> chain (judge, redact) -> wire (write back) -> audit (record).

The flow hooks live in small child addons (keeptrusts.proxy: routing, local endpoints, HTTP guard,
WebSocket guard, error pages); all of them call the one transport-free turn pipeline (keeptrusts.turn).
This class holds what they share: the loaded runtime, the audit writer, the redactor, metrics, the
turns in flight, and the helpers that answer, refuse and record a turn.

Fail closed: mitmproxy swallows exceptions raised in hooks and forwards the flow unchanged, so
every hook that guards a scanned flow catches its own errors and blocks the flow instead.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
from pathlib import Path

from mitmproxy import ctx, exceptions, http

from . import admin, errors, paths
from .audit import AuditWriter
from .blocked_items import BlockedItems, db_path_for
from .config import ConfigError, load_config
from .config_guard import weakenings
from .exchange import Exchange
from .identity import Budgets, budget_exceeded, budget_refusal, settle_budget
from .logging_setup import log_exchange
from .policies import PolicyContext
from .proxy.error_pages import ErrorPages
from .proxy.http_guard import HttpGuard
from .proxy.listener import ListenerGuard
from .proxy.local import LocalEndpoints, uptime
from .proxy.routing import Routing, is_self_addressed
from .proxy.ws_guard import WebSocketGuard
from .redaction import Redactor, load_key
from .runtime import Runtime
from .turn import OutputJudge, Turn, finish_record, new_event_id, now_iso
from .verdicts import BLOCK, Verdict
from .wire.chat_stream import ChatStream
from .wire.responses_stream import ResponsesStream

log = logging.getLogger("keeptrusts")


def key_fingerprint(key: str | None) -> str | None:
    return "kf_" + hashlib.sha256(key.encode()).hexdigest()[:12] if key else None


def _bearer(flow: http.HTTPFlow) -> str | None:
    auth = flow.request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return flow.request.headers.get("api-key") or None


class Keeptrusts:
    def __init__(self, defaults: dict | None = None) -> None:
        self.defaults = dict(defaults or {})  # initial values of the keeptrusts_* options (kt gateway run)
        self.runtime: Runtime | None = None
        self.config_error: str | None = None
        self.redactor: Redactor | None = None
        self.audit = None
        self.blocked_items: BlockedItems | None = None   # texts blocked before (stubbed in later turns)
        self.metrics = None
        self.started = time.time()
        self.requests_processed = 0
        self.turns: dict[str, Turn] = {}        # flow id -> the HTTP turn in flight
        self.proxy_auth: dict[str, str] = {}    # client connection id -> "user:password" from CONNECT
        self._config_mtime: float | None = None
        self._watch_task: asyncio.Task | None = None
        self.error_pages = ErrorPages()
        self.http_guard = HttpGuard(self)
        self.ws_guard = WebSocketGuard(self)
        # Child addons, in hook order (mitmproxy calls this object's hooks first, then these).
        self.admin_token: str | None = None
        self.otel = None                        # OtelExporter when audit.otel is configured
        self.budgets: Budgets | None = None     # the config's budgets, spend read from this audit db
        self.addons = [Routing(self), ListenerGuard(self), LocalEndpoints(self), self.http_guard, self.ws_guard,
                       self.error_pages]

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

    def configure(self, updated: set[str]) -> None:
        if self.redactor is None:
            state = paths.state_dir()
            try:
                self.redactor = Redactor(load_key(state), scoped=True)
            except OSError as exc:
                raise exceptions.OptionsError(f"cannot create the redaction key in {state}: {exc}") from None
        if self.admin_token is None:
            try:
                self.admin_token = admin.admin_token()
            except OSError as exc:
                raise exceptions.OptionsError(f"cannot create the admin token {admin.token_path()}: {exc}") from None
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
        if not ctx.options.keep_host_header:
            # The listener checks the Host the client sent (DNS rebinding); point_at_upstream sets the
            # upstream's. Last: setting an option re-enters configure, which must find the rest done.
            ctx.options.keep_host_header = True

    def config_path(self) -> Path:
        opt = ctx.options.keeptrusts_config
        if opt:
            return Path(opt)
        if Path("policy-config.yaml").exists():
            return Path("policy-config.yaml")
        return paths.PROJECT_ROOT / "policies" / "codex-cli.yaml"

    def _load_runtime(self, accept_weaker: bool = False) -> None:
        self._install(*self._build(accept_weaker, self._build_options()))

    @staticmethod
    def _build_options() -> tuple[str, str, str]:
        o = ctx.options
        return o.keeptrusts_upstream, o.keeptrusts_fail_mode, o.keeptrusts_intercept_hosts

    def _build(self, accept_weaker: bool, options: tuple[str, str, str]):
        """Load and build a new runtime without installing it (safe to run in a worker thread)."""
        path = self.config_path()
        mtime = path.stat().st_mtime if path.exists() else None
        config = load_config(path)
        weaker = weakenings(self.runtime.config, config) if self.runtime is not None else []
        if weaker and not accept_weaker:
            self._config_mtime = mtime  # judged once per edit; the file watcher does not retry it
            self._record_config_refusal(path, config, weaker)
            raise ValueError(f"the change to {path} weakens the policy chain and was not applied "
                             f"({'; '.join(weaker)}). If an operator made it, apply it with `kt policy apply`.")
        audit_db = str(self.audit.db_path) if self.audit is not None else \
            (ctx.options.keeptrusts_audit_db or str(paths.audit_db()))
        # The gateway's own files, so the agent-firewall's self-protection knows what to guard.
        context = PolicyContext(redactor=self.redactor, state_dir=str(paths.state_dir()),
                                extra={"config_path": str(path.resolve()), "audit_db": audit_db,
                                       "certs_dir": str(paths.certs_dir())})
        rt = Runtime.build(config, context, *options)
        _warm_up(rt)
        return rt, path, mtime

    def _install(self, rt: Runtime, path: Path, mtime: float | None) -> None:
        config = rt.config
        self.runtime = rt
        self._config_mtime = mtime
        self.config_error = None
        if self.budgets is not None:
            self.budgets.reconfigure(config)
        if self.metrics is not None:
            self.metrics.set_config(config.pack.get("name"), config.pack.get("version"))
        log.info("keeptrusts Loaded declarative config %s from %s (chain: %s; upstream %s; fail-mode %s)",
                 config.name_version, path, " -> ".join(config.chain), rt.upstream.url, rt.fail_mode)
        for w in config.warnings:
            log.info("keeptrusts config warning[%s] %s at %s", w.code, w.message, w.path)

    def _record_config_refusal(self, path: Path, config, weaker: list[str]) -> None:
        """An audit event for a held-back weakening: the trail shows who tried to switch what off."""
        if self.audit is None:
            return
        rt = self.runtime
        rec = {"id": new_event_id(), "timestamp": now_iso(), "event_type": "config_change_refused",
               "verdict": "block", "reason_code": "config_weakening_refused", "path": str(path),
               "config_name": rt.config.pack.get("name"), "config_version": rt.config.pack.get("version"),
               "policies": [{"policy": "gateway", "verdict": "block", "reason_code": "config_weakening_refused",
                             "message": "; ".join(weaker)}],
               "error": f"refused {config.name_version}: " + "; ".join(weaker)}
        try:
            self.audit.submit(rec)
        except Exception as exc:  # noqa: BLE001 - the refusal itself stands either way
            log.error("keeptrusts: could not audit the refused config change: %s", exc)

    def reload(self, accept_weaker: bool = False) -> tuple[bool, str]:
        """Reload the config file; an invalid change, or a weakening one without `accept_weaker`, keeps
        the running config."""
        try:
            self._load_runtime(accept_weaker)
        except (ConfigError, ValueError, OSError) as exc:
            return self._reload_failed(exc)
        return self._reloaded()

    async def reload_async(self, accept_weaker: bool = False) -> tuple[bool, str]:
        """The same, building the new chain in a worker thread: traffic keeps flowing during a reload
        (building the recognizers and rule databases takes seconds on a busy machine)."""
        try:
            built = await asyncio.to_thread(self._build, accept_weaker, self._build_options())
        except (ConfigError, ValueError, OSError) as exc:
            return self._reload_failed(exc)
        self._install(*built)
        return self._reloaded()

    def _reloaded(self) -> tuple[bool, str]:
        if self.metrics is not None:
            self.metrics.config_reload(True)
        return True, f"loaded {self.runtime.config.name_version}"

    def _reload_failed(self, exc: Exception) -> tuple[bool, str]:
        msg = exc.render() if isinstance(exc, ConfigError) else str(exc)
        self.config_error = msg
        if self.metrics is not None:
            self.metrics.config_reload(False)
        log.error("keeptrusts: config reload failed, keeping the running config:\n%s", msg)
        return False, msg

    def _open_audit(self) -> None:
        db, note = paths.audit_db_for(ctx.options.keeptrusts_audit_db, paths.is_replay(ctx.options))
        if note:
            log.warning(note)  # a replay never writes its fake exchanges into the user's audit trail
        db = str(db)
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
        # Budgets read spend from this trail and forget a developer's cached spend when it commits.
        self.budgets = Budgets(self.runtime.config if self.runtime else None, db).attach(self.audit)
        self._open_otel()
        if self.blocked_items is not None:
            self.blocked_items.close()
        # Beside the audit db: its event ids name rows of that trail (a replay's throwaway db gets its own).
        self.blocked_items = BlockedItems(db_path_for(db))

    def _open_otel(self) -> None:
        """OpenTelemetry export of every committed audit row (audit.otel or OTEL_EXPORTER_OTLP_ENDPOINT; off by default)."""
        from .otel import OtelExporter
        if self.otel is not None:
            self.otel.close(timeout=2)
            self.otel = None
        try:
            self.otel = OtelExporter.from_config(self.runtime.config if self.runtime else None)
        except ValueError as exc:
            raise exceptions.OptionsError(f"audit.otel: {exc}") from None
        if self.otel is not None:
            self.otel.attach(self.audit)
            log.info("keeptrusts exporting audit events to %s (OTLP %s)", self.otel.cfg.endpoint, self.otel.cfg.signal)

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
                await self.reload_async()

    def done(self) -> None:
        if self._watch_task:
            self._watch_task.cancel()
        if self.audit is not None:
            self.audit.close(timeout=60)  # every queued exchange is written before exit
        if self.otel is not None:
            self.otel.close(timeout=5)
        if self.blocked_items is not None:
            self.blocked_items.close()

    # ------------------------------------------------------------------ state the guards report
    def audit_healthy(self) -> bool:
        return self.audit is None or bool(getattr(self.audit, "healthy", True))

    def audit_error(self) -> errors.GatewayError:
        return errors.unavailable(f"Keeptrusts cannot write its audit log ({getattr(self.audit, 'last_error', None)}); "
                                  "requests are blocked until it can (fail-mode block). Free disk space or fix the "
                                  "database.", "audit_unavailable")

    def health(self) -> dict:
        rt = self.runtime
        if rt is None:
            status, reason = "unhealthy", f"no valid policy config: {self.config_error}"
        elif not self.audit_healthy():
            status, reason = "degraded", f"audit log unavailable: {getattr(self.audit, 'last_error', None)}"
        elif self.config_error:
            status, reason = "degraded", ("the policy file was changed but the change was rejected; still enforcing "
                                          f"{rt.config.name_version}: {self.config_error.splitlines()[0][:300]}")
        else:
            status, reason = "healthy", None
        return {
            "status": status, "reason": reason,
            "uptime_seconds": uptime(self.started),
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

    def status(self) -> dict:
        """What `kt doctor` checks against: the running gateway's own settings, not the caller's shell."""
        rt = self.runtime
        key_mode = "passthrough"
        if rt is not None and rt.config.provider_key():
            key_mode = "custody"
        return {
            "version": _version(),
            "upstream": rt.upstream.url if rt else None,
            "upstream_overridden": rt.upstream_overridden if rt else None,
            "key_mode": key_mode,
            "config_path": str(self.config_path().resolve()) if rt else None,
            "config": rt.config.name_version if rt else None,
            "config_error": self.config_error,
            "fail_mode": rt.fail_mode if rt else None,
            "intercept_hosts": rt.intercept_hosts if rt else [],
            "unknown_endpoints": rt.unknown_endpoints if rt else None,
            "audit_db": str(self.audit.db_path) if self.audit is not None else None,
            "certs_dir": str(paths.certs_dir()),
            "listen": [f"{m}" for m in (ctx.options.mode or [])],
            "health": self.health()["status"],
        }

    # ------------------------------------------------------------------ helpers the guards share
    @staticmethod
    def mode_of(flow: http.HTTPFlow) -> str:
        return "reverse" if is_self_addressed(flow) else "explicit"

    @staticmethod
    def lower_headers(req: http.Request) -> dict[str, str]:
        return {k.lower(): v for k, v in req.headers.items()}

    def new_turn(self, flow: http.HTTPFlow, rt: Runtime | None, api: str, transport: str, started: float) -> Turn:
        origin = flow.metadata.get("keeptrusts_origin") or {}
        peer = flow.client_conn.peername
        target = rt.config.target() if rt else {}
        record = {
            "id": new_event_id(), "timestamp": now_iso(), "event_type": "decision",
            "mode": origin.get("mode") or self.mode_of(flow), "transport": transport,
            "client": f"{peer[0]}:{peer[1]}" if peer else None,
            "method": flow.request.method, "host": origin.get("host") or flow.request.pretty_host,
            "path": flow.request.path.split("?", 1)[0],
            "api": api, "provider": target.get("provider", "openai"), "target_id": target.get("id"),
            "config_name": rt.config.pack.get("name") if rt else None,
            "config_version": rt.config.pack.get("version") if rt else None,
            "bytes_in": len(flow.request.raw_content or b""),
        }
        turn = Turn(Exchange(api=api, transport=transport, path=record["path"]), record, started)
        self.turns[flow.id] = turn
        self.requests_processed += 1
        self.metrics.request_started()
        return turn

    def admit(self, flow: http.HTTPFlow, rt: Runtime, turn: Turn) -> errors.GatewayError | None:
        """Who is calling, whether the audit can record it and whether the budget allows it."""
        err = self._identify(flow, rt, turn.record)
        turn.exchange.developer = turn.record.get("developer")
        if err is None and not self.audit_healthy() and rt.fail_mode == "block":
            err = self.audit_error()
        if err is None:
            err = self._check_budget(turn.record)
        return err

    def _identify(self, flow: http.HTTPFlow, rt: Runtime, record: dict) -> errors.GatewayError | None:
        """Who is calling; swap a gateway token for the provider key. Returns an error to answer with."""
        key = _bearer(flow)
        record["key_fingerprint"] = key_fingerprint(key)
        headers = self.lower_headers(flow.request)
        ident = rt.identity.resolve(headers, self.proxy_auth.get(flow.client_conn.id))
        if ident.error:
            return errors.unauthorized(ident.error)
        record["developer"], record["developer_source"] = ident.developer, ident.source
        record["key_fingerprint"] = ident.key_fingerprint or record["key_fingerprint"]
        provider_key = rt.config.provider_key()
        is_token = ident.is_gateway_token
        if provider_key and not key:
            # Key custody: the provider key is spent only for a valid gateway token, never for whoever
            # can reach the port (another local user, a web page).
            return errors.unauthorized(
                "Keeptrusts holds the provider key, so every request must carry a gateway token as its API key "
                "(create one with `kt tokens create NAME`; Codex: CODEX_API_KEY=<token>)")
        if provider_key and is_token:
            t = rt.config.target()
            header = t.get("api_key_header") or "authorization"
            prefix = t.get("api_key_prefix", "Bearer")
            flow.request.headers[header] = f"{prefix} {provider_key}".strip() if prefix else provider_key
        elif is_token:
            return errors.unavailable("The gateway token is valid but no provider key is configured: set the "
                                      "environment variable named in providers.targets[0].secret_key_ref.env",
                                      "provider_key_missing")
        return None

    def _check_budget(self, record: dict) -> errors.GatewayError | None:
        over = budget_exceeded(record.get("developer"), self.budgets)
        return budget_refusal(over) if over is not None else None

    @staticmethod
    def with_event_hint(message: str, turn: Turn | None) -> str:
        """Every block and error names its event, so the user can ask why in one command."""
        if turn is None or "kt events show" in message:
            return message
        return f"{message} (details: kt events show {turn.event_id})"

    def answer(self, flow: http.HTTPFlow, err: errors.GatewayError, verdict: str | None = None,
               turn: Turn | None = None) -> None:
        if turn is not None:
            err.event_id = turn.event_id
            err.message = self.with_event_hint(err.message, turn)
        flow.response = http.Response.make(err.status, err.body(), err.headers(verdict))

    def refuse(self, flow: http.HTTPFlow, turn: Turn, err: errors.GatewayError, extra: Verdict | None = None) -> None:
        """Answer a turn with an error instead of forwarding it; the refusal is a verdict in its audit row."""
        if not turn.result.blocked:
            turn.result.verdicts.append(extra or Verdict("gateway", BLOCK, err.code, err.message))
        turn.record["status"] = err.status
        if err.status != 409:
            turn.record["error"] = err.message
        self.answer(flow, err, BLOCK, turn)

    def warm_audit(self, body: str) -> None:
        warm = getattr(self.audit, "warm", None)
        if warm is not None:
            warm(body)  # the writer splits the history while the model generates

    def output_judge(self, turn: Turn, rt: Runtime) -> OutputJudge:
        return OutputJudge(rt.chain, turn, self.redactor, rt.restore)

    def parser(self, turn: Turn, rt: Runtime):
        judge = self.output_judge(turn, rt)
        return ChatStream(judge) if turn.exchange.api == "chat" else ResponsesStream(judge)

    # ------------------------------------------------------------------ audit record
    def submit(self, turn: Turn, flow: http.HTTPFlow | None = None):
        """Record a finished turn (once); returns the audit future to wait on, or None."""
        if turn.recorded:
            return None
        turn.recorded = True
        status = bytes_out = None
        if flow is not None and flow.response is not None:
            status = flow.response.status_code
            if flow.response.status_code != 101:
                bytes_out = len(flow.response.raw_content or b"")
        rec = finish_record(turn, status, bytes_out)
        if self.metrics is not None:
            try:
                self.metrics.request_finished()
                self.metrics.observe_exchange(rec)
            except Exception:  # metrics never break traffic
                log.exception("keeptrusts: metrics failed")
        log_exchange(rec)
        fut = None
        if self.audit is not None and (rec["verdict"] != "allow" or (turn.exchange.meta.get("audit") or {}).get(
                "log_all_access", True)):  # audit-logger log_all_access: false records only exchanges acted on
            try:
                fut = self.audit.submit(rec)
            except Exception as exc:  # noqa: BLE001
                log.error("keeptrusts: audit submit failed: %s", exc)
        if fut is None:
            settle_budget(turn.event_id, self.budgets)  # no row will settle its budget reservation
        return fut


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
