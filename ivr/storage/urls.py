"""Which database DATABASE_URL (or IVR_DATABASE) names, as a SQLAlchemy URL; no SQLAlchemy import."""

from __future__ import annotations

from pathlib import Path


class DatabaseUrlError(ValueError):
    """DATABASE_URL is not a database the line can use; the message says what it accepts."""


def database_url(url: str, sqlite_path: str | Path) -> str:
    """The SQLAlchemy URL of the line's database: `url` (DATABASE_URL) when set, else the SQLite
    file `sqlite_path` (IVR_DATABASE). Heroku's postgres:// and plain postgresql:// are given the
    psycopg 3 driver; anything but SQLite or PostgreSQL is refused."""
    url = url.strip()
    if not url:
        return "sqlite:///" + str(sqlite_path)
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise DatabaseUrlError(f"DATABASE_URL must look like postgresql://user:password@host/name or "
                               f"sqlite:///path/to/file.sqlite3 (it is {_hide_password(url)!r}).")
    scheme = scheme.lower()
    if scheme in ("postgres", "postgresql", "postgresql+psycopg"):
        return "postgresql+psycopg://" + rest
    if scheme in ("sqlite", "sqlite+pysqlite"):
        return "sqlite://" + rest
    raise DatabaseUrlError(f"DATABASE_URL must be a PostgreSQL (postgres://, postgresql://) or SQLite "
                           f"(sqlite:///) address; {scheme}:// is not supported.")


def is_sqlite(url: str) -> bool:
    """True for a SQLite URL (an embedded file, no server)."""
    return url.startswith("sqlite")


def _hide_password(url: str) -> str:
    head, at, tail = url.rpartition("@")
    if not at:
        return url
    user, colon, _ = head.partition(":")
    return f"{user}{':***' if colon else ''}@{tail}"
