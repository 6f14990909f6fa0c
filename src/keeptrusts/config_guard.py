"""Is a config change a weakening? The agent can edit files; it must not be able to switch the gateway off.

A change picked up from the watched file is applied at once only when it keeps or tightens the chain.
One that weakens it (the pack disabled, a policy taken out of the chain, an action lowered, a stricter
threshold raised, block_on_match turned off, fail-mode allow, unknown endpoints forwarded, unreadable
payloads allowed) is held back: the running config stays, /health says `degraded` with the reason, and
an audit event records it. An operator applies it with `kt policy apply` (the reload endpoint with the
admin token and `accept_weaker`).
"""
from __future__ import annotations

from typing import Any

# Higher is stricter. Unknown values are not ranked (changes between them are not judged here).
ACTION_RANK = {"allow": 0, "log": 0, "off": 0, "none": 0, "audit": 0, "flag": 1, "warn": 1, "neutralize": 2,
               "neutralise": 2, "mask": 2, "redact": 2, "require_approval": 3, "block": 4, "deny": 4}
ACTION_KEYS = ("action", "default_action", "on_match", "mode_action")
STRICT_BOOLS = ("block_on_match", "enabled", "detect_homoglyphs", "decode_base64", "normalize_unicode", "restore_scope")


def _walk(old: Any, new: Any, path: str, out: list[str]) -> None:
    if isinstance(old, dict):
        new = new if isinstance(new, dict) else {}
        for k, v in old.items():
            _walk(v, new.get(k), f"{path}.{k}" if path else str(k), out)
        return
    key = path.rsplit(".", 1)[-1]
    if isinstance(old, str) and isinstance(new, str) and (key in ACTION_KEYS or key == "response"):
        o, n = ACTION_RANK.get(old.lower()), ACTION_RANK.get(new.lower())
        if o is not None and n is not None and n < o:
            out.append(f"{path}: {old} -> {new}")
    elif isinstance(old, bool) and key in STRICT_BOOLS and old and new is False:
        out.append(f"{path}: true -> false")
    elif key in ("threshold",) and isinstance(old, (int, float)) and isinstance(new, (int, float)) and new > old:
        out.append(f"{path}: {old} -> {new} (blocks less)")


def weakenings(old, new) -> list[str]:
    """What `new` (a Config) loosens compared with `old`, one line each; empty when nothing is weaker."""
    out: list[str] = []
    if old.enabled and not new.enabled:
        out.append("pack.enabled: true -> false (every policy off)")
    removed = [k for k in old.chain if k not in new.chain]
    if removed:
        out.append(f"policies.chain: {', '.join(removed)} removed")
    for kind in old.chain:
        if kind in new.chain:
            _walk(old.policy_options.get(kind, {}), new.policy_options.get(kind, {}), f"policy.{kind}", out)
    og, ng = old.gateway or {}, new.gateway or {}
    if og.get("fail_mode", "block") == "block" and ng.get("fail_mode", "block") == "allow":
        out.append("gateway.fail_mode: block -> allow")
    if og.get("unknown_endpoints", "block") == "block" and ng.get("unknown_endpoints", "block") == "forward":
        out.append("gateway.unknown_endpoints: block -> forward")
    for kind in ("images", "files"):
        o = (og.get("binary_payloads") or {}).get(kind, "allow" if kind == "images" else "block")
        n = (ng.get("binary_payloads") or {}).get(kind, "allow" if kind == "images" else "block")
        if o == "block" and n == "allow":
            out.append(f"gateway.binary_payloads.{kind}: block -> allow")
    for key in ("allowed_origins", "allowed_hosts", "egress_allowlist"):
        added = [v for v in ng.get(key) or [] if v not in (og.get(key) or [])]
        if added and key != "egress_allowlist":
            out.append(f"gateway.{key}: {', '.join(map(str, added))} added")
    if og.get("egress_allowlist") and not ng.get("egress_allowlist"):
        out.append("gateway.egress_allowlist: removed (every host allowed)")
    return out
