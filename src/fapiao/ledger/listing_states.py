"""The states capabilities keep beside invoices (入账, 报销, 勾选, 红冲), as listings join them.

A capability declares each state (`fapiao.capability.ListState`) with the SQL that reaches its
own table; the ledger knows none of those tables. A listing filters on a state with the declared
condition (an `EXISTS` on an indexed key, so the invoices' own index still gives the order and a
page stops after its rows) and shows it as columns only when asked (`include`): the state's code
as a `CASE` over the same conditions, its details from one LEFT JOIN on a unique key. A page of
fifty rows thus costs fifty index probes per state, whatever the ledger's size.

A filter on a state few invoices are in (twenty claimed among a million) would probe every row
before the page knows it is short; for such a state, counted up to DRIVE_BELOW before the query,
the condition also names the state's invoices by id (`StateValue.ids`), and the database reads
those few and sorts them. Codes given to a filter are OR within one state (`red_partial,red_full`: reversed at all) and AND
across states (`unbooked` and `claimed`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

from fapiao import plugins
from fapiao.capability import ListState, StateValue
from fapiao.money import format_fen


def states() -> tuple[ListState, ...]:
    return plugins.list_states()


def names() -> tuple[str, ...]:
    return tuple(s.name for s in states())


def codes() -> dict[str, tuple[ListState, StateValue]]:
    """Every filter code -> its state and value."""
    return {v.code: (s, v) for s in states() for v in s.values}


def unknown(given: Iterable[str]) -> list[str]:
    known = codes()
    return [c for c in given if c not in known]


def where(given: Sequence[str], driven: Collection[str] = ()) -> list[str]:
    """The conditions for the codes given (known ones; `Listing` refused the others). A state
    whose codes are all `driven` (few invoices in them, see `few`) also names its invoices by id,
    so the database starts from those few instead of walking the listing's order."""
    known = codes()
    by_state: dict[str, list[StateValue]] = {}
    for code in dict.fromkeys(given):
        state, value = known[code]
        by_state.setdefault(state.name, []).append(value)
    out = []
    for values in by_state.values():
        parts = [f"({v.where})" for v in values]
        cond = parts[0] if len(parts) == 1 else f"({' OR '.join(parts)})"
        if all(v.code in driven and v.ids for v in values):
            cond = f"i.id IN ({' UNION ALL '.join(v.ids for v in values)}) AND {cond}"
        out.append(cond)
    return out


DRIVE_BELOW = 5000  # a state with fewer invoices than this is read from its own table


def few(fetch: Callable[[str], int], given: Sequence[str]) -> frozenset[str]:
    """The codes given whose state holds fewer than DRIVE_BELOW invoices (ledger-wide), counted
    with `fetch(sql) -> int` up to that bound: a page of them is found fastest from the state's
    table. A common state is found fastest by probing the listing's rows in order (a page fills
    after about DRIVE_BELOW-th of the ledger's rows at worst)."""
    known = codes()
    out = set()
    for code in dict.fromkeys(given):
        ids = known[code][1].ids
        if ids and fetch(f"SELECT count(*) FROM ({ids} LIMIT {DRIVE_BELOW}) few") < DRIVE_BELOW:
            out.add(code)
    return frozenset(out)


def chosen(include: Sequence[str]) -> tuple[ListState, ...]:
    """The declared states named in `include`, in column order ("all": every one)."""
    if "all" in include:
        return states()
    return tuple(s for s in states() if s.name in include)


def columns(shown: Sequence[ListState]) -> tuple[list[str], list[str]]:
    """(select expressions, LEFT JOINs) that add the states' columns to a listing whose invoices
    are `i`; each state gives its code, then its fields."""
    exprs: list[str] = []
    joins: list[str] = []
    for n, state in enumerate(shown):
        alias = f"ls{n}"
        cases = " ".join(f"WHEN {v.where} THEN '{v.code}'" for v in state.values)
        exprs.append(f"CASE {cases} END")
        exprs.extend(f.sql.format(a=alias) for f in state.fields)
        if state.join:
            joins.append(state.join.format(a=alias))
    return exprs, joins


def width(shown: Sequence[ListState]) -> int:
    return sum(1 + len(s.fields) for s in shown)


def shape(shown: Sequence[ListState], values: Sequence[Any]) -> dict[str, Any]:
    """The states' columns of one row as JSON: name -> {"state": code, field: value, …}, or None
    for an invoice the state does not apply to."""
    out: dict[str, Any] = {}
    at = 0
    for state in shown:
        code, details = values[at], values[at + 1 : at + 1 + len(state.fields)]
        at += 1 + len(state.fields)
        if code is None:
            out[state.name] = None
            continue
        one: dict[str, Any] = {"state": code}
        for f, v in zip(state.fields, details, strict=True):
            one[f.key] = _json(f.kind, v)
        out[state.name] = one
    return out


def _json(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "bool":
        return bool(value)
    if kind == "fen":
        return format_fen(int(value))  # PostgreSQL sums bigints as numeric
    return value


# --- words ---------------------------------------------------------------------------------------


def _word(pairs: Iterable[tuple[str, str, str]], code: str, lang: str) -> str:
    for key, zh, en in pairs:
        if key == code:
            return en if lang == "en" else zh
    return code


def field_word(field: Any, value: Any, lang: str = "zh") -> str:
    """A detail as a person reads it ('' when empty)."""
    if value is None or value == "":
        return ""
    if field.kind == "bool":
        return _word(field.words, "true" if value else "false", lang)
    return _word(field.words, str(value), lang) if field.words else str(value)


def value_word(state: ListState, code: str | None, lang: str = "zh") -> str:
    return _word(((v.code, v.zh, v.en) for v in state.values), code, lang) if code else ""


def details(state: ListState, value: dict[str, Any] | None, lang: str = "zh") -> str:
    """The state's brief details as a person reads them ('记-0012', 'BX-001 张三')."""
    if not value:
        return ""
    words = [field_word(f, value.get(f.key), lang) for f in state.fields if f.brief]
    return " ".join(w for w in words if w)


def brief(state: ListState, value: dict[str, Any] | None, lang: str = "zh") -> str:
    """The list's cell: the state's word and its brief details ('已入账 记-0012')."""
    if not value:
        return ""
    return " ".join(
        w for w in (value_word(state, value["state"], lang), details(state, value, lang)) if w
    )


def export_columns() -> list[tuple[str, str, str]]:
    """(column key, zh header, en header) of every state's export columns: the state, then each
    field as `name.key`."""
    out = []
    for s in states():
        out.append((s.name, s.zh, s.name))
        out += [(f"{s.name}.{f.key}", f.zh, f"{s.name}.{f.key}") for f in s.fields]
    return out


def export_cells(row: dict[str, Any], lang: str = "zh") -> list[Any]:
    """One row's state cells, in `export_columns` order: words for a person, codes under `en`."""
    cells: list[Any] = []
    for s in states():
        value = row.get(s.name) or {}
        code = value.get("state")
        cells.append((code or "") if lang == "en" else value_word(s, code, lang))
        for f in s.fields:
            v = value.get(f.key)
            if lang == "en":
                cells.append("" if v is None else (str(v).lower() if f.kind == "bool" else v))
            else:
                cells.append(field_word(f, v, lang))
    return cells
