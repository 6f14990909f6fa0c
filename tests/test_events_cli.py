"""`kt events tail/show/export` and `kt audit verify/rotate` as a user runs them."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sqlite3
import subprocess
import sys
import time

import click
import pytest
from click.testing import CliRunner

from keeptrusts.audit import AuditWriter
from keeptrusts.audit import store
from keeptrusts.cli.main import cli

from audit_helpers import record, responses_body


def ts(minutes_ago: float) -> str:
    t = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=minutes_ago)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "audit.db"
    with AuditWriter(path, hmac_key=b"") as w:
        w.submit(record(1, timestamp=ts(3 * 24 * 60), developer="alice", verdict="allow", reason_code="all_policies_passed",
                        policies=[{"policy": "pii-detector", "verdict": "allow"}])).result(5)
        w.submit(record(2, timestamp=ts(90), developer="bob", verdict="block", reason_code="prompt_injection_detected",
                        model="gpt-5", policies=[{"policy": "prompt-injection", "verdict": "block",
                                                  "reason_code": "prompt_injection_detected", "phase": "input"}],
                        usage=None)).result(5)
        w.submit(record(3, timestamp=ts(2), developer="alice")).result(5)   # redact, pii-detector finding
    return path


def run(*args, env=None):
    r = CliRunner().invoke(cli, [str(a) for a in args], env=env or {"KEEPTRUSTS_AUDIT_HMAC_KEY": ""})
    return r


def test_tail_prints_one_readable_line_per_exchange(db):
    r = run("events", "tail", "--db", db)
    assert r.exit_code == 0, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 4 and lines[0].split()[:4] == ["TIME", "ID", "VERDICT", "REASON"]
    last = lines[-1]
    for part in (record(3)["id"], "alice", "gpt-4o", "POST /v1/responses", "redact", "pii_detected",
                 "[pii-detector]", "1,000", " 50 ", "$0.0027", "812ms"):
        assert part in last
    assert "block     prompt_injection_detected" in lines[2] and "[prompt-injection]" in lines[2]
    assert "\x1b[" not in r.output          # not a terminal: no colour codes


def test_tail_columns_line_up_whatever_the_values(tmp_path):
    path = tmp_path / "audit.db"
    with AuditWriter(path, hmac_key=b"") as w:
        w.submit(record(1, developer="al", verdict="allow", reason_code="all_policies_passed", model="o3")).result(5)
        w.submit(record(2, developer="a-developer-with-a-very-long-name", verdict="block", usage=None, status=409,
                        reason_code="a_very_long_reason_code_from_a_custom_policy", model="gpt-5.1-codex-max-preview",
                        policies=[{"policy": "prompt-injection", "verdict": "block"},
                                  {"policy": "prompt-injection", "verdict": "block", "phase": "output"}])).result(5)
        w.submit(record(3, developer="bob", usage={"input_tokens": 123456789, "output_tokens": 98765})).result(5)
    lines = run("events", "tail", "--db", path).output.splitlines()
    header = lines[0]
    for title in ("ID", "VERDICT", "REASON", "DEVELOPER", "MODEL"):     # left-aligned: starts line up
        col = header.index(title)
        assert all(l[col - 2:col] == "  " and l[col] != " " for l in lines[1:]), (title, lines)
    for title in ("IN", "OUT", "COST", "LATENCY"):                       # right-aligned: ends line up
        end = header.index(f" {title} ") + len(title) + 1
        assert all(l[end - 1] != " " and l[end:end + 2] == "  " for l in lines[1:]), (title, lines)
    assert "a-developer-w\u2026" in lines[2] and " 123.5M   98,765 " in lines[3]
    assert "[prompt-injection]  POST /v1/responses status=409" in lines[2]   # each policy once


def test_tail_colours_verdicts_only_when_asked_or_on_a_terminal(db):
    r = run("events", "tail", "--db", db, "--color")
    red, green, cyan = click.style("block", fg="red", bold=True)[:-len("block\x1b[0m")], "\x1b[32m", "\x1b[36m"
    lines = r.output.splitlines()
    assert red in lines[2] and green in lines[1] and cyan in lines[3]
    assert click.unstyle(r.output) == run("events", "tail", "--db", db).output   # same text, same columns
    assert "\x1b[" not in run("events", "tail", "--db", db, "--no-color").output
    # On a real terminal: coloured, unless NO_COLOR is set.
    for env, coloured in (({}, True), ({"NO_COLOR": "1"}, False)):
        out = _on_a_terminal(["events", "tail", "--db", str(db)], env)
        assert ("\x1b[31m" in out) is coloured, out
        assert "prompt_injection_detected" in out


def _on_a_terminal(args: list[str], env: dict) -> str:
    import os
    import pty
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-c", "from keeptrusts.cli.main import main; main()", *args],
                            stdout=follower, stderr=follower, env={**os.environ, "NO_COLOR": "", **env})
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:          # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(30)
    os.close(leader)
    return b"".join(chunks).decode()


@pytest.mark.parametrize("args,expected", [
    (["--verdict", "block"], [2]),
    (["--verdict", "block", "--verdict", "redact"], [2, 3]),
    (["--since", "1h"], [3]),
    (["--since", "2d"], [2, 3]),
    (["--developer", "alice"], [1, 3]),
    (["--policy", "prompt-injection"], [2]),
    (["--policy", "pii-detector"], [3]),
    (["--limit", "1"], [3]),
])
def test_tail_filters(db, args, expected):
    r = run("events", "tail", "--db", db, "--json", *args)
    assert r.exit_code == 0, r.output
    got = [json.loads(l)["id"] for l in r.output.splitlines()]
    assert got == [record(i)["id"] for i in expected]


def test_tail_json_follows_the_reference_event_shape(db):
    ev = json.loads(run("events", "tail", "--db", db, "--json", "--limit", "1").output)
    for key in ("id", "event_type", "timestamp", "verdict", "reason_code", "model", "provider", "config_version"):
        assert key in ev
    assert ev["event_type"] == "decision" and ev["user_id"] == "alice"
    assert ev["tokens"] == {"input": 1000, "cached_input": 200, "output": 50, "reasoning": 10}
    assert ev["cost_usd"] == pytest.approx(0.00275)
    assert ev["policies"][0]["policy"] == "pii-detector"


def test_bad_since_and_missing_db_are_one_line_errors(db, tmp_path):
    r = run("events", "tail", "--db", db, "--since", "yesterday")
    assert r.exit_code == 1 and "--since" in r.output and "7d" in r.output
    r = run("events", "tail", "--db", tmp_path / "nope.db")
    assert r.exit_code == 1 and "no audit database" in r.output and "--db" in r.output


def test_show_prints_the_exchange_with_redactions_but_no_values(db):
    r = run("events", "show", record(3)["id"], "--db", db)
    assert r.exit_code == 0, r.output
    assert "EMAIL_ADDRESS" in r.output and "<PII:EMAIL_ADDRESS:0c9d2e11>" in r.output
    assert "alice" in r.output
    assert "input: 4 items" in r.output and "step 1" in r.output
    assert "table:gpt-4o" in r.output
    r = run("events", "show", record(3)["id"][4:], "--db", db, "--json")   # without "evt_", JSON
    assert json.loads(json.loads(r.output)["request_body"]) == json.loads(responses_body(2))
    r = run("events", "show", "evt_0000", "--db", db)
    assert r.exit_code == 1 and "matches 3 events" in r.output
    r = run("events", "show", "evt_nope", "--db", db)
    assert r.exit_code == 1 and "no event evt_nope" in r.output


def test_show_lists_each_policy_once_and_sums_up_the_allows(tmp_path):
    """Real rows carry one verdict per policy and phase (input, output, each tool call)."""
    path = tmp_path / "audit.db"
    allow_all = [{"policy": name, "verdict": "allow", "reason_code": "all_policies_passed", "phase": phase,
                  "duration_ms": 0.5}
                 for phase in ("input", "output") for name in ("pii-detector", "code-sanitation", "safety-filter",
                                                               "quality-scorer", "audit-logger")]
    fw = {"policy": "agent-firewall", "verdict": "block", "reason_code": "curl-pipe-shell", "phase": "tool",
          "message": "Blocked by keeptrusts agent-firewall: curl-pipe-shell: curl x | sh", "duration_ms": 1.0,
          "findings": [{"type": "curl-pipe-shell", "action": "block", "where": "output[1]", "rule": "curl-pipe-shell"}]}
    secret = {"type": "github_token", "action": "redact", "placeholder": "<SECRET:github_token:7f3a9c>"}
    cs = {"policy": "code-sanitation", "verdict": "redact", "reason_code": "secret_detected", "phase": "input",
          "findings": [{**secret, "where": f"input[{i}].output"} for i in (1, 3, 5)]}
    with AuditWriter(path, hmac_key=b"") as w:
        w.submit(record(1, verdict="block", policies=allow_all + [cs, fw, fw])).result(5)
    out = run("events", "show", record(1)["id"], "--db", path).output
    policies = out[out.index("Policies:"):out.index("Findings")].splitlines()
    assert policies == [
        "Policies:",
        "  code-sanitation: redact  (input x2, output; 1.0ms)",
        "      input: redact secret_detected",
        "  agent-firewall: block  (tool x2; 2.0ms)",
        "      tool: block curl-pipe-shell",
        "        message: Blocked by keeptrusts agent-firewall: curl-pipe-shell: curl x | sh",
        "  4 policies allowed: pii-detector, safety-filter, quality-scorer, audit-logger  (--all for details)",
    ]
    assert out.count("<SECRET:github_token:7f3a9c>") == 1
    assert "3 places: input[1].output, input[3].output, input[5].output" in out
    out = run("events", "show", record(1)["id"], "--db", path, "--all").output
    assert "  pii-detector: allow  (input, output; 1.0ms)" in out and "policies allowed" not in out
    assert out.count("pii-detector:") == 1


def test_export_json_and_csv(db, tmp_path):
    out = tmp_path / "events.json"
    r = run("events", "export", "--db", db, "--format", "json", "--output", out, "--since", "2d")
    assert r.exit_code == 0, r.output
    assert [e["id"] for e in json.loads(out.read_text())] == [record(2)["id"], record(3)["id"]]
    r = run("events", "export", "--db", db, "--format", "csv", "--until", "1h")
    rows = list(csv.DictReader(io.StringIO(r.output)))
    assert [row["id"] for row in rows] == [record(1)["id"], record(2)["id"]]
    assert rows[1]["verdict"] == "block" and rows[1]["developer"] == "bob"


def test_verify_cli_ok_then_broken(db):
    r = run("audit", "verify", "--db", db)
    assert r.exit_code == 0 and r.output.startswith("OK 3 rows")
    conn = sqlite3.connect(db, isolation_level=None)
    store.drop_triggers(conn)
    conn.execute("UPDATE events SET verdict = 'allow' WHERE seq = 2")
    r = run("audit", "verify", "--db", db)
    assert r.exit_code == 1 and "row seq 2" in r.output and "edited" in r.output
    r = run("audit", "verify", "--db", db, "--json")
    assert r.exit_code == 1 and json.loads(r.output)["error"]["seq"] == 2


def test_rotate_cli_archives_old_rows_and_both_files_verify(db, tmp_path):
    r = run("audit", "rotate", "--db", db, "--keep", "1d")
    assert r.exit_code == 0, r.output
    assert "Archived 1 rows" in r.output
    archive = next(tmp_path.glob("audit-archive-*.db"))
    assert run("audit", "verify", "--db", archive).output.startswith("OK 1 rows")
    r = run("audit", "verify", "--db", db)
    assert r.exit_code == 0 and r.output.startswith("OK 3 rows")     # 2 kept + the anchor
    # The gateway keeps writing after a rotation; the chain stays valid.
    with AuditWriter(db, hmac_key=b"") as w:
        w.submit(record(9, timestamp=ts(0))).result(5)
    assert run("audit", "verify", "--db", db).output.startswith("OK 4 rows")
    tail = run("events", "tail", "--db", db, "--json").output.splitlines()
    assert [json.loads(l)["id"] for l in tail] == [record(i)["id"] for i in (2, 3, 9)]
    r = run("audit", "rotate", "--db", db, "--keep", "soon")
    assert r.exit_code == 1 and "--keep" in r.output


def test_tail_follow_sees_rows_while_the_gateway_writes(tmp_path):
    """A follower in another process prints every new row once, in order; the writer never waits."""
    db = tmp_path / "audit.db"
    w = AuditWriter(db, busy_timeout_ms=100, hmac_key=b"").start()
    w.submit(record(0)).result(5)
    proc = subprocess.Popen(
        [sys.executable, "-c", "from keeptrusts.cli.main import main; main()", "events", "tail", "--db", str(db),
         "--follow", "--poll-interval", "0.05", "--follow-seconds", "8", "--json"],
        stdout=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        assert json.loads(first)["id"] == record(0)["id"]
        ids = []
        for i in range(1, 201):
            ids.append(record(i)["id"])
            w.submit(record(i, request_body=responses_body(i % 8))).result(5)
            if i % 20 == 0:
                time.sleep(0.02)
        assert w.healthy
        seen = []
        deadline = time.monotonic() + 8
        while len(seen) < 200 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(json.loads(line)["id"])
        assert seen == ids
    finally:
        proc.kill()
        proc.wait(5)
        w.close()


def test_tail_follow_plain_lines_line_up_with_the_header(tmp_path):
    db = tmp_path / "audit.db"
    w = AuditWriter(db, hmac_key=b"").start()
    w.submit(record(0, developer="al")).result(5)
    proc = subprocess.Popen(
        [sys.executable, "-c", "from keeptrusts.cli.main import main; main()", "events", "tail", "--db", str(db),
         "--follow", "--poll-interval", "0.05", "--follow-seconds", "20"], stdout=subprocess.PIPE, text=True)
    try:
        header, first = proc.stdout.readline(), proc.stdout.readline()
        w.submit(record(1, developer="a-much-longer-developer-name", verdict="block", usage=None)).result(5)
        later = proc.stdout.readline()
        assert header.startswith("TIME") and record(0)["id"] in first and record(1)["id"] in later
        for title in ("VERDICT", "DEVELOPER", "MODEL"):
            col = header.index(title)
            assert first[col - 2:col] == later[col - 2:col] == "  " and " " not in (first[col], later[col])
        assert "\x1b[" not in first + later                  # a pipe, not a terminal
    finally:
        proc.kill()
        proc.wait(5)
        w.close()


def test_keyed_chain_written_by_the_gateway_verifies_with_the_env_key(tmp_path, monkeypatch):
    """The gateway and `kt audit verify` both take the key from KEEPTRUSTS_AUDIT_HMAC_KEY."""
    db = tmp_path / "audit.db"
    monkeypatch.setenv("KEEPTRUSTS_AUDIT_HMAC_KEY", "0123456789abcdef0123456789abcdef")
    with AuditWriter(db) as w:
        w.submit(record(1)).result(5)
    env = {"KEEPTRUSTS_AUDIT_HMAC_KEY": "0123456789abcdef0123456789abcdef"}
    r = run("audit", "verify", "--db", db, env=env)
    assert r.exit_code == 0 and "hmac-sha256" in r.output
    r = run("audit", "verify", "--db", db, env={"KEEPTRUSTS_AUDIT_HMAC_KEY": ""})
    assert r.exit_code == 3 and "set KEEPTRUSTS_AUDIT_HMAC_KEY" in r.output    # 3: a key problem, not a broken chain
