"""The platform's 全量发票查询 export (xlsx sheet 发票基础信息, or csv) as invoices: one a row.

A company that lost its own copies downloads this list from the platform; imported, each row
becomes an invoice of the ledger as far as the list says (its head: parties, amounts, date, status,
the blue invoice a red one reverses), recorded with source `authority`, and with a warning that
line items and the invoice's own file are missing (`from_platform_list`). The real file, imported
later, completes the record when it agrees with the row, and is a conflict to review when it does
not (`ledger/head_only.py`). The export file itself is the original every row keeps. A row that cannot be read is rejected on its own, named by
its row in the file; the rest import.

The reading is the reconciliation's (`export_table`): the same columns, aliases and checks, so a
file that reconciles also imports. The import finds this format through the `source_formats` hook
(`plugin.py`), beside the parse package's own. A workbook that is not such an export is one
rejected file, not a zip of members each rejected.
"""

from __future__ import annotations

import re

from fapiao.findings import Finding, finding
from fapiao.parse import Parsed
from fapiao.parse.safety import looks_like_xls, looks_like_xlsx, looks_like_zip

PRIORITY = 150  # before `archive`: an xlsx is a zip, read here as a whole
SOURCE = "platform_export"
LEDGER_SOURCE = "authority"  # what the ledger records as the invoices' source
_ROW = re.compile(r"^row (\d+)\b")


def sniff(data: bytes) -> bool:
    if looks_like_zip(data):
        return looks_like_xlsx(data)
    if looks_like_xls(data):
        return True  # an .xls: the list (or, without its header, one reject naming it)
    # the reader (and Arrow with it, a tenth of a second) loads only for text no format before
    # this one claimed: an import of invoices never pays for it
    from fapiao.authority.export_table import is_export_text

    return is_export_text(data)  # (binary data: no, from the csv reader's own check)


def parse(data: bytes) -> list[Parsed]:
    from fapiao.authority.export_table import read_export_rows

    rows, problems = read_export_rows(data)
    if not rows and not any(_ROW.match(p.field) for p in problems):
        return [Parsed(None, problems or [_empty()], source=LEDGER_SOURCE)]
    out = [
        Parsed(
            record.invoice(),
            [finding("from_platform_list")],
            label=f"[row {row}]",
            source=LEDGER_SOURCE,
        )
        for row, record in rows
    ]
    out += _rejected_rows(problems)
    return out


def _rejected_rows(problems: list[Finding]) -> list[Parsed]:
    """A rejected input for each row that could not be read (its findings together), and one
    more for findings about the file as a whole, if any."""
    by_row: dict[str, list[Finding]] = {}
    for problem in problems:
        match = _ROW.match(problem.field)
        by_row.setdefault(f"[row {match.group(1)}]" if match else "", []).append(problem)
    return [
        Parsed(None, found, label=label, source=LEDGER_SOURCE) for label, found in by_row.items()
    ]


def _empty() -> Finding:
    return finding(
        "unreadable",
        detail="全量发票查询导出文件中没有发票行",
        detail_en="the 全量发票查询 export holds no invoice rows",
    )
