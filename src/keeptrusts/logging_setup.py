"""Gateway logs: `--log-level debug|info|warn`, `--log-format text|json`, never a secret value.

- info: one line per exchange (`log_exchange(record)`, record = the audit record dict).
- debug: also one line per policy decision of that exchange, before its exchange line.
- warn: problems only (policy errors, upstream failures, reloads that failed).

Text lines are logfmt-style (`key=value`), easy to read and to grep; JSON lines are one object
each, for log shippers. Every line passes `scrub()`, which masks anything shaped like a credential,
in case a message or a piece of evidence ever carries one: findings name types and placeholders,
and the log must not undo that.

The gateway calls `setup_logging(level, fmt)` and `route_mitmproxy_logs(level, fmt)` once (setting
mitmproxy's `termlog_verbosity` to what the latter returns), and `log_exchange(record)` per exchange;
`log_decision(exchange_id, verdict)` logs a decision that is not part of a record (for example a
tool call judged mid-stream), and `gateway_log` is the logger for everything else.
"""
from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any, Callable, TextIO

from .redaction import PLACEHOLDER_RE

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "warning": logging.WARNING,
          "error": logging.ERROR}
FORMATS = ("text", "json")
LOGGER = "keeptrusts"

gateway_log = logging.getLogger(LOGGER)
exchange_log = logging.getLogger(LOGGER + ".exchange")

# Credential shapes masked in every log line (the detectors proper live in the policies; this is a
# last line of defence, so it leans towards masking).
_SECRET_SHAPES = re.compile("|".join([
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)",
    r"\b(?:sk|rk|pk)[-_](?:live|test|proj|svcacct|admin|ant)?[-_]?[A-Za-z0-9_\-]{16,}",
    r"\bgh[pousr]_[A-Za-z0-9]{30,}", r"\bgithub_pat_[A-Za-z0-9_]{40,}",
    r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[A-Z2-7]{16}\b",
    r"\bxox[abposr]-[A-Za-z0-9-]{10,}", r"\bglpat-[A-Za-z0-9_\-]{20,}", r"\bnpm_[A-Za-z0-9]{36}\b",
    r"\bhf_[A-Za-z0-9]{30,}", r"\bAIza[0-9A-Za-z_\-]{35}", r"\bSG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}",
    r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]+",
    r"\bkt_[a-z]{2,5}_[A-Za-z0-9]{16,}",
]))
_SHAPE_PREFIXES = ("PRIVATE KEY", "sk-", "sk_", "rk-", "rk_", "pk-", "pk_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_",
                   "github_pat_", "AKIA", "ASIA", "AGPA", "AIDA", "AROA", "xox", "glpat-", "npm_", "hf_", "AIza",
                   "SG.", "eyJ", "kt_")
_ASSIGN_WORDS = ("pass", "pwd", "secret", "key", "token")
_BEARER = re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/\-]{12,}=*")
_URL_PASSWORD = re.compile(r"(?i)([a-z][a-z0-9+.\-]*://[^\s:/@]+:)[^\s@/]+@")
_ASSIGNED = re.compile(r"(?i)((?:password|passwd|pwd|secret[_-]?key|private[_-]?key|api[_-]?key|access[_-]?key|"
                       r"auth[_-]?key|secret|token)[\"']?\s*[=:]\s*)([\"']?)([^\s\"',;]{4,})\2")


def _mask_assigned(m: re.Match) -> str:
    value = m.group(3)
    # Words such as `redact` or `none` are not credentials; digits, symbols or length make one likely.
    if value.startswith(("<SECRET", "<PII", "***", "\x00")) or not (
            len(value) >= 12 or any(not c.isalpha() for c in value)):
        return m.group(0)
    return m.group(1) + m.group(2) + "***" + m.group(2)


