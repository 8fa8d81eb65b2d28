"""The live-feed token's contract: the claims the system of record signs and the gateway checks.

A customer's token names their customer id (scope ``feed:own``); staff may watch every account
(scope ``feed:all``, no customer id). EdDSA (Ed25519): only the system of record holds the
private key, so the gateway can check a token but never make one.
"""

from __future__ import annotations

import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ALGORITHM = "EdDSA"
SCOPE_OWN = "feed:own"
SCOPE_ALL = "feed:all"
# A token without one of these is refused before its scope is looked at.
REQUIRED_CLAIMS = ("sub", "exp", "iat", "jti", "scope")


def claims(
    *, subject: str, customer_id: int | None, staff: bool, issued_at: int, expires_at: int
) -> dict[str, Any]:
    """The claims of one token, each token with an id of its own (``jti``)."""
    return {
        "sub": subject,
        "customer_id": None if staff else customer_id,
        "scope": SCOPE_ALL if staff else SCOPE_OWN,
        "iat": issued_at,
        "exp": expires_at,
        "jti": uuid.uuid4().hex,
    }


def sign(token_claims: dict[str, Any], key: Ed25519PrivateKey) -> str:
    return jwt.encode(token_claims, key, algorithm=ALGORITHM)
