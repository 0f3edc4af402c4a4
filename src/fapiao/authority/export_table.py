"""The platform's 全量发票查询 export read into one Arrow table, column by column.

A million-row export read as one `AuthorityRecord` per row held ~3 GiB and most of a reconcile's
time. Here the cells stay in Arrow: CSV through Arrow's CSV reader, xlsx (and the older .xls,
which some issuing software and older platform pages still give) through calamine (Rust),
and every row that the column-wise checks can decide — digits for numbers, plain decimals for
money, a `YYYY-MM-DD`-like date, no apostrophe-guarded cell, not a red invoice — is converted with
Arrow compute. The rest (a bad row, a red invoice naming its blue one in 备注, an apostrophe, a
date written 2024年1月2日 …) goes through `export_rows.read_row`, the one reading of a row, so
records and findings are the same either way and a bad row's finding names its row as before.

The table has EXPORT_SCHEMA; `rn` is each record's position in the list.
"""

from __future__ import annotations

import codecs
import contextvars
import csv
import datetime as dt
import io
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from fapiao import deadline
from fapiao.authority import export_rows as ef
from fapiao.findings import Finding, finding
from fapiao.model import AuthorityRecord, Identity, Kind, Party, Status
from fapiao.parse.safety import (
    OLE,
    SafeZip,
    Unsafe,
    display_name,
    guard_workbook,
    looks_like_xls,
    looks_like_xlsx,
    looks_like_zip,
    office_document,
    packer_file,
)

EXPORT_SCHEMA = pa.schema(
    [
        ("key", pa.string()),
        ("code", pa.string()),
        ("number", pa.string()),
        ("kind", pa.string()),
        ("issue_date", pa.date32()),
        ("seller_tax_id", pa.string()),
        ("seller_name", pa.string()),
        ("buyer_tax_id", pa.string()),
        ("buyer_name", pa.string()),
        ("amount", pa.int64()),
        ("tax", pa.int64()),
        ("total", pa.int64()),
        ("status", pa.string()),
        ("platform_status", pa.string()),
        ("original_key", pa.string()),
        ("rn", pa.int64()),
        ("source", pa.string()),
        ("risk", pa.string()),
        ("issuer", pa.string()),
        ("remarks", pa.string()),
        # a received invoice's 勾选 (selected / unselected / "": the export does not say)
        ("deduct_state", pa.string()),
        ("deduct_purpose", pa.string()),  # deduct / no_deduct
        ("deduct_period", pa.string()),  # YYYY-MM
    ]
)
DEDUCTION = ("deduct_state", "deduct_purpose", "deduct_period")
CHUNK_ROWS = 100_000  # rows read one by one (a workbook, an uneven CSV) go in chunks this size
# A CSV export is parsed by Arrow's streaming reader a block at a time and converted in chunks of
# about CSV_CHUNK_ROWS rows while the rest is read (the blocks of a chunk are not copied to join
# them). Reading whole with its parallel reader first, then converting, took longer: the
# conversion could not start before the last block was parsed (999,000 rows, the two alternated in
# one process, nothing else changed: 1.15-1.47 s streamed against 1.24-1.69 s).
CSV_BLOCK = 1 << 20
CSV_CHUNK_ROWS = 65_536
_TOTALS = pa.array(["合计", "总计", "小计"])
# money read column-wise: at most 13 digits before the point, so the float64 route is exact
_PLAIN_MONEY = r"^-?[0-9]{1,13}(\.[0-9]{1,2})?$"


def read_export_table(data: bytes, name: str = "") -> tuple[pa.Table, list[Finding]]:
    """xlsx, xls or csv bytes -> (table, findings); a zip of them (the platform's download of a long
    period, or the user's) -> every member's rows, as a folder of them reads. Never raises on
    bad input."""
    if _not_a_workbook(data):
        return _read_zip(data, name)
    parts, findings = _read_parts(data, name)
    return numbered(parts), findings


def _not_a_workbook(data: bytes) -> bool:
    """A zip that is not an xlsx: a zip of exports, or some other file."""
    return looks_like_zip(data) and not looks_like_xlsx(data)


def _read_member(data: bytes, name: str) -> tuple[list[pa.Table], list[Finding]]:
    """A member of a zip of exports: an export, or one finding (a Word file, a zip in the zip)."""
    if _not_a_workbook(data):
        return [], [_not_an_export(name)]
    return _read_parts(data, name)


