"""Google authentication as Compute Engine checks it, for the fake: service-account keys.

A test asks for a key file (:meth:`FakeAccounts.key_file`): a real service-account JSON key
(type, client_email, private_key_id, private_key, token_uri pointing at this fake's ``/token``).
google-auth then either signs its own JWT with the key (self-signed JWT access, what
google-cloud-compute does by default) or trades a signed JWT assertion at ``token_uri`` for an
access token (the OAuth 2.0 JWT-bearer grant, RFC 7523). The fake verifies both: the JWT's
signature against the key's public half (looked up by ``kid``), its issuer and its expiry.

Errors use Google's body and wording
(https://cloud.google.com/apis/design/errors#http_mapping, and what the real API answers):
no credential -> 401 reason ``required`` ("Login Required."), a bad one -> 401 ``authError``.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fakes.gcp.errors import ApiError

MISSING = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, "
    "login cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)
INVALID = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class AuthError(ApiError):
    """401 in Google's shape, with the ``status`` and ``location`` fields it carries."""

    def __init__(self, reason: str, message: str, detail: str) -> None:
        super().__init__(401, reason, message)
        self.detail = detail

    def body(self) -> dict[str, Any]:
        out = super().body()
        out["error"]["status"] = "UNAUTHENTICATED"
        out["error"]["errors"][0].update(
            message=self.detail, location="Authorization", locationType="header"
        )
        return out


@dataclass
class FakeAccounts:
    """Known service-account keys (kid -> (email, public key PEM)) and issued access tokens."""

    token_uri: str = ""
    keys: dict[str, tuple[str, str]] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)  # access token -> expiry (epoch)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def key_file(self, path: Path, project: str, email: str = "") -> Path:
        """Write a new service-account key for ``project`` to ``path`` and trust it."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        email = email or f"styx-ci@{project}.iam.gserviceaccount.com"
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        public = (
            key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        kid = secrets.token_hex(20)
        with self.lock:
            self.keys[kid] = (email, public)
        info = {
            "type": "service_account",
            "project_id": project,
            "private_key_id": kid,
            "private_key": private,
            "client_email": email,
            "client_id": str(secrets.randbelow(10**20)),
            "token_uri": self.token_uri,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(info))
        path.chmod(0o600)
        return path

    def verify_jwt(self, token: str) -> dict[str, Any]:
        """The claims of a JWT signed by a trusted key; raises ValueError otherwise."""
        from google.auth import jwt

        header = jwt.decode_header(token)
        kid = header.get("kid")
        with self.lock:
            known = self.keys.get(str(kid))
        if known is None:
            raise ValueError(f"unknown key id {kid!r}")
        email, public = known
        claims = dict(jwt.decode(token, certs={str(kid): public}, verify=True))
        if claims.get("iss") != email:
            raise ValueError("issuer is not the key's service account")
        return claims

    def check(self, authorization: str | None) -> None:
        """Raise the 401 the API would answer for this Authorization header."""
        if not authorization:
            raise AuthError("required", MISSING, "Login Required.")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise AuthError("authError", INVALID, "Invalid Credentials")
        with self.lock:
            expiry = self.tokens.get(token)
        if expiry is not None and expiry > time.time():
            return
        try:
            self.verify_jwt(token)  # self-signed JWT access
        except ValueError as exc:
            raise AuthError("authError", INVALID, f"Invalid Credentials ({exc})") from exc

    def grant(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """The OAuth token endpoint: a JWT-bearer assertion for an access token (RFC 7523)."""
        if form.get("grant_type") != JWT_BEARER:
            return 400, {"error": "unsupported_grant_type", "error_description": "Invalid grant"}
        try:
            self.verify_jwt(form.get("assertion", ""))
        except ValueError as exc:
            return 400, {"error": "invalid_grant", "error_description": f"Invalid JWT: {exc}"}
        token = "ya29.fake-" + secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = time.time() + 3600
        return 200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}


def access_token(key_file: Path) -> str:
    """An access token for ``key_file`` fetched the way google-auth does (the token endpoint),
    for tests that call the fake with plain HTTP instead of through the SDK."""
    from google.auth.transport.requests import Request
    from google.oauth2 import service_account

    creds = service_account.Credentials.from_service_account_file(
        str(key_file), scopes=["https://www.googleapis.com/auth/cloud-platform"]
    )
    creds.refresh(Request())
    return str(creds.token)
