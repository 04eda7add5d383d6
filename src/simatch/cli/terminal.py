"""What every ``simatch`` command shares: the two consoles and opening the container.

``out`` is the command's output (stdout), ``err`` its messages (stderr, so that ``--json``
output stays clean). ``opened()`` turns settings errors into exit status 2 and a
``SimatchError`` raised inside into ``error_status``, and always closes what was opened.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console

from simatch.errors import SimatchError
from simatch.wiring import Container

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


@contextmanager
def opened(error_status: int = 2) -> Iterator[Container]:
    try:
        box = Container()
    except SimatchError as exc:
        err.print(f"[red]{exc.message}[/]")
        raise typer.Exit(2) from exc
    try:
        yield box
    except SimatchError as exc:
        err.print(f"[red]error:[/] {exc.message}")
        raise typer.Exit(error_status) from exc
    finally:
        box.close()
