import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from kernel import live_token
from soe.auth import PublicKeyMissing, TokenRejected, TokenVerifier, origin_allowed

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_pem(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def mint(key: Ed25519PrivateKey, **overrides: object) -> str:
    now = int(time.time())
    claims = live_token.claims(
        subject="anna", customer_id=42, staff=False, issued_at=now, expires_at=now + 300
    )
    claims.update(overrides)
    claims = {name: value for name, value in claims.items() if value is not ...}
    return live_token.sign(claims, key)


@pytest.fixture
def verifier(signing_key, tmp_path) -> TokenVerifier:
    return TokenVerifier(public_pem(signing_key), tmp_path / "absent.pem")


def test_a_customer_token_names_the_customer(verifier, signing_key):
    principal = verifier.verify(mint(signing_key))
    assert (principal.subject, principal.customer_id, principal.staff) == ("anna", 42, False)
    assert principal.may_watch(42)
    assert not principal.may_watch(43)
    assert not principal.may_watch(None)


def test_a_staff_token_may_watch_every_account(verifier, signing_key):
    principal = verifier.verify(mint(signing_key, sub="clerk", customer_id=None, scope="feed:all"))
    assert principal.staff
    assert principal.may_watch(43)
    assert principal.may_watch(None)


def test_the_key_can_come_from_the_file_the_system_of_record_writes(signing_key, tmp_path):
    key_file = tmp_path / "live-token-ed25519.pub.pem"
    key_file.write_text(public_pem(signing_key))
    assert TokenVerifier(None, key_file).verify(mint(signing_key)).customer_id == 42


def test_without_any_key_the_verifier_says_where_to_put_one(tmp_path):
    with pytest.raises(PublicKeyMissing, match="BANK_LIVE_TOKEN_PUBLIC_KEY"):
        TokenVerifier(None, tmp_path / "absent.pem").verify("a.b.c")


def test_an_expired_token_is_told_apart(verifier, signing_key):
    with pytest.raises(TokenRejected) as rejected:
        verifier.verify(mint(signing_key, exp=int(time.time()) - 60))
    assert rejected.value.expired


def test_a_token_signed_by_another_key_is_refused(verifier):
    with pytest.raises(TokenRejected) as rejected:
        verifier.verify(mint(Ed25519PrivateKey.generate()))
    assert not rejected.value.expired


def test_a_token_signed_with_a_shared_secret_is_refused(verifier):
    forged = jwt.encode({"sub": "x", "scope": "feed:all", "exp": int(time.time()) + 60}, "s" * 32)
    with pytest.raises(TokenRejected):
        verifier.verify(forged)


def test_an_unsigned_token_is_refused(verifier):
    unsigned = jwt.encode(
        {"sub": "x", "scope": "feed:all", "exp": int(time.time()) + 60}, None, algorithm="none"
    )
    with pytest.raises(TokenRejected):
        verifier.verify(unsigned)


@pytest.mark.parametrize("missing", ["sub", "exp", "iat", "jti", "scope"])
def test_a_token_without_a_required_claim_is_refused(verifier, signing_key, missing):
    with pytest.raises(TokenRejected):
        verifier.verify(mint(signing_key, **{missing: ...}))


@pytest.mark.parametrize(
    "claims",
    [
        {"scope": "admin"},
        {"customer_id": None},
        {"customer_id": "42"},
        {"customer_id": True},
    ],
)
def test_a_token_with_wrong_claims_is_refused(verifier, signing_key, claims):
    with pytest.raises(TokenRejected):
        verifier.verify(mint(signing_key, **claims))


@pytest.mark.parametrize("token", [None, "", 5, "garbage", "a.b.c"])
def test_something_that_is_not_a_token_is_refused(verifier, token):
    with pytest.raises(TokenRejected):
        verifier.verify(token)


ALLOWED = frozenset({"http://127.0.0.1:8001", "http://localhost:8001"})


@pytest.mark.parametrize("origin", ["http://127.0.0.1:8001", "http://localhost:8001/", None])
def test_the_dashboard_and_non_browser_clients_may_connect(origin):
    assert origin_allowed(origin, ALLOWED)


@pytest.mark.parametrize(
    "origin",
    ["https://evil.example", "http://127.0.0.1:8002", "null", "http://localhost:8001.evil"],
)
def test_pages_of_other_sites_may_not(origin):
    assert not origin_allowed(origin, ALLOWED)
