"""`shoetrack daemon`: watch the inbox, import, check, notify; what systemd runs.

A thin edge like the CLI: the work is the service layer's (the same import,
check and delivery code the commands use). This module wires the watcher and
the scheduler to it, handles signals, and talks to systemd.

Threads: watchdog's thread only notes paths; every job that reads files or
touches the database runs in the scheduler's single worker; signal handlers
only start a short thread that asks for a stop or a reload.

A file closed after writing, or moved into the inbox, starts a round at once
(it is imported as soon as it proves complete: see service/inbox.py); other
events start one within POLL_S, and files that report no close are imported
once they have held still for the stability window.

Environment (for tests, and for inboxes inotify cannot watch):
SHOETRACK_SETTLE_S  the stability window in seconds (1.5);
SHOETRACK_WATCH     "poll" watches by polling (network and FUSE mounts, where
                    inotify sees no change made elsewhere): no close events.
"""

from __future__ import annotations

import itertools
import logging
import os
import signal
import sys
import tempfile
import threading
import time
from datetime import date, datetime
from pathlib import Path

from .adapters import systemd
from .config import Config, folder_problems, read_config
from .errors import EX_CONFIG, ConfigError, ShoetrackError
from .service.context import Context, ensure_folder

log = logging.getLogger("shoetrack")
POLL_S = 0.5  # how often pending inbox files are looked at, while there are any
# Pauses before a step is tried again when another process held the database's write lock
# for longer than the busy timeout: within seconds, not at the next rescan.
BUSY_RETRY_S = (1.0, 2.0, 4.0)


