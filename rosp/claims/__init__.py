"""SNDS claims: table schemas, loading, validation, rejects and clean views."""

from rosp.claims.errors import (
    ClaimsError,
    ColumnTypeError,
    MissingColumnError,
    MissingTableError,
)
from rosp.claims.load import Claims, LoadReport, TableReport, load_claims
from rosp.claims.validate import period_bounds
from rosp.claims.views import VIEWS, age_in_months, age_in_years

__all__ = [
    "VIEWS",
    "Claims",
    "ClaimsError",
    "ColumnTypeError",
    "LoadReport",
    "MissingColumnError",
    "MissingTableError",
    "TableReport",
    "age_in_months",
    "age_in_years",
    "load_claims",
    "period_bounds",
]
