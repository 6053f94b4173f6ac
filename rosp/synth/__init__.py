"""Realistic synthetic SNDS extract for the ROSP engine (``rosp synth``)."""

from rosp.synth.generator import SynthSummary, generate

__all__ = ["SynthSummary", "generate"]
