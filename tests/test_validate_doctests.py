"""The examples in each validation rule's docstring are its specification: a passing and a failing
case with the finding codes. Every module of `fapiao.validate` found by walking the package is run
here, so a new rule without examples fails."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import fapiao.validate

MODULES = sorted(
    f"fapiao.validate.{m.name}" for m in pkgutil.iter_modules(fapiao.validate.__path__)
)


@pytest.mark.parametrize("name", MODULES)
def test_the_rules_examples_hold(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, report=False, verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"
    if hasattr(module, "check"):  # a rule: it shows a finding it gives
        assert result.attempted >= 2 and "found(check(" in (module.__doc__ or ""), name
