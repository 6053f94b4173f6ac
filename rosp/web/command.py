"""`rosp serve --run OUT [--host 127.0.0.1] [--port 8000]`."""

from __future__ import annotations

from pathlib import Path

import typer


def serve_command(
    run: Path = typer.Option(..., "--run", help="a completed run directory (e.g. out/demo/run)"),
    host: str = typer.Option("127.0.0.1", "--host", help="bind address (127.0.0.1: this machine only)"),
    port: int = typer.Option(8000, "--port"),
) -> None:
    """Serve the doctor simulator (/), the reform page (/reforme), the run explorer and the API (/docs).

    Patient-level evidence is served only if ROSP_API_TOKEN is set when the server
    starts, and only to requests carrying it (header `Authorization: Bearer <token>`)."""
    import os

    import uvicorn

    from rosp.errors import RospError
    from rosp.web.app import create_app

    try:
        app = create_app(run)
    except RospError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    token = "avec jeton : pièces patient servies aux requêtes qui le portent" if os.environ.get("ROSP_API_TOKEN") \
        else "sans jeton : aucune pièce patient servie"
    typer.echo(f"ROSP : http://{host}:{port}/ (simulateur), /reforme, /openapi.json — {token}")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
