"""`kt`: the Keeptrusts Gateway command line (a click group, datasette/sqlite-utils style).

Each module in this package owns its commands and exposes `register(cli)`; this file only lists
them. A module that adds a subcommand to a group owned by another (e.g. `policy test` beside
`policy lint`) looks the group up in `cli.commands`.
"""
from __future__ import annotations

import importlib

import click

from .. import __version__

# Order matters only where a module extends a group registered by an earlier one.
MODULES = (
    "gateway",      # kt gateway run
    "policy",       # kt policy lint
    "policy_test",  # kt policy test
    "certs",        # kt certs
    "scan",         # kt scan
    "events",       # kt events tail/show/export
    "audit",        # kt audit verify/rotate
    "tokens",       # kt tokens create/list/revoke
    "costs",        # kt costs, kt report
    "doctor",       # kt doctor
    "init",         # kt init
    "firewall",     # kt firewall check/rules
    "injection",    # kt injection check/rules
    "codex",        # kt codex setup
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kt")
def cli() -> None:
    """Keeptrusts Gateway: a local policy gateway for the OpenAI API and coding agents."""


for _name in MODULES:
    try:
        _mod = importlib.import_module(f"{__name__.rsplit('.', 1)[0]}.{_name}")
    except ModuleNotFoundError as exc:  # a command module not written yet
        if exc.name != f"{__name__.rsplit('.', 1)[0]}.{_name}":
            raise
        continue
    _mod.register(cli)


def main() -> None:
    cli()
