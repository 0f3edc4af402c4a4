"""How an invoice line is classified: the default category table, a tenant's own table over it,
and the classifier (the longest matching prefix of the 19-digit 税收分类编码 › the 税收分类 short name
such as `*餐饮服务*餐费` › `other`).

The derived tables (`facts`) classify through this module; the accountant's changes to a table,
corrections and rules (`categories`) write through it and then derive again.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from fapiao.insight.tables import categories as cat_t
from fapiao.ledger import schema

OTHER = "other"
CODE_RE = re.compile(r"(?<!\d)(\d{19})(?!\d)")
SHORT_RE = re.compile(r"^\s*\*([^*]{1,40})\*")

# code, 中文, English, 税收分类 short names, prefixes of the 19-digit code
DEFAULTS: tuple[tuple[str, str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("meals", "餐饮", "meals", ("餐饮服务",), ("3070401",)),
    ("lodging", "住宿", "lodging", ("住宿服务",), ("3070402",)),
    (
        "transport",
        "交通运输",
        "transport",
        (
            "运输服务",
            "交通运输服务",
            "旅客运输服务",
            "陆路运输服务",
            "航空运输服务",
            "水路运输服务",
        ),
        ("301",),
    ),
    (
        "it_equipment",
        "电子设备",
        "computers and electronics",
        ("电子计算机", "计算机配套产品", "通信设备", "计算机网络设备", "电子元件"),
        ("10905", "10906"),
    ),
    (
        "it_services",
        "信息技术服务",
        "IT services",
        ("信息技术服务", "研发和技术服务", "软件", "软件服务"),
        ("30401", "30402", "106010"),
    ),
    (
        "consulting",
        "咨询与商务服务",
        "consulting and business services",
        ("现代服务", "鉴证咨询服务", "咨询服务", "商务辅助服务", "企业管理服务"),
        ("30406", "30408"),
    ),
    ("agency", "经纪代理", "agency", ("经纪代理服务",), ("3040802",)),
    ("construction", "建筑服务", "construction", ("建筑服务", "工程服务"), ("305",)),
    ("telecom", "通信服务", "telecoms", ("电信服务", "基础电信服务", "增值电信服务"), ("303",)),
    ("rental", "租赁", "rental", ("租赁服务", "不动产租赁服务", "经营租赁"), ("30405",)),
    (
        "office",
        "办公用品",
        "office supplies",
        ("纸制品", "办公用品", "文具", "日用杂品"),
        ("10601", "10603"),
    ),
    ("fuel", "油费", "fuel", ("汽油", "柴油", "成品油"), ("1070101",)),
    (
        "finance",
        "金融服务",
        "financial services",
        ("金融服务", "直接收费金融服务", "保险服务"),
        ("306",),
    ),
    (OTHER, "其他", "other", (), ()),
)


@dataclass(frozen=True, slots=True)
class Category:
    code: str
    zh: str
    en: str
    short_names: tuple[str, ...] = ()
    code_prefixes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "zh": self.zh,
            "en": self.en,
            "short_names": list(self.short_names),
            "code_prefixes": list(self.code_prefixes),
        }


DEFAULT_TABLE = tuple(Category(c, zh, en, sn, cp) for c, zh, en, sn, cp in DEFAULTS)


def short_name(item_name: str) -> str:
    """`*餐饮服务*餐费` -> `餐饮服务`; '' when the name carries no short name."""
    m = SHORT_RE.match(item_name or "")
    return m.group(1).strip() if m else ""


def tax_code(*texts: str) -> str:
    """The 19-digit 税收分类编码 found in the given texts, or ''."""
    for text in texts:
        m = CODE_RE.search(text or "")
        if m:
            return m.group(1)
    return ""


@dataclass(slots=True)
class Classifier:
    """One tenant's table, ready to classify lines."""

    table: dict[str, Category]
    _by_short: dict[str, str] = field(default_factory=dict)
    _prefixes: list[tuple[str, str]] = field(default_factory=list)
    _cache: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for cat in self.table.values():
            for name in cat.short_names:
                self._by_short.setdefault(name, cat.code)
            self._prefixes.extend((p, cat.code) for p in cat.code_prefixes if p)
        self._prefixes.sort(key=lambda pc: -len(pc[0]))

    def line(self, name: str, spec: str = "", code: str = "") -> tuple[str, str]:
        """(category, how): how is `code`, `name` or `none`."""
        key = (name, code or spec)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._classify(name, spec, code)
            if len(self._cache) < 100_000:
                self._cache[key] = hit
        return hit

    def _classify(self, name: str, spec: str, code: str) -> tuple[str, str]:
        code = code if CODE_RE.fullmatch(code or "") else tax_code(spec, name)
        if code:
            for prefix, cat in self._prefixes:
                if code.startswith(prefix):
                    return cat, "code"
        short = short_name(name)
        if short:
            cat = self._by_short.get(short)
            if cat is None:  # 运输服务 also matches 国内运输服务 etc.: the longest contained name
                found = [(len(s), c) for s, c in self._by_short.items() if s in short]
                cat = max(found)[1] if found else None
            if cat is not None:
                return cat, "name"
        return OTHER, "none"


# --- the table ----------------------------------------------------------------------------------


def _row_category(r: Any) -> Category:
    return Category(
        r.code, r.zh, r.en, tuple(json.loads(r.short_names)), tuple(json.loads(r.code_prefixes))
    )


def load_table(conn: Connection, tenant_id: int) -> dict[str, Category]:
    table = {c.code: c for c in DEFAULT_TABLE}
    for r in conn.execute(select(cat_t).where(cat_t.c.tenant_id == tenant_id)):
        table[r.code] = _row_category(r)
    return table


def classifiers(conn: Connection) -> dict[int, Classifier]:
    """tenant id -> its classifier (every tenant, including those with only the defaults)."""
    own: dict[int, dict[str, Category]] = {}
    for r in conn.execute(select(cat_t)):
        own.setdefault(r.tenant_id, {})[r.code] = _row_category(r)
    out = {}
    for tid in conn.scalars(select(schema.tenants.c.id)):
        table = {c.code: c for c in DEFAULT_TABLE} | own.get(tid, {})
        out[tid] = Classifier(table)
    return out
