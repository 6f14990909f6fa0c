"""`kt certs`: where the gateway's CA is and the environment a client needs to trust it."""
from __future__ import annotations

import json
import os

import click

from .. import paths

CA_CERT = "mitmproxy-ca-cert.pem"


def ensure_ca() -> str:
    """Create the per-installation CA on first use (mitmproxy's CertStore), key mode 0600."""
    from mitmproxy.certs import CertStore

    d = paths.certs_dir()
    d.mkdir(parents=True, exist_ok=True)
    CertStore.from_store(str(d), "mitmproxy", 2048)
    for name in os.listdir(d):
        if name.endswith(".pem") and "cert" not in name or name.endswith(".p12"):
            os.chmod(d / name, 0o600)
    return str(d / CA_CERT)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output")
def certs(as_json: bool) -> None:
    """Print the CA certificate path and the variables that make clients trust it (creating it if needed)."""
    ca = ensure_ca()
    env = {"SSL_CERT_FILE": ca, "CODEX_CA_CERTIFICATE": ca, "REQUESTS_CA_BUNDLE": ca, "NODE_EXTRA_CA_CERTS": ca}
    if as_json:
        click.echo(json.dumps({"ca_cert": ca, "env": env}, indent=2))
        return
    click.echo(f"# Keeptrusts CA certificate: {ca}")
    click.echo("# Trust it in the shell that runs your client (Codex reads SSL_CERT_FILE / CODEX_CA_CERTIFICATE):")
    for k, v in env.items():
        click.echo(f"export {k}={v}")
    click.echo("export HTTPS_PROXY=http://127.0.0.1:41003")


def register(cli: click.Group) -> None:
    cli.add_command(certs)
