"""OpenTelemetry export of exchanges: OTLP over HTTP with JSON encoding, as logs or spans.

Off by default. On when the config has `audit.otel.endpoint`, or the environment has
OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_LOGS_ENDPOINT / _TRACES_ENDPOINT); OTEL_SDK_DISABLED=true
or `audit.otel.enabled: false` turn it off again.

    audit:
      otel:
        endpoint: http://127.0.0.1:4318      # /v1/logs or /v1/traces is appended to a bare host
        signal: logs                         # or traces (one span per exchange)
        headers: {authorization: "Bearer ${OTEL_TOKEN}"}   # ${VAR} is read from the environment

Attributes follow the OpenTelemetry GenAI semantic conventions where they exist (gen_ai.operation.name,
gen_ai.system / gen_ai.provider.name, gen_ai.request.model, gen_ai.usage.input_tokens / output_tokens,
gen_ai.conversation.id, user.id, server.address, http.*), and `keeptrusts.*` for the rest (verdict, the
deciding policy, the policies that acted, event id, cost). Prompts, outputs and redacted values are
never exported: the audit database keeps them, the event id points there (`kt events show ID`).

The exporter never blocks or breaks traffic: `submit` only puts the record on a bounded queue (a full
queue drops it and counts the drop); a background thread batches, POSTs, and retries briefly.
No dependency: OTLP/HTTP JSON is a POST of a JSON document.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import queue
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

from . import __version__
from .schema import Choice, MapOf, Number
from .verdicts import SEVERITY as RANK

log = logging.getLogger(__name__)

# Config block (config.py: "audit": {"otel": OTEL_SCHEMA}).
OTEL_SCHEMA = {
    "enabled": bool,
    "endpoint": str,
    "signal": Choice("logs", "traces"),
    "headers": MapOf(str),
    "service_name": str,
    "timeout_seconds": Number,
    "queue_size": int,
}

SIGNAL_PATHS = {"logs": "/v1/logs", "traces": "/v1/traces"}
RETRY_STATUS = {429, 502, 503, 504}          # the OTLP spec's retryable answers
# Severity of a log record by verdict (OTel SeverityNumber): a block is what an operator filters for.
SEVERITY = {"allow": (9, "INFO"), "redact": (10, "INFO2"), "flag": (13, "WARN"), "escalate": (14, "WARN2"),
            "block": (17, "ERROR")}
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class OtelError(Exception):
    """A batch the collector did not take (after retries)."""


@dataclass
class OtelConfig:
    endpoint: str                    # the full URL POSTed to (…/v1/logs or …/v1/traces)
    signal: str = "logs"
    headers: dict[str, str] = field(default_factory=dict)
    service_name: str = "keeptrusts-gateway"
    timeout_s: float = 5.0
    queue_size: int = 10_000
    batch_size: int = 200
    interval_s: float = 1.0          # how long a partial batch waits for company
    retries: int = 2                 # after the first attempt; "briefly": 0.5 s then 1 s
    backoff_s: float = 0.5

    @classmethod
    def from_config(cls, config=None, env=None) -> "OtelConfig | None":
        """From `audit.otel` of a Config (or a dict), then the standard OTEL_* variables; None when off."""
        env = os.environ if env is None else env
        raw = config if isinstance(config, dict) else (getattr(config, "raw", None) or {})
        block = ((raw.get("audit") or {}).get("otel") or {}) if isinstance(raw, dict) else {}
        if block.get("enabled") is False or env.get("OTEL_SDK_DISABLED", "").lower() == "true":
            return None
        signal = block.get("signal") or "logs"
        endpoint = block.get("endpoint")
        if endpoint:
            endpoint = signal_url(expand_env(endpoint, env), signal)
        elif env.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT"):
            endpoint = env[f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT"]      # used as is (OTel spec)
        elif env.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
            endpoint = env["OTEL_EXPORTER_OTLP_ENDPOINT"].rstrip("/") + SIGNAL_PATHS[signal]
        else:
            return None
        headers = parse_headers(env.get("OTEL_EXPORTER_OTLP_HEADERS", ""))
        headers.update({k: expand_env(str(v), env) for k, v in (block.get("headers") or {}).items()})
        return cls(endpoint=endpoint, signal=signal, headers=headers,
                   service_name=block.get("service_name") or env.get("OTEL_SERVICE_NAME") or "keeptrusts-gateway",
                   timeout_s=float(block.get("timeout_seconds") or 5.0),
                   queue_size=int(block.get("queue_size") or 10_000))


def signal_url(endpoint: str, signal: str) -> str:
    """A bare collector address gets the signal's path (http://host:4318 -> http://host:4318/v1/logs)."""
    parts = urllib.parse.urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"OTLP endpoint {endpoint!r} is not an http(s) URL: use e.g. http://127.0.0.1:4318")
    if parts.path in ("", "/"):
        return endpoint.rstrip("/") + SIGNAL_PATHS[signal]
    return endpoint


