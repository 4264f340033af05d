"""The task machinery: runtime, GIL release, cancellation, asyncio, fork."""

from __future__ import annotations

import _thread
import asyncio
import os
import threading
import time

import pytest

import forklift
from forklift import _native, _tasks


def test_version_matches_the_crate() -> None:
    assert forklift.__version__.count(".") == 2


def test_task_result_and_state() -> None:
    task = _native._sleep(0.01)
    assert task.result() == 0.01
    assert task.done()
    assert not task.cancelled
    assert task.wait(0) is True
    assert repr(task) == "<Task finished>"
    # The result stays available.
    assert task.result() == 0.01


def test_wait_times_out_and_result_raises_timeout_error() -> None:
    task = _native._sleep(10)
    try:
        assert task.wait(0.01) is False
        with pytest.raises(TimeoutError):
            task.result(timeout=0.01)
        assert repr(task) == "<Task pending>"
    finally:
        task.cancel()


def test_invalid_arguments_raise_value_error() -> None:
    with pytest.raises(ValueError, match="Invalid duration"):
        _native._sleep(-1)
    task = _native._sleep(0)
    with pytest.raises(ValueError, match="Invalid timeout"):
        task.wait(float("nan"))


def test_cancel_token_cancels_every_task_holding_it() -> None:
    token = forklift.CancelToken()
    first, second = _native._sleep(30, token), _native._sleep(30, token)
    assert repr(token) == "CancelToken(cancelled=False)"
    token.cancel()
    assert token.cancelled
    for task in (first, second):
        with pytest.raises(forklift.CancelledError):
            task.result(timeout=5)
        assert task.cancelled
    assert repr(first) == "<Task failed>"


def test_task_cancel_leaves_the_token_alone() -> None:
    token = forklift.CancelToken()
    task = _native._sleep(30, token)
    task.cancel()
    with pytest.raises(forklift.exceptions.CancelledError) as info:
        task.result(timeout=5)
    assert isinstance(info.value, forklift.ForkliftError)
    assert not token.cancelled


def test_waiting_releases_the_gil() -> None:
    ticks = 0
    stop = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.001)

    counter = threading.Thread(target=count)
    counter.start()
    try:
        _native._sleep(0.2).result()
    finally:
        stop.set()
        counter.join()
    assert ticks > 10


def test_done_callbacks_run_once_finished() -> None:
    finished = threading.Event()
    seen: list[object] = []
    task = _native._sleep(0.01)
    # Like concurrent.futures: the callback gets the task.

    def on_done(t: _native.Task[float]) -> None:
        seen.append(t.result())
        finished.set()

    task.add_done_callback(on_done)
    assert finished.wait(5)
    assert seen == [0.01]
    # Added after the end: called right away, with the task.
    calls: list[bool] = []
    task.add_done_callback(lambda t: calls.append(t.done()))
    assert calls == [True]
    assert task.exception() is None


def test_exception_returns_what_result_raises() -> None:
    token = _native.CancelToken()
    task = _native._sleep(30, token)
    with pytest.raises(TimeoutError):
        task.exception(timeout=0.01)
    token.cancel()
    error = task.exception(timeout=5)
    assert isinstance(error, forklift.CancelledError), error


def test_async_wait_completes_on_the_loop() -> None:
    async def main() -> list[float]:
        return list(await asyncio.gather(*(_tasks.wait(_native._sleep(0.05)) for _ in range(20))))

    started = time.monotonic()
    assert asyncio.run(main()) == [0.05] * 20
    # Twenty concurrent sleeps overlap instead of running one after the other.
    assert time.monotonic() - started < 0.05 * 20


def test_cancelling_the_asyncio_task_cancels_the_operation() -> None:
    native = _native._sleep(30)

    async def main() -> None:
        waiter = asyncio.ensure_future(_tasks.wait(native))
        await asyncio.sleep(0.01)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter

    asyncio.run(main())
    assert native.cancelled
    with pytest.raises(forklift.CancelledError):
        native.result(timeout=5)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_runtime_works_in_a_forked_child() -> None:
    assert _native._sleep(0.01).result() == 0.01  # the parent's runtime exists
    pid = os.fork()
    if pid == 0:  # child: must build its own runtime instead of using the parent's dead one
        try:
            ok = _native._sleep(0.01).result(timeout=5) == 0.01
        except BaseException:
            ok = False
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert _native._sleep(0.01).result() == 0.01


def test_ctrl_c_interrupts_a_blocking_wait_and_cancels_the_task() -> None:
    task = _native._sleep(30)
    timer = threading.Timer(0.05, _thread.interrupt_main)
    timer.start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        _tasks.run(task)
    timer.join()
    assert time.monotonic() - started < 5
    assert task.cancelled
    with pytest.raises(forklift.CancelledError):
        task.result(timeout=5)


def test_tasks_are_awaitable() -> None:
    async def main() -> float:
        return await _native._sleep(0.01)

    assert asyncio.run(main()) == 0.01
