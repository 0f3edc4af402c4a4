"""Shared limits for reading untrusted files: XML without DTDs or entities, zips with bounds.

Every reader of structured input goes through here, so one place decides what is hostile:
- XML: no DTD, no entity declarations, no network, no external files; a document that declares a
  DTD is refused (`hostile`) rather than parsed. Parsers are lxml's with entity resolution off.
- Zip: member count, total declared size, per-member compression ratio, names (`..`, absolute,
  backslashes, drive letters, NUL) checked from the central directory before anything is inflated;
  members are then read in chunks with a byte budget, so a member that lies about its size stops at
  the budget instead of filling memory. Encrypted members and bad CRCs are `unreadable`.

Problems are returned as findings (`Unsafe` carries one); nothing here raises on bad input.
Imports only findings; a helper module of the parse package (no `sniff`/`parse`).
"""

from __future__ import annotations

import contextlib
import io
import re
import struct
import threading
import zipfile
import zlib
from dataclasses import dataclass

from lxml import etree

from fapiao.findings import Finding, finding

MAX_XML_BYTES = 8 * 1024 * 1024
MAX_MEMBERS = 5_000
MAX_TOTAL_BYTES = 200 * 1024 * 1024  # inflated, over a whole archive tree
MAX_MEMBER_BYTES = 50 * 1024 * 1024
MAX_RATIO = 200  # inflated / compressed, for members above RATIO_FLOOR
RATIO_FLOOR = 1024 * 1024
MAX_DEPTH = 2  # a zip inside a zip is fine; one more level is refused

_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_local = threading.local()


class Unsafe(Exception):
    """Raised inside this package's readers; carries the finding to report. Never leaves a parser."""

    def __init__(self, found: Finding) -> None:
        super().__init__(found.message_en)
        self.finding = found

    @classmethod
    def of(cls, code: str, detail: str, detail_en: str) -> Unsafe:
        """Refusing hostile or broken input, the reason in Chinese and English."""
        return cls(finding(code, detail=detail, detail_en=detail_en))


def _parsers() -> tuple[etree.XMLParser, etree.XMLParser]:
    parsers = getattr(_local, "parsers", None)
    if parsers is None:
        options = {
            "resolve_entities": False,
            "no_network": True,
            "load_dtd": False,
            "dtd_validation": False,
            "huge_tree": False,
            "remove_comments": True,
            "remove_pis": True,
        }
        parsers = (etree.XMLParser(**options), etree.XMLParser(recover=True, **options))
        _local.parsers = parsers
    return parsers


def declares_dtd(data: bytes) -> bool:
    """True when the text declares a DTD or entities (in any of the encodings XML may use)."""
    if _DTD.search(data[:65536]):
        return True
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or data[:4] in (b"<\x00?\x00", b"\x00<\x00?"):
        try:
            text = data[:131072].decode("utf-16")
        except UnicodeDecodeError:
            return False
        return bool(_DTD.search(text.encode("utf-8", "replace")))
    return False


def xml_head(data: bytes, size: int = 2048) -> str:
    """The start of an XML document as text from its first '<' (UTF-8, UTF-16 with BOM, or an
    ASCII-compatible code); "" when the data does not start as XML. A first byte that is an ASCII
    character neither '<' nor whitespace says so without decoding anything (a JSON or PDF file)."""
    first = data[:1]
    if first and first[0] < 0x80 and first != b"<" and not first.decode().isspace():
        return ""
    head = data[:size]
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        text = head.decode("utf-16", "ignore")
    else:
        text = head.decode("utf-8", "ignore").lstrip("\ufeff")
    text = text.lstrip()
    return text if text.startswith("<") else ""


def _too_many_members(count: int, most: int) -> Unsafe:
    return Unsafe.of("too_large", f"{count} 个成员，上限 {most}", f"{count} members > {most}")


def _inflates_beyond(name: str, cap: int) -> Unsafe:
    return Unsafe.of(
        "too_large",
        f"{name!r} 解压后超过 {cap} 字节",
        f"member {name!r} inflates beyond {cap} bytes",
    )


