"""`rosp serve --run OUT [--host 127.0.0.1] [--port 8000] [--workers 1]`."""

from __future__ import annotations

import os
from pathlib import Path

import typer

#: the run served by worker processes started by uvicorn (`--workers` > 1)
RUN_ENV = "ROSP_SERVE_RUN"


def app_from_env():
    """Application factory for uvicorn's worker processes: the run named by ROSP_SERVE_RUN."""
    from rosp.web.app import create_app

    return create_app(os.environ[RUN_ENV])


def serve_command(
    run: Path = typer.Option(..., "--run", help="a completed run directory (e.g. out/demo/run)"),
    host: str = typer.Option("127.0.0.1", "--host", help="bind address (127.0.0.1: this machine only)"),
    port: int = typer.Option(8000, "--port"),
    workers: int = typer.Option(1, "--workers", min=1, max=16,
                                help="worker processes (each loads the run; 2 on 2 cores doubles the throughput)"),
) -> None:
    """Serve the doctor simulator (/), the reform page (/reforme), the run explorer and the API (/openapi.json).

    Patient-level evidence is served only if ROSP_API_TOKEN is set when the server
    starts, and only to requests carrying it (header `Authorization: Bearer <token>`)."""
    import uvicorn

    from rosp.web.app import create_app

    app = create_app(run)  # a RospError (bad run) goes to the CLI's one handler (exit 2)
    token = "avec jeton : pièces patient servies aux requêtes qui le portent" if os.environ.get("ROSP_API_TOKEN") \
        else "sans jeton : aucune pièce patient servie"
    typer.echo(f"ROSP : http://{host}:{port}/ (simulateur), /reforme, /openapi.json — {token}"
               + (f" — {workers} processus" if workers > 1 else ""))
    if workers == 1:
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
        return
    del app  # checked above; each worker builds its own from the environment
    os.environ[RUN_ENV] = str(Path(run).resolve())
    uvicorn.run("rosp.web.command:app_from_env", factory=True, workers=workers, host=host, port=port,
                log_level="warning", access_log=False)
