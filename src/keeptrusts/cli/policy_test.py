"""`kt policy test`: run a config's golden tests through the real policy chain, offline."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..config import ConfigError, load_config
from ..policytest import CaseError, run
from ..preflight import refusals


class InvalidInput(click.ClickException):
    """The config or a case file is wrong (exit 2, like `kt policy lint`); failing cases exit 1."""

    exit_code = 2


def _find_config(file: str | None, pack_dir: str | None) -> str:
    if file:
        return file
    base = Path(pack_dir or ".")
    return str(base / "policy-config.yaml")


@click.command("test")
@click.option("--file", "-f", "file", type=click.Path(dir_okay=False),
              help="The policy-config.yaml to test [default: policy-config.yaml in --pack-dir]")
@click.option("--pack-dir", type=click.Path(file_okay=False), help="Folder holding policy-config.yaml and tests/ [default: .]")
@click.option("--tests", "tests_dir", type=click.Path(file_okay=False),
              help="Folder of *.json cases [default: tests/<config stem>/ beside the config, else tests/]")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (the reference's shape)")
@click.option("--verbose", "-v", is_flag=True, help="Also list each policy's verdict per case")
def policy_test(file: str | None, pack_dir: str | None, tests_dir: str | None, as_json: bool, verbose: bool) -> None:
    """Run golden tests: each case's input through the chain, its verdict against the expected one.

    Cases come from tests/*.json beside the config and from inline testing.suites. A mocked
    upstream_response tests output policies without a provider. Exits 1 if any case fails,
    2 if the config or a case file is invalid.
    """
    path = _find_config(file, pack_dir)
    try:
        cfg = load_config(path)
    except ConfigError as exc:
        if as_json:
            click.echo(json.dumps({"ok": False, "file": path, "error": exc.first_line(), "results": []}, indent=2))
            sys.exit(2)
        raise InvalidInput(f"{exc.first_line()}; run `kt policy lint --file {path}` for every error") from None
    refused = refusals(cfg)
    if refused:
        msg = f"{path}: the gateway would refuse this config: " + "; ".join(refused)
        if as_json:
            click.echo(json.dumps({"ok": False, "file": path, "error": msg, "results": []}, indent=2))
            sys.exit(2)
        raise InvalidInput(msg)
    try:
        results = run(cfg, tests_dir)
    except CaseError as exc:
        if as_json:
            click.echo(json.dumps({"ok": False, "file": path, "error": str(exc), "results": []}, indent=2))
            sys.exit(2)
        raise InvalidInput(f"{exc} (fix the test case file)") from None
    ok = not any(r.counts_as_failure for r in results)
    if as_json:
        click.echo(json.dumps({"ok": ok, "file": path, "pack": {"name": cfg.pack.get("name"),
                                                                "version": cfg.pack.get("version")},
                               "results": [r.to_dict() for r in results]}, indent=2))
    else:
        _print_table(path, cfg, results, verbose)
    if not ok:
        sys.exit(1)


_COLOURS = {"PASS": "green", "FAIL": "red", "PENDING": "yellow", "FIXED": "cyan"}


def _print_table(path: str, cfg, results, verbose: bool) -> None:
    click.echo(f"{path}: {cfg.pack.get('name')} (v{cfg.pack.get('version')}), {len(results)} case(s)")
    if not results:
        click.echo("No test cases found: add tests/*.json beside the config or testing.suites in it")
        return
    width = min(max(len(r.case.name) for r in results), 48)
    click.echo(f"{'RESULT':<8} {'CASE':<{width}}  {'EXPECTED':<10} {'GOT':<10} REASON")
    for r in results:
        status = click.style(f"{r.status:<8}", fg=_COLOURS[r.status])
        click.echo(f"{status} {r.case.name:<{width}}  {r.case.expected['verdict']:<10} {r.verdict:<10} {r.reason_code}")
        for f in r.failures:
            click.echo(f"{'':8}   - {f}")
        if r.case.pending and not r.passed:
            click.echo(f"{'':8}   pending: {r.case.pending}")
        if r.status == "FIXED":
            click.echo(f"{'':8}   passes now: remove 'pending' from this case")
        if verbose:
            for v in r.policy_results:
                click.echo(f"{'':8}   {v['policy']}: {v['verdict']} ({v['reason_code']})")
    counts = {s: sum(1 for r in results if r.status == s) for s in ("PASS", "FAIL", "PENDING", "FIXED")}
    summary = f"{counts['PASS'] + counts['FIXED']} passed, {counts['FAIL']} failed"
    if counts["PENDING"]:
        summary += f", {counts['PENDING']} pending"
    click.echo(summary)


def register(cli: click.Group) -> None:
    cli.commands["policy"].add_command(policy_test)
