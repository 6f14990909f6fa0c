"""Error envelopes the gateway answers with (reference section 5), one builder per kind.

Every gateway error is `{"error": {"type", "message", "code", ["policy"]}}`. `x-should-retry:
false` stops the openai SDK (and Codex) from retrying what will fail the same way again.
"""
from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass
class GatewayError:
    status: int
    type: str          # policy_violation | validation_error | upstream_error | rate_limit | authentication_error | gateway_error
    code: str
    message: str
    policy: str | None = None
    retry: bool = False
    retry_after: int | None = None
    event_id: str | None = None   # the audit event of the refused exchange (`kt events show <id>`)

    def body(self) -> bytes:
        err = {"type": self.type, "message": self.message, "code": self.code}
        if self.policy:
            err["policy"] = self.policy
        if self.event_id:
            err["event_id"] = self.event_id
        return json.dumps({"error": err}, ensure_ascii=False).encode()

    def headers(self, verdict: str | None = None) -> dict[str, str]:
        h = {"content-type": "application/json", "x-should-retry": "true" if self.retry else "false"}
        if verdict:
            h["x-keeptrusts-verdict"] = verdict
        if self.retry_after is not None:
            h["retry-after"] = str(self.retry_after)
        if self.event_id:
            h["x-keeptrusts-event-id"] = self.event_id
        return h


def policy_block(policy: str, message: str, phase: str = "input") -> GatewayError:
    return GatewayError(409, "policy_violation", "input_blocked" if phase == "input" else "output_blocked",
                        message, policy=policy)


def validation(message: str) -> GatewayError:
    return GatewayError(422, "validation_error", "invalid_request", message)


def too_large(size: int, limit: int) -> GatewayError:
    return GatewayError(413, "validation_error", "request_too_large",
                        f"Request body of {size} bytes exceeds the gateway limit of {limit} bytes "
                        "(gateway.max_body_mb in the policy config)")


def upstream(status: int, message: str) -> GatewayError:
    return GatewayError(status, "upstream_error", "upstream_timeout" if status == 504 else "upstream_unreachable",
                        message, retry=True)


def unavailable(message: str, code: str = "gateway_unavailable") -> GatewayError:
    return GatewayError(503, "gateway_error", code, message)


def unauthorized(message: str) -> GatewayError:
    return GatewayError(401, "authentication_error", "identity_required", message)


def budget(message: str) -> GatewayError:
    return GatewayError(429, "rate_limit", "budget_exceeded", message, retry_after=3600)
