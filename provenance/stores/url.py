"""Where a store lives: a SQLite file (the default) or a PostgreSQL URL from provgate.toml.

Kept free of driver imports: the configuration checks a URL without loading psycopg.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

SCHEMES = ("postgresql", "postgres")


def is_postgres_url(location: object) -> bool:
    return isinstance(location, str) and location.split("://", 1)[0] in SCHEMES


def postgres_url_problem(url: str) -> str | None:
    """Why this PostgreSQL URL must not be used, or None. A password belongs in PGPASSWORD
    or ~/.pgpass, never in provgate.toml (which is copied around and read by everyone)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        return f"malformed store URL: {exc}"
    if parts.scheme not in SCHEMES:
        return "a store URL starts with postgresql://"
    if parts.password is not None or "password" in parse_qs(parts.query):
        return (
            "the store URL holds a password; remove it and set PGPASSWORD or use ~/.pgpass "
            "(provgate never reads a password from its configuration)"
        )
    return None