def parse_headers(text: str) -> dict[str, str]:
    """OTEL_EXPORTER_OTLP_HEADERS: `key1=value1,key2=value2`, values URL-encoded."""
    out = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if sep and key.strip():
            out[key.strip()] = urllib.parse.unquote(value.strip())
    return out


def expand_env(text: str, env) -> str:
    return _ENV_REF.sub(lambda m: env.get(m.group(1), ""), text)


# ---------------------------------------------------------------------------------------------
# One exchange -> OTLP JSON

def _attr(key: str, value) -> dict | None:
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, bool):
        v = {"boolValue": value}
    elif isinstance(value, int):
        v = {"intValue": str(value)}              # int64 is a string in OTLP JSON
    elif isinstance(value, float):
        v = {"doubleValue": value}
    elif isinstance(value, (list, tuple)):
        v = {"arrayValue": {"values": [{"stringValue": str(x)} for x in value]}}
    else:
        v = {"stringValue": str(value)}
    return {"key": key, "value": v}


def _json_field(value):
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _usage(exchange: dict) -> dict:
    """Token counts from a stored row (input_tokens...) or from a record (usage dict or dataclass)."""
    if exchange.get("input_tokens") is not None or exchange.get("output_tokens") is not None:
        return {k: exchange.get(k) for k in ("input_tokens", "cached_input_tokens", "output_tokens",
                                             "reasoning_tokens")}
    usage = exchange.get("usage")
    if dataclasses.is_dataclass(usage) and not isinstance(usage, type):
        usage = dataclasses.asdict(usage)
    return usage if isinstance(usage, dict) else {}


def _nanos(timestamp: str | None) -> int:
    try:
        t = dt.datetime.fromisoformat(str(timestamp).replace("Z", "+00:00"))
    except ValueError:
        t = dt.datetime.now(dt.timezone.utc)
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return int(t.timestamp() * 1_000_000) * 1000


def attributes(exchange: dict) -> list[dict]:
    """The attributes of one exchange: a stored audit row or the record the addon submits."""
    policies = [p for p in (_json_field(exchange.get("policies")) or []) if isinstance(p, dict)]
    acted = list(dict.fromkeys(str(p.get("policy")) for p in policies if p.get("verdict", "allow") != "allow"))
    deciding = max((p for p in policies if p.get("verdict", "allow") != "allow"),
                   key=lambda p: RANK.get(p.get("verdict"), 0), default=None)
    redactions = sum(1 for p in policies for f in p.get("findings") or []
                     if isinstance(f, dict) and f.get("action") == "redact")
    usage = _usage(exchange)
    durations = _json_field(exchange.get("durations")) or {}
    latency = exchange.get("total_ms") if exchange.get("total_ms") is not None else (
        durations.get("total_ms") if isinstance(durations, dict) else None)
    status = exchange.get("status")
    pairs = [
        ("gen_ai.operation.name", "chat"),
        ("gen_ai.system", exchange.get("provider") or "openai"),
        ("gen_ai.provider.name", exchange.get("provider") or "openai"),
        ("gen_ai.request.model", exchange.get("model")),
        ("gen_ai.usage.input_tokens", _int(usage.get("input_tokens"))),
        ("gen_ai.usage.output_tokens", _int(usage.get("output_tokens"))),
        ("gen_ai.conversation.id", exchange.get("session_id")),
        ("user.id", exchange.get("developer")),
        ("server.address", exchange.get("host")),
        ("http.request.method", exchange.get("method")),
        ("url.path", exchange.get("path")),
        ("http.response.status_code", _int(status)),
        ("error.type", str(status) if isinstance(status, int) and status >= 400 else None),
        ("keeptrusts.event_id", exchange.get("id")),
        ("keeptrusts.verdict", exchange.get("verdict")),
        ("keeptrusts.reason_code", exchange.get("reason_code")),
        ("keeptrusts.policy", deciding.get("policy") if deciding else None),
        ("keeptrusts.policies", acted),
        ("keeptrusts.redactions", redactions if policies else None),
        ("keeptrusts.developer", exchange.get("developer")),
        ("keeptrusts.developer_source", exchange.get("developer_source")),
        ("keeptrusts.key_fingerprint", exchange.get("key_fingerprint")),
        ("keeptrusts.api", exchange.get("api")),
        ("keeptrusts.transport", exchange.get("transport")),
        ("keeptrusts.mode", exchange.get("mode")),
        ("keeptrusts.usage.cached_input_tokens", _int(usage.get("cached_input_tokens"))),
        ("keeptrusts.usage.reasoning_tokens", _int(usage.get("reasoning_tokens"))),
        ("keeptrusts.cost_usd", _float(exchange.get("cost_usd"))),
        ("keeptrusts.latency_ms", _float(latency)),
        ("keeptrusts.config", f"{exchange.get('config_name')}@{exchange.get('config_version')}"
         if exchange.get("config_name") else None),
    ]
    return [a for a in (_attr(k, v) for k, v in pairs) if a is not None]


