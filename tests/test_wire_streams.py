"""Stream parsers without a proxy: what the client receives for held, blocked and restored items."""
from __future__ import annotations

import json

from keeptrusts.exchange import Completion, OutputItem
from keeptrusts.redaction import Redactor
from keeptrusts.wire import requests as wire_requests
from keeptrusts.wire.chat_stream import ChatStream
from keeptrusts.wire.responses_stream import ResponsesStream
from keeptrusts.wire.sse import SSEStream


class Judge:
    def __init__(self, block_tool: str | None = None, redactor: Redactor | None = None):
        self.block_tool, self.redactor, self.items = block_tool, redactor, []

    def item(self, item: OutputItem):
        self.items.append(item)
        if item.is_tool_call and self.redactor:
            item.text = self.redactor.restore_json_string(item.text)[0]
        if self.block_tool and item.name == self.block_tool:
            return f"Blocked by keeptrusts agent-firewall: deny-{item.name}: {item.text}"
        return None

    def done(self, completion: Completion):
        return None

    def restore(self, text: str) -> str:
        return self.redactor.restore(text)[0] if self.redactor else text


def sse(events: list[dict]) -> bytes:
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


def tool_session(args: str = '{"cmd":"rm -rf /"}') -> list[dict]:
    return [
        {"type": "response.created", "response": {"id": "r1", "object": "response", "status": "in_progress"}},
        {"type": "response.output_item.added", "output_index": 0, "item": {"type": "message", "content": []}},
        {"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": "Cleaning up"},
        {"type": "response.output_item.done", "output_index": 0,
         "item": {"type": "message", "content": [{"type": "output_text", "text": "Cleaning up"}]}},
        {"type": "response.output_item.added", "output_index": 1,
         "item": {"type": "function_call", "name": "exec_command", "call_id": "c1", "arguments": ""}},
        {"type": "response.function_call_arguments.delta", "output_index": 1, "delta": args[:5]},
        {"type": "response.function_call_arguments.delta", "output_index": 1, "delta": args[5:]},
        {"type": "response.output_item.done", "output_index": 1,
         "item": {"type": "function_call", "name": "exec_command", "call_id": "c1", "arguments": args}},
        {"type": "response.completed", "response": {"id": "r1", "status": "completed",
                                                    "usage": {"input_tokens": 7, "output_tokens": 3}}},
    ]


def run_sse(stream: SSEStream, data: bytes, chunk: int) -> list[dict]:
    out = b""
    for i in range(0, len(data), chunk):
        out += b"".join(stream(data[i:i + chunk]))
    out += b"".join(stream(b""))
    return [json.loads(line[6:]) for line in out.decode().splitlines() if line.startswith("data: ")]


def test_text_passes_before_tool_call_is_complete():
    parser = ResponsesStream(Judge())
    events = tool_session()
    emitted_before_done = []
    for e in events[:7]:
        emitted_before_done += parser.feed(dict(e))
    types = [o["type"] for o, _ in emitted_before_done]
    assert "response.output_text.delta" in types           # the user sees text at once
    assert not any(t.startswith("response.function_call") for t in types)  # the call is held
    assert "response.output_item.added" in types and types.count("response.output_item.added") == 1


def test_blocked_tool_call_becomes_response_failed_at_any_chunking():
    for chunk in (1, 7, 64, 10_000):
        got = run_sse(SSEStream(ResponsesStream(Judge(block_tool="exec_command"))), sse(tool_session()), chunk)
        assert got[-1]["type"] == "response.failed"
        assert "Blocked by keeptrusts agent-firewall" in got[-1]["response"]["error"]["message"]
        assert not any(e.get("output_index") == 1 for e in got)  # nothing of the call reached the client


def test_allowed_tool_call_is_released_intact():
    got = run_sse(SSEStream(ResponsesStream(Judge())), sse(tool_session()), 5)
    assert [e["type"] for e in got] == [e["type"] for e in tool_session()]
    assert got == tool_session()


def test_placeholder_restored_in_arguments_and_split_text_deltas():
    r = Redactor(b"k" * 32)
    ph = r.placeholder("SECRET", "aws_access_key_id", "AKIAZ7QWERTY5DEMO4KX")
    events = tool_session(json.dumps({"cmd": f"aws configure set key {ph}"}))
    events[2]["delta"] = "use " + ph[:9]
    events.insert(3, {"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": ph[9:] + " ok"})
    got = run_sse(SSEStream(ResponsesStream(Judge(redactor=r))), sse(events), 11)
    text = "".join(e["delta"] for e in got if e["type"] == "response.output_text.delta")
    assert text == "use AKIAZ7QWERTY5DEMO4KX ok"
    done = [e for e in got if e["type"] == "response.output_item.done" and e["output_index"] == 1][0]
    assert json.loads(done["item"]["arguments"])["cmd"].endswith("AKIAZ7QWERTY5DEMO4KX")
    deltas = "".join(e["delta"] for e in got if e["type"] == "response.function_call_arguments.delta")
    assert deltas == done["item"]["arguments"]


