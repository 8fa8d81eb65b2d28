import json

import pytest

from soe.protocol import (
    Auth,
    Find,
    Ping,
    ProtocolError,
    Subscribe,
    Unsubscribe,
    parse_client_message,
    stamp_sent_at,
)

pytestmark = pytest.mark.unit
LIMIT = 4096


def parse(message: object) -> object:
    return parse_client_message(json.dumps(message), LIMIT)


def error_code(text: str | bytes) -> str:
    with pytest.raises(ProtocolError) as raised:
        parse_client_message(text, LIMIT)
    return raised.value.code


def test_an_auth_message_carries_the_token():
    assert parse({"type": "auth", "token": "abc"}) == Auth(type="auth", token="abc")


def test_a_subscribe_may_name_accounts_and_resume_points():
    request = parse(
        {
            "type": "subscribe",
            "accounts": ["DE44500105175407324931"],
            "resume": {"DE44500105175407324931": 7},
        }
    )
    assert isinstance(request, Subscribe)
    assert request.accounts == ["DE44500105175407324931"]
    assert request.resume == {"DE44500105175407324931": 7}
    assert request.all is False


def test_a_subscribe_without_accounts_means_the_customers_own():
    request = parse({"type": "subscribe"})
    assert isinstance(request, Subscribe)
    assert request.accounts is None


def test_a_subscribe_cannot_ask_for_all_and_name_accounts():
    assert error_code(json.dumps({"type": "subscribe", "all": True, "accounts": []})) == "malformed"


def test_an_iban_that_is_not_an_iban_is_refused():
    assert (
        error_code(json.dumps({"type": "subscribe", "accounts": ["../etc/passwd"]})) == "malformed"
    )


def test_a_negative_resume_sequence_is_refused():
    message = {"type": "subscribe", "resume": {"DE44500105175407324931": -1}}
    assert error_code(json.dumps(message)) == "malformed"


def test_a_find_has_a_query_and_a_page_of_at_most_100():
    assert parse({"type": "find"}) == Find(type="find", query="", page=1, page_size=50)
    found = parse({"type": "find", "query": "NL16 LIVE", "page": 3, "page_size": 100})
    assert (found.query, found.page, found.page_size) == ("NL16 LIVE", 3, 100)
    for wrong in ({"page": 0}, {"page_size": 101}, {"page_size": 0}, {"query": "x" * 65}):
        assert error_code(json.dumps({"type": "find", **wrong})) == "malformed"


def test_unsubscribe_and_ping_parse():
    assert isinstance(
        parse({"type": "unsubscribe", "accounts": ["NL91ABNA0417164300"]}), Unsubscribe
    )
    assert parse({"type": "ping", "ts": 5}) == Ping(type="ping", ts=5)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("not json", "malformed"),
        ("[1, 2]", "malformed"),
        ('"auth"', "malformed"),
        (b"\xff\xfe", "malformed"),
        ('{"type": "auth"}', "malformed"),
        ('{"type": "auth", "token": 5}', "malformed"),
        ('{"type": "hello"}', "unknown_type"),
        ('{"token": "x"}', "unknown_type"),
    ],
)
def test_malformed_messages_are_named(text, code):
    assert error_code(text) == code


def test_a_message_over_the_limit_is_refused_before_parsing():
    assert error_code(json.dumps({"type": "auth", "token": "x" * LIMIT})) == "message_too_big"


def test_sent_at_is_added_to_an_encoded_message():
    stamped = stamp_sent_at('{"type":"ping","ts":1}', 42)
    assert json.loads(stamped) == {"type": "ping", "ts": 1, "sent_at": 42}
