"""Run the (synchronous) chat engine from an async adapter: in a worker thread, bounded in time.

Shared by the Slack and Teams adapters so that both fail the same way: an apology in the
user's language instead of silence or a stack trace.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TypeVar

from simatch.chat.engine import Engine
from simatch.chat.replies import Reply

log = logging.getLogger(__name__)
T = TypeVar("T")


async def run_bounded(
    engine: Engine, func: Callable[[T], Reply | None], arg: T, text: str, timeout: float
) -> Reply | None:
    try:
        return await asyncio.wait_for(asyncio.to_thread(func, arg), timeout)
    except TimeoutError:
        log.error("the chat engine did not answer in %.0f s", timeout)
    except Exception:
        log.exception("the chat engine failed")
    return engine.apology(text)
