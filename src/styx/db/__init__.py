"""The API server's database: users, tokens and requests (SQLite by default, PostgreSQL for
teams), through SQLAlchemy Core. Nothing a second server replica needs is kept only in memory."""

from styx.db.engine import ApiDatabase, open_database

__all__ = ["ApiDatabase", "open_database"]
