"""A read-only connector over the platform's 全量发票查询 export files (xlsx, xls or csv downloaded
by hand, or zips of them).

It answers `list`, `get` and `verify` from the files; `upload` and `issue` raise `ReadOnly`. Problems in
the files are findings (kept in `findings`), never exceptions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from fapiao.authority.connector import Receipt, VerifyResult, verify_record
from fapiao.authority.errors import ReadOnly
from fapiao.findings import Finding
from fapiao.model import AuthorityRecord, Identity, Invoice


def read_export_files(paths: list[Path] | Path) -> tuple[pa.Table, list[Finding]]:
    """Export files (a folder: every file in it) as one Arrow table in file order, `rn` each
    row's position (see `export_table`), and the findings about them."""
    from fapiao.authority.export_table import numbered, read_export_table

    tables: list[pa.Table] = []
    findings: list[Finding] = []
    for path in [paths] if isinstance(paths, Path) else paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            table, found = read_export_table(f.read_bytes(), f.name)
            tables.append(table)
            findings.extend(found)
    return numbered(tables), findings


class ExportFileConnector:
    def __init__(self, paths: list[Path] | Path) -> None:
        from fapiao.authority.export_table import records_of

        table, self.findings = read_export_files(paths)
        self.records: list[AuthorityRecord] = records_of(table)
        self._by_key = {r.identity.key: r for r in self.records}

    @classmethod
    def from_records(cls, records: list[AuthorityRecord]) -> ExportFileConnector:
        self = cls.__new__(cls)
        self.records, self.findings = list(records), []
        self._by_key = {r.identity.key: r for r in self.records}
        return self

    def upload(self, invoice: Invoice, idempotency_key: str) -> Receipt:
        raise ReadOnly("导出文件只读 / an export file is read-only")

    def issue(self, draft: Invoice, idempotency_key: str) -> Receipt:
        raise ReadOnly("导出文件只读 / an export file is read-only")

    def list(self, tax_id: str, date_from: dt.date, date_to: dt.date) -> Iterator[AuthorityRecord]:
        for r in self.records:
            if tax_id in (r.seller.tax_id, r.buyer.tax_id) and date_from <= r.issue_date <= date_to:
                yield r

    def get(self, identity: Identity) -> AuthorityRecord | None:
        return self._by_key.get(identity.key)

    def verify(
        self,
        identity: Identity,
        issue_date: dt.date,
        *,
        amount: int | None = None,
        total: int | None = None,
        check_code: str = "",
    ) -> VerifyResult:
        return verify_record(
            self.get(identity), issue_date, amount=amount, total=total, check_code=check_code
        )
