"""`provgate init`."""

from __future__ import annotations

from pathlib import Path

import click

from provenance.workspace import LOCAL_DIR_NAME, init_workspace

from .main import cli, workspace_option


@cli.command()
@click.argument("directory", required=False, type=click.Path(path_type=Path, file_okay=False))
@workspace_option
@click.pass_context
def init(ctx: click.Context, directory: Path | None) -> None:
    """Create a workspace (default ./.provgate) with a default policy and a development
    signing identity. Safe to run again: nothing existing is overwritten."""
    root = directory or ctx.find_root().ensure_object(dict).get("workspace") or Path(LOCAL_DIR_NAME)
    ws = init_workspace(root)
    click.echo(f"workspace ready: {ws.root}")
    click.echo(f"  policy:  {ws.root / 'provgate.toml'}")
    click.echo(
        f"  signer:  {ws.keys_dir / 'signer-chain.pem'} (DEVELOPMENT ONLY - not for delivery)"
    )
