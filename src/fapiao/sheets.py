"""Every spreadsheet the project writes (CSV and xlsx) goes through here, so one rule keeps text from
outside (party names, remarks) from becoming a formula.

The rule: a text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return that is not an
amount ("-113.00" stays a number) is formula-like. In CSV it gets a leading apostrophe (a CSV has no
cell types; spreadsheets show the apostrophe-led text as text). In xlsx it is written as a text cell
with Excel's quote prefix: the value is unchanged, it opens as text, and editing it keeps it text.

xlsx files are written in openpyxl's write-only mode: rows stream to the file as they come, so the
time grows linearly with the rows and memory stays flat. Long writes call `deadline.check()` so a
web job over its budget stops. Imports money and deadline only.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from fapiao import deadline
from fapiao.money import MoneyError, parse_yuan

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CHECK_EVERY = 2000  # rows between budget checks


def formula_like(value: Any) -> bool:
    return isinstance(value, str) and value[:1] in FORMULA_START and not _is_amount(value)


def _is_amount(text: str) -> bool:
    try:
        parse_yuan(text)
    except MoneyError:
        return False
    return True


def safe_cell(value: Any) -> Any:
    """A cell value for CSV: formula-like text gets a leading apostrophe."""
    return "'" + value if formula_like(value) else value


def unguard(text: str) -> str:
    """A CSV cell read back: the apostrophe `safe_cell` put before formula-like text comes off."""
    return text[1:] if text[:1] == "'" and formula_like(text[1:]) else text


def safe_row(row: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in row]


# --- CSV ------------------------------------------------------------------------------------------


def write_csv(out: IO[str], header: Sequence[str], rows: Iterable[Iterable[Any]]) -> None:
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for n, row in enumerate(rows, 1):
        writer.writerow(safe_row(row))
        if n % CHECK_EVERY == 0:
            deadline.check()


def csv_chunks(
    header: Sequence[str], rows: Iterable[Iterable[Any]], *, bom: bool = True, every: int = 1000
) -> Iterator[bytes]:
    """UTF-8 CSV in pieces of `every` rows (for a streamed response); with the BOM Excel reads it."""
    buf = io.StringIO()
    if bom:
        buf.write("\ufeff")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    for n, row in enumerate(rows, 1):
        writer.writerow(safe_row(row))
        if n % every == 0:
            yield buf.getvalue().encode("utf-8")
            buf.seek(0)
            buf.truncate()
            deadline.check()
    yield buf.getvalue().encode("utf-8")


def csv_bytes(header: Sequence[str], rows: Iterable[Iterable[Any]], *, bom: bool = True) -> bytes:
    return b"".join(csv_chunks(header, rows, bom=bom))


# --- xlsx -----------------------------------------------------------------------------------------


class Sheet:
    """One write-only worksheet; `append` guards and formats each row as it streams out."""

    def __init__(self, ws: Any, money_format: str = "#,##0.00") -> None:
        from openpyxl.cell import WriteOnlyCell

        self.ws = ws
        self.money_format = money_format
        self._cell = WriteOnlyCell
        self._rows = 0

    def header(self, names: Sequence[str], *, bold: bool = True, freeze: bool = False) -> None:
        from openpyxl.styles import Font

        cells = []
        for name in names:
            cell = self._text(name)
            if bold:
                cell.font = Font(bold=True)
            cells.append(cell)
        if freeze:
            self.ws.freeze_panes = "A2"
        self.ws.append(cells)

    def widths(self, widths: dict[str, float]) -> None:
        """Column widths by letter; must come before the first row (write-only mode)."""
        for col, width in widths.items():
            self.ws.column_dimensions[col].width = width

    def append(self, row: Iterable[Any]) -> None:
        self.ws.append([self._value(v) for v in row])
        self._rows += 1
        if self._rows % CHECK_EVERY == 0:
            deadline.check()

    def _value(self, value: Any) -> Any:
        if isinstance(value, str):
            if formula_like(value):
                return self._text(value)
            return value or None  # an empty cell is not written at all
        if isinstance(value, Decimal):
            cell = self._cell(self.ws, value=value)
            cell.number_format = self.money_format  # a number, shown with separators
            return cell
        return value

    def _text(self, value: Any) -> Any:
        cell = self._cell(self.ws, value=value)
        if isinstance(value, str):
            cell.data_type = "s"  # openpyxl would store "=…" as a formula
            cell.quotePrefix = formula_like(value)
        return cell


class Book:
    """A write-only workbook: `sheet(title)`, rows appended in order, then `save` or `to_bytes`."""

    def __init__(self, money_format: str = "#,##0.00") -> None:
        from openpyxl import Workbook

        self.wb = Workbook(write_only=True)
        self.money_format = money_format  # amounts (Decimal) as numbers in yuan, two decimals

    def sheet(self, title: str) -> Sheet:
        return Sheet(self.wb.create_sheet(title), self.money_format)

    def save(self, target: Path | IO[bytes]) -> None:
        self.wb.save(target)

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        self.wb.save(buf)
        return buf.getvalue()


def xlsx_bytes(title: str, header: Sequence[str], rows: Iterable[Iterable[Any]]) -> bytes:
    """One sheet with a bold header and the rows."""
    book = Book()
    sheet = book.sheet(title)
    sheet.header(header)
    for row in rows:
        sheet.append(row)
    return book.to_bytes()
