"""`kt init`: scaffold a policy-config.yaml and its golden tests from a shipped pack."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import click

from ..paths import PROJECT_ROOT

PACKS_DIR = PROJECT_ROOT / "policies"
DEFAULT_TEMPLATE = "codex-cli"


def templates() -> dict[str, Path]:
    """Shipped packs by name (`policies/<name>.yaml`)."""
    return {p.stem: p for p in sorted(PACKS_DIR.glob("*.yaml"))}


def _description(path: Path) -> str:
    import yaml

    try:
        return ((yaml.safe_load(path.read_text()) or {}).get("pack") or {}).get("description", "")
    except yaml.YAMLError:
        return ""


@click.command()
@click.option("--template", "-t", default=DEFAULT_TEMPLATE, show_default=True, help="The shipped pack to start from")
@click.option("--dir", "directory", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Where to write policy-config.yaml and tests/")
@click.option("--force", is_flag=True, help="Overwrite an existing policy-config.yaml and test files")
@click.option("--list", "list_only", is_flag=True, help="List the templates and exit")
@click.option("--json", "as_json", is_flag=True, help="With --list: machine-readable output")
def init(template: str, directory: str, force: bool, list_only: bool, as_json: bool) -> None:
    """Scaffold policy-config.yaml plus a tests/ folder of golden cases from a shipped pack.

    Then edit the config, and check it with `kt policy lint` and `kt policy test`.
    """
    available = templates()
    if list_only:
        rows = [{"name": n, "file": str(p), "description": _description(p)} for n, p in available.items()]
        if as_json:
            click.echo(json.dumps(rows, indent=2))
        else:
            for r in rows:
                click.echo(f"{r['name']:<12} {r['description']}")
        return
    if template not in available:
        names = ", ".join(available) or f"none found in {PACKS_DIR}"
        raise click.ClickException(f"Unknown template '{template}': available templates are {names} (kt init --list)")
    out = Path(directory)
    target = out / "policy-config.yaml"
    if target.exists() and not force:
        raise click.ClickException(f"{target} already exists: pass --force to overwrite it, or --dir to write elsewhere")
    cases = sorted((PACKS_DIR / "tests" / template).glob("*.json"))
    tests_dir = out / "tests"
    clashes = [tests_dir / c.name for c in cases if (tests_dir / c.name).exists()]
    if clashes and not force:
        raise click.ClickException(f"{clashes[0]} already exists: pass --force to overwrite the test files")
    out.mkdir(parents=True, exist_ok=True)
    source = available[template]
    target.write_text(f"# Created by `kt init --template {template}` from {source.name}.\n"
                      f"# Check: kt policy lint --file {target.name} && kt policy test\n" + source.read_text())
    tests_dir.mkdir(exist_ok=True)
    for c in cases:
        shutil.copyfile(c, tests_dir / c.name)
    click.echo(f"Created {target} (template {template}) and {tests_dir}/ with {len(cases)} golden test case(s)")
    click.echo("Next:")
    where = f" --pack-dir {out}" if directory != "." else ""
    click.echo(f"  kt policy lint --file {target}")
    click.echo(f"  kt policy test{where}")
    click.echo(f"  kt gateway run --policy-config {target}")


def register(cli: click.Group) -> None:
    cli.add_command(init)
