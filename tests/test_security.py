"""Security properties of a real gateway process.

- Listeners bind loopback by default; any other address needs --allow-remote and required identity.
- Planted values (provider key, client key, gateway token, audit HMAC key, secrets and PII in prompts)
  never land in the log (debug level), the audit database files, the state directory, error
  messages, or a flow file recorded through the addon.
- Key material (CA private key, redaction key, tokens db) is created mode 0600; the CA is unique per
  installation.
- Explicit mode is not an open proxy: other hosts are tunnelled, never intercepted; an egress
  allow-list refuses what is not on it.
"""
from __future__ import annotations

import json
import os
import socket
import ssl
import stat
import subprocess
import sys
import time
from pathlib import Path

import openai
import pytest
from click.testing import CliRunner
from fake_openai import FakeOpenAI, call, text
from gateway_proc import DEFAULT_PACK, KT, Gateway, clean_env, free_port, wait_rows
from websockets.sync.client import connect

from keeptrusts.cli.gateway import run as gateway_run
from keeptrusts.cli.main import cli

PROVIDER_KEY = "sk-proj-PLANTEDprovider0key0Zx81Qw7Rt5Yu3Io9Pa2Sd4Fg6Hj"
CLIENT_KEY = "sk-PLANTEDclient0key0Lk3Mn5Bv7Cx9Za1Qs2We4Rd"
HMAC_KEY = "PLANTED-audit-hmac-key-7f1c2e9a0b4d"
AWS_KEY = "AKIAZ7QWERTY5PLNT4KX"
GITHUB_TOKEN = "ghp_PLNTr8bN2kQ7xZ4mV9cL1tY6pW3sD5fH0jGq"  # well-formed: ghp_ + 36
EMAIL = "planted.person.0417@example-corp.com"
PRIVATE_KEY = ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAplantedKEYmaterial0123456789abcdefABCDEF"
               "ghijklmnopqrstuvwxyz0123456789\n-----END RSA PRIVATE KEY-----")
SECRET_TEXT = (f"deploy with aws_access_key_id = {AWS_KEY} and GITHUB_TOKEN={GITHUB_TOKEN}; "
               f"mail {EMAIL}\n{PRIVATE_KEY}")


