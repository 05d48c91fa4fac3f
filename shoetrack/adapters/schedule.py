"""Scheduling: the only module that imports APScheduler.

Every job that may touch the database runs in one worker thread, one at a
time, so no two database writes ever run at once. A second thread serves
jobs that never touch the database (the systemd watchdog ping), so a long
import cannot starve them.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Callable

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler


class Scheduler:
    def __init__(self):
        self.scheduler = BlockingScheduler(
            executors={"default": ThreadPoolExecutor(1), "light": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        )
        # APScheduler logs every run at INFO; one line per event is ours to write.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)

    def every(self, job_id: str, seconds: float, func: Callable[[], None], *, light: bool = False) -> None:
        self.scheduler.add_job(func, "interval", seconds=seconds, id=job_id, replace_existing=True,
                               executor="light" if light else "default")

    def daily(self, job_id: str, hh_mm: str, func: Callable[[], None]) -> None:
        hour, minute = (int(x) for x in hh_mm.split(":"))
        self.scheduler.add_job(func, "cron", hour=hour, minute=minute, id=job_id, replace_existing=True)

    def soon(self, job_id: str, seconds: float, func: Callable[[], None]) -> None:
        """Run once, `seconds` from now (replacing a pending run of the same id)."""
        self.scheduler.add_job(func, "date", run_date=datetime.now() + timedelta(seconds=seconds),
                               id=job_id, replace_existing=True)

    def cancel(self, job_id: str) -> None:
        """Remove a job, if there is one by that id."""
        if self.scheduler.get_job(job_id) is not None:
            try:
                self.scheduler.remove_job(job_id)
            except LookupError:  # it ran its last run meanwhile
                pass

    def has_job(self, job_id: str) -> bool:
        return self.scheduler.get_job(job_id) is not None

    def start(self) -> None:
        """Run jobs until stop(); blocks the calling thread."""
        self.scheduler.start()

    def stop(self) -> None:
        """Let the running job finish, then make start() return."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
