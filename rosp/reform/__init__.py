"""Reforms as data: overrides of dated parameters and catalogue cells, and re-scoring a run."""

from rosp.reform.model import Reform, ReformError, apply_reform, load_reform, parse_reform

__all__ = ["Reform", "ReformError", "apply_reform", "load_reform", "parse_reform"]
