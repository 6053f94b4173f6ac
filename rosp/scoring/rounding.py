"""The one rounding rule of the project: an exact rational to a multiple of a quantum.

Decimal semantics of the rounding mode (ROUND_HALF_UP rounds half away from zero),
computed on the exact `Fraction`, so no float or Decimal precision ever decides a cent.
Scoring rounds each doctor's programme total to the cent (`rules.round_euros`); the
safeguard clause rounds with the mode of parameter `rounding.euros`.
"""

from __future__ import annotations

import decimal
import math
from decimal import Decimal
from fractions import Fraction

MODES = (
    decimal.ROUND_DOWN,
    decimal.ROUND_UP,
    decimal.ROUND_HALF_UP,
    decimal.ROUND_HALF_DOWN,
    decimal.ROUND_HALF_EVEN,
    decimal.ROUND_CEILING,
    decimal.ROUND_FLOOR,
)


def _round_up_if(mode: str, sign: int, n: int, r: Fraction) -> bool:
    half = Fraction(1, 2)
    return {
        decimal.ROUND_DOWN: False,
        decimal.ROUND_UP: r > 0,
        decimal.ROUND_HALF_UP: r >= half,
        decimal.ROUND_HALF_DOWN: r > half,
        decimal.ROUND_HALF_EVEN: r > half or (r == half and n % 2 == 1),
        decimal.ROUND_CEILING: sign > 0 and r > 0,
        decimal.ROUND_FLOOR: sign < 0 and r > 0,
    }[mode]


def round_exact(value: Fraction, quantum: Decimal, mode: str = decimal.ROUND_HALF_UP) -> Decimal:
    """Round an exact rational to a multiple of `quantum` (Decimal semantics of `mode`)."""
    scaled = value / Fraction(quantum)
    sign = -1 if scaled < 0 else 1
    magnitude = abs(scaled)
    n = math.floor(magnitude)
    if _round_up_if(mode, sign, n, magnitude - n):
        n += 1
    return (Decimal(sign * n) * quantum).quantize(quantum)