def _read_zip(data: bytes, name: str) -> tuple[pa.Table, list[Finding]]:
    """The members of a zip of exports, in the zip's order, within the archive guard's limits (a
    zip in it is not opened: the platform's download holds the lists themselves)."""
    if office_document(data):  # a Word or PowerPoint file: one document
        return empty(), [_not_an_export(name)]
    try:
        archive = SafeZip(data)
        tables, findings = [], []
        for info in archive.infos:
            member = display_name(info)
            if packer_file(member):
                continue
            parts, found = _read_member(archive.read(info), f"{name}!{member}")
            tables += parts
            findings += found
    except Unsafe as exc:
        return empty(), [exc.finding]
    return numbered(tables), findings


def read_export_rows(data: bytes) -> tuple[list[tuple[int, AuthorityRecord]], list[Finding]]:
    """xlsx, xls or csv bytes -> each record read with its row number in the file, and the findings
    (a row that could not be read names its row: `row N: 金额`). Never raises on bad input."""
    parts, findings = _read_parts(data)
    rows = [
        row for part in parts for row in zip(part["rn"].to_pylist(), records_of(part), strict=True)
    ]
    return rows, findings


def is_export_text(data: bytes) -> bool:
    """Whether text bytes (csv, tab-separated) open with the export's header row, read from
    their first 64 KiB."""
    head = data[: 1 << 16]
    if len(data) > len(head):
        head = head[: head.rfind(b"\n") + 1]  # whole lines: no character cut in two
    try:
        return next(_csv_chunks(head), None) is not None
    except Unsafe:
        return False


def _read_parts(data: bytes, name: str = "") -> tuple[list[pa.Table], list[Finding]]:
    """The export's rows as tables, `rn` each row's number in the file."""
    try:
        try:
            return _parts_of(_chunks_of(data), name)
        except _Uneven:  # a CSV with rows of another width than its header's
            return _parts_of(_csv_chunks(data, by_rows=True), name)
    except Unsafe as exc:
        return [], [exc.finding]


def _chunks_of(data: bytes) -> Iterator[Any]:
    if looks_like_zip(data) or looks_like_xls(data):
        return _workbook_chunks(data)
    if data[:8] == OLE:  # a Word or Outlook file: no sheet to look for a header in
        return iter(())
    return _csv_chunks(data)


def _parts_of(chunks: Iterator[Any], name: str) -> tuple[list[pa.Table], list[Finding]]:
    """The header's columns first, then each chunk converted; no header: not an export."""
    if next(chunks, None) is None:
        return [], [_not_an_export(name)]
    parts: list[pa.Table] = []
    findings: list[Finding] = []
    for table, found in _converted(chunks):
        if table is not None:
            parts.append(table)
        findings += found
        deadline.check()
    return parts, findings


CONVERT_THREADS = 2  # chunks converted at once: Arrow's kernels let go of the interpreter lock


def _converted(chunks: Iterator[Any]) -> Iterator[tuple[pa.Table | None, list[Finding]]]:
    """Each chunk converted (`_convert`), in the file's order, CONVERT_THREADS of them at a time
    (the next read while one converts; the memory of that many chunks); a row the reading left
    out (`_cut_row`) in its place as a finding."""
    with ThreadPoolExecutor(CONVERT_THREADS) as pool:
        pending: deque[Future[tuple[pa.Table, list[Finding]]] | Finding] = deque()
        for chunk in chunks:
            if isinstance(chunk, Finding):
                pending.append(chunk)
            else:  # in this context: the job's time budget (`deadline`) holds in the thread
                pending.append(pool.submit(contextvars.copy_context().run, _convert, *chunk))
            while len(pending) > CONVERT_THREADS or (pending and isinstance(pending[0], Finding)):
                yield _done(pending.popleft())
        while pending:
            yield _done(pending.popleft())


def _done(
    item: Future[tuple[pa.Table, list[Finding]]] | Finding,
) -> tuple[pa.Table | None, list[Finding]]:
    return (None, [item]) if isinstance(item, Finding) else item.result()


def _not_an_export(name: str) -> Finding:
    where = f" ({name})" if name else ""
    detail = f"不是全量发票查询导出文件{where}：没有含 发票号码、开票日期、金额 … 的表头行"
    detail_en = f"not a 全量发票查询 export{where}: no header row with 发票号码, 开票日期, 金额 …"
    return finding("unsupported_format", detail=detail, detail_en=detail_en)