# ------------------------------------------------------------------------------------------ listeners
def listening_addresses(pid: int) -> list[str]:
    """Local addresses of the TCP sockets process `pid` listens on (from /proc, no extra tools)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    out = []
    for table, v6 in (("tcp", False), ("tcp6", True)):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            f = line.split()
            if f[3] == "0A" and f[9] in inodes:  # 0A = LISTEN
                hexaddr = f[1].split(":")[0]
                raw = bytes.fromhex(hexaddr)
                if v6:
                    raw = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
                    out.append(socket.inet_ntop(socket.AF_INET6, raw))
                else:
                    out.append(socket.inet_ntop(socket.AF_INET, raw[::-1]))
    return out


def test_default_listen_addresses_are_loopback():
    out = CliRunner().invoke(cli, ["gateway", "run", "--help"]).output
    assert "127.0.0.1:41002" in out and "127.0.0.1:41003" in out
    assert "0.0.0.0" not in out
    allow_remote = next(p for p in gateway_run.params if p.name == "allow_remote")
    assert allow_remote.is_flag  # off unless given


def test_non_loopback_listen_from_the_config_is_refused_too(tmp_path):
    cfg = tmp_path / "remote.yaml"
    cfg.write_text(DEFAULT_PACK.read_text() + "\ngateway:\n  listen: 0.0.0.0:0\n")
    r = CliRunner().invoke(cli, ["gateway", "run", "--policy-config", str(cfg)])
    assert r.exit_code != 0 and "not a loopback address" in r.output, r.output


@pytest.mark.parametrize("flag,addr", [("--listen", "0.0.0.0:0"), ("--listen", "[::]:0"),
                                       ("--listen", "192.168.1.10:0"), ("--proxy-listen", "0.0.0.0:0"),
                                       ("--listen", "gateway.example.com:0")])
def test_non_loopback_listen_is_refused_without_flags(flag, addr):
    r = CliRunner().invoke(cli, ["gateway", "run", "--policy-config", str(DEFAULT_PACK), flag, addr])
    assert r.exit_code != 0 and "not a loopback address" in r.output, r.output


def test_an_empty_host_means_loopback_not_all_interfaces():
    from keeptrusts.cli.gateway import parse_listen
    assert parse_listen(":41002", "--listen") == ("127.0.0.1", 41002)
    assert parse_listen("41002", "--listen") == ("127.0.0.1", 41002)


def test_allow_remote_still_needs_required_identity():
    r = CliRunner().invoke(cli, ["gateway", "run", "--policy-config", str(DEFAULT_PACK), "--listen", "0.0.0.0:0",
                                 "--allow-remote"])
    assert r.exit_code != 0 and "require_identity" in r.output


# ------------------------------------------------------------------------------------------ no leaks
@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One end-to-end run with every planted value, at debug log level. Returns what it left behind."""
    tmp = tmp_path_factory.mktemp("sec")
    certs = tmp / "certs"
    with FakeOpenAI(script=["Sure.", "Done.", [call("exec_command", {"cmd": "ls"})], "ok", "ok", "ok"]) as fake:
        gw = Gateway(tmp, fake.url, args=["--log-level", "debug"], certs=certs,
                     env={"OPENAI_API_KEY": PROVIDER_KEY, "KEEPTRUSTS_AUDIT_HMAC_KEY": HMAC_KEY})
        gw.home.mkdir(parents=True, exist_ok=True)
        tok = subprocess.run([str(KT), "tokens", "create", "alice", "--json"], capture_output=True, text=True,
                             env=gw.env(), timeout=60)
        assert tok.returncode == 0, tok.stderr
        token = json.loads(tok.stdout)["token"]
        client_saw: list[str] = []
        try:
            gw.start(120)
            c = openai.OpenAI(base_url=gw.base_url, api_key=CLIENT_KEY, max_retries=0)
            c.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": SECRET_TEXT}])
            t = openai.OpenAI(base_url=gw.base_url, api_key=token, max_retries=0)
            for ev in t.responses.create(model="gpt-5", input=SECRET_TEXT, stream=True):
                client_saw.append(ev.model_dump_json())
            c.responses.create(model="gpt-5", input=[{"role": "user", "content": SECRET_TEXT}])
            with connect(f"ws://127.0.0.1:{gw.port}/v1/responses",
                         additional_headers={"authorization": f"Bearer {token}"}) as ws:
                ws.send(json.dumps({"type": "response.create", "model": "gpt-5", "input": SECRET_TEXT}))
                while True:
                    m = ws.recv(timeout=30)
                    client_saw.append(m)
                    if '"response.completed"' in m or '"response.failed"' in m:
                        break
            # Error paths: each answer must not echo a key or a secret back.
            bad = openai.OpenAI(base_url=gw.base_url, api_key="kt_gk_" + "PLANTEDbogus" * 3, max_retries=0)
            for fn in (lambda: bad.responses.create(model="gpt-5", input=SECRET_TEXT),
                       lambda: c.post("/responses", cast_to=object, body=SECRET_TEXT),  # not JSON
                       lambda: c.post("/responses", cast_to=object, body={"model": "x", "input": 5, "s": SECRET_TEXT}),
                       lambda: c.post("/chat/completions", cast_to=object,
                                      body={"model": "x", "messages": "not a list " + SECRET_TEXT})):
                try:
                    fn()
                except openai.APIStatusError as exc:
                    client_saw.append(exc.response.text)
            wait_rows(gw.audit_db, 6)
        finally:
            gw.stop()
        upstream_auth = [r.headers.get("authorization", "") for r in fake.requests]
    yield {"gw": gw, "tmp": tmp, "token": token, "client_saw": client_saw, "upstream_auth": upstream_auth,
           "certs": certs}


def artefacts(tmp: Path) -> dict[str, bytes]:
    """Every file the run left behind (log, audit db + WAL, state dir, tokens db), except the CA."""
    out = {}
    for p in tmp.rglob("*"):
        if p.is_file() and "certs" not in p.parts:
            out[str(p.relative_to(tmp))] = p.read_bytes()
    return out


PLANTED = {"provider key": PROVIDER_KEY, "client key": CLIENT_KEY, "audit HMAC key": HMAC_KEY, "AWS key": AWS_KEY,
           "GitHub token": GITHUB_TOKEN, "email": EMAIL, "private key": "plantedKEYmaterial"}


def test_the_run_really_carried_the_planted_values(run):
    # Otherwise the grep below proves nothing: the gateway swapped the token for the provider key.
    assert any(PROVIDER_KEY in a for a in run["upstream_auth"])
    assert run["token"].startswith("kt_") and not any(run["token"] in a for a in run["upstream_auth"])
    files = artefacts(run["tmp"])
    assert any(name.endswith(".log") and len(data) > 1000 for name, data in files.items())
    assert any(name.endswith("audit.db") for name in files)


def test_no_planted_value_in_any_artefact(run):
    files = artefacts(run["tmp"])
    planted = dict(PLANTED, **{"gateway token": run["token"]})
    leaks = [(what, name) for name, data in files.items() for what, value in planted.items()
             if value.encode() in data]
    assert not leaks, f"planted values found in artefacts: {leaks}"


def test_no_planted_value_in_answers_or_error_messages(run):
    saw = "\n".join(run["client_saw"])
    assert "error" in saw  # the error paths were exercised
    planted = dict(PLANTED, **{"gateway token": run["token"]})
    leaks = [what for what, value in planted.items() if value in saw]
    # The model's own answers may echo placeholders, never originals; errors never echo a key.
    assert not leaks, leaks


def test_key_material_is_private(run):
    gw = run["gw"]
    ca_key = run["certs"] / "mitmproxy-ca.pem"
    assert ca_key.exists()
    for p in [ca_key, *gw.home.rglob("*key*"), *gw.home.rglob("tokens.db")]:
        if p.is_file():
            mode = stat.S_IMODE(p.stat().st_mode)
            assert mode & 0o077 == 0, f"{p} is mode {oct(mode)}"


