"""``python -m cdsolve ...`` is the ``cdsolve`` command line (:mod:`cdsolve.workflow.cli`)."""

from .workflow.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
