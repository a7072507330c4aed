"""`provgate init`."""

from __future__ import annotations

from pathlib import Path

import click

from provenance.workspace import LOCAL_DIR_NAME, init_workspace

from .main import cli, globals_of
from .render import echo


@cli.command()
@click.argument("directory", required=False, type=click.Path(path_type=Path, file_okay=False))
@click.pass_context
def init(ctx: click.Context, directory: Path | None) -> None:
    """Create a workspace (default ./.provgate) with a default policy, development tagging
    and approval identities and the log key. Safe to run again: nothing existing is
    overwritten."""
    root = directory or globals_of(ctx).workspace or Path(LOCAL_DIR_NAME)
    ws = init_workspace(root)
    echo(f"workspace ready: {ws.root}")
    echo(f"  policy:  {ws.root / 'provgate.toml'}")
    echo(f"  signer:  {ws.keys_dir / 'signer-chain.pem'} (DEVELOPMENT ONLY - not for delivery)")
    echo(
        f"  approvals: {ws.keys_dir / 'approval-chain.pem'} (DEVELOPMENT ONLY - keep the real"
        " approval key off the farm: see README, 'Approvals, identities and keys')"
    )
    echo(f"  log key: {ws.keys_dir / 'log-key.pem'} (signs the event log's checkpoints)")
