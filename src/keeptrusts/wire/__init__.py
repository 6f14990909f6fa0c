"""OpenAI wire formats: request bodies -> segments, and response streams -> output items.

Nothing here imports mitmproxy; the addon feeds bytes in and writes bytes out.
"""
