"""Token prices and the cost of one exchange.

`cost_usd(model, usage, target_pricing)`: usage follows OpenAI's accounting: `input_tokens` includes
`cached_input_tokens`, `output_tokens` includes `reasoning_tokens`. So

    cost = (input - cached) * input_price + cached * cached_input_price + output * output_price

per million tokens. An unknown model costs 0 (its tokens are still recorded).

A target's `pricing:` block (`providers.targets[].pricing`) overrides the shipped table:

    pricing:
      input: 1.25          # USD per 1M input tokens, for every model of this target
      cached_input: 0.125  # defaults to `input` when left out
      output: 10.0
      models:              # per-model prices win over the flat ones
        gpt-5-codex: {input: 1.25, cached_input: 0.125, output: 10.0}
"""
from __future__ import annotations

from dataclasses import dataclass

from ..schema import MapOf, Number
from .table import AS_OF, PRICES

PRICE_FIELDS = {"input": Number, "cached_input": Number, "output": Number}
# Schema of `providers.targets[].pricing` (config.py: "pricing": PRICING_SCHEMA).
PRICING_SCHEMA = {**PRICE_FIELDS, "models": MapOf(PRICE_FIELDS)}

__all__ = ["AS_OF", "PRICES", "PRICING_SCHEMA", "Price", "price_for", "cost_usd", "overrides_from_config"]


@dataclass(frozen=True)
class Price:
    input: float
    cached_input: float
    output: float
    source: str          # "table:gpt-4o", "target:openai-primary", "unknown"

    def cost(self, input_tokens: int, cached_input_tokens: int, output_tokens: int) -> float:
        cached = min(max(cached_input_tokens, 0), max(input_tokens, 0))
        uncached = max(input_tokens, 0) - cached
        usd = (uncached * self.input + cached * self.cached_input + max(output_tokens, 0) * self.output) / 1_000_000
        return round(usd, 10)


UNKNOWN = Price(0.0, 0.0, 0.0, "unknown")


def _from_block(block: dict, source: str) -> Price | None:
    if "input" not in block and "output" not in block:
        return None
    inp = float(block.get("input", 0.0))
    return Price(inp, float(block.get("cached_input", inp)), float(block.get("output", 0.0)), source)


def _table_lookup(model: str) -> Price | None:
    """Exact id, else the longest family prefix ending at a '-' (gpt-4o-mini-2024-07-18 -> gpt-4o-mini)."""
    m = model.lower()
    if "/" in m:                       # "openai/gpt-4o" style ids
        m = m.rsplit("/", 1)[1]
    if m in PRICES:
        return Price(*PRICES[m], f"table:{m}")
    best = None
    for name in PRICES:
        if m.startswith(name + "-") and (best is None or len(name) > len(best)):
            best = name
    return Price(*PRICES[best], f"table:{best}") if best else None


def price_for(model: str | None, target_pricing: dict | None = None, target_id: str | None = None) -> Price:
    if target_pricing:
        per_model = (target_pricing.get("models") or {})
        if model and model in per_model:
            p = _from_block(per_model[model], f"target:{target_id or '?'}:{model}")
            if p:
                return p
        p = _from_block(target_pricing, f"target:{target_id or '?'}")
        if p:
            return p
    if not model:
        return UNKNOWN
    return _table_lookup(model) or UNKNOWN


def cost_usd(model: str | None, usage: dict | None, target_pricing: dict | None = None,
             target_id: str | None = None) -> tuple[float, str]:
    """(cost in USD, where the price came from) for one exchange."""
    if not usage:
        return 0.0, "no_usage"
    price = price_for(model, target_pricing, target_id)
    return price.cost(int(usage.get("input_tokens") or 0), int(usage.get("cached_input_tokens") or 0),
                      int(usage.get("output_tokens") or 0)), price.source


def overrides_from_config(config) -> dict[str, dict]:
    """{target id: pricing block} from a loaded Config, for AuditWriter(pricing_overrides=...)."""
    targets = ((getattr(config, "providers", None) or {}).get("targets") or [])
    return {t["id"]: t["pricing"] for t in targets if isinstance(t, dict) and t.get("pricing") and t.get("id")}