def empty() -> pa.Table:
    return EXPORT_SCHEMA.empty_table()


def numbered(parts: Sequence[pa.Table]) -> pa.Table:
    """The parts as one table, `rn` their position."""
    table = pa.concat_tables([empty(), *parts])
    rn = _sequence(0, table.num_rows)
    return table.set_column(EXPORT_SCHEMA.get_field_index("rn"), "rn", rn)


def _sequence(start: int, count: int) -> pa.Array:
    """start, start + 1 … (`count` of them) as int64, made in C: a Python range turned into an
    Arrow array took 77 ms a million."""
    ones = pc.fill_null(pa.nulls(count, pa.int64()), 1)
    return pc.add(pc.cumulative_sum(ones), start - 1)


# --- cells ----------------------------------------------------------------------------------------

# A chunk: its columns as text (by export column name), the file row number of its first row, a
# way back to a row's own cells (for `_record`), and whether any of its cells may be guarded by an
# apostrophe ('0123). A CSV export without that byte after its header is spared looking at the
# start of every cell of every column (one of `_convert`'s passes over all the cells; the byte is
# found in C at memory speed). (A 合计 row is not looked for so: searching the text for the words
# took longer than looking at the cells.)
Chunk = tuple[dict[str, pa.Array], int, Callable[[int], dict[str, Any]], bool]


def _too_many_rows() -> Unsafe:
    rows = f"{ef.MAX_ROWS}"
    return Unsafe.of("too_large", f"超过 {rows} 行", f"more than {rows} rows")


def _csv_chunks(data: bytes, by_rows: bool = False) -> Iterator[Any]:
    if b"\x00" in data[:4096]:
        raise Unsafe.of(
            "unsupported_format", "二进制数据，不是 CSV 导出文件", "binary data, not a csv export"
        )
    utf8 = _utf8(data)
    head = utf8[: 1 << 16].decode("utf-8", errors="ignore")
    first = head.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    lines = head.splitlines()[: ef.HEADER_SCAN + 1]
    rows = list(csv.reader(lines, delimiter=delimiter))
    header_at, columns = ef.find_header(rows)
    if columns is None:
        return
    yield columns
    cut = _cut_row(utf8, delimiter, len(rows[header_at]))
    if cut is not None:
        utf8 = utf8[: len(utf8) - len(cut)]
        yield _cut_finding(header_at + 2 + _count_rows(utf8, delimiter, header_at))
    # a title cell spanning lines (Arrow's reader skips lines, not rows), or rows of another
    # width than the header's (`_Uneven`): read row by row
    if by_rows or any("\n" in c or "\r" in c for row in rows[: header_at + 1] for c in row):
        yield from _rows_chunks(_csv_rows(utf8, delimiter), header_at, columns)
        return
    body = _line_starts(utf8, header_at + 1)
    if body >= len(utf8):  # the header and nothing after it (Arrow refuses to skip past the end)
        return
    guarded = utf8.find(b"'", body) >= 0
    yield from _arrow_chunks(utf8, delimiter, header_at, len(rows[header_at]), columns, guarded)


class _Uneven(Exception):
    """A CSV row of another width than the header's: the file is read again row by row."""


def _arrow_chunks(
    utf8: bytes, delimiter: str, header_at: int, width: int, columns: dict[str, int], guarded: bool
) -> Iterator[Chunk]:
    """The rows after the header as Arrow's streaming reader parses them, a block at a time, in
    chunks of about CSV_CHUNK_ROWS rows (a chunk's columns are its blocks', not copied), so that
    the first chunks are converted while the rest is read."""
    bad: list[int] = []

    def invalid(row: Any) -> str:
        bad.append(row.number)
        return "skip"

    try:
        reader = pacsv.open_csv(
            pa.BufferReader(pa.py_buffer(utf8)),
            read_options=pacsv.ReadOptions(
                skip_rows=header_at + 1,
                column_names=[f"c{i}" for i in range(width)],
                block_size=CSV_BLOCK,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                newlines_in_values=True,
                ignore_empty_lines=False,  # a blank line is a row, as the row numbers count
                invalid_row_handler=invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={f"c{i}": pa.string() for i in range(width)},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                check_utf8=False,  # `_utf8` checked the whole text, and cells end at ASCII bytes
            ),
        )
        first, blocks, held = header_at + 2, [], 0
        for batch in reader:
            if bad:  # rows of another width: the row-by-row reading takes them as they are
                raise _Uneven
            blocks.append(batch)
            held += batch.num_rows
            if first - 1 + held > ef.MAX_ROWS:
                raise _too_many_rows()
            if held >= CSV_CHUNK_ROWS:
                yield _arrow_chunk(blocks, columns, first, guarded)
                first, blocks, held = first + held, [], 0
    except pa.ArrowInvalid as exc:
        raise Unsafe.of("unreadable", f"CSV 格式错误：{exc}", f"bad csv: {exc}") from None
    if bad:
        raise _Uneven
    if blocks:
        yield _arrow_chunk(blocks, columns, first, guarded)


