"""Who is on the other end of a websocket: the live-feed token and the handshake's Origin.

Tokens are EdDSA (Ed25519) JWTs minted by the system of record; the gateway holds only the public
key, so it can check them but never mint one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from kernel.live_token import ALGORITHM, REQUIRED_CLAIMS, SCOPE_ALL, SCOPE_OWN

log = logging.getLogger(__name__)


class TokenRejected(Exception):
    """The token cannot be used; ``expired`` tells an old token from a bad one."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


class PublicKeyMissing(RuntimeError):
    """Neither BANK_LIVE_TOKEN_PUBLIC_KEY nor the key file is there."""


@dataclass(frozen=True)
class Principal:
    subject: str
    customer_id: int | None
    scope: str
    expires_at: int
    token_id: str

    @property
    def staff(self) -> bool:
        return self.scope == SCOPE_ALL

    def may_watch(self, owner: int | None) -> bool:
        return self.staff or (owner is not None and owner == self.customer_id)


def parse_public_key(pem: str | bytes) -> Ed25519PublicKey:
    key = load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("the live-token public key is not an Ed25519 key")
    return key


class TokenVerifier:
    """Verifies live-feed tokens. The key file is read when first needed and again whenever it
    changes, so the gateway may start before the system of record has written it."""

    def __init__(self, pem: str | None, key_file: Path, leeway_seconds: int = 5) -> None:
        self._key_file = key_file
        self._leeway = leeway_seconds
        self._key: Ed25519PublicKey | None = parse_public_key(pem) if pem else None
        self._from_env = bool(pem)
        self._file_stamp: float | None = None

    def public_key(self) -> Ed25519PublicKey:
        if self._from_env and self._key is not None:
            return self._key
        try:
            stamp = self._key_file.stat().st_mtime
        except FileNotFoundError:
            raise PublicKeyMissing(
                f"no live-token public key: set BANK_LIVE_TOKEN_PUBLIC_KEY or let the system "
                f"of record write {self._key_file}"
            ) from None
        if self._key is None or stamp != self._file_stamp:
            self._key = parse_public_key(self._key_file.read_bytes())
            self._file_stamp = stamp
        return self._key

    def verify(self, token: object) -> Principal:
        if not isinstance(token, str) or not token:
            raise TokenRejected("the token is missing")
        try:
            claims = jwt.decode(
                token,
                self.public_key(),
                algorithms=[ALGORITHM],
                options={"require": list(REQUIRED_CLAIMS)},
                leeway=self._leeway,
            )
        except jwt.ExpiredSignatureError:
            raise TokenRejected("the token has expired", expired=True) from None
        except jwt.InvalidTokenError as error:
            raise TokenRejected(f"the token is not valid: {error}") from None
        return _principal(claims)


def _principal(claims: dict[str, object]) -> Principal:
    scope = claims["scope"]
    customer_id = claims.get("customer_id")
    if scope not in (SCOPE_OWN, SCOPE_ALL):
        raise TokenRejected(f"the token's scope {scope!r} does not allow the live feed")
    if customer_id is not None and (
        isinstance(customer_id, bool) or not isinstance(customer_id, int)
    ):
        raise TokenRejected("the token's customer_id is not a whole number")
    if scope == SCOPE_OWN and customer_id is None:
        raise TokenRejected("a feed:own token must name its customer_id")
    return Principal(
        subject=str(claims["sub"]),
        customer_id=customer_id,
        scope=str(scope),
        expires_at=int(claims["exp"]),  # type: ignore[call-overload]
        token_id=str(claims["jti"]),
    )


def origin_allowed(origin: str | None, allowlist: frozenset[str]) -> bool:
    """Browsers always send Origin on a websocket handshake, so a foreign one means a page of
    another site. A missing Origin is a non-browser client, which could claim any Origin anyway;
    it still needs a token."""
    return origin is None or origin.rstrip("/") in allowlist