def _env_seconds(name: str, default: float) -> float:
    """A number of seconds > 0 from the environment, else the default."""
    try:
        value = float(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if value > 0 else default


class Daemon:
    def __init__(self, context: Context):
        self.context = context
        self.stopping = threading.Event()
        self.settling = threading.Event()  # a settle round is under way and will re-arm itself
        self.config: Config | None = None
        self._notify_failing: str | None = None
        self._busy_streak = 0  # steps in a row that met the database held by another process
        self._evaluate_due = False  # runs came in (or a check was due) and their check did not run yet
        self._hurry = threading.Event()  # a file may be complete now: the next round starts at once
        self._rushed = False  # a round to start at once is scheduled and has not started yet
        self._rounds = itertools.count(1)
        self._arming = threading.Lock()  # orders the watcher's arms against a round's start and end

    # -- start-up ----------------------------------------------------------------

    def _load_config(self) -> tuple[Config | None, list[str]]:
        path, required = self.context.config_file
        config, problems = read_config(path, required=required)
        return config, problems + folder_problems(config)

    def run(self) -> int:
        """Run until SIGTERM or SIGINT; returns the exit status."""
        config, problems = self._load_config()
        if problems:
            log.error(ConfigError(config.source, problems).message)
            return EX_CONFIG
        self.config = config
        os.umask(0o077)  # everything it creates is the runner's alone
        sys.dont_write_bytecode = True  # it writes nowhere but its data folder and the inbox
        try:
            self.database = self.context.database
            self._check_database()  # fail now, clearly, if the database cannot be used
            from .service.backups import hold_daemon_lock

            self._lock = hold_daemon_lock(self.database)  # held while it runs: `restore` refuses meanwhile
            inbox = ensure_folder(config.inbox)
            # Spooled archives and the worker processes' sockets go here, not to /tmp.
            tempfile.tempdir = str(ensure_folder(self.database.parent / "tmp"))
        except ShoetrackError as error:
            log.error(error.message)
            return error.exit_code
        except OSError as exc:
            log.error("cannot create the inbox folder %s: %s", config.inbox, exc.strerror)
            return 1

        from .adapters.notify import Notifier, backend_name, desktop_problem
        from .adapters.schedule import Scheduler
        from .adapters.watch import Watcher
        from .service.inbox import SETTLE_S, Inbox

        self.inbox = Inbox(inbox, settle_s=_env_seconds("SHOETRACK_SETTLE_S", SETTLE_S))
        self.notifier = Notifier(urgency=config.get("notify.urgency"))
        self.scheduler = Scheduler()
        self.watcher = Watcher(inbox, self._on_path, polling=os.environ.get("SHOETRACK_WATCH") == "poll")
        self._schedule_jobs()
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, self._on_signal)

        self.watcher.start()
        if not self.watcher.reports_closes:
            log.info("the watcher reports no closed files here: files are imported once they have held "
                     "still for %g s", self.inbox.settle_s)
        self.inbox.rescan()
        self._arm()
        log.info("watching %s; database %s; notifications via %s", inbox, self.database, backend_name())
        problem = desktop_problem()
        if problem:
            log.warning("notifications cannot be shown right now: %s. Alerts stay due and are retried every "
                        "%g min (notify.retry_minutes) until one can be shown", problem,
                        config.get("notify.retry_minutes"))
        systemd.notify("READY=1")
        if not self.stopping.is_set():
            self.scheduler.start()
        self.watcher.stop()
        log.info("stopped")
        return 0

    def _schedule_jobs(self) -> None:
        config = self.config
        self.scheduler.every("rescan", config.get("daemon.scan_minutes") * 60, self.rescan)
        self.scheduler.daily("daily-check", config.get("daemon.check_at"), _logged(self._daily_check))
        self.scheduler.every("retry", config.get("notify.retry_minutes") * 60, _logged(self.deliver))
        from .service.backups import CHECK_EVERY_S, backup_if_due  # daily, checked hourly and at start

        backup = _logged(lambda: self._with_store(lambda store: backup_if_due(store, self.config, log)))
        self.scheduler.every("backup", CHECK_EVERY_S, backup)
        self.scheduler.soon("backup-at-start", 0, backup)
        ping = systemd.watchdog_interval_s()
        if ping:
            self.scheduler.every("watchdog", ping, lambda: systemd.notify("WATCHDOG=1"), light=True)

    # -- signals -------------------------------------------------------------------

    def _on_signal(self, signum, _frame) -> None:
        # Locks may be held by the interrupted code: act from a fresh thread.
        threading.Thread(target=self._handle_signal, args=(signum,), daemon=True).start()

    def _handle_signal(self, signum: int) -> None:
        if signum == signal.SIGHUP:
            self.scheduler.soon("reload", 0, self.reload)
        else:
            self.stop()

    def stop(self) -> None:
        """Finish the file in hand, then stop."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        systemd.notify("STOPPING=1")
        log.info("stopping after the current file")
        self.scheduler.stop()

    def reload(self) -> None:
        config, problems = self._load_config()
        if problems:
            log.error("config reload refused, keeping the running config: %s",
                      ConfigError(config.source, problems).message)
            return
        if config.inbox != self.config.inbox:
            log.warning("inbox.path changed: restart the daemon to watch %s", config.inbox)
        self.config = config
        self.notifier.urgency = config.get("notify.urgency")
        self._schedule_jobs()
        log.info("config reloaded from %s", config.source)

    # -- jobs (all in the scheduler's one worker) -------------------------------------

    def _store(self):
        from .adapters.store import Store

        # It never waits past the busy timeout: a step that meets a longer-held lock is tried
        # again in seconds (settle), so the worker stays free and a stop stays prompt.
        return Store(self.database, write_wait_s=0)

    def _check_database(self) -> None:
        """Open the database and run SQLite's quick_check: a damaged file is never written to."""
        from .errors import DamagedDatabase

        with self._store() as store:
            problem = store.integrity_problem(quick=True)
        if problem:
            raise DamagedDatabase(self.database, problem)

    def _on_path(self, path: Path, kind: str) -> None:
        """From watchdog's thread: note the path; the worker does the rest."""
        from .service.inbox import CLOSED, FOLDER

        if self.inbox.notice(path, kind):
            self._arm(at_once=kind in (CLOSED, FOLDER))

    def _arm(self, at_once: bool = False) -> None:
        """Make sure a round runs: within POLL_S, or at once when a file may be complete.

        A round under way looks again before it ends (at once if asked to). A round
        asked for at once gets a job id of its own: APScheduler skips a run of a job
        whose previous run has not quite returned, and the one worker runs them in turn.
        """
        if self.stopping.is_set():
            return
        with self._arming:
            if at_once:
                self._hurry.set()
            if self.settling.is_set():
                return
            if at_once and not self._busy_streak:  # (when the database was held, its pause is kept)
                if not self._rushed:
                    self._rushed = True
                    self.scheduler.soon(f"settle-now-{next(self._rounds)}", 0, self.settle)
            elif not self.scheduler.has_job("settle"):
                self.scheduler.soon("settle", POLL_S, self.settle)

    def rescan(self) -> None:
        found = self.inbox.rescan()
        if found:
            log.debug("rescan found %d new or changed files", found)
            self._arm()

    def settle(self) -> None:
        """Import the inbox files that are complete; look again at once while closes come in."""
        with self._arming:
            self.settling.set()
            self._rushed = False
        while True:
            self._hurry.clear()  # a close from now on is seen by this look, or makes another
            try:
                pause = self._import_ready()
            except BaseException:
                self.settling.clear()
                raise
            with self._arming:
                more = (self.inbox.has_pending() or self._evaluate_due) and not self.stopping.is_set()
                if not (more and self._hurry.is_set() and not pause):
                    # Cleared under the lock: a path noticed from now on arms a new round itself.
                    self.settling.clear()
                    if more:
                        self.scheduler.soon("settle", pause or POLL_S, self.settle)
                    return

    def _import_ready(self) -> float | None:
        """Import the files that are ready, then check the alerts if runs came in. Returns
        the pause before trying again when another process held the database, else None."""
        from .adapters.store import DatabaseBusy
        from .service.inbox import import_inbox_files

        ready = self.inbox.ready(time.monotonic())
        if self.stopping.is_set() or not (ready or self._evaluate_due):
            return None
        try:
            with self._store() as store:
                if ready:
                    report = import_inbox_files(store, self.config, self.inbox.folder, ready, self.stopping.is_set)
                    self._log_report(report)
                    if not report.stopped:
                        for path in ready:
                            self.inbox.done(path)
                    self._evaluate_due |= bool(report.imported)
                if self._evaluate_due and not self.stopping.is_set():
                    self.evaluate(store)
                    self._evaluate_due = False
        except DatabaseBusy as error:
            # Another process kept the write lock past the busy timeout (a long transaction):
            # the files stay pending and are tried again in seconds. Files stored before the
            # lock was met come back as known, so their runs are checked after the retry.
            pause = BUSY_RETRY_S[min(self._busy_streak, len(BUSY_RETRY_S) - 1)]
            if not self._busy_streak:
                log.warning("waiting for another process writing to the database; trying again every "
                            "few seconds (%s)", error.message)
            self._busy_streak += 1
            self._evaluate_due = True
            return pause
        except ShoetrackError as error:
            # The files stay in the inbox; the next rescan tries them again.
            for path in ready:
                self.inbox.forget(path)
            self._evaluate_due = False
            log.error("import paused until the next rescan: %s", error.message)
        else:
            if self._busy_streak:
                log.info("the database is free again")
        self._busy_streak = 0
        return None

    def _daily_check(self) -> None:
        """The day's check; when another process holds the database, settle tries it again soon."""
        from .adapters.store import DatabaseBusy

        try:
            self.evaluate()
        except DatabaseBusy:
            self._evaluate_due = True
            self._arm()

    def _log_report(self, report) -> None:
        for item in report.imported:
            log.info("imported %s (%d sessions)", item["path"], item["sessions"])
        for item in report.duplicate:
            if item["of"] == item["path"]:
                # Its own bytes again: a copy tool that set its times after closing it, a touch.
                log.debug("unchanged %s", item["path"])
            else:
                log.info("duplicate %s (of %s)", item["path"], item["of"])
        for item in report.skipped:
            log.info("skipped %s: %s", item["path"], item["reason"])
        for item in report.failed:
            log.warning("failed %s: %s", item["path"], item["reason"])

    def _with_store(self, work, store=None) -> None:
        """Run `work(store)` on the store given, or on one opened (and closed) for it."""
        if store is not None:
            return work(store)
        with self._store() as own:
            return work(own)

    def evaluate(self, store=None) -> None:
        """Evaluate the alerts for today, then deliver what is due."""
        self._with_store(self._evaluate, store)

    def deliver(self, store=None) -> None:
        """Deliver the alerts that are due."""
        self._with_store(self._deliver, store)

    def _evaluate(self, store) -> None:
        from .service.health import check

        today = date.today()
        report = check(store, self.config, today, today=today)
        for alert in report["new"]:
            log.info("alert %s%s: %s", alert["kind"], f" ({alert['subject']})" if alert["subject"] else "",
                     alert["message"])
        self._deliver(store)  # first: the page takes longer than a notification
        self._write_report(store, today)
        _give_back_memory()

    def _write_report(self, store, today: date) -> None:
        """The report page again, after each import and evaluation (report.enabled)."""
        from .service.report import refresh_report

        try:
            written = refresh_report(store, self.config, today)
        except ShoetrackError as exc:
            log.warning("report page not written: %s", exc)
            return
        except Exception:  # the page is a view: a fault in drawing it never stops imports or alerts
            log.exception("report page not written (a fault in shoetrack: please report it)")
            return
        if written is not None:
            log.debug("report page written: %s", written)

    def _report_path(self) -> str | None:
        from .service.report import report_path

        if not self.config.get("report.enabled"):
            return None
        return str(report_path(self.config, database=self.database))

    def _deliver(self, store) -> None:
        from .service.notifying import deliver_due

        result = deliver_due(store, self.config, self.notifier, datetime.now(), report=self._report_path())
        for alert in result.delivered:
            log.info("notified: %s", alert["message"])
        if result.error:
            # Once per failure streak: the alert stays due and is tried again.
            if result.error != self._notify_failing:
                log.warning("notification not delivered, will retry: %s", result.error)
            self._notify_failing = result.error
        elif result.delivered and self._notify_failing:
            log.info("notifications are delivered again")
            self._notify_failing = None


def _give_back_memory() -> None:
    """After an import and a page: hand freed memory back to the system, so the daemon
    waits small (glibc keeps freed heap otherwise; elsewhere this does nothing)."""
    import gc

    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _logged(job):
    """A scheduled job whose user-facing errors (a full disk...) become one log line."""

    def run() -> None:
        try:
            job()
        except ShoetrackError as error:
            log.error("%s", error.message)

    return run


def configure_logging(verbose: bool) -> None:
    """One line per event on stderr; journald adds the time."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(levelname)s %(message)s", force=True)
    if not verbose:
        logging.getLogger("watchdog").setLevel(logging.WARNING)