def _arrow_chunk(
    blocks: list[pa.RecordBatch], columns: dict[str, int], first_row: int, guarded: bool
) -> Chunk:
    table = pa.Table.from_batches(blocks)
    cols = {name: table.column(at) for name, at in columns.items()}

    def original(i: int) -> dict[str, Any]:
        return {name: col[i].as_py() for name, col in cols.items()}

    return cols, first_row, original, guarded


def _line_starts(utf8: bytes, lines: int) -> int:
    """Where the line after the first `lines` lines starts (the end when there are fewer)."""
    at = 0
    for _ in range(lines):
        at = utf8.find(b"\n", at)
        if at < 0:
            return len(utf8)
        at += 1
    return at


def _cut_row(utf8: bytes, delimiter: str, width: int) -> bytes | None:
    """The file's last line when the file ends inside it: no line end after it, and fewer cells
    than the header (a download cut short). Read as it is, its missing cells would be blanks, and a
    cut amount a smaller one."""
    if not utf8 or utf8.endswith((b"\n", b"\r")):
        return None
    last = utf8[utf8.rfind(b"\n") + 1 :]
    cells = next(csv.reader([last.decode("utf-8", errors="replace")], delimiter=delimiter), [])
    return last if len(cells) < width else None


def _count_rows(utf8: bytes, delimiter: str, header_at: int) -> int:
    """Rows after the header (a cell may hold a line end: counted as the csv reader reads)."""
    rows = csv.reader(io.StringIO(utf8.decode("utf-8", errors="replace")), delimiter=delimiter)
    return max(0, sum(1 for _ in rows) - header_at - 1)


def _cut_finding(row: int) -> Finding:
    return finding(
        "unreadable",
        f"row {row}",
        detail="文件在这一行中途结束（下载不完整？），此行未读取",
        detail_en="the file ends inside this row (an incomplete download?); the row is not read",
    )


def _utf8(data: bytes, piece: int = 1 << 20) -> bytes:
    """The bytes as UTF-8 without a BOM; GBK (gb18030) text re-encoded a MiB at a time, so a
    200 MB export never holds the interpreter lock for a second."""
    start = 3 if data[:3] == codecs.BOM_UTF8 else 0
    body = data[start:] if start else data
    if _is_utf8(body):
        return body
    decoder = codecs.getincrementaldecoder("gb18030")()
    out = [decoder.decode(data[at : at + piece]).encode() for at in range(0, len(data), piece)]
    out.append(decoder.decode(b"", final=True).encode())
    return b"".join(out)


def _is_utf8(data: bytes) -> bool:
    """Checked by Arrow in C: the bytes seen as one large_string value, fully validated."""
    offsets = pa.array([0, len(data)], pa.int64()).buffers()[1]
    value = pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        value.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _csv_rows(utf8: bytes, delimiter: str) -> Iterator[Sequence[Any]]:
    text = io.StringIO(utf8.decode("utf-8"))
    try:
        for n, row in enumerate(csv.reader(text, delimiter=delimiter), 1):
            if n > ef.MAX_ROWS:
                raise _too_many_rows()
            yield row
    except csv.Error as exc:
        raise Unsafe.of("unreadable", f"CSV 格式错误：{exc}", f"bad csv: {exc}") from None


