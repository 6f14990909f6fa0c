"""The fake OpenAI upstream speaks the wire formats well enough that the openai SDK cannot tell."""
import asyncio
import json
import ssl

import httpx
import openai
import pytest
import websockets

from fake_openai import (FakeOpenAI, Text, call, custom, error, failed, garbage, length, refusal, reset, stall,
                         text)


def client(fake, **kw):
    return openai.OpenAI(base_url=fake.base_url, api_key="sk-test-dummy", max_retries=0, **kw)


def test_responses_json_text_and_usage(fake_openai):
    fake_openai.script = [text("Hello from the fake model.")]
    r = client(fake_openai).responses.create(model="gpt-5.5", input="hi")
    assert r.output_text == "Hello from the fake model."
    assert r.status == "completed"
    assert r.usage.input_tokens > 0 and r.usage.total_tokens == r.usage.input_tokens + r.usage.output_tokens
    assert r.usage.input_tokens_details.cached_tokens == 0


def test_responses_stream_events_in_order_with_split_deltas(fake_openai):
    from fake_openai import Turn
    fake_openai.script = [Turn([Text("streamed answer text"), call("exec_command", {"cmd": "ls -la"})],
                               cached_tokens=5, input_tokens=40, reasoning_tokens=3)]
    events = list(client(fake_openai).responses.create(model="gpt-5.5", input="hi", stream=True))
    kinds = [e.type for e in events]
    assert kinds[:4] == ["response.created", "response.in_progress", "response.output_item.added",
                         "response.content_part.added"]
    assert kinds[-1] == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert len(deltas) > 1 and "".join(deltas) == "streamed answer text"
    arg_deltas = [e.delta for e in events if e.type == "response.function_call_arguments.delta"]
    assert len(arg_deltas) > 1 and json.loads("".join(arg_deltas)) == {"cmd": "ls -la"}
    done = events[-1].response
    assert [o.type for o in done.output] == ["message", "function_call"]
    assert done.output[1].name == "exec_command"
    assert done.usage.input_tokens_details.cached_tokens == 5
    assert done.usage.output_tokens_details.reasoning_tokens == 3


def test_responses_custom_tool_call_stream(fake_openai):
    patch = "*** Begin Patch\n*** Update File: a.txt\n@@\n-old\n+new\n*** End Patch\n"
    fake_openai.script = [[custom("apply_patch", patch)]]
    events = list(client(fake_openai).responses.create(model="gpt-5.5", input="hi", stream=True))
    deltas = [e.delta for e in events if e.type == "response.custom_tool_call_input.delta"]
    assert len(deltas) > 1 and "".join(deltas) == patch
    item = [e.item for e in events if e.type == "response.output_item.done"][0]
    assert item.type == "custom_tool_call" and item.name == "apply_patch" and item.input == patch


def test_responses_length_stop_is_incomplete(fake_openai):
    fake_openai.script = [length("cut sh")]
    events = list(client(fake_openai).responses.create(model="gpt-5.5", input="hi", stream=True))
    assert events[-1].type == "response.incomplete"
    assert events[-1].response.incomplete_details.reason == "max_output_tokens"


def test_responses_failed_event(fake_openai):
    fake_openai.script = [failed("invalid_prompt", "Blocked for a test")]
    events = list(client(fake_openai).responses.create(model="gpt-5.5", input="hi", stream=True))
    assert events[-1].type == "response.failed"
    assert events[-1].response.error.code == "invalid_prompt"


def test_chat_json_and_refusal(fake_openai):
    fake_openai.script = ["plain answer", refusal("No.")]
    c = client(fake_openai)
    r = c.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    assert r.choices[0].message.content == "plain answer" and r.choices[0].finish_reason == "stop"
    assert r.usage.prompt_tokens > 0
    r = c.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    assert r.choices[0].message.refusal == "No." and r.choices[0].message.content is None


def test_chat_stream_tool_call_deltas_and_usage_chunk(fake_openai):
    fake_openai.script = [[Text("thinking"), call("get_weather", {"city": "Paris", "unit": "celsius"})]]
    chunks = list(client(fake_openai).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "x"}], stream=True, stream_options={"include_usage": True}))
    args = "".join(tc.function.arguments for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or []))
    assert json.loads(args) == {"city": "Paris", "unit": "celsius"}
    pieces = [c for c in chunks if c.choices and c.choices[0].delta.tool_calls]
    assert len(pieces) > 2 and pieces[0].choices[0].delta.tool_calls[0].function.name == "get_weather"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0


