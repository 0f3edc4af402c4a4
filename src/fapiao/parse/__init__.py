"""Source formats -> canonical invoices. Imports only the model, codec, money and findings.

Each module in this package is one format with the same two functions:
`sniff(data: bytes) -> bool` (by content, never by file name) and
`parse(data: bytes) -> list[Parsed]` (a file may hold several invoices; an unreadable one gives a
Parsed with findings and no invoice, and still every field it read, in `fields`, with its source and
confidence: see `reading`). A module may name its source in `SOURCE` (xml, ofd, text, ocr …). `parse_bytes` picks the first format whose sniff says yes.
Formats are tried in order of an optional module attribute `PRIORITY` (lower first, default 100),
then by name: a container format that others build on (OFD is a zip) comes before the generic one.
Helper modules (no `sniff`/`parse` pair) are skipped.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType

from fapiao.findings import Finding, finding
from fapiao.model import Invoice
from fapiao.parse.reading import FieldRead, from_invoice

MAX_FILE_BYTES = 50 * 1024 * 1024


@dataclass(slots=True)
class Parsed:
    """What one source yielded: an invoice (or None when unreadable) and its findings."""

    invoice: Invoice | None
    findings: list[Finding] = field(default_factory=list)
    label: str = ""  # where inside the file, e.g. "[3]" for the third invoice of a JSON array
    original: bytes | None = None  # its own original file when it is a member of an archive
    # every field read, by canonical path (`number`, `seller.name`, `items[1].amount`)
    fields: dict[str, FieldRead] = field(default_factory=dict)
    # what the ledger records as its source: a file's own invoice, or the platform's record of one
    # (a row of its export list: `fapiao.authority.platform_export`)
    source: str = "file"


Sniff = Callable[[bytes], bool]


def _formats() -> tuple[ModuleType, ...]:
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if callable(getattr(module, "sniff", None)) and callable(getattr(module, "parse", None)):
            found.append(module)
    return ordered(found)


def ordered(formats: Iterable[ModuleType]) -> tuple[ModuleType, ...]:
    """Formats in the order they are tried: by PRIORITY, then by name."""
    return tuple(sorted(formats, key=lambda m: (getattr(m, "PRIORITY", 100), m.__name__)))


FORMATS: tuple[ModuleType, ...] = _formats()
_added: tuple[ModuleType, ...] = ()  # formats a capability adds (`add_formats`)


def add_formats(formats: Iterable[ModuleType]) -> None:
    """Formats from outside this package (a capability's: the platform's export list), known
    from now on to what reads formats inside others (an archive's members)."""
    global _added
    _added = tuple(dict.fromkeys((*_added, *formats)))


def known_formats() -> tuple[ModuleType, ...]:
    """This package's formats and those added, in the order they are tried."""
    return ordered((*FORMATS, *_added)) if _added else FORMATS


def detect(data: bytes, formats: Iterable[ModuleType] = FORMATS) -> ModuleType | None:
    """The first of `formats` (the parse package's own unless given) whose sniff says yes."""
    for module in formats:
        try:
            if module.sniff(data):
                return module
        except Exception:  # a sniff must never sink the batch; the next format gets its turn
            continue
    return None


def parse_bytes(
    data: bytes, *, reads: bool = True, module: ModuleType | None = None
) -> list[Parsed]:
    """Every invoice in `data`, with its findings. `reads=False`: an invoice whose parser says
    nothing field by field keeps `fields` empty instead of getting each field of the invoice
    (the import asks for them only for an input it rejects). `module`: what `detect(data)`
    said, when the caller asked it already."""
    if len(data) > MAX_FILE_BYTES:
        return [
            Parsed(
                None,
                [
                    finding(
                        "too_large",
                        detail=f"{len(data)} 字节，上限 {MAX_FILE_BYTES}",
                        detail_en=f"{len(data)} > {MAX_FILE_BYTES} bytes",
                    )
                ],
            )
        ]
    if not data:
        return [
            Parsed(None, [finding("unreadable", detail="文件为空", detail_en="the file is empty")])
        ]
    module = module or detect(data)
    if module is None:
        detail, detail_en = "不是 fapiao 能读的发票格式", "not an invoice format fapiao reads"
        return [Parsed(None, [finding("unsupported_format", detail=detail, detail_en=detail_en)])]
    try:
        results = list(module.parse(data))
    except RecursionError:
        return [Parsed(None, [finding("hostile", detail="嵌套过深", detail_en="nesting too deep")])]
    except MemoryError:
        detail, detail_en = "读取时内存不足", "out of memory while reading"
        return [Parsed(None, [finding("too_large", detail=detail, detail_en=detail_en)])]
    source = getattr(module, "SOURCE", module.__name__.rpartition(".")[2])
    if not reads:
        return results
    for parsed in results:
        if parsed.invoice is not None and not parsed.fields:
            parsed.fields = from_invoice(parsed.invoice, source)
    return results
