"""Running provgate as a person does: on a pseudo-terminal, with the venv's installed command."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PROVGATE = str(Path(sys.executable).with_name("provgate"))


@dataclass
class Ran:
    code: int
    output: str  # stdout and stderr as the terminal showed them (progress redraws included)


def user_env(home: Path, **extra: str) -> dict[str, str]:
    """A new user's environment: their own home and data directory, a real terminal type."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVGATE_")}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / ".local/share"), TERM="xterm-256color")
    env.update(COLUMNS="120", LINES="40", **extra)
    return env


def on_pty(
    argv: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    timeout: float = 120,
    send_when: tuple[Callable[[str], bool], int] | None = None,
) -> Ran:
    """Run `argv` with a pseudo-terminal as its stdin, stdout and stderr; `send_when`
    (condition, signal) sends it the signal once condition(output so far) is true."""
    main, child = pty.openpty()
    try:
        proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdin=child, stdout=child, stderr=child, start_new_session=True
        )
    finally:
        os.close(child)
    chunks: list[bytes] = []
    started = time.monotonic()
    sent = False
    try:
        while True:
            if send_when and not sent and send_when[0](b"".join(chunks).decode("utf-8", "replace")):
                proc.send_signal(send_when[1])
                sent = True
            if time.monotonic() - started > timeout:
                raise AssertionError(f"{argv} still running after {timeout}s: {b''.join(chunks)!r}")
            ready, _, _ = select.select([main], [], [], 0.05)
            if not ready:
                if proc.poll() is not None and not _readable(main):
                    break
                continue
            try:
                data = os.read(main, 65536)
            except OSError:  # EIO: every writer closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        code = proc.wait(timeout=30)
        os.close(main)
    return Ran(code, b"".join(chunks).decode("utf-8", "replace"))


def _readable(fd: int) -> bool:
    return bool(select.select([fd], [], [], 0)[0])
