"""Copying disks: local images (raw, qcow2, VMDK, ...) and NBD exports."""

from __future__ import annotations

import os
from typing import Callable, Optional, Union

from . import _native, _tasks
from ._native import CancelToken, CopyProgress, CopySummary, Task

__all__ = ["async_copy", "copy", "start_copy"]

Disk = Union[str, "os.PathLike[str]"]
ProgressCallback = Callable[[CopyProgress], object]


def start_copy(
    source: Disk,
    destination: Disk,
    *,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
    request_size: Optional[int] = None,
    requests: Optional[int] = None,
    sparse_granularity: Optional[int] = None,
    connections: Optional[int] = None,
    bitmap: Optional[str] = None,
    checkpoint: Optional[Disk] = None,
    checksums: bool = False,
    flush: bool = True,
    retries: Optional[int] = None,
    progress_interval: Optional[float] = None,
) -> Task[CopySummary]:
    """Starts copying ``source`` into ``destination`` and returns the running :class:`Task`.

    ``source`` is an image path (raw, qcow2, VMDK, VHDX, VDI: detected) or an NBD URI
    (``nbd://``, ``nbds://``, ``nbd+unix://``). ``destination`` is the same; a path that does not
    exist is created with the source's size, as a raw sparse file or in the format its extension
    names (``.qcow2``, ``.vmdk``, ``.vhdx``). Zero and unallocated ranges are skipped.

    ``progress`` is called with a :class:`CopyProgress` at most every ``progress_interval``
    seconds (default 0.25) and once at the end, from a forklift thread; an exception it raises
    cancels the copy and is re-raised by the task. ``bitmap`` copies only the ranges dirty in
    that qemu dirty bitmap; ``checkpoint`` names a file that lets an interrupted copy resume;
    ``request_size``, ``requests``, ``connections`` and ``sparse_granularity`` tune the
    pipeline (defaults follow nbdcopy's).
    """
    return _native.start_copy(
        source,
        destination,
        progress=progress,
        cancel=cancel,
        request_size=request_size,
        requests=requests,
        sparse_granularity=sparse_granularity,
        connections=connections,
        bitmap=bitmap,
        checkpoint=None if checkpoint is None else os.fspath(checkpoint),
        checksums=checksums,
        flush=flush,
        retries=retries,
        progress_interval=progress_interval,
    )


def copy(
    source: Disk,
    destination: Disk,
    *,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
    request_size: Optional[int] = None,
    requests: Optional[int] = None,
    sparse_granularity: Optional[int] = None,
    connections: Optional[int] = None,
    bitmap: Optional[str] = None,
    checkpoint: Optional[Disk] = None,
    checksums: bool = False,
    flush: bool = True,
    retries: Optional[int] = None,
    progress_interval: Optional[float] = None,
) -> CopySummary:
    """Copies ``source`` into ``destination`` and returns what was done (see :func:`start_copy`).

    Blocks with the GIL released; Ctrl-C or ``cancel`` stops the copy with
    :class:`~forklift.CancelledError` (``KeyboardInterrupt`` for Ctrl-C).
    """
    return _tasks.run(
        start_copy(
            source,
            destination,
            progress=progress,
            cancel=cancel,
            request_size=request_size,
            requests=requests,
            sparse_granularity=sparse_granularity,
            connections=connections,
            bitmap=bitmap,
            checkpoint=checkpoint,
            checksums=checksums,
            flush=flush,
            retries=retries,
            progress_interval=progress_interval,
        )
    )


async def async_copy(
    source: Disk,
    destination: Disk,
    *,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
    request_size: Optional[int] = None,
    requests: Optional[int] = None,
    sparse_granularity: Optional[int] = None,
    connections: Optional[int] = None,
    bitmap: Optional[str] = None,
    checkpoint: Optional[Disk] = None,
    checksums: bool = False,
    flush: bool = True,
    retries: Optional[int] = None,
    progress_interval: Optional[float] = None,
) -> CopySummary:
    """:func:`copy` for asyncio: awaits the copy without blocking the event loop.

    Cancelling the awaiting task cancels the copy.
    """
    return await _tasks.wait(
        start_copy(
            source,
            destination,
            progress=progress,
            cancel=cancel,
            request_size=request_size,
            requests=requests,
            sparse_granularity=sparse_granularity,
            connections=connections,
            bitmap=bitmap,
            checkpoint=checkpoint,
            checksums=checksums,
            flush=flush,
            retries=retries,
            progress_interval=progress_interval,
        )
    )
