"""The package version (one place; ``cdsolve.__version__`` and every provenance record read it)."""

__version__ = "0.2.0"
