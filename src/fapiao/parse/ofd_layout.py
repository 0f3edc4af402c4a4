"""The structure of an OFD package (GB/T 33190) as far as invoices need it.

`OFD.xml` → `DocBody/DocInfo/CustomDatas` (name → value) and `DocRoot` (e.g. `Doc_0/Document.xml`);
`Document.xml` → pages (`Pages/Page/@BaseLoc`), template pages, `Attachments` and `CustomTags`;
page `Content.xml` → `TextObject/@ID` → text; the custom tag file maps field names to text objects.
Paths in a document are relative to the file that names them, or absolute from the package root.
Real files are untidy (malformed XML, missing folders, odd paths): everything here tolerates that
and yields what it can. A helper module of the parse package (no `sniff`/`parse`).
"""

from __future__ import annotations

import io
import posixpath
import warnings
from dataclasses import dataclass, field

from lxml import etree

from fapiao.findings import finding
from fapiao.parse.safety import SafeZip, Unsafe, local_name, parse_xml, strip_namespaces

MAX_PAGES = 50
QR_IMAGE_BYTES = 512 * 1024
QR_IMAGE_SIDE = 1200


def resolve(base_dir: str, loc: str) -> str:
    loc = (loc or "").strip().replace("\\", "/")
    if loc.startswith("/"):
        return loc.lstrip("/")
    return posixpath.normpath(posixpath.join(base_dir, loc)) if base_dir else loc


@dataclass
class Package:
    """What was read from one OFD: metadata, page text by object ID, tags, attachments."""

    zf: SafeZip
    custom: dict[str, str] = field(default_factory=dict)
    doc_dir: str = ""
    doc: etree._Element | None = None
    texts: dict[str, str] = field(default_factory=dict)  # TextObject ID -> its text
    order: list[str] = field(default_factory=list)  # TextObject IDs in page order
    template_texts: list[str] = field(default_factory=list)
    tags: dict[str, list[str]] = field(default_factory=dict)  # field -> one text per occurrence
    tag_y: dict[str, list[float]] = field(default_factory=dict)  # field -> top of each occurrence
    y: dict[str, float] = field(default_factory=dict)  # TextObject ID -> top of its boundary
    notes: list[str] = field(default_factory=list)  # what could not be read, for the record

    template_paths: list[str] = field(default_factory=list)
    _templates_read: bool = False

    def xml(self, path: str, *, recover: bool = True, plain: bool = True) -> etree._Element | None:
        """A member's XML root; `plain=False` keeps namespaces (read with `named`, faster)."""
        info = self.zf.find(path)
        if info is None:
            return None
        data = self.zf.read(info)
        try:
            root = parse_xml(data, recover=recover)
            return strip_namespaces(root) if plain else root
        except Unsafe as exc:
            if exc.finding.code in ("hostile", "too_large"):
                raise
            self.notes.append(f"{path}: {exc.finding.message_en}")
            return None


def open_package(zf: SafeZip) -> Package:
    pkg = Package(zf)
    root = pkg.xml("OFD.xml")
    if root is None:
        raise Unsafe(
            finding(
                "unreadable",
                detail="OFD 缺少可读的 OFD.xml",
                detail_en="OFD without a readable OFD.xml",
            )
        )
    body = root.find("DocBody")
    if body is not None:
        for el in body.iterfind("DocInfo/CustomDatas/CustomData"):
            name = (el.get("Name") or "").strip()
            if name:
                pkg.custom[name] = (el.text or "").strip()
        doc_root = resolve("", body.findtext("DocRoot") or "")
    else:
        doc_root = ""
    if not doc_root or zf.find(doc_root) is None:
        doc_root = next((n for n in zf.names() if n.lower().endswith("/document.xml")), "")
    pkg.doc_dir = posixpath.dirname(doc_root)
    pkg.doc = pkg.xml(doc_root) if doc_root else None
    return pkg


def attachments(pkg: Package) -> list[tuple[str, bytes]]:
    """(path, bytes) of each attached XML (original_invoice.xml, XBRL …)."""
    paths: list[str] = []
    loc = pkg.doc.findtext("Attachments") if pkg.doc is not None else None
    if loc:
        list_path = resolve(pkg.doc_dir, loc)
        listing = pkg.xml(list_path)
        if listing is not None:
            base = posixpath.dirname(list_path)
            for att in listing.iterfind("Attachment"):
                file_loc = att.findtext("FileLoc")
                if file_loc:
                    paths.append(resolve(base, file_loc))
    if not paths:
        paths = [
            n
            for n in pkg.zf.names()
            if "/attachs/" in n.lower()
            and n.lower().endswith(".xml")
            and not n.lower().endswith("attachments.xml")
        ]
    out = []
    for path in paths:
        info = pkg.zf.find(path)
        if info is not None and path.lower().endswith((".xml", ".xbrl")):
            out.append((path, pkg.zf.read(info)))
    return out


