"""Every error provgate raises. Each names what happened and keeps the path and the cause.

The CLI maps these families to exit codes in one place; the library only raises them.
"""

from __future__ import annotations

from pathlib import Path


class ProvgateError(Exception):
    """Base of every error the library raises on purpose."""

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.path = str(path) if path is not None else None
        self.reason = message
        super().__init__(f"{self.path}: {message}" if self.path else message)


class WorkspaceError(ProvgateError):
    """No usable workspace: missing, unreadable config, store on a network filesystem."""


class ConfigError(WorkspaceError):
    """provgate.toml is malformed or names something that does not exist."""


class AssetError(ProvgateError):
    """One file could not be read or understood (empty, truncated, unreadable)."""


class UnreadableAsset(AssetError):
    """The file cannot be opened or read (permissions, vanished, I/O error)."""


class MalformedAsset(AssetError):
    """The bytes are not what the container claims: empty, truncated, corrupt."""


class ManifestError(AssetError):
    """A C2PA manifest is present but cannot be parsed."""


class TagWriteError(AssetError):
    """A tag could not be written; the asset was left as it was."""


class SigningError(ProvgateError):
    """The signer refused or failed (bad certificate, external command failed)."""


class StoreError(ProvgateError):
    """The store cannot be opened, migrated or written."""


class UnknownAsset(StoreError):
    """The store has never seen this file or content id."""


class AmbiguousAsset(StoreError):
    """A content-id prefix matches more than one asset."""


class PackageError(ProvgateError):
    """A delivery package cannot be opened at its root (missing folder, unreadable archive)."""


class ApprovalError(ProvgateError):
    """An approval or revocation was refused (not AI, unknown reference, missing consent)."""


class DeclarationError(ProvgateError):
    """A declared use was refused or not found (no scope, unknown reference, a change its
    state does not allow)."""


class DigestError(ProvgateError):
    """The digest could not be delivered (no mail command configured, the command failed)."""
