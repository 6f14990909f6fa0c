"""kt doctor asks the running gateway (GET /keeptrusts/status) what it runs, and checks that: its upstream
(--upstream included), key mode, config file, audit database and listeners, not this shell's defaults."""
from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner

from gateway_proc import Gateway, free_port
from test_doctor import Server
from test_doctor import write_config as doctor_config
from keeptrusts.cli.main import cli
from keeptrusts.diagnostics import FAIL, OK, WARN, Context, check_provider_key, probe_gateway


@pytest.fixture
def serve():
    made = []

    def make(routes):
        made.append(Server(routes=routes))
        return made[-1]

    yield make
    for s in made:
        s.close()


def write_config(path, upstream):
    return doctor_config(path.parent, upstream, name=path.name, pack="running-pack@2.0.0", key_env="DOCTOR_GW_KEY")


def health():
    return {"status": "healthy", "uptime_seconds": 3.0, "version": "0.1.0", "config": "running-pack@2.0.0",
            "config_error": None, "policies_loaded": 1, "requests_processed": 7,
            "audit": {"healthy": True, "last_error": None}}


def status(**over):
    return {"version": "0.1.0", "upstream": "https://api.openai.com", "upstream_overridden": False,
            "key_mode": "custody", "config_path": None, "config": "running-pack@2.0.0", "config_error": None,
            "fail_mode": "block", "intercept_hosts": ["api.openai.com"], "audit_db": None,
            "listen": [], "health": "healthy", **over}


@pytest.fixture
def running(tmp_path, serve):
    """A fake gateway whose config file says one upstream (dead) and whose status says another (alive)."""
    dead = free_port()
    upstream = serve({"/v1/models": (401, {"error": "no key"})})
    cfg = write_config(tmp_path / "gateway-config.yaml", f"http://127.0.0.1:{dead}")
    proxy_port = free_port()
    gw_port = free_port()
    st = status(upstream=f"http://127.0.0.1:{upstream.port}", upstream_overridden=True, config_path=str(cfg),
                audit_db=str(tmp_path / "gw-audit.db"),
                listen=[f"reverse:http://127.0.0.1:{upstream.port}@127.0.0.1:{gw_port}", f"regular@127.0.0.1:{proxy_port}"])
    gw = serve({"/health": (200, health()), "/keeptrusts/status": (200, st)})
    return gw, st, upstream, dead


def doctor(tmp_path, port, *extra, env=None):
    clear = {k: None for k in os.environ if k.upper().endswith("_PROXY") or k in (
        "SSL_CERT_FILE", "CODEX_CA_CERTIFICATE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "KEEPTRUSTS_UPSTREAM_URL",
        "DOCTOR_GW_KEY")}
    # Callers chdir to tmp_path: no ./policy-config.yaml there, so only the gateway can name the config.
    return CliRunner().invoke(cli, ["doctor", "--listen", f"127.0.0.1:{port}", "--json", "--timeout", "2", *extra],
                              env={**clear, "HOME": str(tmp_path), **(env or {})})


def by_name(result) -> dict:
    doc = json.loads(result.output)
    return {c["name"]: c for c in doc["checks"]}


def test_the_running_gateways_upstream_and_config_are_checked(tmp_path, running, monkeypatch):
    monkeypatch.chdir(tmp_path)
    gw, st, upstream, dead = running
    checks = by_name(doctor(tmp_path, gw.port))
    assert checks["upstream"]["status"] == OK, checks["upstream"]
    assert f"127.0.0.1:{upstream.port}" in checks["upstream"]["message"]
    assert "running gateway's upstream" in checks["upstream"]["message"]
    assert str(dead) not in checks["upstream"]["message"]      # the config file's base_url is not what runs
    assert st["config_path"] in checks["config"]["message"] and "running-pack@2.0.0" in checks["config"]["message"]
    assert checks["listen"]["status"] == OK and "fail-mode block" in checks["listen"]["message"]
    assert st["audit_db"] in checks["audit"]["message"]
    # The explicit-proxy port comes from the gateway's listeners: nothing listens there, and the gateway runs.
    assert "closed although the gateway runs" in checks["proxy_port"]["message"]


def test_an_explicit_config_is_still_checked_against_the_running_one(tmp_path, running, monkeypatch):
    monkeypatch.chdir(tmp_path)
    gw, st, upstream, _ = running
    other = tmp_path / "other.yaml"
    other.write_text(open(st["config_path"]).read().replace("running-pack", "other-pack"))
    checks = by_name(doctor(tmp_path, gw.port, "--policy-config", str(other)))
    assert str(other) in checks["config"]["message"]
    assert checks["listen"]["status"] == WARN and "different pack" in checks["listen"]["message"]


