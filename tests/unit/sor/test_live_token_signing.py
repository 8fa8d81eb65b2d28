"""Live-feed tokens are EdDSA JWTs that only the holder of the private key can make."""

import stat
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sor.bank import live_tokens

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def fresh_key_cache():
    live_tokens.signing_key.cache_clear()
    yield
    live_tokens.signing_key.cache_clear()


def _pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def test_a_customer_token_names_their_customer_and_only_their_feed():
    key = Ed25519PrivateKey.generate()
    now = datetime.now(UTC)
    token = live_tokens.mint(
        key, subject="demo", customer_id=42, staff=False, ttl_seconds=900, now=now
    )
    claims = jwt.decode(token.token, key.public_key(), algorithms=["EdDSA"])
    assert claims["sub"] == "demo"
    assert claims["customer_id"] == 42
    assert claims["scope"] == "feed:own"
    assert claims["exp"] - claims["iat"] == 900
    assert claims["jti"]
    assert token.expires_at == (now + timedelta(seconds=900)).replace(microsecond=0)
    assert jwt.get_unverified_header(token.token)["alg"] == "EdDSA"


def test_a_staff_token_allows_the_whole_feed_without_a_customer():
    key = Ed25519PrivateKey.generate()
    token = live_tokens.mint(key, subject="clerk", customer_id=7, staff=True, ttl_seconds=60)
    claims = jwt.decode(token.token, key.public_key(), algorithms=["EdDSA"])
    assert claims["scope"] == "feed:all"
    assert claims["customer_id"] is None
    assert token.staff and token.customer_id is None


def test_every_token_has_its_own_id():
    key = Ed25519PrivateKey.generate()
    ids = {
        jwt.decode(
            live_tokens.mint(key, subject="a", customer_id=1, staff=False, ttl_seconds=60).token,
            key.public_key(),
            algorithms=["EdDSA"],
        )["jti"]
        for _ in range(5)
    }
    assert len(ids) == 5


def test_an_expired_token_is_refused():
    key = Ed25519PrivateKey.generate()
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    token = live_tokens.mint(
        key, subject="demo", customer_id=1, staff=False, ttl_seconds=60, now=long_ago
    )
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(token.token, key.public_key(), algorithms=["EdDSA"])


def test_a_token_made_with_another_key_is_refused():
    ours, theirs = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    forged = live_tokens.mint(theirs, subject="demo", customer_id=1, staff=True, ttl_seconds=60)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(forged.token, ours.public_key(), algorithms=["EdDSA"])


def test_a_key_pair_is_made_on_first_use_with_the_public_half_beside_it(tmp_path):
    key_file = tmp_path / "keys" / "live-token-ed25519.pem"
    key = live_tokens.signing_key("", key_file)

    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    public_file = tmp_path / "keys" / "live-token-ed25519.pub.pem"
    public = serialization.load_pem_public_key(public_file.read_bytes())
    token = live_tokens.mint(key, subject="demo", customer_id=1, staff=False, ttl_seconds=60)
    assert jwt.decode(token.token, public, algorithms=["EdDSA"])["sub"] == "demo"
    assert not list(key_file.parent.glob(".*")), "no partial files are left behind"

    live_tokens.signing_key.cache_clear()
    again = live_tokens.signing_key("", key_file)
    assert _pem(again) == _pem(key), "the key is made once and then kept"


def test_a_key_from_the_environment_wins_and_writes_nothing(tmp_path):
    key = Ed25519PrivateKey.generate()
    key_file = tmp_path / "live-token-ed25519.pem"
    loaded = live_tokens.signing_key(_pem(key), key_file)
    assert _pem(loaded) == _pem(key)
    assert not key_file.exists()


def test_a_key_of_the_wrong_kind_is_named(tmp_path):
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(ValueError, match=r"BANK_LIVE_TOKEN_PRIVATE_KEY holds a .*RSA.*Ed25519"):
        live_tokens.signing_key(_pem(rsa_key), tmp_path / "unused.pem")
