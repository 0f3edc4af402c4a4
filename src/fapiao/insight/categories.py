"""Expense and revenue categories: from the 税收分类 short name (`*餐饮服务*餐费`) or the 19-digit
税收分类编码, through a category table each tenant can edit, with counterparty → category rules
learned from the accountant's corrections.

Precedence for an invoice: the accountant's own choice (override) › a counterparty rule › the
category of its largest line. A line's category: the longest matching code prefix › its short name
› `other`. The defaults are tenant 0's table; a tenant's own rows replace or add to them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.engine import Connection

from fapiao.findings import Refusal
from fapiao.insight.tables import categories as cat_t
from fapiao.insight.tables import category_overrides as ovr_t
from fapiao.insight.tables import category_rules as rule_t
from fapiao.insight.tables import insight_invoices as ii
from fapiao.insight.tables import insight_lines as il
from fapiao.ledger import schema
from fapiao.ledger.store import Ledger, WriteTx

OTHER = "other"
LEARN_AFTER = 2  # agreeing corrections for one counterparty before a rule is learned
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


def table_for(engine: Engine, tenant_id: int) -> list[Category]:
    with engine.connect() as conn:
        return list(load_table(conn, tenant_id).values())


class CategoryError(Refusal, ValueError):
    """A category request that cannot be honoured (unknown category, bad code); zh and en."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(Refusal.said("bad_category", zh, en))

    def __str__(self) -> str:
        return self.en


CODE_OK = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def set_category(
    ledger: Ledger,
    tenant_id: int,
    cat: Category,
) -> None:
    """Add or change a category in the tenant's table; lines are classified again."""
    if not CODE_OK.match(cat.code):
        raise CategoryError(
            f"类别代码须为小写字母、数字、下划线：{cat.code!r}",
            f"a category code is lower-case letters, digits and _: {cat.code!r}",
        )
    bad = [p for p in cat.code_prefixes if not p.isdigit() or len(p) > 19]
    if bad or not cat.zh.strip():
        raise CategoryError(
            f"编码前缀须为数字，名称不可为空：{bad}",
            f"code prefixes are digits and the name is required: {bad}",
        )
    from fapiao.insight import facts

    with ledger.write() as tx:
        row = {
            "tenant_id": tenant_id,
            "code": cat.code,
            "zh": cat.zh.strip(),
            "en": cat.en.strip() or cat.code,
            "short_names": json.dumps(
                [s.strip("* ") for s in cat.short_names if s.strip("* ")], ensure_ascii=False
            ),
            "code_prefixes": json.dumps(list(cat.code_prefixes)),
            "updated_at": tx.now,
        }
        tx.conn.execute(
            delete(cat_t).where(cat_t.c.tenant_id == tenant_id, cat_t.c.code == cat.code)
        )
        tx.insert(cat_t, [row])
        tx.event("category.set", "category", f"{tenant_id}:{cat.code}", row, tenant_id=tenant_id)
        facts.reclassify_tenant(tx, tenant_id)


def known(conn: Connection, tenant_id: int, code: str) -> bool:
    return code in load_table(conn, tenant_id)


# --- corrections and rules ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Correction:
    invoice_id: int
    category: str
    rule: dict[str, Any] | None  # the rule learned or confirmed by it, if any
    reclassified: int  # other invoices that the rule moved


def correct(ledger: Ledger, invoice_id: int, category: str) -> Correction:
    """The accountant sets an invoice's category; enough agreeing corrections for one counterparty
    make a rule, and the rule re-categorises that counterparty's other invoices."""
    from fapiao.insight import facts

    facts.refresh(ledger)
    with ledger.write() as tx:
        inv = tx.conn.execute(select(ii).where(ii.c.invoice_id == invoice_id)).first()
        if inv is None:
            raise CategoryError(f"没有发票 {invoice_id}", f"no invoice {invoice_id}")
        if not known(tx.conn, inv.tenant_id, category):
            raise CategoryError(f"没有类别 {category}", f"no category {category}")
        tx.conn.execute(delete(ovr_t).where(ovr_t.c.invoice_id == invoice_id))
        tx.insert(
            ovr_t,
            [
                {
                    "invoice_id": invoice_id,
                    "tenant_id": inv.tenant_id,
                    "category": category,
                    "updated_at": tx.now,
                }
            ],
        )
        tx.event(
            "category.corrected",
            "invoice",
            invoice_id,
            {"category": category, "was": inv.category, "source_was": inv.category_source},
            tenant_id=inv.tenant_id,
        )
        _set_invoice_category(tx, [invoice_id], category, "override")
        rule = _learn(tx, inv.tenant_id, inv.direction, inv.counterparty_tax_id)
        moved = 0
        if rule is not None:
            moved = facts.apply_rule(tx, inv.tenant_id, inv.direction, inv.counterparty_tax_id)
    return Correction(invoice_id, category, rule, moved)


