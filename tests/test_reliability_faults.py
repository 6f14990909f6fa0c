"""The gateway under upstream and client faults: each one gets a clear answer, an audit row, and the
gateway keeps serving the next request. Real `kt gateway run` process, fake upstream, loopback only.
"""
from __future__ import annotations

import http.client
import json
import socket
import threading
import time

import pytest
from fake_openai import FakeOpenAI, garbage, reset, stall, text
from gateway_proc import Gateway, free_port, wait_rows

from keeptrusts.config import load_config

TIMEOUT = 1.5  # gateway.upstream_timeout_seconds in these tests


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    from gateway_proc import DEFAULT_PACK
    path = tmp_path_factory.mktemp("cfg") / "policy-config.yaml"
    path.write_text(DEFAULT_PACK.read_text() + f"\ngateway:\n  upstream_timeout_seconds: {TIMEOUT}\n")
    load_config(path)  # the test config itself must be valid
    return path


@pytest.fixture(scope="module")
def fake():
    with FakeOpenAI(stall_limit=10) as f:
        yield f


@pytest.fixture(scope="module")
def gw(fake, config, tmp_path_factory):
    g = started(Gateway(tmp_path_factory.mktemp("gw"), fake.url, config=config))
    yield g
    g.stop()


class BlackHole:
    """An upstream that accepts connections and reads, but never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.t = threading.Thread(target=self._accept, daemon=True)
        self.t.start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def started(g: Gateway, timeout: float = 120) -> Gateway:
    """Start a gateway; never leave its process behind when it does not come up (a loaded CI box is slow)."""
    try:
        return g.start(timeout)
    except BaseException:
        g.stop()
        raise


def post(port: int, path: str, body: dict, timeout: float = 30) -> tuple[int, dict, bytes, float]:
    """(status, headers, body, seconds) of one request; the body is read to its end (or the cut)."""
    t0 = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", path, json.dumps(body), {"content-type": "application/json",
                                                      "authorization": "Bearer sk-test-not-a-real-key"})
        r = conn.getresponse()
        data = b""
        try:
            while chunk := r.read1(65536):
                data += chunk
        except (http.client.IncompleteRead, ConnectionError) as exc:
            data += getattr(exc, "partial", b"") or b""
        return r.status, dict(r.getheaders()), data, time.monotonic() - t0
    finally:
        conn.close()


def responses_req(stream: bool = True, text_: str = "hello") -> dict:
    return {"model": "gpt-5.5", "input": text_, "stream": stream}


def rows_for(gw, n_before: int, n: int = 1) -> list[dict]:
    return wait_rows(gw.audit_db, n_before + n, timeout=15)[n_before:]


def count(gw) -> int:
    from gateway_proc import audit_rows
    return len(audit_rows(gw.audit_db, with_body=False)) if gw.audit_db.exists() else 0


def still_serving(gw, fake):
    fake.script = ["still here"]
    status, _, body, _ = post(gw.port, "/v1/responses", responses_req(stream=False))
    assert status == 200 and b"still here" in body


def test_upstream_that_never_answers_gets_a_clear_504(config, tmp_path):
    hole = BlackHole()
    g = started(Gateway(tmp_path, f"http://127.0.0.1:{hole.port}", config=config))
    try:
        status, headers, body, secs = post(g.port, "/v1/responses", responses_req())
        assert status == 504, body
        err = json.loads(body)["error"]
        assert err["type"] == "upstream_error" and err["code"] == "upstream_timeout"
        assert "upstream_timeout_seconds" in err["message"] and f"{TIMEOUT:g}s" in err["message"]
        assert TIMEOUT <= secs < TIMEOUT + 5
        row = wait_rows(g.audit_db, 1)[0]
        assert row["status"] == 504 and "upstream_timeout_seconds" in row["error"]
        assert g.health()["status"] == "healthy"
    finally:
        g.stop()
        hole.close()


def test_upstream_stalling_mid_stream_is_cut_after_the_timeout(gw, fake):
    n = count(gw)
    fake.script = [stall(seconds=8, after=3)]
    status, _, body, secs = post(gw.port, "/v1/responses", responses_req())
    assert status == 200  # the stream had started
    assert b"response.created" in body and b"response.completed" not in body
    assert secs < TIMEOUT + 4, "the gateway waited for the stalled upstream instead of its timeout"
    row = rows_for(gw, n)[0]
    assert row["status"] == 504 and "upstream_timeout_seconds" in (row["error"] or "")
    still_serving(gw, fake)


class Dribble:
    """An upstream that streams a Responses answer one delta every `gap` seconds (a slow model)."""

    def __init__(self, deltas: int, gap: float):
        self.deltas, self.gap = deltas, gap
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        try:
            c, _ = self.sock.accept()
        except OSError:
            return
        with c:
            head = b""
            while b"\r\n\r\n" not in head:
                head += c.recv(65536)
            length = int(next(l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")))
            body = head.split(b"\r\n\r\n", 1)[1]
            while len(body) < length:
                body += c.recv(65536)
            c.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")

            def send(ev: dict):
                frame = f"event: {ev['type']}\ndata: {json.dumps(ev)}\n\n".encode()
                c.sendall(b"%x\r\n%s\r\n" % (len(frame), frame))

            resp = {"id": "resp_dribble", "object": "response", "status": "in_progress", "model": "gpt-5.5", "output": []}
            send({"type": "response.created", "response": resp, "sequence_number": 0})
            for i in range(self.deltas):
                time.sleep(self.gap)
                send({"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "item_id": "msg_1",
                      "delta": f"word{i} ", "sequence_number": i + 1})
            send({"type": "response.completed", "sequence_number": self.deltas + 1,
                  "response": {**resp, "status": "completed", "usage": {"input_tokens": 5, "output_tokens": 5}}})
            c.sendall(b"0\r\n\r\n")

    def close(self):
        self.sock.close()


def test_slow_but_steady_stream_is_not_cut(config, tmp_path):
    """The timeout is for silence, not for total length: a stream longer than it, with short gaps, completes."""
    up = Dribble(deltas=6, gap=TIMEOUT / 3)
    g = started(Gateway(tmp_path, f"http://127.0.0.1:{up.port}", config=config))
    try:
        status, _, body, secs = post(g.port, "/v1/responses", responses_req())
        assert secs > TIMEOUT * 1.5  # it really outlasted the timeout
        assert status == 200 and b"response.completed" in body and b"word5" in body
        assert wait_rows(g.audit_db, 1)[0]["status"] == 200
    finally:
        g.stop()
        up.close()


@pytest.mark.parametrize("fault", ["reset", "garbage"])
def test_upstream_reset_or_garbage_mid_stream(gw, fake, fault):
    n = count(gw)
    fake.script = [reset(after=3) if fault == "reset" else garbage(after=3)]
    status, _, body, secs = post(gw.port, "/v1/responses", responses_req())
    assert secs < 10
    assert b"response.completed" not in body  # nothing pretends the answer was complete
    row = rows_for(gw, n)[0]
    if fault == "reset":
        assert row["error"], row
    else:
        # Closed world: an event the parser cannot read is never passed on; the turn ends failed, never hangs.
        assert b"not json" not in body and b"response.failed" in body and row["status"] in (409, 502)
    still_serving(gw, fake)


@pytest.mark.parametrize("fault", ["reset", "garbage"])
def test_upstream_fault_on_json_answer(gw, fake, fault):
    n = count(gw)
    fake.script = [reset(after=1) if fault == "reset" else garbage()]
    status, _, body, secs = post(gw.port, "/v1/responses", responses_req(stream=False))
    assert secs < 10
    if fault == "reset":
        assert status == 502 and json.loads(body)["error"]["type"] == "upstream_error"
    row = rows_for(gw, n)[0]
    assert row["status"] == status or row["error"]
    still_serving(gw, fake)


def test_upstream_refusing_connections(config, tmp_path):
    g = started(Gateway(tmp_path, f"http://127.0.0.1:{free_port()}", config=config))
    try:
        for stream in (True, False):
            status, _, body, secs = post(g.port, "/v1/responses", responses_req(stream=stream))
            assert status == 502 and secs < 10
            err = json.loads(body)["error"]
            assert err["type"] == "upstream_error" and err["code"] == "upstream_unreachable"
            assert err["event_id"].startswith("evt_") and f"kt events show {err['event_id']}" in err["message"]
        rows = wait_rows(g.audit_db, 2)
        assert all(r["status"] == 502 and r["error"] for r in rows)
    finally:
        g.stop()


def test_client_disconnecting_mid_stream_is_audited_and_harmless(gw, fake):
    n = count(gw)
    fake.script = [stall(seconds=1.0, after=3)]
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
    body = json.dumps(responses_req()).encode()
    s.sendall(b"POST /v1/responses HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
              b"content-length: %d\r\n\r\n%s" % (len(body), body))
    got = s.recv(65536)
    assert got.startswith(b"HTTP/1.1 200")
    s.close()  # hang up while the upstream is still sending
    row = rows_for(gw, n)[0]
    assert row["error"] or row["status"] in (200, 504)
    still_serving(gw, fake)


def test_websocket_turn_with_a_silent_upstream_fails_after_the_timeout(gw, fake):
    from websockets.sync.client import connect
    n = count(gw)
    fake.script = [stall(seconds=8, after=3)]
    t0 = time.monotonic()
    with connect(f"ws://127.0.0.1:{gw.port}/v1/responses", open_timeout=30) as ws:
        ws.send(json.dumps({"type": "response.create", "model": "gpt-5.5", "input": "hello"}))
        events = []
        while True:
            ev = json.loads(ws.recv(timeout=TIMEOUT + 10))
            events.append(ev["type"])
            if ev["type"] in ("response.completed", "response.failed"):
                break
        secs = time.monotonic() - t0
    assert events[-1] == "response.failed" and "response.created" in events
    assert "upstream_timeout_seconds" in ev["response"]["error"]["message"]
    assert secs < TIMEOUT + 4
    row = rows_for(gw, n)[0]
    assert row["status"] == 504 and "upstream_timeout_seconds" in row["error"]
    still_serving(gw, fake)
