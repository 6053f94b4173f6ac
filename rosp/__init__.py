"""rosp: an open, auditable engine for the ROSP (rémunération sur objectifs de santé publique)."""

__version__ = "0.1.0"
