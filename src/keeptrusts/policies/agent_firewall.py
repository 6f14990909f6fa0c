"""agent-firewall: judges the tool calls the model emits before the agent runs them (reference 2.9).
Filled in by issue 5."""
from __future__ import annotations

from ..schema import Any, ListOf, MapOf, Number, OneOf
from .base import Policy


class AgentFirewall(Policy):
    kind = "agent-firewall"
    phases = ("input", "output")
    single_document = True
    options_schema = {
        "allowed_tools": ListOf(str),
        "blocked_tools": ListOf(str),
        "denied_tools": ListOf(str),
        "max_actions_per_session": int,
        "tools": Any,
        "rate_limits": MapOf(Number),
        "rate_limit": MapOf(Number),
        "transaction_limits": MapOf(Number),
        "transaction_limit": MapOf(Number),
        "kill_switches": MapOf(Any),
        "monitoring": MapOf(Any),
        "rules": ListOf(Any),
    }
