"""A scripted fake OpenAI upstream for tests: chat, responses (JSON, SSE, WebSocket), models, embeddings.

    from fake_openai import FakeOpenAI, call, custom, text
    with FakeOpenAI(script=["hello", [call("exec_command", {"cmd": "ls"})]]) as fake:
        client = openai.OpenAI(base_url=fake.base_url, api_key="sk-test")
        ...
        assert not fake.leaked("AKIA...")
"""
from .script import (CustomToolCall, Failed, FunctionCall, Garbage, HttpError, Refusal, Reset, Stall, Text, Turn,
                     call, custom, error, failed, garbage, length, refusal, reset, stall, text)
from .script import Framing, framed
from .server import FakeOpenAI, Received

__all__ = ["FakeOpenAI", "Received", "Turn", "Text", "FunctionCall", "CustomToolCall", "Refusal", "HttpError", "Failed",
           "Reset", "Stall", "Garbage", "text", "call", "custom", "refusal", "length", "error", "failed", "reset",
           "stall", "garbage", "Framing", "framed"]
