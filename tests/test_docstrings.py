"""Every docstring example in the package runs (the docs cannot drift from the code).

Guard: a minimum number of examples, so this test cannot pass on nothing.
"""

import doctest
import importlib
import pkgutil

import cdsolve

MODULES = sorted(m.name for m in pkgutil.walk_packages(cdsolve.__path__, "cdsolve.") if m.name != "cdsolve.__main__")


def test_docstring_examples_run():
    attempted = 0
    failures = []
    for name in ["cdsolve"] + MODULES:
        module = importlib.import_module(name)
        result = doctest.testmod(module, verbose=False, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        attempted += result.attempted
        if result.failed:
            failures.append(name)
    assert not failures, f"doctest failures in {failures}"
    assert attempted >= 25, f"only {attempted} docstring examples found; were they deleted?"
