"""`provgate user add/list/remove`: the people who may sign in to the review page."""

from __future__ import annotations

import sys

import click

from .main import UsageFailure, cli, get_app, json_option
from .render import echo, echo_json, table
from .review.auth import ROLES, USERS_NAME, User, hash_password, load_users, save_users, valid_name

MIN_PASSWORD = 8


@cli.group()
def user() -> None:
    """Users of the review page (`provgate serve`), kept in users.toml in the workspace."""


@user.command("add")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(ROLES),
    required=True,
    help="viewer reads; approver also approves and revokes.",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option(
    "--no-password",
    is_flag=True,
    help="No password: the user is identified only by "
    "the trusted proxy header ([review] trusted_header).",
)
@click.pass_context
def add(ctx: click.Context, name: str, role: str, password_stdin: bool, no_password: bool) -> None:
    """Add NAME (or change their role and password). Prompts for the password twice."""
    if not valid_name(name):
        raise UsageFailure(f"invalid user name {name!r}: letters, digits and . _ @ + - only")
    if password_stdin and no_password:
        raise UsageFailure("--password-stdin and --no-password exclude each other")
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif not no_password:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if password is not None and len(password) < MIN_PASSWORD:
        raise UsageFailure(f"the password needs at least {MIN_PASSWORD} characters")
    path = get_app(ctx).workspace.root / USERS_NAME
    users = load_users(path)
    known = name in users
    users[name] = User(name, role, hash_password(password) if password is not None else None)
    save_users(path, users)
    echo(f"{'updated' if known else 'added'} {name} ({role}) in {path}")


@user.command("list")
@json_option
@click.pass_context
def list_users(ctx: click.Context, as_json: bool) -> None:
    """The users and their roles (never the hashes)."""
    users = load_users(get_app(ctx).workspace.root / USERS_NAME)
    rows = [
        {"name": u.name, "role": u.role, "password": bool(u.password)}
        for u in sorted(users.values(), key=lambda u: u.name)
    ]
    if as_json:
        echo_json(rows)
    elif rows:
        echo(
            table(
                [[r["name"], r["role"], "yes" if r["password"] else "no"] for r in rows],
                ["name", "role", "password"],
            )
        )


@user.command("remove")
@click.argument("name")
@click.pass_context
def remove(ctx: click.Context, name: str) -> None:
    """Remove NAME; their open sessions end at their next request."""
    path = get_app(ctx).workspace.root / USERS_NAME
    users = load_users(path)
    if users.pop(name, None) is None:
        raise UsageFailure(f"no user {name!r} in {path}")
    save_users(path, users)
    echo(f"removed {name}")
