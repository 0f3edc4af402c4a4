"""A read-only connector over the platform's 全量发票查询 export files (xlsx/csv downloaded by hand).

It answers `list`, `get` and `verify` from the files; `upload` and `issue` raise `ReadOnly`. Problems in
the files are findings (kept in `findings`), never exceptions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

from fapiao.authority.connector import Receipt, VerifyResult, verify_record
from fapiao.authority.errors import ReadOnly
from fapiao.findings import Finding
from fapiao.model import AuthorityRecord, Identity, Invoice


class ExportFileConnector:
    def __init__(self, paths: list[Path] | Path) -> None:
        from fapiao.authority.export_file import read_export

        self.records: list[AuthorityRecord] = []
        self.findings: list[Finding] = []
        for path in [paths] if isinstance(paths, Path) else paths:
            files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
            for f in files:
                recs, found = read_export(f.read_bytes(), f.name)
                self.records.extend(recs)
                self.findings.extend(found)
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
