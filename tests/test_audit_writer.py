"""AuditWriter: what the addon relies on (futures, group commit, content-addressed history, cost)."""
from __future__ import annotations

import json
import sqlite3
import threading

import pytest

from keeptrusts.audit import AuditError, AuditWriter
from keeptrusts.audit.queries import EventStore
from keeptrusts.audit.verify import verify

from audit_helpers import record, responses_body


def test_submit_resolves_after_commit_and_row_is_readable(tmp_path):
    db = tmp_path / "audit.db"
    with AuditWriter(db) as w:
        seq = w.submit(record(1)).result(5)
        # Committed: another connection sees it right away.
        row = sqlite3.connect(db).execute("SELECT seq, id, verdict, developer FROM events").fetchone()
    assert row == (seq, record(1)["id"], "redact", "alice")
    assert w.healthy and w.last_error is None


def test_many_threads_submit_and_every_row_lands_in_one_valid_chain(tmp_path):
    db = tmp_path / "audit.db"
    futs = []
    with AuditWriter(db) as w:
        def worker(k):
            for i in range(100):
                futs.append(w.submit(record(k * 1000 + i)))
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seqs = [f.result(10) for f in futs]
    assert sorted(seqs) == list(range(1, 401))
    res = verify(db)
    assert res.ok and res.rows == 400


def test_history_resent_every_turn_is_stored_once(tmp_path):
    db = tmp_path / "audit.db"

    def stored() -> int:
        conn = sqlite3.connect(db)
        n = conn.execute("SELECT COALESCE(SUM(size), 0) FROM items").fetchone()[0] + conn.execute(
            "SELECT COALESCE(SUM(LENGTH(request_skeleton) + LENGTH(item_hashes)), 0) FROM events").fetchone()[0]
        conn.close()
        return n

    with AuditWriter(db) as w:
        for turn in range(1, 40):
            w.submit(record(turn, request_body=responses_body(turn))).result(5)
        before = stored()
        w.submit(record(40, request_body=responses_body(40))).result(5)
        last_turn = stored() - before
    new_items = len(responses_body(40)) - len(responses_body(39))
    # Turn 40 resends ~34 KB of history; it costs its two new items plus a small constant.
    assert len(responses_body(40)) > 30_000
    assert last_turn < new_items + 3_000
    raw = sum(len(responses_body(t)) for t in range(1, 41))
    assert stored() < raw / 8
    # ... and the body comes back whole.
    ev = EventStore(db).get(record(40)["id"], with_body=True)
    assert json.loads(ev["request_body"]) == json.loads(responses_body(40))


def test_non_json_and_missing_bodies_are_kept_verbatim(tmp_path):
    db = tmp_path / "audit.db"
    with AuditWriter(db) as w:
        w.submit(record(1, request_body="not json {")).result(5)
        w.submit(record(2, request_body=None)).result(5)
        w.submit({"id": "evt_minimal"}).result(5)  # every key may be missing
    s = EventStore(db)
    assert s.get(record(1)["id"], with_body=True)["request_body"] == "not json {"
    assert s.get(record(2)["id"], with_body=True)["request_body"] is None
    assert s.get("evt_minimal")["event_type"] == "decision"
    assert verify(db).ok


def test_cost_is_computed_from_model_and_usage(tmp_path):
    db = tmp_path / "audit.db"
    with AuditWriter(db, pricing_overrides={"cheap": {"input": 1.0, "output": 2.0}}) as w:
        w.submit(record(1)).result(5)                                   # gpt-4o: 2.50 / 1.25 / 10.00
        w.submit(record(2, model="gpt-4o-2024-08-06")).result(5)        # dated snapshot -> gpt-4o
        w.submit(record(3, model="my-local-model")).result(5)           # unknown: cost 0, tokens kept
        w.submit(record(4, target_id="cheap")).result(5)                # target override
    s = EventStore(db)
    gpt4o = (800 * 2.50 + 200 * 1.25 + 50 * 10.00) / 1e6
    assert s.get(record(1)["id"])["cost_usd"] == pytest.approx(gpt4o)
    assert s.get(record(2)["id"])["cost_usd"] == pytest.approx(gpt4o)
    unknown = s.get(record(3)["id"])
    assert unknown["cost_usd"] == 0 and unknown["input_tokens"] == 1000 and unknown["output_tokens"] == 50
    assert s.get(record(4)["id"])["cost_usd"] == pytest.approx((1000 * 1.0 + 50 * 2.0) / 1e6)


def test_a_bad_record_fails_alone(tmp_path):
    db = tmp_path / "audit.db"
    with AuditWriter(db) as w:
        w.submit(record(1)).result(5)
        dup = w.submit(record(1))                  # same id again
        ok = w.submit(record(2))
        with pytest.raises(AuditError):
            dup.result(5)
        assert ok.result(5) > 0
        assert w.healthy                            # a bad record is not a storage failure
    assert verify(db).ok


def test_submit_after_close_fails_cleanly(tmp_path):
    w = AuditWriter(tmp_path / "audit.db").start()
    w.close()
    with pytest.raises(AuditError, match="not running"):
        w.submit(record(1)).result(1)


def test_hmac_key_mismatch_is_refused_at_start(tmp_path):
    db = tmp_path / "audit.db"
    with AuditWriter(db, hmac_key=b"k" * 32) as w:
        w.submit(record(1)).result(5)
    with pytest.raises(AuditError, match="HMAC key id"):
        AuditWriter(db, hmac_key=b"x" * 32).start()
    with pytest.raises(AuditError, match="KEEPTRUSTS_AUDIT_HMAC_KEY"):
        AuditWriter(db, hmac_key=b"").start()


def test_a_bare_pricing_block_applies_to_every_target(tmp_path):
    db = tmp_path / "audit.db"
    with AuditWriter(db, pricing_overrides={"input": 2.0, "output": 4.0}) as w:
        w.submit(record(1, target_id="anything")).result(5)
    assert EventStore(db).get(record(1)["id"])["cost_usd"] == pytest.approx((1000 * 2.0 + 50 * 4.0) / 1e6)


def test_odd_values_are_stored_not_rejected(tmp_path):
    """NaN, huge ints, dataclasses, bytes: the exchange is still recorded and the chain verifies."""
    from keeptrusts.exchange import Usage
    db = tmp_path / "audit.db"
    with AuditWriter(db) as w:
        w.submit(record(1, quality=float("nan"), bytes_in=2 ** 70, status="200", usage=Usage(1000, 200, 50, 10),
                        output={"usage": Usage(1, 0, 2, 0), "raw": b"\xff", "tags": {"a"}})).result(5)
    row = EventStore(db).get(record(1)["id"])
    assert row["quality"] is None and row["bytes_in"] is None and row["status"] == 200
    assert row["cost_usd"] == pytest.approx(0.00275)
    assert row["output"]["usage"]["output_tokens"] == 2 and row["output"]["tags"] == ["a"]
    assert verify(db).ok
