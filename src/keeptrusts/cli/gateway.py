"""`kt gateway run`: one mitmproxy process with the Keeptrusts addon, in both proxy modes.

- reverse mode on --listen (default 127.0.0.1:41002): clients set base URL http://127.0.0.1:41002/v1
- explicit HTTPS proxy on --proxy-listen (default 127.0.0.1:41003): HTTPS_PROXY + our CA; TLS is
  intercepted for the OpenAI API hosts only, every other host is tunnelled untouched. Plain
  `/v1/...` requests sent to that port are served as in reverse mode, so one port can do both.
"""
from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import signal
import socket
import sys
import tempfile
from pathlib import Path

import click

from .. import paths
from ..config import ConfigError, load_config
from .certs import CAError, ensure_ca
from ..logging_setup import route_mitmproxy_logs, setup_logging
from ..runtime import Upstream

LOOPBACK_NAMES = ("localhost",)


def parse_listen(value: str, flag: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", value
    host = host.strip("[]") or "127.0.0.1"
    try:
        p = int(port)
        if not 0 <= p <= 65535:
            raise ValueError
    except ValueError:
        raise click.ClickException(f"{flag} {value!r}: expected HOST:PORT with a port from 0 to 65535, e.g. 127.0.0.1:41002") from None
    return host, p


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# ------------------------------------------------------------------ startup checks
# mitmproxy reports a busy port or an unwritable file as "Errors logged during startup, exiting..."
# (the reason, if any, in a traceback). These run first and fail in one line that names the fix.

def check_port_free(host: str, port: int, flag: str) -> None:
    """Bind the address the way mitmproxy will (SO_REUSEADDR), then let it go."""
    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise click.ClickException(f"{flag} {host}:{port}: cannot resolve {host} ({exc.strerror})") from None
    for family, type_, proto, _, addr in infos:
        with socket.socket(family, type_, proto) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                s.bind(addr)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise click.ClickException(_busy_message(host, port, flag)) from None
                if exc.errno == errno.EADDRNOTAVAIL and family == socket.AF_INET6 and len(infos) > 1:
                    continue   # "localhost" on a machine without IPv6: the IPv4 address is enough
                if exc.errno == errno.EACCES:
                    raise click.ClickException(f"{flag} {host}:{port}: permission denied (ports below 1024 need "
                                               f"privileges); use a higher port, e.g. {flag} {host}:41002") from None
                raise click.ClickException(f"{flag} {host}:{port}: cannot listen there: {exc.strerror}") from None


def _busy_message(host: str, port: int, flag: str) -> str:
    from ..diagnostics import gateway_health

    health = gateway_health(host, port, timeout=1.0)
    who = (f"a Keeptrusts gateway is already running there ({health.get('config')}, {health.get('status')})"
           if health else "another program listens there")
    return (f"port {port} on {host} is already in use ({flag}): {who}. Stop it, or choose a free port with "
            f"{flag} 127.0.0.1:PORT; `kt doctor {'--proxy-listen' if flag == '--proxy-listen' else '--listen'} "
            f"{host}:{port}` shows what answers there")


def check_writable_folder(folder: Path, what: str, fix: str) -> None:
    """The folder exists (created if needed) and a file can be created in it."""
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise click.ClickException(f"{what}: {existing} is a file, not a folder; {fix}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".kt-write-check-"):
            pass
    except OSError as exc:
        where = exc.filename if exc.filename and str(exc.filename) != str(folder) else folder
        raise click.ClickException(f"{what}: {where} is not writable ({exc.strerror or exc}); {fix}") from None


def check_audit_path(db: Path) -> None:
    fix = "pass --audit-db PATH in a writable folder (or fix the permissions)"
    if db.is_dir():
        raise click.ClickException(f"audit database {db} is a folder, not a file; {fix}")
    # SQLite writes a -wal file beside the database, so the folder must be writable too.
    check_writable_folder(db.parent, f"audit database {db} cannot be written", fix)
    if db.exists():
        try:
            with open(db, "ab"):
                pass
        except OSError as exc:
            raise click.ClickException(f"audit database {db} cannot be written ({exc.strerror}); {fix}") from None


def startup_checks(listeners: list[tuple[str, int, str]], audit_db: Path, confdir: Path) -> None:
    """Everything that would make mitmproxy exit at startup, as one-line errors with the fix."""
    seen: dict[int, str] = {}
    for host, port, flag in listeners:
        if port and port in seen:
            raise click.ClickException(f"{seen[port]} and {flag} both use port {port}; give them different ports "
                                       "(or --proxy-listen off)")
        seen[port] = flag
    for host, port, flag in listeners:
        check_port_free(host, port, flag)
    check_writable_folder(paths.state_dir(), "state folder (redaction key, tokens)",
                          "set KEEPTRUSTS_HOME to a writable folder")
    check_audit_path(audit_db)
    try:
        ensure_ca(confdir)
    except CAError as exc:
        raise click.ClickException(str(exc)) from None


async def _run(opts_update: dict, level: str) -> int:
    from mitmproxy import exceptions, options
    from mitmproxy.tools.dump import DumpMaster

    from ..addon import Keeptrusts

    logging.getLogger().setLevel(logging.DEBUG if level == "debug" else logging.INFO)
    for noisy in ("tornado", "asyncio", "hpack", "quic", "urwid", "presidio-analyzer", "presidio_analyzer"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    opts = options.Options()
    master = DumpMaster(opts, with_termlog=True, with_dumper=False)
    # The addon's own options start at their final values, so the config is loaded once, the right one.
    master.addons.add(Keeptrusts({k: v for k, v in opts_update.items() if k.startswith("keeptrusts_")}))
    try:
        opts.update(**opts_update)
    except exceptions.OptionsError as exc:
        click.echo(f"kt gateway run: {exc}", err=True)
        return 2
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, master.shutdown)
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    await master.run()
    ec = master.addons.get("errorcheck")
    return 1 if ec is not None and getattr(ec, "has_errored", []) else 0


@click.group()
def gateway() -> None:
    """Run the gateway."""


@gateway.command()
@click.option("--policy-config", "policy_config", default="policy-config.yaml", show_default=True,
              type=click.Path(dir_okay=False), help="The policy-config.yaml to enforce (reloaded when it changes).")
@click.option("--listen", default=None,
              help="Reverse-proxy address: clients use http://HOST:PORT/v1 as base URL. "
                   "[default: gateway.listen in the config, else 127.0.0.1:41002]")
@click.option("--proxy-listen", default=None,
              help="Explicit HTTPS proxy address (HTTPS_PROXY=http://HOST:PORT); 'off' disables it. "
                   "[default: gateway.proxy_listen in the config, else 127.0.0.1:41003]")
@click.option("--upstream", envvar="KEEPTRUSTS_UPSTREAM_URL", default="",
              help="Upstream base URL (default: providers.targets[0].base_url, else https://api.openai.com).")
@click.option("--upstream-ca", type=click.Path(exists=True, dir_okay=False), default=None,
              help="CA bundle that signs the upstream's certificate (for a private upstream).")
@click.option("--fail-mode", type=click.Choice(["block", "allow"]), default=None,
              help="When a check cannot run: block (default) or allow (flagged as degraded).")
@click.option("--log-level", type=click.Choice(["debug", "info", "warn"]), default="info", show_default=True)
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--audit-db", type=click.Path(dir_okay=False), default=None,
              help=f"SQLite audit database (default {paths.audit_db()}).")
@click.option("--intercept-hosts", default="", help="Comma-separated hosts intercepted in explicit mode (default api.openai.com).")
@click.option("--allow-remote", is_flag=True,
              help="Allow listening on a non-loopback address (requires gateway tokens: identity.require or gateway.require_identity).")
def run(policy_config, listen, proxy_listen, upstream, upstream_ca, fail_mode, log_level, log_format, audit_db,
        intercept_hosts, allow_remote) -> None:
    """Start the gateway: reverse proxy + explicit HTTPS proxy, one process, the policy chain on every exchange."""
    try:
        cfg = load_config(policy_config)
    except ConfigError as exc:
        click.echo(exc.render(), err=True)
        raise click.ClickException(f"{policy_config} is not a valid policy config; fix the errors above "
                                   f"(`kt policy lint --file {policy_config}` shows them)") from None
    if upstream:
        try:
            Upstream.parse(upstream)
        except ValueError as exc:
            raise click.ClickException(f"--upstream: {exc}") from None
    gw = cfg.gateway
    listen = listen or gw.get("listen") or (f"127.0.0.1:{gw['listen_port']}" if gw.get("listen_port") else "127.0.0.1:41002")
    proxy_listen = proxy_listen or gw.get("proxy_listen") or "127.0.0.1:41003"
    lhost, lport = parse_listen(listen, "--listen")
    modes = []
    up = Upstream.parse(upstream or cfg.upstream_url())
    for host, flag in [(lhost, "--listen")] + ([] if proxy_listen == "off" else [(parse_listen(proxy_listen, "--proxy-listen")[0], "--proxy-listen")]):
        if not is_loopback(host) and not allow_remote:
            raise click.ClickException(
                f"{flag} {host} is not a loopback address: anyone who can reach it could use your provider key. "
                "Add --allow-remote and require identity (gateway.require_identity: true with `kt tokens create`)")
        if not is_loopback(host) and not cfg.gateway.get("require_identity"):
            raise click.ClickException(f"{flag} {host}: --allow-remote needs gateway.require_identity: true in {policy_config}")
    modes.append(f"reverse:{up.url}@{lhost}:{lport}")
    listeners = [(lhost, lport, "--listen")]
    if proxy_listen != "off":
        phost, pport = parse_listen(proxy_listen, "--proxy-listen")
        modes.append(f"regular@{phost}:{pport}")
        listeners.append((phost, pport, "--proxy-listen"))
    confdir = paths.certs_dir()
    startup_checks(listeners, Path(audit_db) if audit_db else paths.audit_db(), confdir)
    setup_logging(log_level, log_format)
    update = {
        "mode": modes,
        "confdir": str(confdir),
        "keeptrusts_config": policy_config,
        "keeptrusts_upstream": upstream or "",
        "keeptrusts_fail_mode": fail_mode or "",
        "keeptrusts_audit_db": audit_db or "",
        "keeptrusts_intercept_hosts": intercept_hosts,
        "connection_strategy": "lazy",   # never dial a host before we know where the request goes
        "termlog_verbosity": route_mitmproxy_logs(log_level, log_format),
    }
    if upstream_ca:
        update["ssl_verify_upstream_trusted_ca"] = upstream_ca
    click.echo(f"Keeptrusts gateway: reverse proxy http://{lhost}:{lport}/v1 -> {up.url}"
               + (f"; explicit proxy http://{proxy_listen}" if proxy_listen != "off" else ""), err=True)
    code = asyncio.run(_run(update, log_level))
    sys.exit(code)


def register(cli: click.Group) -> None:
    cli.add_command(gateway)
    cli.add_command(gateway, name="proxy")  # the reference's hidden deprecated alias
