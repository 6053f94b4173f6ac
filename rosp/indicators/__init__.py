"""Declarative ROSP indicator definitions and code lists, compiled to Ibis.

Public API:

- :func:`rosp.indicators.codelists.load_codelist` / :func:`list_codelists`
- :func:`rosp.indicators.definitions.load_programmes` (TOML definitions)
- :class:`rosp.indicators.compiler.Compiler` (definitions -> Ibis expressions)
"""

from rosp.indicators.codelists import CodeList, list_codelists, load_codelist
from rosp.indicators.definitions import (
    PROGRAMMES,
    IndicatorDef,
    ProgrammeDef,
    load_programme,
    load_programmes,
)

__all__ = [
    "PROGRAMMES",
    "CodeList",
    "IndicatorDef",
    "ProgrammeDef",
    "list_codelists",
    "load_codelist",
    "load_programme",
    "load_programmes",
]