def test_without_a_gateway_the_config_file_and_shell_are_checked(tmp_path, serve, monkeypatch):
    monkeypatch.chdir(tmp_path)
    upstream = serve({"/v1/models": (401, {})})
    cfg = write_config(tmp_path / "c.yaml", f"http://127.0.0.1:{upstream.port}")
    checks = by_name(doctor(tmp_path, free_port(), "--policy-config", str(cfg), env={"DOCTOR_GW_KEY": "sk-x"}))
    assert checks["upstream"]["status"] == OK and "running gateway" not in checks["upstream"]["message"]
    assert checks["provider_key"]["status"] == OK and "DOCTOR_GW_KEY set" in checks["provider_key"]["message"]


@pytest.mark.parametrize("key_mode, shell_key, want, text", [
    ("custody", None, OK, "running gateway holds the provider key"),
    ("passthrough", "sk-in-my-shell", WARN, "running gateway has no DOCTOR_GW_KEY"),
])
def test_the_key_mode_is_the_gateways_not_this_shells(tmp_path, serve, key_mode, shell_key, want, text):
    cfg = write_config(tmp_path / "c.yaml", "https://api.openai.com")
    gw = serve({"/health": (200, health()), "/keeptrusts/status": (200, status(key_mode=key_mode, config_path=str(cfg)))})
    ctx = Context(str(cfg), listen=f"127.0.0.1:{gw.port}", timeout=2,
                  env={"DOCTOR_GW_KEY": shell_key} if shell_key else {})
    probe_gateway(ctx)
    from keeptrusts.diagnostics import check_config
    check_config(ctx)
    c = check_provider_key(ctx)
    assert c.status == want and text in c.message, c
    if want != OK:
        assert "restart kt gateway run" in c.fix


def test_fail_mode_allow_is_a_warning(tmp_path, serve):
    cfg = write_config(tmp_path / "c.yaml", "https://api.openai.com")
    gw = serve({"/health": (200, health()), "/keeptrusts/status": (200, status(fail_mode="allow", config_path=str(cfg)))})
    from keeptrusts.diagnostics import check_config, check_listen
    ctx = Context(str(cfg), listen=f"127.0.0.1:{gw.port}", timeout=2, env={})
    check_config(ctx)
    c = check_listen(ctx)
    assert c.status == WARN and "forwarded unscanned" in c.message


def test_a_gateway_without_the_status_endpoint_falls_back(tmp_path, serve):
    cfg = write_config(tmp_path / "c.yaml", "https://api.openai.com")
    gw = serve({"/health": (200, health())})
    ctx = Context(str(cfg), listen=f"127.0.0.1:{gw.port}", timeout=2, env={})
    probe_gateway(ctx)
    assert ctx.gateway_health is not None and ctx.gateway_status is None
    from keeptrusts.diagnostics import check_config
    check_config(ctx)
    assert check_provider_key(ctx).status == WARN   # this shell's variables, as before


def test_without_the_status_endpoint_the_upstream_in_health_is_used(tmp_path, serve):
    from keeptrusts.diagnostics import check_config, check_upstream
    upstream = serve({"/v1/models": (401, {})})
    cfg = write_config(tmp_path / "c.yaml", f"http://127.0.0.1:{free_port()}")
    gw = serve({"/health": (200, {**health(), "upstream": f"http://127.0.0.1:{upstream.port}"})})
    ctx = Context(str(cfg), listen=f"127.0.0.1:{gw.port}", timeout=2, env={})
    probe_gateway(ctx)
    check_config(ctx)
    c = check_upstream(ctx)
    assert c.status == OK and f"127.0.0.1:{upstream.port}" in c.message, c


def test_doctor_honours_upstream_given_to_the_real_gateway(tmp_path, fake_openai, monkeypatch):
    """`kt gateway run --upstream URL`: doctor checks URL, not the pack's api.openai.com."""
    monkeypatch.chdir(tmp_path)
    with Gateway(tmp_path / "gw", fake_openai.url) as gw:
        # The same user as the gateway: kt reads the gateway's admin token from its state folder.
        checks = by_name(doctor(tmp_path, gw.port, env={"KEEPTRUSTS_HOME": str(gw.home)}))
    up = checks["upstream"]
    assert up["status"] == OK and fake_openai.url.rstrip("/") in up["message"] and "running gateway" in up["message"], up
    assert "codex-cli.yaml" in checks["config"]["message"]
    assert checks["proxy_port"]["status"] == OK, checks["proxy_port"]   # its --proxy-listen, from its status
    assert str(gw.audit_db) in checks["audit"]["message"], checks["audit"]   # its --audit-db, not the default
