"""`kt certs`: where the gateway's CA is and the environment a client needs to trust it."""
from __future__ import annotations

import json
import os
from pathlib import Path

import click

from .. import paths

CA_CERT = "mitmproxy-ca-cert.pem"
BUNDLE = "keeptrusts-ca-bundle.pem"
SYSTEM_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem")


def system_roots() -> str:
    """The system's trusted roots (certifi's when the system has no bundle file)."""
    for p in SYSTEM_BUNDLES:
        if os.path.isfile(p):
            return open(p, encoding="utf-8", errors="replace").read()
    import certifi
    return open(certifi.where(), encoding="utf-8").read()


def ensure_bundle(ca: str) -> str:
    """System roots plus the gateway CA: SSL_CERT_FILE replaces the system store, so it must hold both,
    or every tunnelled HTTPS host (api.github.com, ...) would fail to verify."""
    bundle = os.path.join(os.path.dirname(ca), BUNDLE)
    ours = open(ca, encoding="utf-8").read()
    text = system_roots().rstrip("\n") + "\n" + ours
    if not os.path.isfile(bundle) or open(bundle, encoding="utf-8").read() != text:
        with open(bundle, "w", encoding="utf-8") as f:
            f.write(text)
    return bundle


CA_NAME = "Keeptrusts Gateway CA"    # what users see in certificate warnings and trust stores
CA_ORGANIZATION = "Keeptrusts Gateway"
CA_BASENAME = "mitmproxy"            # mitmproxy finds its CA by this file name prefix in confdir
CA_KEY_SIZE = 2048                   # mitmproxy's key_size default


class CAError(Exception):
    """The CA folder cannot be used; the message is one line with the path, the reason and the fix."""


def ensure_ca(d: Path | None = None) -> str:
    """Create the per-installation CA on first use, named "Keeptrusts Gateway CA" (private key 0600),
    and load it exactly as mitmproxy will at startup, so a bad CA folder is reported here in one line
    instead of a traceback in the gateway log. Returns the path of the CA certificate."""
    from mitmproxy.certs import CertStore

    d = Path(d or paths.certs_dir())
    fix = "set KEEPTRUSTS_CERTS to a writable folder (the CA is created there on first run)"
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CAError(f"CA folder {d} cannot be created: {exc.strerror or exc}; {fix}") from None
    key_file = d / f"{CA_BASENAME}-ca.pem"
    try:
        if not key_file.exists():
            # mitmproxy names a CA it creates "mitmproxy"; creating it first gives it our name.
            CertStore.create_store(d, CA_BASENAME, CA_KEY_SIZE, organization=CA_ORGANIZATION, cn=CA_NAME)
        CertStore.from_store(str(d), CA_BASENAME, CA_KEY_SIZE)
    except OSError as exc:
        where = exc.filename or d
        raise CAError(f"CA folder {d} is not usable: {where}: {exc.strerror or exc}; {fix}") from None
    except (ValueError, TypeError, IndexError) as exc:
        raise CAError(f"CA file {key_file} is not a valid private key + certificate ({str(exc).split(". See ")[0]}); restore it, or move "
                      f"the folder away to create a new CA (clients must then trust the new one: kt certs)") from None
    for name in os.listdir(d):
        if name.endswith(".pem") and "cert" not in name or name.endswith(".p12"):
            os.chmod(d / name, 0o600)
    return str(d / CA_CERT)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output")
def certs(as_json: bool) -> None:
    """Print the CA certificate path and the variables that make clients trust it (creating it if needed)."""
    try:
        ca = ensure_ca()
    except CAError as exc:
        raise click.ClickException(str(exc)) from None
    bundle = ensure_bundle(ca)
    # Bundle variables replace the system store (so they get roots + our CA); the others add to it.
    env = {"SSL_CERT_FILE": bundle, "REQUESTS_CA_BUNDLE": bundle, "CODEX_CA_CERTIFICATE": ca, "NODE_EXTRA_CA_CERTS": ca}
    if as_json:
        click.echo(json.dumps({"ca_cert": ca, "bundle": bundle, "env": env}, indent=2))
        return
    click.echo(f"# {CA_NAME} certificate: {ca}")
    click.echo(f"# System roots + that CA: {bundle}")
    click.echo("# Trust it in the shell that runs your client (Codex reads SSL_CERT_FILE / CODEX_CA_CERTIFICATE):")
    for k, v in env.items():
        click.echo(f"export {k}={v}")
    click.echo("export HTTPS_PROXY=http://127.0.0.1:41003")


def register(cli: click.Group) -> None:
    cli.add_command(certs)
