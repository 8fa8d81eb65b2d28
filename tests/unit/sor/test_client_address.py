"""X-Forwarded-For names the client only when the direct peer is a proxy the bank trusts."""

import pytest

from sor.bank.client_address import client_of, parse_networks

pytestmark = pytest.mark.unit

PROXIES = parse_networks("10.0.0.1, 10.1.0.0/16")


def test_without_trusted_proxies_the_peer_is_the_client():
    assert client_of("198.51.100.7", "203.0.113.9", ()) == "198.51.100.7"


def test_a_forwarded_address_from_an_untrusted_peer_is_ignored():
    assert client_of("198.51.100.7", "203.0.113.9", PROXIES) == "198.51.100.7"


def test_a_trusted_proxy_names_the_client():
    assert client_of("10.0.0.1", "203.0.113.9", PROXIES) == "203.0.113.9"


def test_the_right_most_untrusted_hop_is_the_client_not_what_the_client_wrote():
    forged_then_real = "1.2.3.4, 203.0.113.9, 10.1.2.3"
    assert client_of("10.0.0.1", forged_then_real, PROXIES) == "203.0.113.9"


def test_garbage_from_a_trusted_proxy_falls_back_to_the_peer():
    assert client_of("10.0.0.1", "not-an-address", PROXIES) == "10.0.0.1"


def test_a_wrong_proxy_entry_is_named():
    with pytest.raises(ValueError, match=r"'proxy\.example' is not an IP address or network"):
        parse_networks("10.0.0.1, proxy.example")
