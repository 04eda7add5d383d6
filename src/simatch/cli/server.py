"""`simatch serve` and `simatch keys create|list|revoke`. FastAPI and uvicorn load only here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Annotated

import typer

from simatch.cli.terminal import err, opened, out
from simatch.errors import BackendUnavailable

SWITCH_INTERVAL_S = 0.0002

keys_app = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)


def serve(
    host: Annotated[str | None, typer.Option(help="Default: SIMATCH_API_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: SIMATCH_API_PORT.")] = None,
    demo: Annotated[bool, typer.Option(help="Load the demo data when the index is empty.")] = True,
) -> None:
    """Serve the HTTP API (docs at /docs); loads the demo data into an empty index first."""
    import uvicorn

    from simatch.api.app import create_app
    from simatch.api.logging import configure_logging

    if demo:
        _load_demo_if_empty()
    # One inference thread per request: concurrent requests then share the cores instead of
    # oversubscribing them with two OpenMP threads each. Read when the model first loads,
    # so it must be set before; an explicit OMP_NUM_THREADS wins.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    # Native work (embedding, index) hands the GIL back and forth many times per request;
    # with the default 5 ms switch interval each hand-back can wait that long behind a
    # thread running Python, and concurrent requests slow each other down manyfold.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    with opened() as box:
        settings = box.settings.api
        configure_logging(settings)
        uvicorn.run(
            create_app(box, build_tables=True),
            host=host or settings.api_host,
            port=port or settings.api_port,
            log_config=None,
            access_log=False,
            proxy_headers=True,
            forwarded_allow_ips=settings.forwarded_allow_ips,
            timeout_graceful_shutdown=10,
        )


def _load_demo_if_empty() -> None:
    """`simatch demo` in a child process, so that the bulk embedding there may use every
    core while this process keeps one inference thread per request."""
    with opened() as check:  # closed before the child runs: the embedded index has one opener
        try:
            empty = check.index_info_service.is_empty()
        except BackendUnavailable as exc:
            # Serve anyway: requests answer 503 until the backend is back, then recover.
            err.print(f"[yellow]The index backend is unavailable:[/] {exc.message}")
            return
    if empty:
        err.print("The index is empty: loading the demo data ...")
        subprocess.run([sys.executable, "-m", "simatch.cli.main", "demo"], check=False)


@keys_app.command("create")
def create_key(
    scope: Annotated[
        list[str], typer.Option("--scope", "-s", help="match, curate or admin (repeatable).")
    ],
    name: Annotated[str, typer.Option("--name", "-n", help="Who or what uses the key.")],
) -> None:
    """Create a key; the key itself is printed once, as the last line."""
    with opened() as box:
        key, token = box.key_service.create(name, scope)
    out.print(f"created key {key.id} ({key.name}) with scopes: {', '.join(key.scopes)}")
    out.print("Store it now; it is not shown again. Send it as 'Authorization: Bearer KEY'.")
    print(token)


@keys_app.command("list")
def list_keys(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per key.")] = False,
) -> None:
    """Keys with their scopes and when they were created, last used and revoked."""
    with opened() as box:
        keys = box.key_service.list()
    for key in keys:
        row = {
            "id": key.id,
            "name": key.name,
            "scopes": list(key.scopes),
            "created": key.created.isoformat(timespec="seconds"),
            "last_used": key.last_used.isoformat(timespec="seconds") if key.last_used else None,
            "revoked": key.revoked.isoformat(timespec="seconds") if key.revoked else None,
        }
        if as_json:
            print(json.dumps(row, ensure_ascii=False))
        else:
            state = f"revoked {row['revoked']}" if key.revoked else "active"
            out.print(
                f"{key.id}  {key.name:24}  {','.join(key.scopes):18}  created {row['created']}  "
                f"last used {row['last_used'] or 'never'}  {state}"
            )
    if not keys and not as_json:
        out.print("no keys yet: simatch keys create --scope curate --name NAME")


@keys_app.command("revoke")
def revoke_key(key_id: Annotated[str, typer.Argument(help="The id shown by `keys list`.")]) -> None:
    """Revoke a key at once (requests with it get 401)."""
    with opened(error_status=1) as box:
        key = box.key_service.revoke(key_id)
    out.print(f"revoked key {key.id} ({key.name})")


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.add_typer(keys_app, name="keys")
