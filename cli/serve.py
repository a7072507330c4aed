"""`provgate serve`: the review page for the clearance contact (see cli/review)."""

from __future__ import annotations

import ipaddress

import click

from .main import cli, get_app
from .render import echo


class ServeError(click.ClickException):
    exit_code = 2


def _check_port_free(host: str, port: int) -> None:
    """One clear line, exit 2, when the address is taken or cannot be had (uvicorn would print
    its own multi-line error)."""
    import errno
    import socket

    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM
        )[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            probe.bind(address)
    except OSError as exc:
        busy = " (is another provgate serve running?)" if exc.errno == errno.EADDRINUSE else ""
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}{busy}") from None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@cli.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; keep the loopback default behind a reverse proxy.",
)
@click.option(
    "--port",
    default=8765,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="TCP port to listen on (a busy port is an error, exit 2).",
)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int) -> None:
    """Serve the review page: the queue of AI material, assets, approvals, checks, report."""
    import uvicorn

    from .review.app import create_app
    from .review.auth import USERS_NAME, load_settings, load_users

    workspace = get_app(ctx).workspace
    settings = load_settings(workspace.root / "provgate.toml")
    if not load_users(workspace.root / USERS_NAME) and not settings.trusted_header:
        raise ServeError(
            f"no users in {workspace.root / USERS_NAME}: add one first with "
            "`provgate user add NAME --role approver`"
        )
    if not is_loopback(host):
        echo(
            f"provgate: warning: listening on {host}, beyond this machine, over plain HTTP; "
            "put a TLS reverse proxy in front (and set [review] secure_cookie = true)",
            err=True,
        )
    _check_port_free(host, port)
    echo(f"review page for {workspace.root} at http://{host}:{port}/ (Ctrl-C stops)")
    # proxy_headers off: request.client stays the real peer, which the trusted-header check
    # relies on; the server header is dropped (nothing to advertise).
    uvicorn.run(
        create_app(workspace, settings),
        host=host,
        port=port,
        proxy_headers=False,
        server_header=False,
        log_level="info",
    )
