"""A real desktop session for the daemon tests: a private D-Bus session bus,
an X server without a screen (Xvfb) and a real notification daemon (dunst),
plus the shoetrack daemon itself as a subprocess."""

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
        return {**os.environ, "DBUS_SESSION_BUS_ADDRESS": self.address, "DISPLAY": self.display,
                "HOME": str(self.folder)}

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
        subprocess.run(["dunstctl", "close-all"], env=self.env, check=True)
        time.sleep(0.1)
        out = subprocess.run(["dunstctl", "history"], env=self.env, capture_output=True, text=True, check=True)
        return [{"summary": n["summary"]["data"], "body": n["body"]["data"], "app": n["appname"]["data"]}
                for n in json.loads(out.stdout)["data"][0]]

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


class DaemonProcess:
    """`python -m shoetrack daemon` with its own config, database and inbox."""

    def __init__(self, folder: Path, env: dict, settings: str = ""):
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
        return subprocess.run([sys.executable, "-m", "shoetrack", "--config", str(self.config), "--db",
                               str(self.db), *args], env=self.env, capture_output=True, text=True, timeout=60)

    def start(self, wait_ready: bool = True) -> "DaemonProcess":
        self.process = subprocess.Popen(
            [sys.executable, "-m", "shoetrack", "--config", str(self.config), "--db", str(self.db), "daemon"],
            env=self.env, stderr=open(self.log, "w"), stdout=subprocess.DEVNULL)
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