def test_ca_is_unique_per_installation(tmp_path):
    cas = []
    for n in range(2):
        env = clean_env(KEEPTRUSTS_HOME=str(tmp_path / f"home{n}"), KEEPTRUSTS_CERTS=str(tmp_path / f"certs{n}"))
        r = subprocess.run([str(KT), "certs", "--json"], capture_output=True, text=True, env=env, timeout=60)
        assert r.returncode == 0, r.stderr
        ca = Path(json.loads(r.stdout)["ca_cert"])
        cas.append(ca.read_bytes())
        key = ca.with_name("mitmproxy-ca.pem")
        assert stat.S_IMODE(key.stat().st_mode) & 0o077 == 0
    assert cas[0] != cas[1]


def test_recorded_flows_hold_redacted_prompts(tmp_path):
    """`mitmdump -s addons/keeptrusts.py -w FILE`: the flow file holds what was forwarded, i.e. placeholders."""
    root = Path(__file__).resolve().parents[1]
    flows = tmp_path / "flows.mitm"
    with FakeOpenAI(script=["ok"]) as fake:
        port = free_port()
        env = clean_env(KEEPTRUSTS_HOME=str(tmp_path / "home"))
        p = subprocess.Popen([str(Path(sys.executable).with_name("mitmdump")), "-q", "-s", str(root / "addons" / "keeptrusts.py"),
                              "--set", f"keeptrusts_config={DEFAULT_PACK}", "--set", f"keeptrusts_audit_db={tmp_path / 'a.db'}",
                              "--set", f"confdir={tmp_path / 'conf'}", "--mode", f"reverse:{fake.url}@127.0.0.1:{port}",
                              "-w", str(flows)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            c = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=CLIENT_KEY, max_retries=0)
            while True:
                try:
                    c.responses.create(model="gpt-5", input=SECRET_TEXT)
                    break
                except openai.APIConnectionError:
                    assert time.monotonic() < deadline and p.poll() is None, "mitmdump did not start"
                    time.sleep(0.2)
        finally:
            p.terminate()
            p.wait(30)
    data = flows.read_bytes()
    assert b"<SECRET:" in data or b"<PII:" in data
    for what in ("AWS key", "GitHub token", "email", "private key"):
        assert PLANTED[what].encode() not in data, what


# ------------------------------------------------------------------------------------------ not an open proxy
@pytest.fixture(scope="module")
def proxy_gw(tmp_path_factory):
    with FakeOpenAI(script=["hi"] * 10) as fake, FakeOpenAI(tls=True, script=["other"] * 10) as other:
        tmp = tmp_path_factory.mktemp("proxy")
        cfg = tmp / "policy.yaml"
        cfg.write_text(DEFAULT_PACK.read_text() + "\ngateway:\n  egress_allowlist: [allowed.example]\n")
        gw = Gateway(tmp, fake.url, config=cfg)
        try:
            gw.start(120)
            yield gw, fake, other
        finally:
            gw.stop()


def connect_via_proxy(gw: Gateway, host: str, port: int) -> tuple[int, socket.socket]:
    s = socket.create_connection(("127.0.0.1", gw.proxy_port), timeout=10)
    s.sendall(f"CONNECT {host}:{port} HTTP/1.1\r\nhost: {host}:{port}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            break
        head += chunk
    return int(head.split()[1]), s


def test_egress_allow_list_refuses_other_hosts(proxy_gw):
    gw, _, _ = proxy_gw
    status, s = connect_via_proxy(gw, "evil.example", 443)
    s.close()
    assert status == 403


def test_non_api_hosts_are_tunnelled_not_intercepted(proxy_gw, tmp_path):
    """A host that is not an OpenAI API host gets the raw tunnel: the client sees the origin's own
    certificate (not one minted by our CA), and the gateway audits nothing for it."""
    gw, _, other = proxy_gw
    cfg2 = tmp_path / "open.yaml"
    cfg2.write_text(DEFAULT_PACK.read_text())
    g2 = Gateway(tmp_path, gw.upstream, config=cfg2)
    try:
        g2.start(120)
        status, s = connect_via_proxy(g2, "127.0.0.1", other.port)
        assert status == 200
        ctx = ssl.create_default_context(cafile=str(other.ca_path))  # trusts ONLY the origin's CA
        with ctx.wrap_socket(s, server_hostname="localhost") as tls:
            tls.sendall(b"GET /v1/models HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
            body = b""
            while chunk := tls.recv(65536):
                body += chunk
        assert body.startswith(b"HTTP/1.1 200")
        time.sleep(1)
        from gateway_proc import audit_rows
        assert not g2.audit_db.exists() or not audit_rows(g2.audit_db, with_body=False)
    finally:
        g2.stop()


def test_listeners_are_loopback_only(proxy_gw):
    gw, _, _ = proxy_gw
    addrs = listening_addresses(gw.proc.pid)
    assert addrs and all(a in ("127.0.0.1", "::1") for a in addrs), addrs
