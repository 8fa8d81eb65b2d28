"""Short-lived tokens for the live feed: EdDSA (Ed25519) JWTs the gateway checks.

The system of record holds the private key and mints; the gateway holds only the public key, so
it can check a token but never make one. Without BANK_LIVE_TOKEN_PRIVATE_KEY, a key pair is made
on first use in the local state folder, the public half beside it for the gateway.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kernel import live_token


@dataclass(frozen=True)
class LiveToken:
    token: str
    expires_at: datetime
    customer_id: int | None
    staff: bool


def mint(
    key: Ed25519PrivateKey,
    *,
    subject: str,
    customer_id: int | None,
    staff: bool,
    ttl_seconds: int,
    now: datetime | None = None,
) -> LiveToken:
    """A customer's token names their customer id (scope feed:own); staff may watch every
    account (scope feed:all, no customer id)."""
    issued_at = (now or datetime.now(UTC)).replace(microsecond=0)
    expires_at = issued_at + timedelta(seconds=ttl_seconds)
    claims = live_token.claims(
        subject=subject,
        customer_id=customer_id,
        staff=staff,
        issued_at=int(issued_at.timestamp()),
        expires_at=int(expires_at.timestamp()),
    )
    return LiveToken(live_token.sign(claims, key), expires_at, claims["customer_id"], staff)


def public_key_path(private_key_path: Path) -> Path:
    """``live-token-ed25519.pem`` has its public half in ``live-token-ed25519.pub.pem``."""
    return private_key_path.with_name(private_key_path.name.removesuffix(".pem") + ".pub.pem")


@cache
def signing_key(private_key_pem: str, key_file: Path) -> Ed25519PrivateKey:
    """The key from the environment's PEM if given, else from (or first made into) ``key_file``."""
    if private_key_pem:
        return _ed25519(private_key_pem.encode(), "BANK_LIVE_TOKEN_PRIVATE_KEY")
    if not key_file.exists():
        _create_key_pair(key_file)
    key = _ed25519(key_file.read_bytes(), str(key_file))
    _write_public_key(key, public_key_path(key_file))
    return key


def _ed25519(pem: bytes, source: str) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{source} holds a {type(key).__name__}; live-feed tokens need Ed25519")
    return key


def _create_key_pair(key_file: Path) -> None:
    """Writes a new private key unless another process got there first; theirs then wins."""
    key_file.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    partial = key_file.with_name(f".{key_file.name}.{os.getpid()}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)
    try:
        # A hard link appears whole or not at all, and never replaces a key already there.
        os.link(partial, key_file)
    except FileExistsError:
        pass
    finally:
        partial.unlink()


def _write_public_key(key: Ed25519PrivateKey, path: Path) -> None:
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if path.exists() and path.read_bytes() == pem:
        return
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_bytes(pem)
    partial.replace(path)