def test_chat_stream_ends_with_done_marker(fake_openai):
    fake_openai.script = ["abc"]
    raw = httpx.post(fake_openai.base_url + "/chat/completions",
                     json={"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "x"}]}).text
    frames = [f for f in raw.split("\n\n") if f]
    assert frames[-1] == "data: [DONE]" and all(f.startswith("data: ") for f in frames)


def test_async_client_chat_and_responses(fake_openai):
    fake_openai.script = ["one", "two"]

    async def go():
        c = openai.AsyncOpenAI(base_url=fake_openai.base_url, api_key="sk-test-dummy", max_retries=0)
        r1 = await c.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
        stream = await c.responses.create(model="gpt-5.5", input="y", stream=True)
        deltas = [e.delta async for e in stream if e.type == "response.output_text.delta"]
        return r1.choices[0].message.content, "".join(deltas)

    assert asyncio.run(go()) == ("one", "two")


def test_models_and_embeddings(fake_openai):
    c = client(fake_openai)
    assert "gpt-5.5" in [m.id for m in c.models.list()]
    e = c.embeddings.create(model="text-embedding-3-small", input=["a", "b"])  # SDK asks for base64
    assert len(e.data) == 2 and len(e.data[0].embedding) == 8 and e.data[0].embedding != e.data[1].embedding
    e2 = c.embeddings.create(model="text-embedding-3-small", input="a", encoding_format="float", dimensions=4)
    assert len(e2.data[0].embedding) == 4


def test_records_headers_and_bodies_for_leak_checks(fake_openai):
    client(fake_openai).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "my key AKIAZZZZ"}])
    [rec] = fake_openai.received(route="/v1/chat/completions")
    assert rec.transport == "http" and rec.method == "POST"
    assert rec.headers["authorization"] == "Bearer sk-test-dummy"
    assert rec.json["messages"][0]["content"] == "my key AKIAZZZZ"
    assert fake_openai.leaked("AKIAZZZZ", "never-sent") == ["AKIAZZZZ"]


@pytest.mark.parametrize("status", [500, 429, 400])
def test_http_errors_use_the_openai_envelope(fake_openai, status):
    fake_openai.script = [error(status)]
    with pytest.raises(openai.APIStatusError) as info:
        client(fake_openai).responses.create(model="gpt-5.5", input="hi")
    assert info.value.status_code == status
    assert info.value.body["message"]


def test_sdk_retries_a_500_then_succeeds(fake_openai):
    fake_openai.script = [error(500), "recovered"]
    c = openai.OpenAI(base_url=fake_openai.base_url, api_key="sk-test-dummy", max_retries=1)
    assert c.responses.create(model="gpt-5.5", input="hi").output_text == "recovered"
    assert len(fake_openai.model_requests()) == 2


def test_reset_mid_stream_breaks_the_client(fake_openai):
    fake_openai.script = [reset(after=3)]
    with pytest.raises((httpx.HTTPError, openai.APIError)):
        list(client(fake_openai).responses.create(model="gpt-5.5", input="hi", stream=True))


def test_garbage_mid_stream_is_not_a_valid_event(fake_openai):
    fake_openai.script = [garbage(after=2)]
    raw = httpx.post(fake_openai.base_url + "/responses", json={"model": "m", "input": "x", "stream": True}).content
    assert b"response.created" in raw and b"{not json" in raw and b"response.completed" not in raw


def test_stall_is_bounded_and_client_times_out():
    with FakeOpenAI(script=[stall(seconds=5, after=2)], stall_limit=5) as fake:
        with pytest.raises((httpx.HTTPError, openai.APIError)):
            list(client(fake, timeout=0.5).responses.create(model="gpt-5.5", input="hi", stream=True))


def _ws_events(fake, messages, **connect_kw):
    async def go():
        out = []
        async with websockets.connect(fake.ws_url, additional_headers={
                "Authorization": "Bearer sk-test-dummy", "OpenAI-Beta": "responses_websockets=2026-02-06"}, **connect_kw) as ws:
            for m in messages:
                await ws.send(json.dumps(m))
                while True:
                    ev = json.loads(await asyncio.wait_for(ws.recv(), 5))
                    out.append(ev)
                    if ev["type"] in ("response.completed", "response.failed", "response.incomplete", "error"):
                        break
        return out
    return asyncio.run(go())


