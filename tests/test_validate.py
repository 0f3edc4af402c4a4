"""Each validation rule: the valid case gives nothing, each broken case gives its finding code."""

import datetime as dt
from dataclasses import replace

import pytest
from stdnum.cn import uscc

from fapiao.model import Identity, Kind, LineItem, Party, Status
from fapiao.money import to_words
from fapiao.validate import RULES, Context, validate
from fapiao.validate.tax_id import tax_id_problem

TODAY = Context(today=dt.date(2026, 11, 25))


def codes(inv):
    return sorted({f.code for f in validate(inv, TODAY)})


def error_codes(inv):
    return sorted({f.code for f in validate(inv, TODAY) if f.is_error})


def test_every_rule_is_a_module_with_check():
    names = {name for name, _ in RULES}
    assert {
        "tax_id",
        "number",
        "sums",
        "items",
        "tax_rate",
        "tax_calc",
        "dates",
        "uppercase",
        "red",
    } <= names


def test_generated_invoices_are_valid(factory):
    for _ in range(200):
        inv = factory.invoice()
        assert validate(inv, TODAY) == [], inv


# --- 纳税人识别号 -------------------------------------------------------------------------------


def _with_check(body17: str) -> str:
    return body17 + uscc.calc_check_digit(body17)


@pytest.mark.parametrize(
    "tax_id",
    [
        _with_check("91110108MA01ABCD2"),  # digits + letters in the org code
        _with_check("A1110108MA01ABCD2"),  # registering department a letter: stdnum rejects these
        _with_check("N2110108MA01ABCD2"),
        _with_check("Y1110108MA01ABCD2"),
        "110108123456788",  # 15: region + organisation code 12345678-8
        "11010519491231002X01",  # 20: resident ID + 2 digits
        "12345678901234567",  # 17 digits
        "110105491231002",  # 15: old ID-card number (born 1949-12-31)
    ],
)
def test_tax_id_valid(tax_id):
    assert tax_id_problem(tax_id) is None


def test_stdnum_would_reject_letter_department():
    letter = _with_check("A1110108MA01ABCD2")
    assert not uscc.is_valid(letter)
    assert tax_id_problem(letter) is None


@pytest.mark.parametrize(
    "tax_id",
    [
        "91110108MA01ABCD2X"[:17]
        + ("0" if _with_check("91110108MA01ABCD2")[-1] != "0" else "1"),  # check digit
        "91110108MA01ABIZ2X",  # I and Z cannot appear in a USCC
        "9111A108MA01ABCD2X",  # region must be digits
        "110108123456780",  # organisation code check digit wrong
        "11010519491231002101",  # 20: ID card check wrong
        "1234",
    ],
)
def test_tax_id_invalid(tax_id):
    assert tax_id_problem(tax_id) is not None


def test_broken_seller_tax_id_is_an_error(factory):
    inv = factory.invoice()
    bad = replace(inv, seller=Party(inv.seller.name, inv.seller.tax_id[:-1] + "Z"))
    assert error_codes(bad) == ["tax_id_invalid"]


def test_private_buyer_without_tax_id_is_a_warning(factory):
    inv = factory.invoice(kind=Kind.DIGITAL_NORMAL)
    person = replace(inv, buyer=Party("张某某", ""))
    found = validate(person, TODAY)
    assert [f.code for f in found] == ["tax_id_missing"]
    assert not found[0].is_error


# --- numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "code", "number", "ok"),
    [
        (Kind.DIGITAL_SPECIAL, "", "24112000000012345678", True),
        (Kind.DIGITAL_SPECIAL, "", "2411200000001234567", False),
        (Kind.DIGITAL_NORMAL, "011002400111", "24112000000012345678", False),
        (Kind.VAT_ELECTRONIC_NORMAL, "011002400111", "12345678", True),
        (Kind.VAT_ELECTRONIC_NORMAL, "1100241130", "12345678", False),
        (Kind.VAT_SPECIAL, "1100241130", "12345678", True),
        (Kind.VAT_NORMAL, "011002400104", "1234567", False),
        (Kind.VAT_ELECTRONIC_SPECIAL, "011002400113", "1234567８", False),
    ],
)
def test_number_format(factory, kind, code, number, ok):
    inv = replace(factory.invoice(), kind=kind, code=code, number=number, check_code="")
    assert ("number_invalid" not in codes(inv)) is ok


def test_check_code_must_be_20_digits(factory):
    inv = factory.invoice(kind=Kind.VAT_ELECTRONIC_NORMAL)
    assert codes(replace(inv, check_code="123")) == ["number_invalid"]


# --- sums -------------------------------------------------------------------------------------


def test_sum_mismatch(factory):
    inv = factory.invoice()
    assert error_codes(replace(inv, total=inv.total + 1)) == ["sum_mismatch"]


def test_items_mismatch(factory):
    inv = factory.invoice()
    line = inv.items[0]
    shifted = replace(line, amount=line.amount + 100, tax=line.tax)
    bad = replace(inv, items=(shifted, *inv.items[1:]))
    assert "items_mismatch" in error_codes(bad)


