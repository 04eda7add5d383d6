"""The conversation assistant, independent of any chat platform (adapters live in bots/)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simatch.chat.engine import Engine
    from simatch.wiring import Container


def build_engine(container: Container, **options: Any) -> Engine:
    """The engine on the container's services: the same match log and feedback as the API."""
    from simatch.chat.engine import Engine
    from simatch.chat.gaps import FILE_NAME, GapLog

    gaps = GapLog(container.settings.index.data_dir / FILE_NAME)
    return Engine(
        matches=container.match_service,
        feedback=container.feedback_service,
        needs=container.ingestor,
        gaps=gaps,
        **options,
    )