def _workbook_chunks(data: bytes) -> Iterator[Any]:
    """An xlsx (a zip: its limits checked first, a reader would inflate whatever it is given) or
    an .xls (nothing compressed in it: its cells are bounded by the file's size)."""
    kind = "xlsx" if looks_like_zip(data) else "xls"
    refused = guard_workbook(data) if kind == "xlsx" else None
    if refused is not None:
        raise Unsafe(refused)
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        names = [ef.SHEET] if ef.SHEET in book.sheet_names else list(book.sheet_names)
        for name in names:
            sheet = book.get_sheet_by_name(name)
            if sheet.total_height > ef.MAX_ROWS:
                raise _too_many_rows()
            rows = sheet.iter_rows()
            head = [row for _, row in zip(range(ef.HEADER_SCAN), rows, strict=False)]
            header_at, columns = ef.find_header(head)
            if columns is None:
                continue
            yield columns
            rest = iter(head[header_at + 1 :])
            yield from _rows_chunks(_chain(rest, rows), header_at, columns, skip=0)
            return
    except Unsafe:
        raise
    except Exception as exc:  # calamine raises its own types on a damaged workbook
        raise Unsafe.of(
            "unreadable", f"无法读取的 {kind}：{exc}", f"not a readable {kind}: {exc}"
        ) from None


def _chain(*parts: Iterable[Any]) -> Iterator[Any]:
    for part in parts:
        yield from part


def _rows_chunks(
    rows: Iterable[Sequence[Any]], header_at: int, columns: dict[str, int], skip: int | None = None
) -> Iterator[Chunk]:
    """Rows of Python cells (xlsx, or csv read row by row) as chunks. `skip`: rows before the
    first data row still in `rows` (all of them up to the header when None)."""
    it = iter(rows)
    for _ in range(header_at + 1 if skip is None else skip):
        next(it, None)
    first = header_at + 2
    while True:
        block = [list(row) for _, row in zip(range(CHUNK_ROWS), it, strict=False)]
        if not block:
            return
        cells = {name: [ef.cell(row, at) for row in block] for name, at in columns.items()}

        def original(i: int, cells: dict[str, list[Any]] = cells) -> dict[str, Any]:
            return {name: col[i] for name, col in cells.items()}

        texts = {name: pa.array(_texts(name, col), pa.string()) for name, col in cells.items()}
        yield texts, first, original, True
        first += len(block)
        deadline.check()


def _texts(name: str, cells: list[Any]) -> list[str]:
    """Python cells as the text the column-wise reading takes, the same `_record` makes of them;
    a cell only `_record` can read (a bool, a float with more than two decimals …) becomes
    text that fails the column-wise checks."""
    if name == "发票代码":
        return [ef.digits(v, 12 if len(ef.cell_text(v)) == 11 else 0) for v in cells]
    if name == "发票号码":
        return [ef.digits(v, 8) for v in cells]
    if name in ("金额", "税额", "价税合计"):
        return [_moneytext(v) for v in cells]
    if name == "开票日期":
        return [_datetext(v) for v in cells]
    return [ef.cell_text(v) for v in cells]


def _moneytext(value: Any) -> str:
    if isinstance(value, bool):
        return "?"
    if isinstance(value, float):
        return repr(value) if value == value and abs(value) < 1e13 else "?"
    return ef.cell_text(value)


def _datetext(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool) and 20000 < value < 80000:
        return (dt.date(1899, 12, 30) + dt.timedelta(days=int(value))).isoformat()
    return ef.cell_text(value)


# --- conversion -----------------------------------------------------------------------------------


