"""The conversation assistant, independent of any chat platform (adapters live in bots/)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simatch.chat.engine import Engine
    from simatch.wiring import Container


def build_engine(container: Container, **options: Any) -> Engine:
    """The engine on the container's services: the same match log and feedback as the API."""
    from simatch.chat.engine import Engine
    from simatch.services import MatchService

    # The engine records gaps itself (with the platform, only for questions it answers), so
    # its MatchService records none; the log file is the container's, shared with the API.
    matches = MatchService(container.matcher, container.feedback_store)
    return Engine(
        matches=matches,
        feedback=container.feedback_service,
        needs=container.ingestor,
        gaps=container.gaps,
        **options,
    )
