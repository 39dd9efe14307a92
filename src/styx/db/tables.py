"""The server's tables, declared once with SQLAlchemy Core (portable to SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

users = Table(
    "api_users",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("is_admin", Boolean, nullable=False, default=False),
    Column("created_at", Float, nullable=False),
)

tokens = Table(
    "api_tokens",
    metadata,
    # sha256 of the token: the token itself is shown once and never stored.
    Column("token_hash", String(64), primary_key=True),
    Column("token_id", String(16), nullable=False, unique=True),  # a public handle to revoke
    Column(
        "user_name", String(64), ForeignKey("api_users.name", ondelete="CASCADE"), nullable=False
    ),
    Column("created_at", Float, nullable=False),
    Column("last_used_at", Float),
)

requests = Table(
    "api_requests",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_name", String(64), nullable=False),
    Column("verb", String(32), nullable=False),
    Column("args", Text, nullable=False),  # JSON
    Column("cluster", String(128)),
    Column("status", String(16), nullable=False),
    Column("result", Text),  # JSON
    Column("error", Text),
    Column("cancel_requested", Boolean, nullable=False, default=False),
    Column("server_id", String(128)),  # which server process runs it
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("finished_at", Float),
    Index("api_requests_by_user", "user_name", "created_at"),
)

# A request's output, one row per chunk; ``seq`` is the offset a client resumes from.
request_logs = Table(
    "api_request_logs",
    metadata,
    Column("request_id", String(32), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("stream", String(8), nullable=False),  # "output" (the job's) or "progress"
    Column("text", Text, nullable=False),
    Column("at", Float, nullable=False),
    Index("api_request_logs_by_request", "request_id", "seq", unique=True),
)

schema_version = Table(
    "api_schema_version",
    metadata,
    Column("version", BigInteger, primary_key=True),
    Column("applied_at", Float, nullable=False),
)