def named(root: etree._Element, name: str) -> list[etree._Element]:
    """Elements called `name` in any namespace or none, in document order; also finds names a
    tolerant parse kept with an undeclared prefix (`ofd:TextObject`: the tree is then stripped)."""
    found = list(root.iter("{*}" + name))
    if found or local_name(root.tag) == root.tag:
        return found
    return list(strip_namespaces(root).iter(name))


def template_texts(pkg: Package) -> list[str]:
    """Text printed by the template pages (the title), read when first asked for."""
    if not pkg._templates_read:
        pkg._templates_read = True
        for path in pkg.template_paths[:MAX_PAGES]:
            root = pkg.xml(path, plain=False)
            if root is not None:
                pkg.template_texts.extend(text for _, text, _ in _text_objects(root))
    return pkg.template_texts


def _text_objects(root: etree._Element) -> list[tuple[str, str, float]]:
    out = []
    for obj in named(root, "TextObject"):
        text = "".join(code.text or "" for code in obj.iter("{*}TextCode"))
        try:
            top = float((obj.get("Boundary") or "0 0").split()[1])
        except (IndexError, ValueError):
            top = 0.0
        out.append((obj.get("ID") or "", text, top))
    return out


def read_pages(pkg: Package) -> None:
    """Page and template text objects, then the custom tag map resolved to their texts."""
    doc = pkg.doc
    page_paths: list[str] = []
    template_paths = pkg.template_paths
    if doc is not None:
        for page in doc.iterfind("Pages/Page"):
            if page.get("BaseLoc"):
                page_paths.append(resolve(pkg.doc_dir, page.get("BaseLoc") or ""))
        for tpl in doc.iterfind("CommonData/TemplatePage"):
            if tpl.get("BaseLoc"):
                template_paths.append(resolve(pkg.doc_dir, tpl.get("BaseLoc") or ""))
    for path in page_paths[:MAX_PAGES]:
        root = pkg.xml(path, plain=False)
        if root is None:
            continue
        for obj_id, text, top in _text_objects(root):
            if obj_id and obj_id not in pkg.texts:
                pkg.texts[obj_id] = text
                pkg.y[obj_id] = top
                pkg.order.append(obj_id)
    _read_tags(pkg)


def _read_tags(pkg: Package) -> None:
    files: list[str] = []
    loc = pkg.doc.findtext("CustomTags") if pkg.doc is not None else None
    if loc:
        list_path = resolve(pkg.doc_dir, loc)
        listing = pkg.xml(list_path)
        if listing is not None:
            base = posixpath.dirname(list_path)
            files = [resolve(base, f.text or "") for f in listing.iter("FileLoc") if f.text]
    for path in files:
        root = pkg.xml(path, plain=False)
        if root is None:
            continue
        groups: dict[etree._Element, list[str]] = {}  # element -> its ObjectRefs, document order
        for ref in named(root, "ObjectRef"):
            if ref.text:
                groups.setdefault(ref.getparent(), []).append(ref.text.strip())
        for el, refs in groups.items():
            name = local_name(el.tag) if el is not None else ""
            if name in ("", "ObjectRef"):
                continue
            text = "".join(pkg.texts.get(ref, "") for ref in refs)
            pkg.tags.setdefault(name, []).append(text.strip())
            pkg.tag_y.setdefault(name, []).append(pkg.y.get(refs[0], 0.0))


def decode_qr(pkg: Package) -> tuple[str, str] | None:
    """(member, payload) of the first QR code found in a small, squarish image of the package."""
    try:
        import zxingcpp
        from PIL import Image
    except ImportError:  # pragma: no cover - both are dependencies; QR is a cross-check only
        return None
    for info in pkg.zf.infos:
        name = info.filename.lower()
        if not name.endswith((".png", ".jpg", ".jpeg", ".bmp", ".gif")):
            continue
        if info.file_size > QR_IMAGE_BYTES:
            continue
        data = pkg.zf.read(info)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                image = Image.open(io.BytesIO(data))
                width, height = image.size
                if max(width, height) > QR_IMAGE_SIDE or max(width, height) > 1.3 * min(
                    width, height
                ):
                    continue
                image.load()
                found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
        except Exception:  # a broken image is only a missing cross-check
            continue
        for code in found:
            if code.text.startswith("01,"):
                return info.filename, code.text
    return None
