"""IBANs are checked with the ISO 13616 mod-97 rule; the bank issues valid ones of its own."""

import pytest

from sor.bank import iban
from sor.bank.errors import InvalidIban

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "number",
    ["GB82 WEST 1234 5698 7654 32", "DE89370400440532013000", "nl91abna0417164300"],
)
def test_real_world_ibans_are_valid_in_any_spacing_and_case(number):
    assert iban.is_valid(number)
    assert iban.validate(number) == iban.normalize(number)


def test_a_typo_breaks_the_check_digits():
    with pytest.raises(InvalidIban, match="check digits do not match"):
        iban.validate("GB82 WEST 1234 5698 7654 33")


def test_a_wrong_length_for_the_country_is_named():
    with pytest.raises(InvalidIban, match="DE IBANs have 22 characters, this one has 21"):
        iban.validate("DE8937040044053201300")


@pytest.mark.parametrize("text", ["", "hello", "1234567890123456", "NL91 ABNA !417 1643 00"])
def test_text_that_is_not_shaped_like_an_iban_is_refused(text):
    with pytest.raises(InvalidIban, match="is not an IBAN"):
        iban.validate(text)


def test_issued_ibans_are_valid_dutch_format_numbers_of_this_bank():
    issued = {iban.issue_new() for _ in range(200)}
    assert len(issued) == 200
    for number in issued:
        assert iban.is_valid(number)
        assert number.startswith("NL") and number[4:8] == "LIVE" and len(number) == 18


def test_an_iban_reads_in_groups_of_four():
    assert iban.grouped("NL91LIVE0123456789") == "NL91 LIVE 0123 4567 89"
