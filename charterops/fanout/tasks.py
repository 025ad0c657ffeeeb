"""Celery tasks of the fan-out engine; they carry only a state row id."""

from __future__ import annotations

from celery import shared_task

from . import engine


@shared_task(name="charterops.target_state_run", bind=True, acks_late=True, ignore_result=True)
def target_state_run_task(self, state_id: int, force: bool = False) -> str:
    """Run one fan-out row; on a transient failure, schedule the next attempt with backoff.

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
