"""The import templates' columns: 用友 (U8 / T+ 凭证导入) and 金蝶 (K/3 / KIS 凭证引入).

The column sets follow the templates those products ship for voucher import, as commonly filled in
by hand (they are not published specifications): one row per 分录, the voucher's fields repeated on
each of its rows, amounts in yuan with two decimals, an empty cell where a side has no amount.

Neither vendor publishes the layout openly: the templates come with the installed product (用友
总账「凭证导入」, 金蝶「标准凭证引出」 whose file 「标准凭证引入」 reads back), and each version adds
columns. What public pages say agrees with the columns here without being authoritative:
- 用友 U8 总账工具 (Pzinsert) 凭证引入, the fields every 分录 must carry, in order: 制单日期, 凭证类别字,
  业务(凭证)号, 附单据数, 摘要, 科目编码, 金额借方, 金额贷方, then optional ones (制单人, 客户编码,
  供应商编码 …) — http://www.100ksw.com/jsj/yynl/3/228066.shtml; the same fields in U8's table
  gl_accvouch (csign 凭证类别字, ino_id 凭证编号, dbill_date 制单日期, idoc 附单据数, cbill 制单人) —
  http://outofmemory.cn/sjk/6630632.html.
- 金蝶 KIS 标准版 引入凭证 from Excel: 日期, 凭证字, 凭证号, 附单据数, 摘要, 科目代码, 科目名称, 借方金额,
  贷方金额, 币别, 汇率, 数量, 单价, 制单人 … —
  https://www.seridoat.com/article/jin-die-kis-biao-zhun-ban-yin-ru-ping-zheng-gong-neng-xiang-jie-yu-shi-cao-zhi-nan.html.
No source found gives 云星空's or T+'s import columns.
A company should export one voucher from its own installation and compare its header row.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from fapiao.sheets import Book
from fapiao.voucher.entries import Voucher

YONYOU = ["凭证类别", "凭证号", "制单日期", "附单据数", "摘要", "科目编码", "科目名称",
          "借方金额", "贷方金额", "客户", "供应商", "制单人"]  # fmt: skip
KINGDEE = ["日期", "会计期间", "凭证字", "凭证号", "分录号", "摘要", "科目代码", "科目名称", "币别",
           "汇率", "原币金额", "借方", "贷方", "制单", "附件数", "核算项目"]  # fmt: skip
FORMATS = {"yonyou": ("凭证导入", YONYOU), "kingdee": ("凭证引入", KINGDEE)}


def _yuan(fen: int) -> Decimal | str:
    return Decimal(fen).scaleb(-2).quantize(Decimal("0.01")) if fen else ""


def rows(fmt: str, vouchers: list[Voucher], maker: str) -> Iterator[list[Any]]:
    for v in vouchers:
        for n, line in enumerate(v.lines, start=1):
            if fmt == "yonyou":
                yield [
                    "记", v.number, v.date.isoformat(), 1, v.summary, line.code, line.name,
                    _yuan(line.debit), _yuan(line.credit),
                    line.party_name if line.party_kind == "客户" else "",
                    line.party_name if line.party_kind == "供应商" else "", maker,
                ]  # fmt: skip
            else:
                party = (
                    f"{line.party_kind}---{line.party_tax_id}---{line.party_name}"
                    if line.party_kind
                    else ""
                )
                yield [
                    v.date.isoformat(), v.date.month, "记", v.number, n, v.summary, line.code,
                    line.name, "人民币", 1, _yuan(line.debit or line.credit), _yuan(line.debit),
                    _yuan(line.credit), maker, 1, party,
                ]  # fmt: skip


def workbook(fmt: str, vouchers: list[Voucher], maker: str) -> bytes:
    title, header = FORMATS[fmt]
    book = Book()
    sheet = book.sheet(title)
    sheet.header(header)
    for row in rows(fmt, vouchers, maker):
        sheet.append(row)
    return book.to_bytes()
