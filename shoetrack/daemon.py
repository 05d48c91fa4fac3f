"""`shoetrack daemon`: watch the places runs come from, import, check, notify; what systemd runs.

A thin edge like the CLI: the work is the service layer's (the same import,
check and delivery code the commands use). This module wires the watcher and
the scheduler to it, handles signals, and talks to systemd.

Places (service/places.py): the inbox, the folders the config names, and watches
plugged in. Each present place has a tracker (service/inbox.py). Its changes come
as inotify events, or, where inotify sees nothing (FUSE and MTP mounts, network
file systems, and every device), from looking through it every `poll_seconds`. A
place that appears later (a folder made, a card or a watch mounted) is picked up:
at once when something is mounted (the mount table is watched) or appears under a
removable-media folder, else within PLACES_LOOK_S.

Threads: watchdog's thread and the mount watcher only note paths; every job that
reads files or touches the database runs in the scheduler's single worker; signal
handlers only start a short thread that asks for a stop or a reload.

A file closed after writing, or moved into a watched folder, starts a round at once
(it is imported as soon as it proves complete: see service/inbox.py); other
events start one within POLL_S, and files that report no close are imported
once they have held still for the stability window.

Environment (for tests):
SHOETRACK_SETTLE_S  the stability window in seconds (1.5);
SHOETRACK_WATCH     "poll": the inbox is looked through every second instead of
                    watched, and a file is taken only once it held still (the
                    fallback when nothing can show a file complete).
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
POLL_S = 0.5  # how often pending files are looked at, while there are any
PLACES_LOOK_S = 30.0  # how often places not there (and devices) are looked for, besides mount events
RECORD_SCAN_S = 60.0  # a polled place's look is written down at most this often (`sources` shows it)
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
        self.watched: dict[Path, _Watched] = {}  # the places present and being read, by folder
        self._arrivals: dict[Path, list[str]] = {}  # a device's files imported, not yet announced
        self._device_roots: set[Path] = set()  # removable-media folders watched for new entries
        self._look_queued = False  # a look at the places is scheduled and has not started
        self._awaiting: dict[Path, list[Path]] = {}  # a folder watched -> the missing places below it

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
        from .service.places import configured_places
        from .service.inbox import SETTLE_S

        self.settle_s = _env_seconds("SHOETRACK_SETTLE_S", SETTLE_S)
        self.notifier = Notifier(urgency=config.get("notify.urgency"))
        self.scheduler = Scheduler()
        self.watcher = Watcher()
        self.configured = configured_places(config)
        self._schedule_jobs()
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, self._on_signal)

        self.watcher.start()
        self.mounts = self._watch_for_devices()
        self.look_at_places()
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
        if self.mounts is not None:
            self.mounts.stop()
        log.info("stopped")
        return 0

    def _schedule_jobs(self) -> None:
        config = self.config
        self.scheduler.every("rescan", config.get("daemon.scan_minutes") * 60, self.rescan)
        self.scheduler.every("places", PLACES_LOOK_S, _logged(self.look_at_places))
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
        if (config.inbox, config.places, config.devices, config.device_roots) != (
                self.config.inbox, self.config.places, self.config.devices, self.config.device_roots):
            log.warning("the places to watch changed: restart the daemon to watch them")
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

    def _on_path(self, watched: "_Watched", path: Path, kind: str) -> None:
        """From watchdog's thread: note the path; the worker does the rest."""
        from .service.inbox import CLOSED, FOLDER

        if watched.tracker.notice(path, kind):
            self._arm(at_once=kind in (CLOSED, FOLDER))

    # -- places: opened when they appear, closed when they go -----------------------

    def _watch_for_devices(self):
        """Mounts, and entries appearing under the removable-media folders, make the
        places be looked at at once (watch.devices). Returns the mount watcher."""
        if not self.config.devices:
            return None
        from .adapters.devices import MountWatcher

        for root in self.config.device_roots:
            if root.is_dir() and self.watcher.add(root, lambda _path, _kind: self._look_soon(), recursive=False):
                self._device_roots.add(root)
        mounts = MountWatcher(self._look_soon)
        return mounts if mounts.start() else None

    def _look_soon(self) -> None:
        """Look at the places at once (from any thread). A request that comes while a look
        runs gets a look of its own after it: a mount a millisecond after its folder
        appeared must not wait for the next periodic look."""
        if self.stopping.is_set():
            return
        with self._arming:
            if self._look_queued:
                return  # one not started yet will see this too
            self._look_queued = True
        self.scheduler.soon(f"places-now-{next(self._rounds)}", 0, self._look_now)

    def _look_now(self) -> None:
        with self._arming:
            self._look_queued = False
        _logged(self.look_at_places)()

    def look_at_places(self) -> None:
        """Open the places that appeared, close the ones that went (or were replaced)."""
        from .service.places import devices_now

        for place in self.configured:
            self._follow(place, place.present())
        if self.config.devices:
            found = {d.path: d for d in devices_now(self.config, self.configured)}
            for path, watched in list(self.watched.items()):
                if watched.place.kind == "device" and path not in found:
                    self._close(watched)
            for device in found.values():
                self._follow(device, True)
        self._await_missing()

    def _await_missing(self) -> None:
        """A configured folder that is not there is awaited: its nearest folder that is
        there is watched (its own entries only), so the folder is read as soon as it is
        made or moved in, not at the next look."""
        wanted: dict[Path, list[Path]] = {}
        for place in self.configured:
            if place.path not in self.watched:
                above = _nearest_existing(place.path)
                if above is not None and above not in self._device_roots:
                    wanted.setdefault(above, []).append(place.path)
        for folder in set(self._awaiting) - set(wanted):
            self.watcher.remove(folder)
            del self._awaiting[folder]
        for folder, targets in wanted.items():
            if folder not in self._awaiting and self.watcher.add(
                    folder, lambda path, _kind, targets=targets: self._on_the_way(path, targets), recursive=False):
                self._awaiting[folder] = targets

    def _on_the_way(self, path: Path, targets: list[Path]) -> None:
        """From watchdog's thread: an entry appeared or went on the way to an awaited folder."""
        if any(path == target or path in target.parents for target in targets):
            self._look_soon()

    def _follow(self, place, present: bool) -> None:
        watched = self.watched.get(place.path)
        if watched is not None and (not present or _identity(place.path) != watched.identity):
            self._close(watched)
            watched = None
        if watched is None and present:
            self._open(place)

    def _open(self, place) -> None:
        from .service.inbox import KEPT_FOLDERS, Inbox

        held_still_only = place.kind == "inbox" and os.environ.get("SHOETRACK_WATCH") == "poll"
        every = 1.0 if held_still_only else place.polling_every()
        tracker = Inbox(place.path, self.settle_s, KEPT_FOLDERS if place.kind == "inbox" else (),
                        check_writers=place.kind != "device")
        watched = _Watched(place, tracker, every, _identity(place.path))
        watched.vouch = bool(every) and not held_still_only
        if every is None and not self.watcher.add(place.path, lambda p, k: self._on_path(watched, p, k)):
            watched.every = every = 30.0  # no inotify watch to be had (out of watches): looked through instead
            watched.vouch = True
        if every:
            self.scheduler.every(f"poll:{place.path}", every, _logged(lambda: self._poll(watched)))
        self.watched[place.path] = watched
        how = f"looked through every {every:g} s" if every else "watched for changes"
        if place.kind == "device":
            log.info("found %s at %s: importing its runs (read-only)", place.label, place.path)
        elif place.kind == "folder":
            log.info("reading %s in place (read-only, %s)", place.path, how)
        if held_still_only:
            log.info("no close events from %s: files are imported once they have held still for %g s",
                     place.path, self.settle_s)
        self._scan(watched)

    def _close(self, watched: "_Watched") -> None:
        place = watched.place
        self.watcher.remove(place.path)
        self.scheduler.cancel(f"poll:{place.path}")
        self.watched.pop(place.path, None)
        left = watched.tracker.has_pending()
        if place.kind == "device":
            log.info("%s went away%s", place.label, ": the rest of its files are read when it is back" if left else "")
        else:
            log.info("%s is not there any more; it is read again when it appears", place.path)

    def _poll(self, watched: "_Watched") -> None:
        if self.watched.get(watched.place.path) is not watched:
            return  # closed meanwhile
        if not watched.place.present():
            self._look_soon()
            return
        self._scan(watched)

    def _scan(self, watched: "_Watched") -> None:
        """Look through a whole place for new and changed files; write down when (at most
        every RECORD_SCAN_S for a polled place: `sources` shows it)."""
        found = watched.tracker.rescan(vouch=watched.vouch)
        if found:
            log.debug("%d new or changed files in %s", found, watched.place.path)
            self._arm(at_once=watched.vouch)
        now = time.monotonic()
        if watched.recorded and now - watched.recorded < RECORD_SCAN_S:
            return
        from .adapters.store import DatabaseBusy

        place = watched.place
        try:
            self._with_store(lambda store: store.record_scan(str(place.path), place.kind,
                                                             place.label if place.kind == "device" else None))
        except (DatabaseBusy, ShoetrackError) as error:
            log.debug("when %s was looked through is not written down: %s", place.path, error)
            return
        watched.recorded = now

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
        """The safety net for missed events: every place watched by events, looked through."""
        for watched in list(self.watched.values()):
            if not watched.every:
                watched.recorded = 0.0
                self._scan(watched)

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
                more = (any(w.tracker.has_pending() for w in list(self.watched.values())) or self._evaluate_due) \
                    and not self.stopping.is_set()
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

        now = time.monotonic()
        waiting = [(w, w.tracker.ready(now)) for w in list(self.watched.values())]
        waiting = [(w, ready) for w, ready in waiting if ready]
        if self.stopping.is_set() or not (waiting or self._evaluate_due):
            return None
        try:
            with self._store() as store:
                for watched, ready in waiting:
                    self._import_from(store, watched, ready)
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
            # The files stay where they are; the next rescan tries them again.
            for watched, ready in waiting:
                for path in ready:
                    watched.tracker.forget(path)
            self._evaluate_due = False
            log.error("import paused until the next rescan: %s", error.message)
        else:
            if self._busy_streak:
                log.info("the database is free again")
        self._busy_streak = 0
        return None

    def _import_from(self, store, watched: "_Watched", ready: list[Path]) -> None:
        """Import one place's ready files. A place that goes away (a watch unplugged) stops
        the import between two files: what was stored is whole, the rest waits for its return."""
        from .service.inbox import import_place_files

        place = watched.place

        def should_stop() -> bool:
            return self.stopping.is_set() or (place.read_only and not place.present())

        report = import_place_files(store, self.config, place, ready, should_stop)
        self._log_report(report)
        if not report.stopped:
            for path in ready:
                watched.tracker.done(path)
        elif not self.stopping.is_set():
            log.info("%s went away during its import; the files not read yet wait for its return", place.label)
            self._look_soon()
        self._evaluate_due |= bool(report.imported)
        if place.kind != "device":
            return
        if not report.stopped:
            log.info("looked through %s: %s, %d new", place.label, _files(len(ready)), len(report.imported))
        if report.imported:
            self._arrivals.setdefault(place.path, []).extend(item["path"] for item in report.imported)
        if place.path in self._arrivals and not report.stopped and not watched.tracker.has_pending():
            self._announce_arrival(store, place, self._arrivals.pop(place.path))

    def _announce_arrival(self, store, place, labels: list[str]) -> None:
        from .service.notifying import announce_arrival

        said = announce_arrival(store, self.config, self.notifier, place.label, labels, date.today())
        if said.delivered:
            log.info("notified: %s", said.summary)
        elif said.error:
            log.warning("notification not delivered: %s (%s); the runs are stored", said.summary, said.error)
        elif said.summary:
            log.info("%s", said.summary)

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


class _Watched:
    """A place present and being read: its tracker, and how its changes are seen."""

    def __init__(self, place, tracker, every: float | None, identity):
        self.place = place
        self.tracker = tracker
        self.every = every  # seconds between looks through it, or None: inotify events
        # Whether a look through it stands for the close events it never gives: a file
        # found is taken once its bytes show it complete (else once it held still).
        self.vouch = False
        self.identity = identity  # the folder's (device, inode) when opened: a new one is a new place
        self.recorded = 0.0  # when (monotonic) its last look through was written down


def _files(count: int) -> str:
    return f"{count} file{'' if count == 1 else 's'}"


def _nearest_existing(path: Path) -> Path | None:
    for folder in path.parents:
        if folder.is_dir():
            return folder
    return None


def _identity(path: Path):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


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
