"""Who may use the review page: users and roles in `users.toml`, passwords as scrypt hashes,
the session secret, and the `[review]` settings of provgate.toml.

`users.toml` sits beside provgate.toml, mode 0600 (it holds password hashes), and is rewritten
atomically by `provgate user add/remove`:

    [users."alice"]
    role = "approver"
    password = "scrypt$16384$8$1$<salt hex>$<key hex>"

This module imports no web framework, so the `user` commands stay light.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provenance import atomic
from provenance.errors import ConfigError

USERS_NAME = "users.toml"
SECRET_NAME = "review-session.key"
SESSIONS_NAME = "review-sessions.json"  # beside the secret: the sessions the server opened
ROLES = ("viewer", "approver")
# scrypt cost: 16 MiB of memory and ~50 ms per guess (RFC 7914's interactive-login figures).
_N, _R, _P, _DKLEN = 1 << 14, 8, 1, 32
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}")


@dataclass(frozen=True)
class User:
    name: str
    role: str
    password: str | None = None  # "scrypt$N$r$p$salt$key"; None: sign-in only via the proxy

    @property
    def can_approve(self) -> bool:
        return self.role == "approver"

    @property
    def fingerprint(self) -> str:
        """A short digest of the stored hash: a session ends when the password changes."""
        return hashlib.sha256((self.password or "").encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ReviewSettings:
    """The `[review]` table of provgate.toml."""

    trusted_header: str | None = None  # e.g. "X-Remote-User"; None: passwords only
    # The proxies' peer addresses, given explicitly with trusted_header: a default such as
    # 127.0.0.1 would let every local process name any user.
    trusted_proxies: tuple[str, ...] = ()
    session_hours: float = 12.0
    secure_cookie: bool = False  # set when a TLS-terminating proxy sits in front
    page_size: int = 50


def valid_name(name: str) -> bool:
    return _NAME.fullmatch(name) is not None


def hash_password(password: str) -> str:
    """A salted scrypt hash of `password` in a self-describing text form."""
    salt = secrets.token_bytes(16)
    key = _scrypt(password, salt, _N, _R, _P)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${key.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    """True when `password` matches `stored`; compares in constant time, and spends the same
    work on a missing or malformed hash so that timing does not tell which names exist."""
    try:
        scheme, n, r, p, salt, key = (stored or "").split("$")
        if scheme != "scrypt":
            raise ValueError(scheme)
        expected = bytes.fromhex(key)
        actual = _scrypt(password, bytes.fromhex(salt), int(n), int(r), int(p), len(expected))
    except ValueError:
        _scrypt(password, b"\0" * 16, _N, _R, _P)
        return False
    return hmac.compare_digest(actual, expected)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int = _DKLEN) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=128 * n * r * 2
    )


def load_users(path: Path) -> dict[str, User]:
    """Read users.toml; a missing file means no users."""
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read users: {exc.strerror}", path) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"invalid TOML: {exc}", path) from exc
    users = {}
    for name, entry in (data.get("users") or {}).items():
        if not isinstance(entry, dict) or entry.get("role") not in ROLES or not valid_name(name):
            raise ConfigError(f"user {name!r}: needs a valid name and a role ({ROLES})", path)
        users[name] = User(name=name, role=entry["role"], password=entry.get("password"))
    return users


def save_users(path: Path, users: dict[str, User]) -> None:
    """Write users.toml atomically (temporary file, fsync, rename), mode 0600."""
    lines = [
        "# provgate review-page users, written by `provgate user add/remove`.",
        "# Roles: viewer (reads), approver (also approves and revokes). Passwords: scrypt hashes.",
    ]
    for user in sorted(users.values(), key=lambda u: u.name):
        # Names and hashes are restricted to characters that need no TOML escaping.
        lines += ["", f'[users."{user.name}"]', f'role = "{user.role}"']
        if user.password:
            lines.append(f'password = "{user.password}"')
    data = ("\n".join(lines) + "\n").encode("utf-8")
    atomic.write_bytes(path, data, mode=0o600)


class UserBook:
    """users.toml, re-read when it changes on disk: a user added, removed or given another
    role takes effect on the running server at the next request."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._users: dict[str, User] = {}

    def _current(self) -> dict[str, User]:
        try:
            st = self.path.stat()
            stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        with self._lock:
            if stamp != self._stamp:
                self._users = load_users(self.path) if stamp else {}
                self._stamp = stamp
            return self._users

    def get(self, name: str | None) -> User | None:
        return self._current().get(name) if name else None

    def __len__(self) -> int:
        return len(self._current())


