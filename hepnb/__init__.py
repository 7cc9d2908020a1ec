"""hepnb: Jupyter-first machine-learning studies from LHC physics."""

from __future__ import annotations

__version__ = "0.1.0"
