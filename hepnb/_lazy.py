"""Lazy re-exports: the one ``__init__`` policy of every hepnb subpackage.

A subpackage's ``__init__.py`` holds its docstring (a table of the public API: name, module, what it is), an
``_EXPORTS`` mapping ``name -> submodule`` and the three lines::

    __getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)

Importing the subpackage then loads nothing else; ``hepnb.offshell.generate`` imports its module (and numpy,
torch, coffea, ... as that module needs) on first use and caches the value. Type checkers see the names through
an ``if TYPE_CHECKING:`` block of plain imports.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """``(__getattr__, __dir__, __all__)`` for a package whose public names live in submodules.

    Parameters
    ----------
    package
        The package's ``__name__``.
    exports
        ``{public name: submodule}``; a submodule's own name maps to itself (``{"plots": "plots"}``) to export the
        module.

    Examples
    --------
    >>> from hepnb._lazy import lazy_exports
    >>> getattr_, dir_, all_ = lazy_exports("hepnb.stats", {"asimov_scan": "asymptotic", "cls": "cls"})
    >>> all_
    ['asimov_scan', 'cls']
    >>> getattr_("asimov_scan").__name__
    'asimov_scan'
    >>> getattr_("cls").__name__
    'hepnb.stats.cls'
    """
    exports = dict(exports)

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        loaded = importlib.import_module(f"{package}.{module}")
        value = loaded if module == name else getattr(loaded, name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *exports})

    return __getattr__, __dir__, sorted(exports)