def test_stream_ending_inside_tool_call_is_not_released():
    got = run_sse(SSEStream(ResponsesStream(Judge())), sse(tool_session()[:6]), 50)
    assert got[-1]["type"] == "response.failed"
    assert not any(e.get("type", "").startswith("response.function_call") for e in got)


def chat_chunks(args: str) -> list:
    def c(delta, finish=None):
        return {"id": "x", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return [c({"role": "assistant", "content": "On it"}),
            c({"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "shell", "arguments": ""}}]}),
            *[c({"tool_calls": [{"index": 0, "function": {"arguments": args[i:i + 3]}}]}) for i in range(0, len(args), 3)],
            c({}, "tool_calls"),
            {"id": "x", "choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 2}}]


def chat_sse(chunks) -> bytes:
    return b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks) + b"data: [DONE]\n\n"


def test_chat_tool_call_deltas_held_then_blocked():
    out = b"".join(SSEStream(ChatStream(Judge(block_tool="shell")))(chat_sse(chat_chunks('{"command":["rm","-rf","/"]}'))))
    out += b"".join(SSEStream(ChatStream(Judge()))(b""))
    lines = [l[6:] for l in out.decode().splitlines() if l.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    err = json.loads(lines[-2])
    assert err["error"]["code"] == "output_blocked" and "Blocked by keeptrusts" in err["error"]["message"]
    assert not any("tool_calls" in l for l in lines)


def test_chat_tool_call_released_with_usage():
    parser = ChatStream(Judge())
    stream = SSEStream(parser)
    body = chat_sse(chat_chunks('{"command":["ls"]}'))
    out = b"".join(stream(body[:37])) + b"".join(stream(body[37:])) + b"".join(stream(b""))
    args = "".join(tc["function"].get("arguments", "") for l in out.decode().splitlines() if l.startswith("data: {")
                   for ch in json.loads(l[6:]).get("choices", []) for tc in ch["delta"].get("tool_calls", []))
    assert json.loads(args) == {"command": ["ls"]}
    assert parser.completion.usage.input_tokens == 4 and parser.completion.finish_reason == "tool_calls"


def test_request_segments_cover_every_codex_item_type():
    body = {"model": "gpt-5", "instructions": "You are Codex", "input": [
        {"type": "additional_tools", "tools": [{"type": "function", "name": "exec_command"}]},
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "<permissions>"}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "fix it"}]},
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "thinking"}], "encrypted_content": "zzz"},
        {"type": "function_call", "name": "exec_command", "call_id": "a", "arguments": "{\"cmd\":\"cat .env\"}"},
        {"type": "function_call_output", "call_id": "a", "output": "TOKEN=abc"},
        {"type": "custom_tool_call", "name": "apply_patch", "call_id": "b", "input": "*** Begin Patch"},
        {"type": "custom_tool_call_output", "call_id": "b", "output": [{"type": "input_text", "text": "Done"}]},
        {"type": "local_shell_call", "call_id": "c", "action": {"type": "exec", "command": ["ls", "-la"]}},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "ok"}]},
    ], "tools": [{"type": "custom", "name": "apply_patch"}]}
    segs, tools = wire_requests.extract("responses", body)
    kinds = {(s.kind, s.text) for s in segs}
    assert ("system", "You are Codex") in kinds and ("system", "<permissions>") in kinds
    assert ("user", "fix it") in kinds and ("reasoning", "thinking") in kinds
    assert ("tool_output", "TOKEN=abc") in kinds and ("tool_output", "Done") in kinds
    assert ("tool_call_args", "{\"cmd\":\"cat .env\"}") in kinds and ("tool_call_args", "-la") in kinds
    assert ("assistant", "ok") in kinds
    out = next(s for s in segs if s.text == "TOKEN=abc")
    assert out.tool_name == "exec_command" and out.where == "input[5].output"
    assert set(tools) == {"exec_command", "apply_patch"}
    out.text = "TOKEN=<SECRET:x:00000000>"
    assert wire_requests.apply(body, segs)
    assert body["input"][5]["output"] == "TOKEN=<SECRET:x:00000000>" and body["input"][3]["encrypted_content"] == "zzz"
