"""The report: the paper's tables and figures, as Markdown, CSV, PNG/SVG and one HTML page.

``figures`` draws each figure from tidy DataFrames; ``tables`` builds Table 2, Table 5 and the
per-item table; ``html`` renders the self-contained page; ``build`` orchestrates everything
(:func:`build_report`).  Submodules are imported lazily so that importing the package does
not pull in matplotlib.
"""

from __future__ import annotations

import importlib

__all__ = ["build_report"]


def __getattr__(name: str):
    if name == "build_report":
        return importlib.import_module(".build", __name__).build_report
    raise AttributeError(name)
