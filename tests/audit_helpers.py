"""Records shaped like the ones the addon submits, for the audit tests."""
from __future__ import annotations

import json


def responses_body(turn: int, extra_items: int = 0) -> str:
    """A Codex-like /v1/responses body at `turn`: the whole history resent, big instructions and tools."""
    history = []
    for t in range(turn):
        history.append({"type": "message", "role": "user", "content": [{"type": "input_text", "text": f"step {t}"}]})
        history.append({"type": "function_call_output", "call_id": f"call_{t}", "output": f"file listing {t} " * 40})
    history += [{"type": "message", "role": "user", "content": f"extra {i}"} for i in range(extra_items)]
    return json.dumps({"model": "gpt-5-codex", "instructions": "You are Codex. " * 300,
                       "tools": [{"type": "function", "name": "exec_command", "parameters": {"type": "object"}}] * 5,
                       "input": history, "stream": True})


def record(i: int = 0, **over) -> dict:
    rec = {
        "id": f"evt_{i:024x}", "timestamp": f"2026-11-25T13:{i // 60 % 60:02d}:{i % 60:02d}.000Z",
        "event_type": "decision", "mode": "reverse", "transport": "sse", "client": "127.0.0.1:53211",
        "developer": "alice", "developer_source": "token", "key_fingerprint": "kf_0123456789ab",
        "method": "POST", "host": "api.openai.com", "path": "/v1/responses", "api": "responses",
        "model": "gpt-4o", "provider": "openai", "target_id": "openai", "config_name": "codex-cli",
        "config_version": "0.1.0", "session_id": "sess_1", "status": 200, "verdict": "redact",
        "reason_code": "pii_detected",
        "policies": [{"policy": "pii-detector", "verdict": "redact", "reason_code": "pii_detected", "phase": "input",
                      "findings": [{"type": "EMAIL_ADDRESS", "action": "redact", "where": "input[0].content",
                                    "placeholder": "<PII:EMAIL_ADDRESS:0c9d2e11>"}], "duration_ms": 1.5},
                     {"policy": "prompt-injection", "verdict": "allow", "phase": "input"}],
        "request_body": responses_body(2), "response_body": None,
        "output": {"text": "done", "tool_calls": [], "finish_reason": "stop", "status": "completed"},
        "usage": {"input_tokens": 1000, "cached_input_tokens": 200, "output_tokens": 50, "reasoning_tokens": 10},
        "quality": None, "durations": {"total_ms": 812.0, "policy_ms": 3.2, "upstream_ms": 800.1, "ttfb_ms": 120.0},
        "error": None, "bytes_in": 5000, "bytes_out": 900,
    }
    rec.update(over)
    return rec
