"""Reports from a hand-made result: hostile names stay text (no markup, no spreadsheet formulas),
the charts aggregate by month and counterparty, the xlsx has a sheet per category."""

from __future__ import annotations

import datetime as dt
import io

from openpyxl import load_workbook

from fapiao.reconcile.engine import Entry, Result
from fapiao.reconcile.html import to_html
from fapiao.reconcile.report import aggregate, to_xlsx
from fapiao.reconcile.sources import Scope

HOSTILE = '=HYPERLINK("http://x","点我")<script>alert(1)</script>'


def result() -> Result:
    r = Result(Scope(1, "91110108MA0TL7K20Q", "示例", "2024-06"), 3, 3, 2)
    r.entries["missing_at_authority"].append(
        Entry(
            "missing_at_authority",
            "",
            "24110000000000000001",
            dt.date(2024, 6, 3),
            "issued",
            "91310115MA1HT6W455",
            HOSTILE,
            11300,
        )
    )
    r.entries["mismatched"].append(
        Entry(
            "mismatched",
            "011002400111",
            "38217465",
            dt.date(2024, 5, 31),
            "received",
            "91310115MA1HT6W455",
            "上海示范物流有限公司",
            10000,
            fields={"total": {"ledger": "100.00", "authority": "100.01"}},
        )
    )
    r.entries["duplicates_at_authority"].append(
        Entry(
            "duplicates_at_authority",
            "",
            "24110000000000000002",
            dt.date(2024, 6, 9),
            "received",
            "91310115MA1HT6W455",
            "上海示范物流有限公司",
            500,
            count=2,
        )
    )
    return r


def test_aggregates_leave_duplicates_out_of_the_money() -> None:
    agg = aggregate(result())
    assert agg.at_risk == 11300 + 10000
    assert agg.risk_by_month == {"2024-05": 10000, "2024-06": 11300}
    assert agg.by_month["2024-06"]["duplicates_at_authority"] == 1
    assert agg.risk_by_party["上海示范物流有限公司"] == 10000


def test_html_escapes_and_draws() -> None:
    page = to_html(result(), tenant="示例<b>", authority="file.xlsx")
    assert "<script>" not in page and "&lt;script&gt;" in page and "示例&lt;b&gt;" in page
    assert page.count("<svg") == 3 and "<rect" in page
    assert "100.00" in page and "100.01" in page and "38217465" in page


def test_xlsx_keeps_hostile_text_as_text() -> None:
    wb = load_workbook(io.BytesIO(to_xlsx(result(), tenant="示例")))
    sheet = wb["税务平台缺失"]
    assert sheet["E2"].value == HOSTILE and sheet["E2"].data_type == "s"
    assert wb["汇总"]["B2"].value == "示例"
    assert wb["平台重复"]["H2"].value == "2"