def test_discount_lines_add_up(factory):
    inv = factory.invoice()
    line = LineItem(name="*电子计算机*笔记本电脑", amount=1000000, tax_rate="0.13", tax=130000)
    discount = LineItem(name="*电子计算机*笔记本电脑", amount=-100000, tax_rate="0.13", tax=-13000)
    ok = replace(inv, items=(line, discount), amount=900000, tax=117000, total=1017000)
    assert validate(ok, TODAY) == []


# --- rates and line tax -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rate", ["0.13", "0.09", "0.06", "0.05", "0.03", "0.01", "0", "exempt", "nontaxable", "margin"]
)
def test_valid_rates(rate):
    from fapiao.validate.tax_rate import VALID_RATES

    assert rate in VALID_RATES


def _one_line(factory, rate, amount, tax):
    inv = factory.invoice()
    line = LineItem(name="*测试*服务", amount=amount, tax_rate=rate, tax=tax)
    return replace(inv, items=(line,), amount=amount, tax=tax, total=amount + tax)


def test_invalid_rate(factory):
    assert error_codes(_one_line(factory, "0.17", 10000, 1700)) == ["tax_rate_invalid"]


def test_tax_within_tolerance_passes(factory):
    assert validate(_one_line(factory, "0.13", 10000, 1306), TODAY) == []


def test_tax_beyond_tolerance_fails(factory):
    assert error_codes(_one_line(factory, "0.13", 10000, 1307)) == ["tax_calc_mismatch"]


def test_exempt_line_must_have_no_tax(factory):
    assert validate(_one_line(factory, "exempt", 10000, 0), TODAY) == []
    assert error_codes(_one_line(factory, "exempt", 10000, 600)) == ["tax_calc_mismatch"]


def test_margin_line_is_not_checked_against_rate(factory):
    assert validate(_one_line(factory, "margin", 10000, 77), TODAY) == []


# --- dates ------------------------------------------------------------------------------------


def test_future_date(factory):
    inv = factory.invoice()
    assert error_codes(replace(inv, issue_date=dt.date(2026, 11, 26))) == ["date_invalid"]
    assert validate(replace(inv, issue_date=dt.date(2026, 11, 25)), TODAY) == []


def test_date_before_vat(factory):
    assert error_codes(replace(factory.invoice(), issue_date=dt.date(1990, 1, 1))) == [
        "date_invalid"
    ]


# --- 大写 -------------------------------------------------------------------------------------


def test_uppercase_by_value(factory):
    inv = factory.invoice()
    words = to_words(inv.total)
    assert validate(replace(inv, total_words=words), TODAY) == []
    assert validate(replace(inv, total_words=words.replace("圆", "元")), TODAY) == []
    assert error_codes(replace(inv, total_words=to_words(inv.total + 1))) == ["uppercase_mismatch"]
    assert error_codes(replace(inv, total_words="胡言乱语")) == ["uppercase_mismatch"]


# --- red --------------------------------------------------------------------------------------


def test_red_invoice_valid(factory):
    blue = factory.invoice()
    assert validate(factory.red_of(blue), TODAY) == []


def test_red_without_original(factory):
    red = factory.red_of(factory.invoice())
    assert error_codes(replace(red, original=None)) == ["red_without_original"]


def test_red_not_negative(factory):
    blue = factory.invoice()
    red = replace(blue, status=Status.RED, original=Identity(blue.code, blue.number))
    assert error_codes(red) == ["red_not_negative"]


def test_findings_have_both_languages(factory):
    inv = factory.invoice()
    for f in validate(replace(inv, total=inv.total + 1), TODAY):
        assert f.message and f.message_en and f.message != f.message_en


def test_a_wrong_number_is_named_in_words_for_a_chinese_reader(factory):
    """发票代码格式不符合增值税专用发票的要求, not `code格式不符合vat_special的要求`."""
    inv = replace(factory.invoice(), kind=Kind.VAT_SPECIAL, code="", number="12345678")
    [found] = [f for f in validate(inv, Context()) if f.code == "number_invalid"]
    assert found.field == "code"
    assert found.message.startswith("发票代码格式不符合增值税专用发票的要求")
    assert found.message_en.startswith("code has the wrong format for vat_special")


def test_findings_name_fields_in_words_in_chinese():
    """缺少字段：金额 and 第 2 行税率, the path kept in the English message and the finding."""
    from fapiao.findings import finding

    missing = finding("field_missing", "amount")
    assert (missing.message, missing.message_en) == ("缺少字段：金额", "missing field: amount")
    bad = finding("field_invalid", "items[2].tax_rate", detail="?")
    assert (
        bad.message.startswith("字段 第 2 行税率 的值无效")
        and "items[2].tax_rate" in bad.message_en
    )
    assert finding("field_missing", "row 4: 金额").message == "缺少字段：row 4: 金额"  # as given