def _convert(
    cols: dict[str, pa.Array],
    first_row: int,
    original: Callable[[int], dict[str, Any]],
    guarded: bool,
) -> tuple[pa.Table, list[Finding]]:
    n = len(next(iter(cols.values())))
    blank = pc.fill_null(pa.nulls(n, pa.string()), "")
    t = {name: _trimmed(col) for name, col in cols.items()}

    def col(name: str) -> pa.Array:
        return t.get(name, blank)

    skip = _blank_rows(t)
    skip = pc.or_(skip, _any(_totals(c) for c in t.values()))
    quoted = _any(pc.starts_with(c, "'") for c in t.values()) if guarded else pa.scalar(False)

    digital = col("数电发票号码")
    has_digital = pc.not_equal(digital, "")
    number = _where(has_digital, digital, col("发票号码"))
    # lengths in bytes: a row whose number is not ASCII digits is not `ok`, and read row by row
    long_number = pc.equal(pc.binary_length(col("发票号码")), 20)
    code = _where(pc.or_(has_digital, long_number), blank, col("发票代码"))
    ok = pc.ascii_is_decimal(number)  # ^[0-9]+$

    amount, ok_amount = _money(col("金额"))
    tax, ok_tax = _money(col("税额"))
    total_given = pc.not_equal(col("价税合计"), "")
    total_read, ok_total = _money(col("价税合计"))
    total = pc.if_else(total_given, total_read, pc.add(amount, tax))
    ok_total = pc.or_(pc.invert(total_given), ok_total)
    issue_date = _date(col("开票日期"))

    platform_status = col("发票状态")
    void = pc.match_substring(platform_status, "作废")
    red = pc.or_(pc.equal(col("是否正数发票"), "否"), pc.less(total, 0))
    seller_id, buyer_id = col("销方识别号"), col("购方识别号")
    for part in (ok_amount, ok_tax, ok_total, pc.is_valid(issue_date)):
        ok = pc.and_(ok, part)
    ok = pc.and_(ok, pc.and_(pc.string_is_ascii(seller_id), pc.string_is_ascii(buyer_id)))
    # red rows name their blue invoice in 备注: `_record` reads that
    ok = pc.and_(ok, pc.invert(pc.and_(red, pc.invert(void))))
    fast = pc.fill_null(pc.and_(pc.and_(ok, pc.invert(quoted)), pc.invert(skip)), False)

    no_code = pc.equal(code, "")
    key = (  # a 数电 list has no codes: nothing to join
        number
        if pc.all(no_code).as_py() is not False
        else pc.if_else(no_code, number, pc.binary_join_element_wise(code, number, "-"))
    )
    table = pa.table(
        {
            "key": key,
            "code": code,
            "number": number,
            "kind": _kinds(col("发票票种"), number),
            "issue_date": issue_date,
            "seller_tax_id": pc.ascii_upper(seller_id),
            "seller_name": col("销方名称"),
            "buyer_tax_id": pc.ascii_upper(buyer_id),
            "buyer_name": col("购买方名称"),
            "amount": amount,
            "tax": tax,
            "total": total,
            "status": pc.if_else(void, Status.VOID.value, Status.NORMAL.value),
            "platform_status": platform_status,
            "original_key": blank,
            "rn": _sequence(first_row, n),
            "source": col("发票来源"),
            "risk": col("发票风险等级"),
            "issuer": col("开票人"),
            "remarks": col("备注"),
            **(
                _deduction(col("勾选状态"), col("用途"), col("税款所属期"))
                if "勾选状态" in t
                else dict.fromkeys(DEDUCTION, blank)  # an export without 勾选: nothing to read
            ),
        },
        schema=EXPORT_SCHEMA,
    )
    quick = table if pc.all(fast).as_py() else table.filter(fast)
    slow = pc.indices_nonzero(pc.invert(pc.or_(fast, pc.fill_null(skip, False)))).to_pylist()
    records: list[tuple[int, AuthorityRecord]] = []
    findings: list[Finding] = []
    for i in slow:
        values = original(i)
        if ef.is_skipped(values):
            continue
        record, problems = ef.read_row(values, first_row + i)
        findings += problems
        if record is not None:
            records.append((first_row + i, record))
    if not records:
        return quick, findings
    rest = table_of([r for _, r in records], [row for row, _ in records])
    # back in file order; `rn` holds the row number until `numbered` makes it the position
    merged = pa.concat_tables([quick, rest]).sort_by("rn")
    return merged, findings


# The first bytes of every character `utf8_trim_whitespace` removes (tests/test_export_table.py
# asks Arrow for them all): ASCII's \t-\r, \x1c-\x1f and space; C2 (U+0085, U+00A0), E1 (U+1680),
# E2 (U+2000-U+205F), E3 (U+3000).
_SPACE_LEADS = bytes([*range(0x09, 0x0E), *range(0x1C, 0x21), 0xC2, 0xE1, 0xE2, 0xE3])


