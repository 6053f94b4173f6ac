"""`rosp reform --run OUT --reform FILE --out DIR`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console


def reform_command(
    run: Path = typer.Option(..., "--run", help="a completed run directory (rosp run / rosp demo)"),
    reform: Path = typer.Option(..., "--reform", help="reform TOML file (see reforms/)"),
    out: Path = typer.Option(..., "--out", help="output directory"),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace an existing --out folder whole"),
) -> None:
    """Re-score a run under a reform: budget, deciles, losers, specialties, safeguard, per-doctor CSV.

    A bad reform file or run is a `RospError` (a `ReformError` names the TOML line and key):
    the CLI's one handler prints it in French and exits 2. The folder is written atomically:
    a failure leaves no output that looks complete."""
    from rosp.io.outdir import atomic_output
    from rosp.reform.engine import compute, load_run, write_outputs
    from rosp.reform.model import load_reform
    from rosp.report.statement import fr_euros

    console = Console()
    r = load_reform(reform)
    the_run = load_run(run)
    result = compute(the_run, r)
    with atomic_output(out, overwrite) as tmp:
        write_outputs(result, the_run, tmp, reform)
    s = result.summary
    console.print(f"[bold]{r.title}[/bold]")
    for b in s["budget"]:
        console.print(
            f"  {b['name']} : {fr_euros(b['before'])} → {fr_euros(b['after'])} ({fr_euros(b['delta'])})",
            highlight=False,
        )
    t = s["total"]
    console.print(f"Total : {fr_euros(t['before'])} → {fr_euros(t['after'])} ({t['delta_pct'] or '—'} %)",
                  highlight=False)
    lo = s["losers"]
    console.print(f"Médecins perdant plus de 10 % : {lo['more_than_10_percent']} ; plus de 100 € : "
                  f"{lo['more_than_100_euros']}", highlight=False)
    sg = s["safeguard"]
    console.print("Clause de sauvegarde : " + ("déclenchée" if sg["triggered"] else "non déclenchée")
                  + ("" if sg["applies"] else " (ne s'applique pas à cette année)"), highlight=False)
    console.print(f"-> {out}", highlight=False)
