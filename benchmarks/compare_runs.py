"""Compare two run directories byte for byte, apart from what is run-specific.

    python benchmarks/compare_runs.py RUN_A RUN_B

Every file must be present in both and identical, except ``timings.json`` (wall times)
and, in ``manifest.json``, the ``code`` block (``rosp.io.rundiff``). Exit 0 when equal,
1 with the list of differences otherwise. Used to prove a performance change leaves the
outputs unchanged (docs/scaling.md, "Equality").
"""

from __future__ import annotations

import sys
from pathlib import Path

from rosp.io.rundiff import differences


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    diffs = differences(Path(argv[0]), Path(argv[1]))
    for d in diffs:
        print(d)
    print("equal" if not diffs else f"{len(diffs)} difference(s)")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
