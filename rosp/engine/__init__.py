"""Runs the indicator definitions on the claims clean views (DuckDB through Ibis)."""

from rosp.engine.run import RunResult, explain_patients, run, run_on_views

__all__ = ["RunResult", "explain_patients", "run", "run_on_views"]
