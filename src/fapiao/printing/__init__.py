"""Printouts as PDF: one invoice from the ledger, or a list of invoices with totals.

Input is plain data (the ledger's invoice dict as `show --json` gives it, listing rows as the API
gives them); output is PDF bytes. The CJK font is embedded as a subset (fapiao.pdffont: WenQuanYi
Zen Hei; no file, no PDF) and every figure is drawn as text, so the printout can be checked by
extracting its text. Imports only `money`; knows nothing of the web or the command line.
"""

from typing import Any

__all__ = ["invoice_pdf", "list_pdf"]


def __getattr__(name: str) -> Any:
    # loaded on first use: the `print` command and the plug-in declaration live in this package,
    # and the CLI should not load reportlab for every other command
    if name == "invoice_pdf":
        from fapiao.printing.invoice import invoice_pdf

        return invoice_pdf
    if name == "list_pdf":
        from fapiao.printing.listing import list_pdf

        return list_pdf
    raise AttributeError(name)