def _trimmed(texts: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """`utf8_trim_whitespace` of a column, skipped when none of its bytes starts a space: then
    every cell is its own trim. Most columns of an export hold no such byte (numbers, dates, tax
    IDs, amounts, most names), and looking for them took a third of the time of trimming, the
    largest part of converting a CSV export (999,000 rows: 0.15 s against 0.42-0.65 s on one core)."""
    return pc.utf8_trim_whitespace(texts) if _holds_any(texts, _SPACE_LEADS) else texts


def _holds_any(texts: pa.Array | pa.ChunkedArray, wanted: bytes) -> bool:
    """Whether a byte of `wanted` is among the cells' bytes (of each chunk's whole data buffer,
    should a chunk be a slice of a larger one): `bytes.translate` looks at memory speed."""
    for chunk in texts.chunks if isinstance(texts, pa.ChunkedArray) else [texts]:
        data = chunk.buffers()[2]
        if data is not None and len(data.to_pybytes().translate(None, wanted)) != data.size:
            return True
    return False


def _where(mask: pa.Array, yes: pa.Array, no: pa.Array) -> pa.Array:
    """`if_else` of two columns, without copying every cell when the mask is all one way (an
    export's rows mostly are alike: all 数电, every amount plain)."""
    if mask.null_count == 0:
        if pc.all(mask).as_py():
            return yes
        if not pc.any(mask).as_py():
            return no
    return pc.if_else(mask, yes, no)


def _blank_rows(columns: dict[str, pa.Array]) -> pa.Array:
    """Rows whose every cell is empty; looked for in every column only when some row of the
    first column is (a blank line, usually none at all)."""
    cells = iter(columns.values())
    first = pc.equal(next(cells), "")
    if not pc.any(first).as_py():
        return first
    return _all([first, *(pc.equal(c, "") for c in cells)])


def _totals(texts: pa.Array) -> pa.Array | pa.Scalar:
    """Which cells are a totals word (合计, 总计, 小计: six bytes each); hashed only in a column
    that has a six-byte cell at all (few do: a status, a short name)."""
    if not pc.any(pc.equal(pc.binary_length(texts), 6)).as_py():
        return pa.scalar(False)
    return pc.is_in(texts, value_set=_TOTALS)


def _all(masks: Iterable[pa.Array]) -> pa.Array:
    out = None
    for m in masks:
        out = m if out is None else pc.and_(out, m)
    assert out is not None
    return out


def _any(masks: Iterable[pa.Array]) -> pa.Array:
    out = None
    for m in masks:
        out = m if out is None else pc.or_(out, m)
    assert out is not None
    return out


def _money(text: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Plain decimals (commas as thousands separators) -> fen, and which rows were plain."""
    plain = pc.replace_substring(text, ",", "") if _holds_any(text, b",") else text
    ok = pc.match_substring_regex(plain, _PLAIN_MONEY)
    if not pc.all(ok).as_py():  # (all of them, mostly: nothing to copy)
        plain = pc.if_else(ok, plain, "0")
    value = pc.cast(plain, pa.float64())
    fen = pc.cast(pc.round(pc.multiply(value, 100.0)), pa.int64())
    return fen, ok


def _date(text: pa.Array) -> pa.Array:
    """As `codec.parse_date` where the text starts with an ASCII date; null elsewhere (the row
    reader then reads it). An export's dates are a few hundred days: each distinct start of a
    cell (eleven characters: `2024年01月02日`) is read once. Sound: a date found in the start of a
    cell is the one found in the whole cell (the clean-up below changes characters one by one),
    and one cut off the start is not found, which sends the row to the row reader."""
    start = pc.utf8_slice_codeunits(text, 0, 11)
    distinct = pc.unique(start)
    return pc.take(_date_of(distinct), pc.index_in(start, value_set=distinct))


def _date_of(text: pa.Array) -> pa.Array:
    cleaned = text
    for old, new in (("年", "-"), ("月", "-"), ("日", ""), ("/", "-")):
        cleaned = pc.replace_substring(cleaned, old, new)
    parts = pc.extract_regex(cleaned, r"^(?P<y>[0-9]{4})-?(?P<m>[0-9]{2})-?(?P<d>[0-9]{2})")
    ymd = pc.binary_join_element_wise(
        pc.struct_field(parts, "y"), pc.struct_field(parts, "m"), pc.struct_field(parts, "d"), "-"
    )
    day = pc.cast(pc.strptime(ymd, format="%Y-%m-%d", unit="s", error_is_null=True), pa.date32())
    # strptime rolls 2024-02-30 over into March: a day whose day of month is not the one
    # written is no day
    written = pc.cast(pc.struct_field(parts, "d"), pa.int64())
    real = pc.equal(pc.day(day), written)
    return pc.if_else(pc.fill_null(real, False), day, pa.scalar(None, pa.date32()))


def _kinds(labels: pa.Array, numbers: pa.Array) -> pa.Array:
    """`kind_of` per distinct label and number width (a handful), then looked up per row: the
    label's position among the distinct labels, doubled, plus one for a 20-digit number, picks
    from the kinds of every pair (no text made per row)."""
    distinct = pc.unique(labels)
    pairs = [(label, width) for label in distinct.to_pylist() for width in ("", "0" * 20)]
    kinds = pa.array([ef.kind_of(label, width).value for label, width in pairs], pa.string())
    twenty = pc.cast(pc.equal(pc.binary_length(numbers), 20), pa.int32())
    return pc.take(kinds, pc.add(pc.multiply(pc.index_in(labels, value_set=distinct), 2), twenty))


def _mapped(texts: pa.Array, read: Callable[[str], str]) -> pa.Array:
    """`read` per distinct text (a handful in a column of states or periods), looked up per row."""
    distinct = pc.unique(texts)
    values = pa.array([read(t) for t in distinct.to_pylist()], pa.string())
    return pc.take(values, pc.index_in(texts, value_set=distinct))


def _deduction(state: pa.Array, purpose: pa.Array, period: pa.Array) -> dict[str, pa.Array]:
    """The 勾选 columns as `export_rows.deduction_of` reads them: purpose and period only of a
    selected invoice."""
    states = _mapped(state, ef.deduct_state)
    selected = pc.equal(states, "selected")
    return {
        "deduct_state": states,
        "deduct_purpose": pc.if_else(selected, _mapped(purpose, ef.deduct_purpose), ""),
        "deduct_period": pc.if_else(selected, _mapped(period, ef.deduct_period), ""),
    }


# --- records --------------------------------------------------------------------------------------


def table_of(records: Sequence[AuthorityRecord], rns: Sequence[int] | None = None) -> pa.Table:
    """Records as an EXPORT_SCHEMA table (rn: `rns`, else their positions)."""
    columns: dict[str, list[Any]] = {name: [] for name in EXPORT_SCHEMA.names}
    for at, r in enumerate(records):
        for name, value in (
            ("key", r.identity.key), ("code", r.code), ("number", r.number),
            ("kind", r.kind.value), ("issue_date", r.issue_date),
            ("seller_tax_id", r.seller.tax_id), ("seller_name", r.seller.name),
            ("buyer_tax_id", r.buyer.tax_id), ("buyer_name", r.buyer.name),
            ("amount", r.amount), ("tax", r.tax), ("total", r.total),
            ("status", r.status.value), ("platform_status", r.platform_status),
            ("original_key", r.original.key if r.original else ""),
            ("rn", rns[at] if rns is not None else at), ("source", r.source),
            ("risk", r.risk), ("issuer", r.issuer), ("remarks", r.remarks),
            ("deduct_state", r.deduct_state), ("deduct_purpose", r.deduct_purpose),
            ("deduct_period", r.deduct_period),
        ):  # fmt: skip
            columns[name].append(value)
    return pa.table(columns, schema=EXPORT_SCHEMA)


def record_of(row: dict[str, Any]) -> AuthorityRecord:
    """One EXPORT_SCHEMA row (as a dict) back as an AuthorityRecord."""
    original = Identity.from_key(row["original_key"]) if row["original_key"] else None
    return AuthorityRecord(
        code=row["code"],
        number=row["number"],
        kind=Kind(row["kind"]),
        issue_date=row["issue_date"],
        seller=Party(row["seller_name"], row["seller_tax_id"]),
        buyer=Party(row["buyer_name"], row["buyer_tax_id"]),
        amount=row["amount"],
        tax=row["tax"],
        total=row["total"],
        status=Status(row["status"]),
        platform_status=row["platform_status"],
        original=original,
        source=row["source"],
        risk=row["risk"],
        issuer=row["issuer"],
        remarks=row["remarks"],
        deduct_state=row.get("deduct_state") or "",
        deduct_purpose=row.get("deduct_purpose") or "",
        deduct_period=row.get("deduct_period") or "",
    )


def records_of(table: pa.Table) -> list[AuthorityRecord]:
    return [record_of(row) for row in table.to_pylist()]
