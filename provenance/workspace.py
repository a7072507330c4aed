"""Workspaces: a folder with provgate.toml, provgate.db and keys/ — found, created and opened."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from provenance import atomic
from provenance.config import Config, default_config_text, load_config
from provenance.errors import WorkspaceError
from provenance.mounts import mount_of

CONFIG_NAME = "provgate.toml"
STORE_NAME = "provgate.db"
LOCAL_DIR_NAME = ".provgate"


@dataclass(frozen=True)
class Workspace:
    root: Path
    config: Config

    @property
    def store_path(self) -> Path:
        return self.root / STORE_NAME

    @property
    def keys_dir(self) -> Path:
        return self.root / "keys"


def user_data_dir(env: dict[str, str]) -> Path:
    """The per-user workspace used when no other is found (XDG data directory)."""
    base = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".local/share")
    return Path(base) / "provgate"


def locate_workspace(explicit: Path | None, env: dict[str, str], cwd: Path) -> tuple[Path, bool]:
    """Where the workspace is, and whether it may be created on first use.

    Order (SPEC §3): --workspace, PROVGATE_WORKSPACE, the nearest .provgate/ at or above the
    current directory, the user's data directory (created on first use).
    """
    if explicit is not None:
        return explicit, False
    if env.get("PROVGATE_WORKSPACE"):
        return Path(env["PROVGATE_WORKSPACE"]), False
    for folder in (cwd, *cwd.parents):
        candidate = folder / LOCAL_DIR_NAME
        if (candidate / CONFIG_NAME).is_file():
            return candidate, False
    return user_data_dir(env), True


def check_local_disk(root: Path) -> None:
    """Refuse a store on a network filesystem: SQLite's locking is unreliable there."""
    mount = mount_of(root)
    if mount is not None and mount.is_network:
        raise WorkspaceError(
            f"the store must be on a local disk, but this is on {mount.fs_type} "
            f"({mount.source}); SQLite locking is unsafe on network filesystems — "
            "use --workspace on a local disk",
            root,
        )


def init_workspace(root: Path) -> Workspace:
    """Create (or complete) a workspace: default policy and a development signing identity.

    Idempotent: an existing provgate.toml and existing keys are never overwritten.
    """
    try:
        root.mkdir(parents=True, exist_ok=True)
        check_local_disk(root)
        config_path = root / CONFIG_NAME
        if not config_path.exists():
            text = default_config_text().encode("utf-8")
            atomic.write_bytes(config_path, text, mode=0o644, replace=False)
        from provenance.c2pa.identity import create_dev_identity  # cryptography: only needed here

        create_dev_identity(root / "keys")
    except OSError as exc:
        raise WorkspaceError(
            f"cannot create workspace: {exc.strerror}", exc.filename or root
        ) from exc
    return open_workspace(root)


def open_workspace(root: Path) -> Workspace:
    """Open an existing workspace; WorkspaceError if it is not one."""
    config_path = root / CONFIG_NAME
    if not config_path.is_file():
        raise WorkspaceError(
            f"not a provgate workspace (no {CONFIG_NAME}); run `provgate init`", root
        )
    config = load_config(config_path)
    if config.store is None:  # a PostgreSQL store does its own locking, wherever this is
        check_local_disk(root)
    return Workspace(root=root, config=config)
