"""The conventional texts as data: indicator tables and dated parameters."""

from rosp.catalogue.model import (
    CATEGORIES,
    MEASUREMENTS,
    Catalogue,
    CatalogueError,
    Indicator,
    NoTableInForce,
    Programme,
    load_catalogue,
)
from rosp.catalogue.parameters import Parameters, ParameterValue, load_parameters

__all__ = [
    "CATEGORIES",
    "Catalogue",
    "CatalogueError",
    "Indicator",
    "MEASUREMENTS",
    "NoTableInForce",
    "ParameterValue",
    "Parameters",
    "Programme",
    "load_catalogue",
    "load_parameters",
]
