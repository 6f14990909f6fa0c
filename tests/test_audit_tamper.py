"""Tamper evidence: every kind of edit an attacker with the file can make is reported by verify.

The attacker uses plain sqlite3 and drops our triggers first, as a real one would.
"""
from __future__ import annotations

import sqlite3

import pytest

from keeptrusts.audit import AuditWriter
from keeptrusts.audit.chain import row_hash
from keeptrusts.audit import store
from keeptrusts.audit.verify import KeyProblem, verify

from audit_helpers import record, responses_body


def write(path, key=None, n=10):
    """key None: the gateway's default (the installation's audit key, signed head); b"": unkeyed."""
    with AuditWriter(path, hmac_key=key) as w:
        for i in range(1, n + 1):
            w.submit(record(i, request_body=responses_body(i))).result(5)
    return path


@pytest.fixture
def db(tmp_path):
    return write(tmp_path / "audit.db")


def attacker(path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    store.drop_triggers(conn)
    return conn


def test_untouched_db_verifies(db):
    res = verify(db)
    assert res.ok and res.rows == 10 and res.items > 0
    assert res.render().startswith("OK 10 rows")


def test_triggers_refuse_update_and_delete(db):
    conn = sqlite3.connect(db)
    for sql in ("UPDATE events SET verdict = 'allow'", "DELETE FROM events WHERE seq = 3",
                "UPDATE items SET body = '{}'", "DELETE FROM items", "UPDATE meta SET value = 'x'"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute(sql)


@pytest.mark.parametrize("column,value", [
    ("verdict", "allow"), ("developer", "mallory"), ("cost_usd", 0.0), ("timestamp", "2020-01-01T00:00:00.000Z"),
    ("policies", "[]"), ("request_skeleton", '{"model":"gpt-4o"}'), ("status", 200.5),
])
def test_edited_row_is_reported_at_that_row(db, column, value):
    attacker(db).execute(f"UPDATE events SET {column} = ? WHERE seq = 6", (value,))
    res = verify(db)
    assert not res.ok and res.error.seq == 6 and "edited" in res.error.problem
    assert res.rows == 5


def test_deleted_row_in_the_middle(db):
    attacker(db).execute("DELETE FROM events WHERE seq = 4")
    res = verify(db)
    assert not res.ok and res.error.seq == 5 and "missing" in res.error.problem


def test_deleted_first_rows(db):
    attacker(db).execute("DELETE FROM events WHERE seq <= 2")
    res = verify(db)
    assert not res.ok and res.error.seq == 3 and "deleted" in res.error.problem


def test_rows_cut_from_the_end(db):
    attacker(db).execute("DELETE FROM events WHERE seq >= 9")
    res = verify(db)
    assert not res.ok and "cut from the end" in res.error.problem


def test_reordered_rows(db):
    conn = attacker(db)
    cols = [c for c in store.COLUMN_NAMES if c != "seq"]
    a = conn.execute(f"SELECT {', '.join(cols)} FROM events WHERE seq = 4").fetchone()
    b = conn.execute(f"SELECT {', '.join(cols)} FROM events WHERE seq = 5").fetchone()
    sets = ", ".join(f"{c} = ?" for c in cols)
    conn.execute("UPDATE events SET id = 'tmp' WHERE seq = 4")
    conn.execute(f"UPDATE events SET {sets} WHERE seq = 5", a)
    conn.execute(f"UPDATE events SET {sets} WHERE seq = 4", b)
    res = verify(db)
    assert not res.ok and res.error.seq == 4


def test_inserted_row_with_a_correct_looking_hash(tmp_path):
    """The attacker forges a row that chains from row 5 and renumbers the rest: row 7 then breaks.
    (Unkeyed chain, verified without a key: in a keyed chain the forged row itself fails at seq 6.)"""
    db = write(tmp_path / "unkeyed.db", key=b"")
    conn = attacker(db)
    conn.execute("UPDATE events SET seq = seq + 100 WHERE seq > 5")
    conn.execute("UPDATE events SET seq = seq - 99 WHERE seq > 100")
    prev = conn.execute("SELECT row_hash FROM events WHERE seq = 5").fetchone()[0]
    forged = {c: None for c in store.COLUMN_NAMES}
    forged.update(seq=6, id="evt_forged", timestamp="2026-11-25T13:00:05.500Z", event_type="decision",
                  verdict="allow", prev_hash=prev)
    forged["row_hash"] = row_hash(prev, store.hash_content(forged), None)
    conn.execute(f"INSERT INTO events ({', '.join(store.COLUMN_NAMES)}) VALUES "
                 f"({', '.join('?' for _ in store.COLUMN_NAMES)})", [forged[c] for c in store.COLUMN_NAMES])
    res = verify(db, b"")
    assert not res.ok and res.error.seq == 7 and "inserted" in res.error.problem


def test_edited_history_item(db):
    conn = attacker(db)
    h, body = conn.execute("SELECT hash, body FROM items WHERE body LIKE '%step 3%' LIMIT 1").fetchone()
    conn.execute("UPDATE items SET body = ? WHERE hash = ?", (body.replace("step 3", "step X"), h))
    res = verify(db)
    assert not res.ok and "item" in res.error.problem and "edited" in res.error.problem
    assert res.error.seq == 4     # first row whose request contained it


def test_deleted_history_item(db):
    conn = attacker(db)
    conn.execute("DELETE FROM items WHERE body LIKE '%step 7%'")
    res = verify(db)
    assert not res.ok and res.error.seq == 8 and "missing" in res.error.problem


def test_rewritten_chain_is_caught_when_keyed(tmp_path):
    """Without a key an attacker can recompute every hash; with HMAC they cannot."""
    path = tmp_path / "keyed.db"
    key = b"k" * 32
    with AuditWriter(path, hmac_key=key) as w:
        for i in range(1, 6):
            w.submit(record(i)).result(5)
    assert verify(path, key).ok
    conn = attacker(path)
    conn.execute("UPDATE events SET verdict = 'allow' WHERE seq = 3")
    prev = conn.execute("SELECT row_hash FROM events WHERE seq = 2").fetchone()[0]
    for seq in range(3, 6):                     # recompute with plain sha256, as the attacker can
        row = dict(zip(store.COLUMN_NAMES, conn.execute(
            f"SELECT {', '.join(store.COLUMN_NAMES)} FROM events WHERE seq = ?", (seq,)).fetchone()))
        row["prev_hash"] = prev
        prev = row_hash(prev, store.hash_content(row), None)
        conn.execute("UPDATE events SET prev_hash = ?, row_hash = ? WHERE seq = ?", (row["prev_hash"], prev, seq))
    res = verify(path, key)
    assert not res.ok and res.error.seq == 3
    with pytest.raises(KeyProblem):
        verify(path, None)
    with pytest.raises(KeyProblem):
        verify(path, b"wrong" * 8)
