"""OpenAI list prices, USD per 1M tokens: (input, cached_input, output).

Data only, kept as a Python module so it ships inside the package without package-data setup.
Source: openai.com/api/pricing (standard tier), checked November 2026. Output prices include
reasoning tokens (OpenAI bills them as output). A target's `pricing:` block overrides these.
"""
from __future__ import annotations

AS_OF = "2026-11"

# model id (or family prefix; dated snapshots like gpt-4o-2024-08-06 match their family) -> prices
PRICES: dict[str, tuple[float, float, float]] = {
    # GPT-5 family
    "gpt-5.2": (1.75, 0.175, 14.00),
    "gpt-5.2-codex": (1.75, 0.175, 14.00),
    "gpt-5.1": (1.25, 0.125, 10.00),
    "gpt-5.1-codex": (1.25, 0.125, 10.00),
    "gpt-5.1-codex-max": (1.25, 0.125, 10.00),
    "gpt-5.1-codex-mini": (0.25, 0.025, 2.00),
    "gpt-5": (1.25, 0.125, 10.00),
    "gpt-5-codex": (1.25, 0.125, 10.00),
    "gpt-5-mini": (0.25, 0.025, 2.00),
    "gpt-5-nano": (0.05, 0.005, 0.40),
    "gpt-5-pro": (15.00, 15.00, 120.00),
    "gpt-5-chat-latest": (1.25, 0.125, 10.00),
    # GPT-4.1 family
    "gpt-4.1": (2.00, 0.50, 8.00),
    "gpt-4.1-mini": (0.40, 0.10, 1.60),
    "gpt-4.1-nano": (0.10, 0.025, 0.40),
    # GPT-4o family
    "gpt-4o": (2.50, 1.25, 10.00),
    "gpt-4o-mini": (0.15, 0.075, 0.60),
    "chatgpt-4o-latest": (5.00, 5.00, 15.00),
    # o-series reasoning models
    "o1": (15.00, 7.50, 60.00),
    "o1-mini": (1.10, 0.55, 4.40),
    "o1-pro": (150.00, 150.00, 600.00),
    "o3": (2.00, 0.50, 8.00),
    "o3-pro": (20.00, 20.00, 80.00),
    "o3-mini": (1.10, 0.55, 4.40),
    "o4-mini": (1.10, 0.275, 4.40),
    # Codex
    "codex-mini-latest": (1.50, 0.375, 6.00),
    "codex-mini": (1.50, 0.375, 6.00),
    # Embeddings (no output tokens)
    "text-embedding-3-small": (0.02, 0.02, 0.0),
    "text-embedding-3-large": (0.13, 0.13, 0.0),
    "text-embedding-ada-002": (0.10, 0.10, 0.0),
    # Legacy
    "gpt-4-turbo": (10.00, 10.00, 30.00),
    "gpt-3.5-turbo": (0.50, 0.50, 1.50),
}
