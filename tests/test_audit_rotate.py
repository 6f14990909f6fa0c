"""Rotation: old rows move to a sealed archive that verifies alone; the live chain goes on."""
from __future__ import annotations

import datetime as dt
import os
import sqlite3
import threading

import pytest

from keeptrusts.audit import AuditError, AuditWriter
from keeptrusts.audit import store
from keeptrusts.audit.queries import EventStore
from keeptrusts.audit.rotate import rotate
from keeptrusts.audit.verify import verify

from audit_helpers import record, responses_body

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.timezone.utc)


def ts(days_ago: float) -> str:
    return (NOW - dt.timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def fill(db, key=None, n=10):          # None: the installation's audit key (keyed chain, signed head)
    with AuditWriter(db, hmac_key=key) as w:
        for i in range(1, n + 1):
            w.submit(record(i, timestamp=ts(n - i), request_body=responses_body(i))).result(5)


def attacker(path) -> sqlite3.Connection:
    os.chmod(path, 0o644)
    conn = sqlite3.connect(path, isolation_level=None)
    store.drop_triggers(conn)
    return conn


def test_rotate_twice_with_a_keyed_chain(tmp_path):
    db, key = tmp_path / "audit.db", b"secret-key"
    fill(db, key)
    first = rotate(db, dt.timedelta(days=6.5), key=key, now=NOW)
    assert (first.archived_rows, first.first_seq, first.last_seq) == (3, 1, 3)
    second = rotate(db, dt.timedelta(days=2.5), key=key, now=NOW)
    assert (second.first_seq, second.last_seq) == (4, 7)     # anchors are appended at the end (seq 11, 12)
    for path in (db, first.archive, second.archive):
        res = verify(path, key)
        assert res.ok, res.render()
    assert verify(first.archive, key).rows == 3 and verify(db, key).rows == 5    # 8..10 + two anchors
    # bodies still reassemble in the live db after their shared items were archived
    ev = EventStore(db).get(record(10)["id"], with_body=True)
    assert ev["request_body"] and "step 9" in ev["request_body"]
    with pytest.raises(AuditError, match="HMAC key"):
        rotate(db, dt.timedelta(days=1), key=b"other", now=NOW)


def test_archive_is_read_only_and_its_edits_are_caught(tmp_path):
    db = tmp_path / "audit.db"
    fill(db)
    arc = rotate(db, dt.timedelta(days=4.5), now=NOW).archive
    assert not os.access(arc, os.W_OK) or os.geteuid() == 0
    assert oct(os.stat(arc).st_mode & 0o777) == "0o400"      # holds the same prompts as the live db
    attacker(arc).execute("UPDATE events SET verdict = 'allow' WHERE seq = 2")
    res = verify(arc)
    assert not res.ok and res.error.seq == 2


def test_archive_trimmed_at_the_end_breaks_its_seal(tmp_path):
    db = tmp_path / "audit.db"
    fill(db)
    arc = rotate(db, dt.timedelta(days=4.5), now=NOW).archive
    conn = attacker(arc)
    conn.execute("DELETE FROM events WHERE seq = (SELECT MAX(seq) FROM events)")
    conn.execute("UPDATE sqlite_sequence SET seq = seq - 1 WHERE name = 'events'")
    res = verify(arc)
    assert not res.ok and "seal" in res.error.problem


def test_forged_anchor_cannot_hide_deleted_rows(tmp_path):
    db = tmp_path / "audit.db"
    fill(db)
    rotate(db, dt.timedelta(days=4.5), now=NOW)
    conn = attacker(db)
    conn.execute("UPDATE events SET extra = replace(extra, '\"archived_through_seq\":5', "
                 "'\"archived_through_seq\":6') WHERE event_type = 'anchor'")
    conn.execute("DELETE FROM events WHERE seq = 6")
    res = verify(db)
    assert not res.ok


def test_rotate_while_the_gateway_writes(tmp_path):
    db = tmp_path / "audit.db"
    fill(db, n=20)
    errors, done, written = [], threading.Event(), []

    def gateway():
        with AuditWriter(db, busy_timeout_ms=5000) as w:
            i = 100
            while not done.is_set() and i < 2000:
                i += 1
                try:
                    w.submit(record(i, timestamp=ts(0), request_body=responses_body(i % 15))).result(10)
                    written.append(i)
                except Exception as exc:      # noqa: BLE001
                    errors.append(exc)

    t = threading.Thread(target=gateway)
    t.start()
    try:
        while len(written) < 20 and t.is_alive():
            threading.Event().wait(0.005)
        res = rotate(db, dt.timedelta(days=10.5), now=NOW)
        res2 = rotate(db, dt.timedelta(days=5.5), now=NOW)
        during = len(written)
        while len(written) < during + 20 and t.is_alive():   # and it keeps writing after
            threading.Event().wait(0.005)
    finally:
        done.set()
        t.join(20)
    assert errors == []
    assert res.archived_rows == 9 and res2.archived_rows == 5      # 19..11 days old, then 10..6
    live = verify(db)
    assert live.ok, live.render()
    assert verify(res.archive).ok and verify(res2.archive).ok
    # every live row's body is complete
    es = EventStore(db)
    for row in es.select(decisions_only=True):
        body = es.get(row["id"], with_body=True)["request_body"]
        assert body is None or "$kt_missing_item" not in body


def test_nothing_to_rotate(tmp_path):
    db = tmp_path / "audit.db"
    fill(db, n=3)
    assert rotate(db, dt.timedelta(days=30), now=NOW).archived_rows == 0
    assert verify(db).rows == 3