def test_websocket_warmup_then_chained_turns(fake_openai):
    fake_openai.script = [[call("exec_command", {"cmd": "cat notes.txt"})], "done"]
    warm = {"type": "response.create", "model": "gpt-5.5", "input": [], "generate": False, "tools": []}
    events = _ws_events(fake_openai, [warm])
    warm_id = events[-1]["response"]["id"]
    assert [e["type"] for e in events] == ["response.created", "response.in_progress", "response.completed"]
    assert events[-1]["response"]["output"] == []
    turn1 = {"type": "response.create", "model": "gpt-5.5", "previous_response_id": warm_id,
             "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "read it"}]}]}
    events = _ws_events(fake_openai, [turn1])
    done = [e for e in events if e["type"] == "response.output_item.done"][0]["item"]
    assert done["type"] == "function_call" and json.loads(done["arguments"]) == {"cmd": "cat notes.txt"}
    assert events[-1]["response"]["previous_response_id"] == warm_id
    assert fake_openai.responses_served == 1  # the warm-up does not consume the script
    msgs = fake_openai.received("websocket")
    assert [m.json.get("generate") for m in msgs] == [False, None]
    assert msgs[0].headers["openai-beta"] == "responses_websockets=2026-02-06"


def test_websocket_error_event_for_scripted_http_error(fake_openai):
    fake_openai.script = [error(429)]
    events = _ws_events(fake_openai, [{"type": "response.create", "model": "m", "input": []}])
    [ev] = events
    assert ev["type"] == "error" and ev["status"] == 429
    assert ev["error"]["code"] == "rate_limit_exceeded" and "try again in" in ev["error"]["message"]


def test_websocket_with_permessage_deflate(fake_openai):
    fake_openai.script = ["compressed"]
    events = _ws_events(fake_openai, [{"type": "response.create", "model": "m", "input": []}], compression="deflate")
    assert "".join(e.get("delta", "") for e in events if e["type"] == "response.output_text.delta") == "compressed"


def test_websocket_refused_with_426():
    with FakeOpenAI(websocket="refuse") as fake:
        with pytest.raises(websockets.exceptions.InvalidStatus) as info:
            _ws_events(fake, [{"type": "response.create"}])
        assert info.value.response.status_code == 426
        assert fake.received("websocket_upgrade")[0].headers["openai-beta"] == "responses_websockets=2026-02-06"


def test_https_with_test_ca():
    with FakeOpenAI(script=["over tls", "ws over tls"], tls=True) as fake:
        assert fake.url.startswith("https://127.0.0.1:")
        c = client(fake, http_client=httpx.Client(verify=ssl.create_default_context(cafile=str(fake.ca_path))))
        assert c.responses.create(model="gpt-5.5", input="hi").output_text == "over tls"
        with pytest.raises(openai.APIConnectionError):
            client(fake).responses.create(model="gpt-5.5", input="hi")  # untrusted without the CA
        ctx = ssl.create_default_context(cafile=str(fake.ca_path))
        events = _ws_events(fake, [{"type": "response.create", "model": "m", "input": []}], ssl=ctx)
        assert events[-1]["response"]["output"][0]["content"][0]["text"] == "ws over tls"


def test_callable_script_sees_the_request(fake_openai):
    fake_openai.script = lambda rec: f"you sent {len(rec.json['input'])} chars"
    assert client(fake_openai).responses.create(model="m", input="abcd").output_text == "you sent 4 chars"


def test_unknown_route_is_404(fake_openai):
    r = httpx.get(fake_openai.url + "/v1/nope")
    assert r.status_code == 404 and r.json()["error"]["type"] == "invalid_request_error"


def test_usage_counts_chained_context_and_reports_prompt_cache_hits(fake_openai):
    fake_openai.script = ["a", "b"]
    big = "x" * 4000
    events = _ws_events(fake_openai, [
        {"type": "response.create", "model": "m", "prompt_cache_key": "k1", "input": [{"type": "message", "role": "user", "content": big}]},
    ])
    first = events[-1]["response"]["usage"]
    events = _ws_events(fake_openai, [
        {"type": "response.create", "model": "m", "prompt_cache_key": "k1", "input": [{"type": "message", "role": "user", "content": big + "y" * 400}]},
    ])
    second = events[-1]["response"]["usage"]
    assert first["input_tokens"] >= 1000 and first["input_tokens_details"]["cached_tokens"] == 0
    assert 0 < second["input_tokens_details"]["cached_tokens"] <= first["input_tokens"] < second["input_tokens"]


def test_script_list_entries_mix_helpers_and_items(fake_openai):
    fake_openai.script = [[text("Reading."), "then", call("exec_command", {"cmd": "ls"})]]
    r = client(fake_openai).responses.create(model="m", input="x")
    assert [o.type for o in r.output] == ["message", "message", "function_call"]
    assert r.output_text == "Reading.then"
