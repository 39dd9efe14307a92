"""Users and their bearer tokens. A token is 32 random bytes shown once; the database keeps its
sha256 only, and a presented token is checked in constant time against the stored hash."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

from styx.db.engine import ApiDatabase
from styx.errors import StyxError

TOKEN_PREFIX = "styx_"
# A token's last use is written at most this often, so that authenticating stays a read.
LAST_USED_RESOLUTION_S = 60.0
_NAME = re.compile(r"^[a-z][a-z0-9_.-]{0,62}$")


@dataclass(frozen=True)
class User:
    name: str
    is_admin: bool


@dataclass(frozen=True)
class TokenInfo:
    """A token as its owner may see it: never the secret (the database does not have it)."""

    token_id: str
    created_at: float
    last_used_at: float | None


@dataclass(frozen=True)
class IssuedToken:
    user: str
    token_id: str
    token: str  # the secret: shown to the admin once, never stored


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_user_name(name: str) -> str:
    if not _NAME.match(name):
        raise StyxError(
            f"user name '{name[:80]}': expected 1-63 lowercase letters, digits, '_', '.', '-', "
            "starting with a letter"
        )
    return name


class UserStore:
    def __init__(self, db: ApiDatabase) -> None:
        self.db = db

    def add(self, name: str) -> User:
        """Add a user; the first user ever added is the admin."""
        from sqlalchemy import func, select

        from styx.db.tables import users

        check_user_name(name)
        with self.db.engine.begin() as conn:
            if conn.execute(select(users.c.name).where(users.c.name == name)).first():
                raise StyxError(f"user '{name}' already exists")
            first = not conn.execute(select(func.count()).select_from(users)).scalar()
            conn.execute(users.insert().values(name=name, is_admin=first, created_at=time.time()))
        return User(name, first)

    def remove(self, name: str) -> None:
        from sqlalchemy import delete

        from styx.db.tables import tokens, users

        with self.db.engine.begin() as conn:
            conn.execute(delete(tokens).where(tokens.c.user_name == name))
            if not conn.execute(delete(users).where(users.c.name == name)).rowcount:
                raise StyxError(f"no user '{name}'")

    def get(self, name: str) -> User | None:
        from sqlalchemy import select

        from styx.db.tables import users

        with self.db.engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.name == name)).first()
        return User(row.name, bool(row.is_admin)) if row else None

    def list(self) -> list[User]:
        from sqlalchemy import select

        from styx.db.tables import users

        with self.db.engine.connect() as conn:
            rows = conn.execute(select(users).order_by(users.c.created_at)).all()
        return [User(r.name, bool(r.is_admin)) for r in rows]

    def admin(self) -> User | None:
        return next((u for u in self.list() if u.is_admin), None)

    def create_token(self, name: str) -> IssuedToken:
        from styx.db.tables import tokens

        if self.get(name) is None:
            raise StyxError(f"no user '{name}' (add it with: styx api users add {name})")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token_id = secrets.token_hex(6)
        with self.db.engine.begin() as conn:
            conn.execute(
                tokens.insert().values(
                    token_hash=_hash(token),
                    token_id=token_id,
                    user_name=name,
                    created_at=time.time(),
                )
            )
        return IssuedToken(name, token_id, token)

    def revoke(self, token_id: str) -> None:
        from sqlalchemy import delete

        from styx.db.tables import tokens

        with self.db.engine.begin() as conn:
            if not conn.execute(delete(tokens).where(tokens.c.token_id == token_id)).rowcount:
                raise StyxError(f"no token with id '{token_id}'")

    def tokens_of(self, name: str) -> list[TokenInfo]:
        from sqlalchemy import select

        from styx.db.tables import tokens

        with self.db.engine.connect() as conn:
            rows = conn.execute(
                select(tokens.c.token_id, tokens.c.created_at, tokens.c.last_used_at)
                .where(tokens.c.user_name == name)
                .order_by(tokens.c.created_at)
            ).all()
        return [TokenInfo(r.token_id, r.created_at, r.last_used_at) for r in rows]

    def revoke_own(self, name: str, token_id: str) -> bool:
        """Revoke one of ``name``'s tokens; False when that user has no such token."""
        from sqlalchemy import delete

        from styx.db.tables import tokens

        with self.db.engine.begin() as conn:
            done = conn.execute(
                delete(tokens).where(tokens.c.token_id == token_id, tokens.c.user_name == name)
            )
            return bool(done.rowcount)

    def _mark_used(self, digest: str, last_used_at: float | None) -> None:
        from sqlalchemy import update
        from sqlalchemy.exc import SQLAlchemyError

        from styx.db.tables import tokens

        now = time.time()
        if last_used_at is not None and now - last_used_at < LAST_USED_RESOLUTION_S:
            return
        try:
            with self.db.engine.begin() as conn:
                conn.execute(
                    update(tokens).where(tokens.c.token_hash == digest).values(last_used_at=now)
                )
        except SQLAlchemyError:
            pass  # a busy database must not turn a valid token away; the next use retries

    def authenticate(self, token: str) -> User | None:
        """The token's user, or None. Looked up by hash (an index), then compared in constant
        time, so neither the lookup nor the comparison says how much of a guess was right."""
        from sqlalchemy import select

        from styx.db.tables import tokens, users

        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        digest = _hash(token)
        with self.db.engine.connect() as conn:
            row = conn.execute(
                select(tokens.c.token_hash, tokens.c.last_used_at, users.c.name, users.c.is_admin)
                .join(users, users.c.name == tokens.c.user_name)
                .where(tokens.c.token_hash == digest)
            ).first()
        if row is None or not hmac.compare_digest(row.token_hash, digest):
            return None
        self._mark_used(digest, row.last_used_at)
        return User(row.name, bool(row.is_admin))
