from decimal import Decimal, InvalidOperation

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fapiao.money import MoneyError, format_fen, from_words, parse_yuan, plain_fen, to_words


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("113.00", 11300),
        ("113", 11300),
        ("0.01", 1),
        ("-0.01", -1),
        ("1,234.5", 123450),
        ("¥57", 5700),
        (113, 11300),
        (Decimal("6.2"), 620),
    ],
)
def test_parse_yuan(text, fen):
    assert parse_yuan(text) == fen


AMOUNT_TEXT = st.from_regex(r"\A-?[0-9]{0,17}(\.[0-9]{0,3})?\Z") | st.text(
    "-0123456789.,¥ e", max_size=12
)


@given(AMOUNT_TEXT)
def test_plain_amounts_read_as_decimal_reads_them(text: str) -> None:
    """The plain form's shortcuts (no Decimal; two decimals without a regex group) give what
    Decimal gives, and take nothing Decimal would refuse or round."""
    fen = plain_fen(text)
    if fen is None:
        return
    try:
        exact = Decimal(text) * 100
    except InvalidOperation:
        raise AssertionError(f"{text!r} read as {fen} fen") from None
    assert exact == exact.to_integral_value() and int(exact) == fen


@pytest.mark.parametrize("bad", ["1.005", "abc", "", "NaN", "Infinity", 1.5, True])
def test_parse_yuan_rejects(bad):
    with pytest.raises(MoneyError):
        parse_yuan(bad)


@pytest.mark.parametrize(
    ("fen", "text"),
    [(11300, "113.00"), (1, "0.01"), (-1, "-0.01"), (-11300, "-113.00"), (0, "0.00")],
)
def test_format_fen(fen, text):
    assert format_fen(fen) == text


@given(st.integers(min_value=-(10**16), max_value=10**16))
def test_format_fen_writes_what_decimal_writes(fen):
    assert format_fen(fen) == f"{Decimal(fen).scaleb(-2):.2f}"


@pytest.mark.parametrize(
    ("fen", "words"),
    [
        (11300, "壹佰壹拾叁圆整"),
        (0, "零圆整"),
        (5, "伍分"),
        (50, "伍角"),
        (1005, "壹拾圆零伍分"),
        (100010, "壹仟圆壹角"),
        (100100, "壹仟零壹圆整"),
        (2067000, "贰万零陆佰柒拾圆整"),
        (100010000, "壹佰万零壹佰圆整"),
        (10000000100, "壹亿零壹圆整"),
        (123456789, "壹佰贰拾叁万肆仟伍佰陆拾柒圆捌角玖分"),
        (-11300, "（负数）壹佰壹拾叁圆整"),
    ],
)
def test_words_both_ways(fen, words):
    assert to_words(fen) == words
    assert from_words(words) == fen


@pytest.mark.parametrize(
    ("words", "fen"),
    [
        ("壹佰壹拾叁元整", 11300),
        ("(负数)壹佰壹拾叁圆整", -11300),
        ("壹拾圆伍角整", 1050),
        ("壹仟圆零壹角", 100010),
    ],
)
def test_words_variants_compare_by_value(words, fen):
    assert from_words(words) == fen


def test_words_round_trip_many():
    for fen in list(range(0, 30000, 7)) + [10**k + 1 for k in range(2, 14)]:
        assert from_words(to_words(fen)) == fen
        assert from_words(to_words(-fen)) == -fen


@pytest.mark.parametrize("bad", ["", "壹佰圆X", "伍"])
def test_words_rejects(bad):
    with pytest.raises(MoneyError):
        from_words(bad)
