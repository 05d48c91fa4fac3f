"""A real desktop session for the daemon tests: a private D-Bus session bus,
an X server without a screen (Xvfb) and a real notification daemon (dunst),
plus the shoetrack daemon itself as a subprocess (from the test venv, or from a
real venv without dbus-python: see `venv_without_dbus_python`)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""
TOOLS = ("dbus-daemon", "Xvfb", "dunst", "dunstctl")


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def wait_until(predicate, timeout: float, step: float = 0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


class Desktop:
    """Bus, X server and notification daemon; each can be stopped and started again."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.socket = folder / "bus"
        self.address = f"unix:path={self.socket}"
        (folder / "bus.conf").write_text(BUS_CONFIG.format(socket=self.socket))
        self.bus = self.xvfb = self.dunst = None
        self.display = None

    @property
    def env(self) -> dict:
        env = {**os.environ, "DBUS_SESSION_BUS_ADDRESS": self.address, "HOME": str(self.folder)}
        if self.display:
            env["DISPLAY"] = self.display
        return env

    def start_bus(self) -> None:
        if self.socket.exists():
            self.socket.unlink()
        self.bus = subprocess.Popen(["dbus-daemon", f"--config-file={self.folder / 'bus.conf'}",
                                     "--nofork", "--print-address=1"], stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, text=True)
        self.bus.stdout.readline()  # printed once it listens

    def stop_bus(self) -> None:
        self.bus.terminate()
        self.bus.wait(5)

    def start_x(self) -> None:
        read, write = os.pipe()
        self.xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "640x480x24",
                                      "-nolisten", "tcp"], pass_fds=[write], stderr=subprocess.DEVNULL)
        os.close(write)
        with os.fdopen(read) as pipe:
            self.display = ":" + pipe.readline().strip()

    def start_dunst(self) -> None:
        self.dunst = subprocess.Popen(["dunst"], env=self.env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
        assert wait_until(self._dunst_answers, 5), "dunst did not come up"

    def stop_dunst(self) -> None:
        self.dunst.terminate()
        self.dunst.wait(5)
        self.dunst = None

    def _dunst_answers(self) -> bool:
        return subprocess.run(["dunstctl", "count"], env=self.env, capture_output=True).returncode == 0

    def history(self) -> list[dict]:
        """Notifications dunst received (all closed first, as only closed ones are listed)."""
        assert wait_until(self._all_closed, 5), "dunst kept notifications open"
        out = subprocess.run(["dunstctl", "history"], env=self.env, capture_output=True, text=True, check=True)
        return [{"summary": n["summary"]["data"], "body": n["body"]["data"], "app": n["appname"]["data"]}
                for n in json.loads(out.stdout)["data"][0]]

    def _all_closed(self) -> bool:
        subprocess.run(["dunstctl", "close-all"], env=self.env, check=True)
        counts = [subprocess.run(["dunstctl", "count", which], env=self.env, capture_output=True, text=True,
                                 check=True).stdout.strip() for which in ("displayed", "waiting")]
        return counts == ["0", "0"]

    def shoetrack_notes(self) -> list[dict]:
        return [n for n in self.history() if n["app"] == "shoetrack"]

    def start(self) -> "Desktop":
        self.start_bus()
        self.start_x()
        self.start_dunst()
        return self

    def stop(self) -> None:
        for process in (self.dunst, self.xvfb, self.bus):
            if process and process.poll() is None:
                process.terminate()
                process.wait(5)


def quiet_env(tmp_path, **extra: str) -> dict:
    """A daemon's environment without a desktop session (nothing here is about notifying)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY")}
    return {**env, "HOME": str(tmp_path), **extra}


def run_count(daemon) -> int:
    rows = daemon.query("SELECT count(*) FROM sessions")
    return rows[0][0] if rows else 0


class DaemonProcess:
    """`python -m shoetrack daemon` with its own config, database and inbox."""

    def __init__(self, folder: Path, env: dict, settings: str = "", python: str = sys.executable):
        self.python = str(python)
        self.folder = folder
        self.inbox = folder / "inbox"
        self.inbox.mkdir(parents=True, exist_ok=True)
        self.db = folder / "shoetrack.db"
        self.config = folder / "config.toml"
        self.config.write_text(f'[inbox]\npath = "{self.inbox}"\n' + settings)
        self.log = folder / "daemon.log"
        self.env = env
        self.process = None

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([self.python, "-m", "shoetrack", "--config", str(self.config), "--db",
                               str(self.db), *args], env=self.env, capture_output=True, text=True, timeout=60,
                              cwd=self.folder)

    def start(self, wait_ready: bool = True) -> "DaemonProcess":
        self.process = subprocess.Popen(
            [self.python, "-m", "shoetrack", "--config", str(self.config), "--db", str(self.db), "daemon"],
            env=self.env, stderr=open(self.log, "w"), stdout=subprocess.DEVNULL, cwd=self.folder)
        if wait_ready:
            assert self.wait_log(r"INFO watching ", 10), self.text()
        return self

    def text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def wait_log(self, pattern: str, timeout: float, count: int = 1) -> bool:
        return bool(wait_until(lambda: len(re.findall(pattern, self.text())) >= count, timeout))

    def signal(self, signum=signal.SIGTERM) -> None:
        self.process.send_signal(signum)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
        return self.process.wait(10)

    def query(self, sql: str, params=()) -> list[tuple]:
        conn = sqlite3.connect(self.db, timeout=10)
        try:
            return conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError:
            return []  # not created yet
        finally:
            conn.close()


def venv_without_dbus_python(folder: Path) -> Path:
    """A real virtual environment as `pip install .` makes it (shoetrack and its
    runtime dependencies, without dbus-python), built offline; returns its python.

    `python -m venv --without-pip`, then the files each runtime dependency has
    installed in the test venv (its RECORD, resolved from pyproject.toml's
    `dependencies` and their own requirements) are copied into the new venv's
    site-packages, with their .dist-info, and shoetrack's package folder beside
    them. No index, no build, nothing shared with the test venv; `import dbus`
    fails there for real. 0.4–0.9 s here (it copies ~2,400 files).
    """
    import tomllib
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.requirements import Requirement

    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               capture_output=True, text=True, check=True).stdout.strip())
    wanted = list(tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"])
    copied = set()
    while wanted:
        requirement = Requirement(wanted.pop())
        if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
            continue
        try:
            dist = distribution(requirement.name)
        except PackageNotFoundError:
            raise AssertionError(f"{requirement.name} is not installed in the test venv: run tests/setup.sh")
        if dist.metadata["Name"].lower() in copied:
            continue
        assert requirement.specifier.contains(dist.version, prereleases=True), (str(requirement), dist.version)
        copied.add(dist.metadata["Name"].lower())
        for file in dist.files or []:
            if file.parts[0] == ".." or "__pycache__" in file.parts:
                continue  # console scripts, bytecode
            target = site / file
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(dist.locate_file(file), target)
        wanted += dist.requires or []
    shutil.copytree(root / "shoetrack", site / "shoetrack", ignore=shutil.ignore_patterns("__pycache__"))
    return python