def _learn(tx: WriteTx, tenant_id: int, direction: str, cp: str) -> dict[str, Any] | None:
    if not cp:
        return None
    votes: dict[str, int] = {}
    q = (
        select(ovr_t.c.category)
        .select_from(ovr_t.join(ii, ii.c.invoice_id == ovr_t.c.invoice_id))
        .where(ii.c.tenant_id == tenant_id, ii.c.direction == direction)
        .where(ii.c.counterparty_tax_id == cp)
    )
    for c in tx.conn.scalars(q):
        votes[c] = votes.get(c, 0) + 1
    best, count = max(votes.items(), key=lambda kv: (kv[1], kv[0]))
    current = tx.conn.execute(
        select(rule_t).where(
            rule_t.c.tenant_id == tenant_id,
            rule_t.c.counterparty_tax_id == cp,
            rule_t.c.direction == direction,
        )
    ).first()
    if current is not None and current.source == "manual":
        return None  # a rule set by hand is not overruled by learning
    if count < LEARN_AFTER or count * 2 <= sum(votes.values()):
        return None
    if current is not None and current.category == best and current.evidence == count:
        return None
    return _put_rule(tx, tenant_id, direction, cp, best, "learned", count)


def _put_rule(
    tx: WriteTx, tenant_id: int, direction: str, cp: str, category: str, source: str, evidence: int
) -> dict[str, Any]:
    tx.conn.execute(
        delete(rule_t).where(
            rule_t.c.tenant_id == tenant_id,
            rule_t.c.counterparty_tax_id == cp,
            rule_t.c.direction == direction,
        )
    )
    row = {
        "tenant_id": tenant_id,
        "counterparty_tax_id": cp,
        "direction": direction,
        "category": category,
        "source": source,
        "evidence": evidence,
        "updated_at": tx.now,
    }
    tx.insert(rule_t, [row])
    tx.event(
        "category.rule", "category_rule", f"{tenant_id}:{direction}:{cp}", row, tenant_id=tenant_id
    )
    return {
        k: row[k] for k in ("counterparty_tax_id", "direction", "category", "source", "evidence")
    }


def set_rule(
    ledger: Ledger, tenant_id: int, direction: str, cp: str, category: str
) -> tuple[dict[str, Any], int]:
    """A rule set by hand (wins over learning); returns it and how many invoices it moved."""
    from fapiao.insight import facts

    if direction not in ("issued", "received"):
        raise CategoryError("方向须为 issued 或 received", "direction: issued or received")
    facts.refresh(ledger)
    with ledger.write() as tx:
        if not known(tx.conn, tenant_id, category):
            raise CategoryError(f"没有类别 {category}", f"no category {category}")
        rule = _put_rule(tx, tenant_id, direction, cp.strip().upper(), category, "manual", 0)
        moved = facts.apply_rule(tx, tenant_id, direction, cp.strip().upper())
    return rule, moved


def rules(engine: Engine, tenant_id: int | None = None) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        q = select(rule_t).order_by(rule_t.c.tenant_id, rule_t.c.counterparty_tax_id)
        if tenant_id is not None:
            q = q.where(rule_t.c.tenant_id == tenant_id)
        return [dict(r._mapping) for r in conn.execute(q)]


def _set_invoice_category(tx: WriteTx, ids: Iterable[int], category: str, source: str) -> None:
    ids = list(ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        tx.conn.execute(
            update(ii)
            .where(ii.c.invoice_id.in_(chunk))
            .values(category=category, category_source=source)
        )
        tx.conn.execute(update(il).where(il.c.invoice_id.in_(chunk)).values(category=category))
