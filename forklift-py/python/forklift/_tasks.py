"""Waiting for native tasks: blocking (Ctrl-C cancels) or from asyncio (never blocks the loop)."""

from __future__ import annotations

import asyncio
from typing import TypeVar

from ._native import Task

T = TypeVar("T")

__all__ = ["run", "wait"]


def run(task: Task[T]) -> T:
    """Waits for ``task`` with the GIL released and returns its result.

    An exception while waiting (``KeyboardInterrupt`` from Ctrl-C) cancels the task.
    """
    try:
        return task.result()
    except BaseException:
        task.cancel()
        raise


async def wait(task: Task[T]) -> T:
    """Waits for ``task`` on the running event loop and returns its result.

    The task runs on forklift's own runtime; its completion is posted to the loop with
    ``call_soon_threadsafe``. Cancelling the awaiting coroutine cancels the task.
    """
    loop = asyncio.get_running_loop()
    finished: asyncio.Future[None] = loop.create_future()

    def settle() -> None:
        if not finished.done():
            finished.set_result(None)

    def on_done(_: Task[T]) -> None:  # runs on a forklift runtime thread
        try:
            loop.call_soon_threadsafe(settle)
        except RuntimeError:  # the loop was closed meanwhile: nobody is waiting any more
            pass

    task.add_done_callback(on_done)
    try:
        await finished
    except asyncio.CancelledError:
        task.cancel()
        raise
    # Finished: result() returns at once, without blocking the loop.
    return task.result()
