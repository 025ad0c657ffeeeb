"""Celery tasks of the fan-out engine; they carry only state row ids."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from celery import shared_task
from celery.signals import celeryd_after_setup
from django.db import close_old_connections

from . import engine

log = logging.getLogger(__name__)

#: threads that run rows beside each other in a worker process; a thread-pool worker sets it
#: to its own concurrency at start-up (``_size_row_threads``), so that rows, not messages,
#: use the worker's threads and database connections.
ROW_THREADS = {"size": engine.ROWS_PER_MESSAGE}
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


@celeryd_after_setup.connect
def _size_row_threads(sender, instance, **kwargs) -> None:  # noqa: ANN001 (Celery's signal)
    if "thread" in str(getattr(instance, "pool_cls", "")).lower():
        ROW_THREADS["size"] = max(engine.ROWS_PER_MESSAGE, int(instance.concurrency or 0))


def _rows_executor() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(ROW_THREADS["size"], thread_name_prefix="fanout-row")
        return _executor


@shared_task(name="charterops.target_states_run", bind=True, acks_late=True, ignore_result=True)
def target_states_run_task(self, state_ids: list[int], force: bool = False) -> list[str]:
    """Run each of these fan-out rows (a booking's stale targets: one message for all).

    Every row is claimed, run and recorded on its own (``engine.target_state_run``), side by
    side on the process's row threads, so one slow or failing target never holds up the
    others, and a row another worker holds is left to it. A transient failure schedules
    that row alone again with backoff, after its outcome is recorded; a row lost with a
    killed worker is found again by the sweeper. In eager mode (no broker) the rows run one
    after another in the caller's thread, and retries wait for the sweeper or staff.
    """
    if self.request.is_eager or len(state_ids) == 1:
        outcomes = [_row_run(state_id, force, close=False) for state_id in state_ids]
    else:
        futures = [_rows_executor().submit(_row_run, i, force, close=True) for i in state_ids]
        outcomes = [f.result() for f in futures]
    if not self.request.is_eager:
        for outcome in outcomes:
            if outcome.result == "retrying":
                engine.enqueue([outcome.state_id], countdown=outcome.retry_in)
    return [outcome.result for outcome in outcomes]


def _row_run(state_id: int, force: bool, *, close: bool) -> engine.RunOutcome:
    try:
        return engine.target_state_run(state_id, force=force)
    except Exception:
        # A database or broker error outside the target: the row keeps its state (pending,
        # or running with a lease that expires) and the sweeper runs it again.
        log.exception("fan-out row %s could not be run; the sweeper will retry it", state_id)
        return engine.RunOutcome(state_id, "error")
    finally:
        if close:  # what Celery does after a task: hand the connection back (or keep it young)
            close_old_connections()


@shared_task(name="charterops.target_state_run", bind=True, acks_late=True, ignore_result=True)
def target_state_run_task(self, state_id: int, force: bool = False) -> str:
    """Run one fan-out row; on a transient failure, schedule the next attempt with backoff.

    Kept for messages published before rows were sent together (``target_states_run``).
    The outcome is recorded on the row before the retry is scheduled, so a lost retry
    message is found again by the sweeper. In eager mode (no broker) retries wait for the
    sweeper or a staff action instead of looping inline.
    """
    outcome = engine.target_state_run(state_id, force=force)
    if outcome.result == "retrying" and not self.request.is_eager:
        engine.enqueue([state_id], countdown=outcome.retry_in)
    return outcome.result


@shared_task(name="charterops.fanout_sweep", acks_late=True, ignore_result=True)
def fanout_sweep_task() -> int:
    """Periodic: re-enqueue stale rows that no worker holds."""
    return len(engine.fanout_sweep())
