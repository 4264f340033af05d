"""Copying disks: local images (raw, qcow2, VMDK, ...) and NBD exports."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Callable, Dict, Optional, TypedDict, Union

from . import _docs, _native, _tasks
from ._native import CancelToken, CopyProgress, CopySummary, Task

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["CopyOptions", "async_copy", "copy", "start_copy"]

Disk = Union[str, "os.PathLike[str]"]
ProgressCallback = Callable[[CopyProgress], object]


COPY_OPTION_DOCS: Dict[str, str] = {
    "progress": "Called with a CopyProgress at most every ``progress_interval`` seconds and once "
    "at the end, from a forklift thread; an exception it raises cancels the copy and is re-raised.",
    "cancel": "A CancelToken: cancels the copy when triggered.",
    "request_size": "Bytes per request (a power of two, 4 KiB to 32 MiB; default 1 MiB); other "
    "values raise ValueError, as ``forklift copy --request-size`` refuses them.",
    "requests": "Requests in flight (default 16); buffers use ``requests * request_size`` bytes, "
    "at most 32 MiB (fewer requests run with a larger request size).",
    "sparse_granularity": "Zero-detection granularity in bytes: 0 (off) or a power of two from "
    "512 to 32 MiB (default 4096); other values raise ValueError.",
    "connections": "NBD connections per export when multi-conn is allowed (default min(4, CPUs)).",
    "bitmap": "Copy only the ranges dirty in this qemu dirty bitmap.",
    "checkpoint": "File that lets an interrupted copy resume (read if present, updated while copying).",
    "checksums": "Keep a CRC32 per block (default False).",
    "flush": "Flush the destination at the end (default True).",
    "lanes": "Between two NBD exports, one thread drives each pair of connections (default True).",
    "direct": "Write a raw file or device destination with O_DIRECT, around the page cache "
    "(default False; where the file system refuses it, a warning is logged and the page cache used; "
    "in a file each run of data is allocated before it is written).",
    "retries": "Attempts per block for recoverable errors (default 3).",
    "reconnects": "Times a lost NBD connection is reopened before the copy fails (default 3; 0: never).",
    "io_timeout": "Seconds requests to an NBD server may wait without a byte from it before the "
    "connection counts as lost and is reopened (default 300; 0: forever).",
    "progress_interval": "Seconds between progress callbacks (default 0.25).",
}
"""What each keyword option of :func:`copy` does (shown by ``help()``)."""


class CopyOptions(TypedDict, total=False):
    """Keyword options of :func:`start_copy`, :func:`copy` and :func:`async_copy`."""

    progress: Optional[ProgressCallback]
    cancel: Optional[CancelToken]
    request_size: Optional[int]
    requests: Optional[int]
    sparse_granularity: Optional[int]
    connections: Optional[int]
    bitmap: Optional[str]
    checkpoint: Optional[Disk]
    checksums: bool
    flush: bool
    lanes: bool
    direct: bool
    retries: Optional[int]
    reconnects: Optional[int]
    io_timeout: Optional[float]
    progress_interval: Optional[float]


CopyOptions.__doc__ = (CopyOptions.__doc__ or "") + _docs.section(COPY_OPTION_DOCS)


@_docs.options(COPY_OPTION_DOCS)
def start_copy(
    source: Disk, destination: Disk, **options: Unpack[CopyOptions]
) -> Task[CopySummary]:
    """Starts copying ``source`` into ``destination`` and returns the running :class:`Task`.

    ``source`` is an image path (raw, qcow2, VMDK, VHDX, VDI: detected) or an NBD URI
    (``nbd://``, ``nbds://``, ``nbd+unix://``, ``nbds+unix://``); a URI of any other scheme
    raises :class:`ValueError` (unsupported scheme). ``destination`` is the same; a path that does not
    exist is created with the source's size, as a raw sparse file or in the format its extension
    names (``.qcow2``, ``.vmdk``, ``.vhdx``). Zero and unallocated ranges are skipped.

    ``progress`` is called with a :class:`CopyProgress` at most every ``progress_interval``
    seconds (default 0.25) and once at the end, from a forklift thread; an exception it raises
    cancels the copy and is re-raised by the task. ``bitmap`` copies only the ranges dirty in
    that qemu dirty bitmap; ``checkpoint`` names a file that lets an interrupted copy resume;
    ``request_size``, ``requests``, ``connections`` and ``sparse_granularity`` tune the
    pipeline (defaults follow nbdcopy's). See :class:`CopyOptions`.
    """
    unknown = sorted(set(options) - CopyOptions.__optional_keys__)
    if unknown:
        raise TypeError(f"unexpected keyword argument {unknown[0]!r} (see forklift.CopyOptions)")
    checkpoint = options.get("checkpoint")
    return _native.start_copy(
        source,
        destination,
        progress=options.get("progress"),
        cancel=options.get("cancel"),
        request_size=options.get("request_size"),
        requests=options.get("requests"),
        sparse_granularity=options.get("sparse_granularity"),
        connections=options.get("connections"),
        bitmap=options.get("bitmap"),
        checkpoint=None if checkpoint is None else os.fspath(checkpoint),
        checksums=options.get("checksums", False),
        flush=options.get("flush", True),
        lanes=options.get("lanes", True),
        direct=options.get("direct", False),
        retries=options.get("retries"),
        reconnects=options.get("reconnects"),
        io_timeout=options.get("io_timeout"),
        progress_interval=options.get("progress_interval"),
    )


@_docs.options(COPY_OPTION_DOCS)
def copy(source: Disk, destination: Disk, **options: Unpack[CopyOptions]) -> CopySummary:
    """Copies ``source`` into ``destination`` and returns what was done.

    ``source`` is an image path (raw, qcow2, VMDK, VHDX, VDI: detected) or an NBD URI
    (``nbd://``, ``nbds://``, ``nbd+unix://``, ``nbds+unix://``); ``destination`` the same, a
    missing path created with the source's size (see :func:`start_copy`). The result is a
    :class:`CopySummary` (``to_dict()`` gives ``forklift copy -o json``'s keys).

    Blocks with the GIL released; Ctrl-C or ``cancel`` stops the copy with
    :class:`~forklift.CancelledError` (``KeyboardInterrupt`` for Ctrl-C).
    """
    return _tasks.run(start_copy(source, destination, **options))


async def async_copy(
    source: Disk, destination: Disk, **options: Unpack[CopyOptions]
) -> CopySummary:
    """:func:`copy` for asyncio: awaits the copy without blocking the event loop.

    Cancelling the awaiting task cancels the copy.
    """
    return await _tasks.wait(start_copy(source, destination, **options))


_docs.document(async_copy, COPY_OPTION_DOCS)