def _int(v):
    try:
        return int(v) if v is not None else None
    except (TypeError, ValueError):
        return None


def _float(v):
    try:
        return float(v) if v is not None else None
    except (TypeError, ValueError):
        return None


def _summary(exchange: dict, attrs: list[dict]) -> str:
    policy = next((a["value"]["stringValue"] for a in attrs if a["key"] == "keeptrusts.policy"), None)
    return (f"{exchange.get('verdict') or '-'} {exchange.get('reason_code') or ''}".rstrip()
            + (f" by {policy}" if policy else "")
            + f": {exchange.get('developer') or '-'} {exchange.get('model') or '-'} "
              f"{exchange.get('method') or ''} {exchange.get('path') or ''}".rstrip()
            + f" (kt events show {exchange.get('id')})")


def log_record(exchange: dict) -> dict:
    number, text = SEVERITY.get(exchange.get("verdict") or "", (9, "INFO"))
    t = str(_nanos(exchange.get("timestamp")))
    attrs = attributes(exchange)
    return {"timeUnixNano": t, "observedTimeUnixNano": t, "severityNumber": number, "severityText": text,
            "body": {"stringValue": _summary(exchange, attrs)}, "attributes": attrs, **_ids(exchange)}


def span(exchange: dict) -> dict:
    start = _nanos(exchange.get("timestamp"))
    attrs = attributes(exchange)
    latency = next((a["value"]["doubleValue"] for a in attrs if a["key"] == "keeptrusts.latency_ms"), 0.0)
    status = exchange.get("status")
    failed = (isinstance(status, int) and status >= 400) or bool(exchange.get("error"))
    return {**_ids(exchange), "name": f"chat {exchange.get('model') or 'unknown'}", "kind": 3,   # CLIENT
            "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + int(latency * 1_000_000)),
            "attributes": attrs,
            "status": {"code": 2, "message": _summary(exchange, attrs)} if failed else {"code": 1}}


def _ids(exchange: dict) -> dict:
    """Trace and span ids derived from the event id: exporting the same rows again gives the same ids."""
    h = hashlib.sha256(str(exchange.get("id") or id(exchange)).encode()).hexdigest()
    return {"traceId": h[:32], "spanId": h[32:48]}


def convert(exchange: dict, signal: str) -> dict:
    return span(exchange) if signal == "traces" else log_record(exchange)


def envelope(items: list[dict], signal: str, service_name: str = "keeptrusts-gateway") -> dict:
    """Converted log records or spans in one ExportLogsServiceRequest / ExportTraceServiceRequest."""
    resource = {"attributes": [_attr("service.name", service_name), _attr("service.version", __version__),
                               _attr("telemetry.sdk.name", "keeptrusts"), _attr("telemetry.sdk.language", "python")]}
    scope = {"name": "keeptrusts.gateway", "version": __version__}
    if signal == "traces":
        return {"resourceSpans": [{"resource": resource, "scopeSpans": [{"scope": scope, "spans": items}]}]}
    return {"resourceLogs": [{"resource": resource, "scopeLogs": [{"scope": scope, "logRecords": items}]}]}


def payload(exchanges: list[dict], signal: str, service_name: str = "keeptrusts-gateway") -> dict:
    return envelope([convert(e, signal) for e in exchanges], signal, service_name)


# ---------------------------------------------------------------------------------------------
# Sending