def session_secret(keys_dir: Path) -> str:
    """The key that signs session cookies: made once, kept in keys/ with mode 0600."""
    path = keys_dir / SECRET_NAME
    keys_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(
            path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600
        )
    except FileExistsError:
        return path.read_text("ascii").strip()
    try:
        os.write(fd, secrets.token_hex(32).encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return path.read_text("ascii").strip()


def load_settings(config_path: Path) -> ReviewSettings:
    """The `[review]` table of provgate.toml over the defaults."""
    try:
        data: dict[str, Any] = tomllib.loads(config_path.read_text("utf-8")).get("review") or {}
    except FileNotFoundError:
        return ReviewSettings()
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read [review]: {exc}", config_path) from exc
    defaults = ReviewSettings()
    try:
        header = data.get("trusted_header") or None
        proxies = tuple(str(a) for a in data.get("trusted_proxies", ()))
        if header and not proxies:
            raise ConfigError(
                "[review] trusted_header needs trusted_proxies: the addresses of the proxy "
                "that sets it (no default: any local process could name any user)",
                config_path,
            )
        return ReviewSettings(
            trusted_header=str(header) if header else None,
            trusted_proxies=proxies,
            session_hours=float(data.get("session_hours", defaults.session_hours)),
            secure_cookie=bool(data.get("secure_cookie", defaults.secure_cookie)),
            page_size=max(1, min(500, int(data.get("page_size", defaults.page_size)))),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"[review]: {exc}", config_path) from exc


class Sessions:
    """The sessions the server has opened, by id: a signed cookie names one, and counts only
    while it is here. Signing out removes it, so a copied cookie dies with the sign-out (a
    signed cookie alone would work until it expired). Kept in `path` (0600, rewritten
    atomically at each sign-in and sign-out) so a restarted server keeps them. Bounded: the
    oldest go first."""

    def __init__(
        self,
        lifetime: float,
        path: Path | None = None,
        limit: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.lifetime, self.path, self.limit, self.clock = lifetime, path, limit, clock
        self._open: dict[str, tuple[str, float]] = {}  # id -> (user, expires)
        self._lock = threading.Lock()
        if path is not None:
            try:
                data = json.loads(path.read_text("utf-8"))
                self._open = {str(k): (str(v[0]), float(v[1])) for k, v in data.items()}
            except (OSError, ValueError, TypeError, IndexError, AttributeError):
                self._open = {}  # none kept, or unreadable: every session starts again

    def open(self, user: str) -> str:
        sid = secrets.token_urlsafe(24)
        with self._lock:
            self._purge()
            while len(self._open) >= self.limit:
                self._open.pop(next(iter(self._open)))
            self._open[sid] = (user, self.clock() + self.lifetime)
            self._save()
        return sid

    def user_of(self, sid: str | None) -> str | None:
        if not sid:
            return None
        with self._lock:
            found = self._open.get(sid)
            if found is None or found[1] <= self.clock():
                return None
            return found[0]

    def close(self, sid: str | None) -> None:
        with self._lock:
            if self._open.pop(sid or "", None) is not None:
                self._save()

    def __len__(self) -> int:
        return len(self._open)

    def _purge(self) -> None:
        now = self.clock()
        for sid in [k for k, (_, expires) in self._open.items() if expires <= now]:
            del self._open[sid]

    def _save(self) -> None:
        if self.path is not None:
            from provenance import atomic

            data = json.dumps({k: list(v) for k, v in self._open.items()}).encode()
            atomic.write_bytes(self.path, data, mode=0o600)


class SignInThrottle:
    """Slows password guessing: after `limit` failed sign-ins for one name from one address
    within `window` seconds, further attempts are refused until the window has passed; an
    address that fails `address_limit` times within the window (any names) is refused too.

    Bounded and expiring: failures older than the window are forgotten, names that could
    never be a user share one entry, and at most `max_entries` entries are kept (the oldest
    go first), so a client sending endless made-up names cannot grow it."""

    def __init__(
        self,
        limit: int = 5,
        window: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
        *,
        address_limit: int = 50,
        max_entries: int = 10_000,
    ) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self.address_limit, self.max_entries = address_limit, max_entries
        self._failures: dict[tuple[str, str], list[float]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._failures)

    @staticmethod
    def _key(address: str, name: str) -> tuple[str, str]:
        return (address[:64], name.lower() if valid_name(name) else "\0not-a-name")

    def _recent(self, key: tuple[str, str]) -> list[float]:
        now = self.clock()
        kept = [t for t in self._failures.get(key, []) if now - t < self.window]
        if kept:
            self._failures[key] = kept
        else:
            self._failures.pop(key, None)
        return kept

    def wait_seconds(self, address: str, name: str) -> float:
        """0 when an attempt may be made, else how long until one may."""
        with self._lock:
            waits = [0.0]
            recent = self._recent(self._key(address, name))
            if len(recent) >= self.limit:
                waits.append(self.window - (self.clock() - recent[-self.limit]))
            every = self._recent((address[:64], "\0address"))
            if len(every) >= self.address_limit:
                waits.append(self.window - (self.clock() - every[-self.address_limit]))
            return max(0.0, *waits)

    def failed(self, address: str, name: str) -> None:
        with self._lock:
            now = self.clock()
            for key in (self._key(address, name), (address[:64], "\0address")):
                # Re-inserted at the end: the dict's order is oldest activity first.
                recent = self._recent(key)[-max(self.limit, self.address_limit) :]
                self._failures.pop(key, None)
                self._failures[key] = [*recent, now]
            if len(self._failures) > self.max_entries:
                for key in list(self._failures):
                    self._recent(key)
                while len(self._failures) > self.max_entries:
                    self._failures.pop(next(iter(self._failures)))

    def succeeded(self, address: str, name: str) -> None:
        with self._lock:
            self._failures.pop(self._key(address, name), None)