def parse_xml(data: bytes, *, recover: bool = False, limit: int = MAX_XML_BYTES) -> etree._Element:
    """Untrusted bytes -> root element, or `Unsafe` with a hostile / too_large / unreadable finding.

    `recover` tolerates malformed markup (real OFD files carry some); DTDs are refused either way.
    """
    if len(data) > limit:
        raise Unsafe.of(
            "too_large",
            f"XML {len(data)} 字节，上限 {limit}",
            f"XML of {len(data)} bytes > {limit}",
        )
    if declares_dtd(data):
        raise Unsafe.of("hostile", "XML 声明了 DTD 或实体", "XML declares a DTD or entities")
    strict, tolerant = _parsers()
    parser = tolerant if recover else strict
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise Unsafe.of(
            "unreadable", f"XML 格式错误：{exc.msg}", f"malformed XML: {exc.msg}"
        ) from None
    except (ValueError, TypeError) as exc:
        raise Unsafe.of("unreadable", f"不是 XML：{exc}", f"not XML: {exc}") from None
    if root is None:
        raise Unsafe.of("unreadable", "XML 没有根元素", "XML has no root element")
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise Unsafe.of("hostile", "XML 声明了 DTD", "XML declares a DTD")
    return root


def parse_plain(data: bytes, *, recover: bool = False) -> etree._Element:
    """`parse_xml`, then `strip_namespaces`: skipped for a strictly parsed document in an
    ASCII-compatible encoding that never says `xmlns` (the strict parser refuses undeclared
    prefixes and entities, so such a tree has nothing to strip: the 数电票 XML as issued)."""
    root = parse_xml(data, recover=recover)
    if recover or b"xmlns" in data or not _ascii_compatible(data):
        strip_namespaces(root)
    return root


def _ascii_compatible(data: bytes) -> bool:
    head = data[:4]
    return b"\x00" not in head and head[:2] not in (b"\xff\xfe", b"\xfe\xff")


def local_name(tag: object) -> str:
    """`{ns}Tag` or `prefix:Tag` (kept by a tolerant parse) -> `Tag`; "" for comments and entities."""
    if not isinstance(tag, str):
        return ""
    if tag[:1] == "{":
        return tag.rpartition("}")[2]
    return tag.rpartition(":")[2] or tag


def strip_namespaces(root: etree._Element) -> etree._Element:
    """Replace `{ns}tag` (and `prefix:tag`) by `tag` in place, so readers can use plain paths whatever the prefix."""
    for el in root.iter():
        tag = el.tag
        if isinstance(tag, str):
            if tag[0] == "{":
                el.tag = tag.rpartition("}")[2]
            elif ":" in tag:  # an undeclared prefix that a tolerant parse kept in the name
                # a file cut inside a tag leaves `ofd:` with nothing valid after it: kept as read
                with contextlib.suppress(ValueError):
                    el.tag = tag.rpartition(":")[2]
        else:  # an entity reference or other special node left unresolved
            parent = el.getparent()
            if parent is not None:
                parent.remove(el)
    return root


# --- zip ------------------------------------------------------------------------------------------

_EOCD = b"PK\x05\x06"