def scrub(text: str) -> str:
    """Mask credential-shaped substrings; placeholders such as <SECRET:github_token:7f3a9c1b> stay."""
    if not text:
        return text
    # Set placeholders aside first: `github_token:7f3a9c1b` inside one looks like an assignment.
    kept: list[str] = []

    def keep(m: re.Match) -> str:
        kept.append(m.group(0))
        return f"\x00{len(kept) - 1}\x00"

    text = PLACEHOLDER_RE.sub(keep, text) if "<" in text else text
    # Cheap substring tests first: most log lines contain none of these, and the regexes cost ~100 us.
    if any(p in text for p in _SHAPE_PREFIXES):
        text = _SECRET_SHAPES.sub("***", text)
    low = text.lower()
    if "bearer" in low or "basic" in low or "token " in low:
        text = _BEARER.sub(lambda m: m.group(1) + " ***", text)
    if "://" in text and "@" in text:
        text = _URL_PASSWORD.sub(lambda m: m.group(1) + "***@", text)
    if any(k in low for k in _ASSIGN_WORDS):
        text = _ASSIGNED.sub(_mask_assigned, text)
    return re.sub("\x00(\\d+)\x00", lambda m: kept[int(m.group(1))], text) if kept else text


def _scrub_value(v: Any) -> Any:
    if isinstance(v, str):
        return scrub(v)
    if isinstance(v, dict):
        return {k: _scrub_value(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_scrub_value(x) for x in v]
    return v


def _ts(created: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + f".{int(created % 1 * 1000):03d}Z"


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = f"{_ts(record.created)} {record.levelname.lower():<5} {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return scrub(line)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {"ts": _ts(record.created), "level": record.levelname.lower(), "logger": record.name,
               "msg": record.getMessage()}
        doc.update(getattr(record, "kt", None) or {})
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(_scrub_value(doc), default=str, ensure_ascii=False)


def _install_handler(logger: logging.Logger, fmt: str, stream: TextIO | None) -> logging.Handler:
    """Replace our handler on `logger` (calling again, as on reload, never stacks handlers)."""
    for h in list(logger.handlers):
        if getattr(h, "_keeptrusts", False):
            logger.removeHandler(h)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler._keeptrusts = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    logger.addHandler(handler)
    return handler


def setup_logging(level: str = "info", fmt: str = "text", stream: TextIO | None = None) -> logging.Logger:
    """Send `keeptrusts.*` logs to `stream` (stderr) at `level` in `fmt`; safe to call again (reload)."""
    if level.lower() not in LEVELS:
        raise ValueError(f"unknown log level {level!r}: use one of debug, info, warn")
    if fmt not in FORMATS:
        raise ValueError(f"unknown log format {fmt!r}: use text or json")
    _install_handler(gateway_log, fmt, stream)
    gateway_log.setLevel(LEVELS[level.lower()])
    # mitmproxy puts its own handler on the root logger; do not print every line twice.
    gateway_log.propagate = False
    return gateway_log


class _BelowError(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno < logging.ERROR


def route_mitmproxy_logs(level: str = "info", fmt: str = "text", stream: TextIO | None = None) -> str:
    """Print mitmproxy's own log records through our formatter; returns the `termlog_verbosity` to set.

    At info and warn, mitmproxy's connection chatter (client connect, server connect ...) is hidden,
    so info really is one line per exchange; at debug it shows. Errors stay with mitmproxy's terminal
    log (and still propagate to its error check, which stops the gateway on a startup error), so
    nothing prints twice.
    """
    handler = _install_handler(logging.getLogger("mitmproxy"), fmt, stream)
    handler.setLevel(logging.DEBUG if level == "debug" else logging.WARNING)
    handler.addFilter(_BelowError())
    return "error"


def log_options(f: Callable) -> Callable:
    """click decorator adding `--log-level` and `--log-format` (for `kt gateway run`)."""
    import click

    f = click.option("--log-format", type=click.Choice(FORMATS), default="text", show_default=True,
                     help="text: one readable line per event; json: one JSON object per line")(f)
    return click.option("--log-level", type=click.Choice(["debug", "info", "warn"]), default="info", show_default=True,
                        help="debug: every policy decision; info: one line per exchange; warn: problems only")(f)


# ---------------------------------------------------------------------------------------------
# Lines

def _ms(v: Any) -> str:
    return f"{v:.0f}ms" if isinstance(v, (int, float)) and v >= 10 else f"{v:.1f}ms" if isinstance(v, (int, float)) else "-"


def _findings_summary(findings: list[dict]) -> str:
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.get("type", "?")] = counts.get(f.get("type", "?"), 0) + 1
    return ",".join(f"{t}x{n}" if n > 1 else t for t, n in counts.items())


def _as_dict(verdict: Any) -> dict:
    return verdict.to_dict() if hasattr(verdict, "to_dict") else dict(verdict)


def decision_line(exchange_id: str, v: dict) -> str:
    parts = [f"decision id={exchange_id}", f"policy={v.get('policy')}", f"phase={v.get('phase', 'input')}",
             f"verdict={v.get('verdict', 'allow')}", f"reason={v.get('reason_code', '-')}"]
    if v.get("duration_ms") is not None:
        parts.append(f"took={_ms(v['duration_ms'])}")
    for f in v.get("findings") or []:
        where = f"@{f['where']}" if f.get("where") else ""
        extra = f"->{f['placeholder']}" if f.get("placeholder") else f" rule={f['rule']}" if f.get("rule") else ""
        parts.append(f"finding={f.get('type')}({f.get('action', 'flag')}){where}{extra}")
    if v.get("error"):
        parts.append(f"error={json.dumps(v['error'])}")
    if v.get("verdict") == "block" and v.get("message"):
        parts.append(f"message={json.dumps(v['message'])}")
    return " ".join(parts)


def exchange_line(r: dict) -> str:
    d = r.get("durations") or {}
    u = r.get("usage") or {}
    decided = [v for v in r.get("policies") or [] if v.get("verdict", "allow") != "allow"]
    parts = [f"exchange id={r.get('id', '-')}", f"dev={r.get('developer') or r.get('client') or '-'}",
             f"{r.get('method', '-')} {r.get('path', '-')}", f"model={r.get('model') or '-'}",
             f"transport={r.get('transport', '-')}", f"status={r.get('status', '-')}",
             f"verdict={r.get('verdict', 'allow')}", f"reason={r.get('reason_code') or '-'}"]
    if decided:
        parts.append("policies=" + ",".join(
            f"{v.get('policy')}:{v.get('verdict')}" + (f"({_findings_summary(v['findings'])})" if v.get("findings") else "")
            for v in decided))
    if isinstance(u, dict) and any(u.get(k) for k in ("input_tokens", "output_tokens")):
        parts.append(f"tokens={u.get('input_tokens', 0)}/{u.get('cached_input_tokens', 0)}/{u.get('output_tokens', 0)}")
    parts.append(f"total={_ms(d.get('total_ms'))} policy={_ms(d.get('policy_ms'))}")
    if r.get("error"):
        parts.append(f"error={json.dumps(str(r['error']))}")
    return " ".join(parts)


_RECORD_FIELDS = ("id", "timestamp", "mode", "transport", "client", "developer", "method", "path", "api", "model",
                  "provider", "status", "verdict", "reason_code", "usage", "durations", "error", "bytes_in", "bytes_out")


def log_decision(exchange_id: str, verdict: Any) -> None:
    """One debug line for one policy decision (a Verdict or its to_dict())."""
    if not exchange_log.isEnabledFor(logging.DEBUG):
        return
    v = _as_dict(verdict)
    exchange_log.debug(decision_line(exchange_id, v),
                       extra={"kt": {"event": "decision", "exchange_id": exchange_id, **{
                           k: v.get(k) for k in ("policy", "phase", "verdict", "reason_code", "duration_ms", "error")
                           if v.get(k) is not None},
                           "findings": [{k: f.get(k) for k in ("type", "action", "where", "placeholder", "rule")
                                         if f.get(k) is not None} for f in v.get("findings") or []]}})


def log_exchange(record: dict) -> None:
    """Log one finished exchange: its decisions at debug, one summary line at info (warn if it errored)."""
    rid = str(record.get("id", "-"))
    for v in record.get("policies") or []:
        log_decision(rid, v)
    level = logging.WARNING if record.get("error") else logging.INFO
    if not exchange_log.isEnabledFor(level):
        return
    fields = {k: record.get(k) for k in _RECORD_FIELDS if record.get(k) is not None}
    exchange_log.log(level, exchange_line(record), extra={"kt": {"event": "exchange", **fields}})