def post(cfg: OtelConfig, items: list[dict], sleep=time.sleep) -> None:
    """POST converted records (see `convert`) as one batch, retrying a refused connection or a
    429/502/503/504 briefly; OtelError if the collector did not take them."""
    body = json.dumps(envelope(items, cfg.signal, cfg.service_name), separators=(",", ":")).encode()
    req_headers = {"Content-Type": "application/json", "User-Agent": f"keeptrusts-gateway/{__version__}",
                   **cfg.headers}
    last = ""
    for attempt in range(cfg.retries + 1):
        if attempt:
            sleep(cfg.backoff_s * 2 ** (attempt - 1))
        req = urllib.request.Request(cfg.endpoint, data=body, method="POST", headers=req_headers)
        try:
            with urllib.request.urlopen(req, timeout=cfg.timeout_s) as resp:
                resp.read()
            return
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
            if exc.code not in RETRY_STATUS:
                break
        except (urllib.error.URLError, OSError) as exc:
            last = str(getattr(exc, "reason", exc))
    raise OtelError(f"OTLP export to {cfg.endpoint} failed: {last}")


class OtelExporter:
    """`submit(record)` from any thread; a daemon thread batches and POSTs. Counters: sent, dropped
    (queue full or not convertible), failed (the collector did not take them after retries)."""

    def __init__(self, cfg: OtelConfig):
        self.cfg = cfg
        self._queue: queue.Queue = queue.Queue(maxsize=cfg.queue_size)
        self._stop = threading.Event()
        self._idle = threading.Condition()
        self._busy = 0
        self._thread: threading.Thread | None = None
        self.sent = self.dropped = self.failed = 0
        self.last_error: str | None = None
        self._last_warning = 0.0

    @classmethod
    def from_config(cls, config=None, env=None) -> "OtelExporter | None":
        """A started exporter when `audit.otel` or OTEL_EXPORTER_OTLP_ENDPOINT asks for one, else None."""
        cfg = OtelConfig.from_config(config, env)
        return cls(cfg).start() if cfg else None

    def start(self) -> "OtelExporter":
        self._thread = threading.Thread(target=self._run, name="keeptrusts-otel", daemon=True)
        self._thread.start()
        return self

    def submit(self, record: dict) -> bool:
        """Queue one exchange (an audit row or the addon's record). Never blocks, never raises."""
        try:
            self._queue.put_nowait(record)
            return True
        except queue.Full:
            self.dropped += 1
            return False
        except Exception:                          # noqa: BLE001 - export never breaks traffic
            self.dropped += 1
            return False

    def attach(self, writer) -> "OtelExporter":
        """Export every row the AuditWriter commits (rows carry the cost and the stored verdicts)."""
        writer.on_commit(lambda rows: [self.submit(r) for r in rows if r.get("event_type") != "anchor"])
        return self

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything submitted so far was sent or given up on (tests, `kt` commands)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._queue.unfinished_tasks or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(min(left, 0.05))
        return True

    def close(self, timeout: float = 5.0) -> None:
        self.flush(timeout)
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)

    def stats(self) -> dict:
        return {"endpoint": self.cfg.endpoint, "signal": self.cfg.signal, "sent": self.sent, "dropped": self.dropped,
                "failed": self.failed, "queued": self._queue.qsize(), "last_error": self.last_error}

    # -- the thread ------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                first = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            batch = [first]
            deadline = time.monotonic() + self.cfg.interval_s
            while len(batch) < self.cfg.batch_size:
                try:
                    batch.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
                except queue.Empty:
                    break
            with self._idle:
                self._busy += 1
            try:
                self._send(batch)
            finally:
                with self._idle:
                    self._busy -= 1
                    for _ in batch:
                        self._queue.task_done()
                    self._idle.notify_all()

    def _send(self, batch: list[dict]) -> None:
        good = []
        for rec in batch:
            try:
                good.append(convert(rec, self.cfg.signal))    # a record we cannot convert fails alone

            except Exception:                                          # noqa: BLE001
                self.dropped += 1
        if not good:
            return
        try:
            post(self.cfg, good, sleep=self._stop.wait)
            self.sent += len(good)
            self.last_error = None
        except Exception as exc:                                       # noqa: BLE001
            self.failed += len(good)
            self.last_error = str(exc)
            if time.monotonic() - self._last_warning > 60:               # one warning a minute, not one per batch
                self._last_warning = time.monotonic()
                log.warning("%s (%d exchanges not exported so far; the audit database has them)",
                            exc, self.failed)