def looks_like_zip(data: bytes) -> bool:
    return data[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")


OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # a compound file: .xls, .doc, .ppt, .msg …
# the stream an Excel 97-2003 workbook keeps its sheets in (Excel 5: "Book"), as the compound
# file's directory names it (UTF-16, at the start of a 128-byte entry)
_XLS_STREAMS = ("Workbook".encode("utf-16-le"), "Book\x00".encode("utf-16-le"))


def looks_like_xls(data: bytes) -> bool:
    """An Excel 97-2003 workbook (.xls): a compound file whose directory names its book stream.
    A Word .doc or an Outlook .msg is a compound file too, without that stream."""
    return data[:8] == OLE and any(name in data for name in _XLS_STREAMS)


_PACKER_FILES = ("__MACOSX/", ".DS_Store", "Thumbs.db")  # what a desktop adds when it zips
OFFICE_PARTS = "[Content_Types].xml"  # at the root of every docx, xlsx and pptx
_WORKBOOK = "xl/workbook.xml"  # … and this only in an xlsx


def packer_file(name: str) -> bool:
    """A member a desktop added when it made the zip (macOS resource forks, Finder and Explorer
    caches): not one of the files zipped."""
    return name.startswith(_PACKER_FILES) or name.rsplit("/", 1)[-1] in _PACKER_FILES


def looks_like_xlsx(data: bytes) -> bool:
    """An Excel workbook (.xlsx): a zip whose central directory lists the book."""
    return looks_like_zip(data) and zip_lists(data, _WORKBOOK)


def office_document(data: bytes) -> bool:
    """A Word, Excel or PowerPoint file: a zip too, but one document, not an archive of files."""
    return zip_lists(data, OFFICE_PARTS)


def zip_lists(data: bytes, name: str) -> bool:
    """Whether a zip's central directory (at the end: a few KiB for a workbook or a document)
    names the member `name`; a quick look at the tail first, the directory read only then."""
    if name.encode() not in data[-65536:]:
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return name in archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return False


def _declared_count(data: bytes) -> int | None:
    at = data.rfind(_EOCD, max(0, len(data) - 65557))
    if at < 0 or at + 22 > len(data):
        return None
    return int(struct.unpack("<H", data[at + 10 : at + 12])[0])


def name_problem(name: str) -> tuple[str, str] | None:
    """Why a member name is refused (path traversal and the like), in Chinese and English, or
    None."""
    if not name or "\x00" in name:
        return "成员名为空或含 NUL", "empty name or NUL in a member name"
    if "\\" in name:
        return f"成员名含反斜杠：{name!r}", f"backslash in member name {name!r}"
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return f"成员名是绝对路径：{name!r}", f"absolute member name {name!r}"
    if ".." in name.split("/"):
        return f"成员名越出目录：{name!r}", f"path traversal in member name {name!r}"
    return None


def display_name(info: zipfile.ZipInfo) -> str:
    """The member name as its author wrote it: zips without the UTF-8 flag are often GBK."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("gbk")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


@dataclass
class Budget:
    """Bytes that may still be inflated over a whole archive tree (shared by nested archives)."""

    left: int = MAX_TOTAL_BYTES


class SafeZip:
    """A zip whose central directory passed the checks; members are read within a byte budget."""

    def __init__(
        self,
        data: bytes,
        budget: Budget | None = None,
        *,
        max_members: int = MAX_MEMBERS,
        max_member_bytes: int = MAX_MEMBER_BYTES,
    ):
        if not looks_like_zip(data):
            raise Unsafe.of("unreadable", "不是 zip 文件", "not a zip file")
        count = _declared_count(data)
        if count is not None and count > max_members:
            raise _too_many_members(count, max_members)
        try:
            self.data = data
            self.zf = zipfile.ZipFile(io.BytesIO(data))
            infos = self.zf.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError) as exc:
            raise Unsafe.of(
                "unreadable", f"zip 文件不完整或已损坏：{exc}", f"truncated or corrupt zip: {exc}"
            ) from None
        except NotImplementedError as exc:
            raise Unsafe.of(
                "unreadable", f"不支持的 zip：{exc}", f"unsupported zip: {exc}"
            ) from None
        if len(infos) > max_members:
            raise _too_many_members(len(infos), max_members)
        self.budget = budget or Budget()
        total = 0
        for info in infos:
            problem = name_problem(info.filename)
            if problem:
                raise Unsafe.of("hostile", *problem)
            total += info.file_size
            if info.file_size > max_member_bytes:
                raise Unsafe.of(
                    "too_large",
                    f"{info.filename!r} 有 {info.file_size} 字节",
                    f"member {info.filename!r} of {info.file_size} bytes",
                )
            if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(
                info.compress_size, 1
            ):
                ratio = info.file_size // max(info.compress_size, 1)
                raise Unsafe.of(
                    "hostile",
                    f"压缩炸弹：{info.filename!r} 解压后膨胀 {ratio} 倍",
                    f"zip bomb: {info.filename!r} inflates {ratio}×",
                )
        if total > self.budget.left:
            raise Unsafe.of(
                "too_large", f"压缩包解压后 {total} 字节", f"archive inflates to {total} bytes"
            )
        self.infos = [i for i in infos if not i.is_dir()]
        self._by_name = {i.filename: i for i in self.infos}
        self._by_lower = {i.filename.lower(): i for i in self.infos}

    def names(self) -> list[str]:
        return [i.filename for i in self.infos]

    def find(self, name: str) -> zipfile.ZipInfo | None:
        """A member by path, tolerating a leading slash, `./` and letter case."""
        clean = name.replace("\\", "/").lstrip("/")
        while clean.startswith("./"):
            clean = clean[2:]
        return self._by_name.get(clean) or self._by_lower.get(clean.lower())

    def read(self, info: zipfile.ZipInfo | str, limit: int = MAX_MEMBER_BYTES) -> bytes:
        """Inflate one member in chunks; never more than `limit` or what the budget has left."""
        if isinstance(info, str):
            found = self.find(info)
            if found is None:
                raise Unsafe.of("unreadable", f"缺少 {info!r}", f"member {info!r} is missing")
            info = found
        if info.flag_bits & 0x1:
            raise Unsafe.of(
                "unreadable", f"{info.filename!r} 已加密", f"member {info.filename!r} is encrypted"
            )
        cap = min(limit, self.budget.left)
        if info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            out = self._inflate(info, cap)
            self.budget.left -= len(out)
            return out
        chunks: list[bytes] = []
        size = 0
        try:
            with self.zf.open(info) as fh:
                while True:
                    chunk = fh.read(min(65536, cap - size + 1))
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > cap:
                        raise _inflates_beyond(info.filename, cap)
                    chunks.append(chunk)
        except Unsafe:
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
            raise Unsafe.of(
                "unreadable",
                f"{info.filename!r} 已损坏：{exc}",
                f"member {info.filename!r} is corrupt: {exc}",
            ) from None
        except (NotImplementedError, RuntimeError) as exc:
            raise Unsafe.of(
                "unreadable",
                f"{info.filename!r} 无法读取：{exc}",
                f"member {info.filename!r} cannot be read: {exc}",
            ) from None
        self.budget.left -= size
        return b"".join(chunks)

    def _inflate(self, info: zipfile.ZipInfo, cap: int) -> bytes:
        """A stored or deflated member straight from the archive's bytes (what zipfile does, without
        its file objects): local header, at most `cap` bytes inflated, then the CRC."""

        def corrupt(why: str) -> Unsafe:
            return Unsafe.of(
                "unreadable",
                f"{info.filename!r} 已损坏：{why}",
                f"member {info.filename!r} is corrupt: {why}",
            )

        at = info.header_offset
        header = self.data[at : at + 30]
        if len(header) < 30 or header[:4] != b"PK\x03\x04":
            raise corrupt("bad local header")
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        start = at + 30 + name_len + extra_len
        raw = self.data[start : start + info.compress_size]
        if len(raw) < info.compress_size:
            raise corrupt("truncated")
        if info.compress_type == zipfile.ZIP_STORED:
            out = raw
        else:
            inflater = zlib.decompressobj(-15)
            try:
                out = inflater.decompress(raw, cap + 1)
            except zlib.error as exc:
                raise corrupt(str(exc)) from None
            if len(out) <= cap and not inflater.eof:
                raise corrupt("deflate stream ends early")
        if len(out) > cap:
            raise _inflates_beyond(info.filename, cap)
        if zlib.crc32(out) != info.CRC:
            raise corrupt("bad CRC")
        return out


WORKBOOK_MAX_MEMBERS = 500


def guard_workbook(data: bytes, *, max_member_bytes: int = MAX_MEMBER_BYTES) -> Finding | None:
    """The archive checks for a zip that another library inflates itself (an xlsx read by openpyxl):
    member count, names, declared sizes and ratios from the central directory, before anything is
    inflated. That library's zipfile stops at the declared sizes, so these bound what it reads.
    Returns the finding that refuses the file, or None."""
    try:
        SafeZip(data, max_members=WORKBOOK_MAX_MEMBERS, max_member_bytes=max_member_bytes)
    except Unsafe as exc:
        return exc.finding
    return None
