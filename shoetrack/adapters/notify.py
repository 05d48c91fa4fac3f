"""Desktop notifications: the only module that imports plyer, dbus and jeepney.

Each notification is sent from a short-lived child process. dbus-python keeps
one shared session-bus connection per process and never reconnects once the
bus has gone away; a fresh process per notification means a bus or a
notification server that comes back is simply used again, and a server that
accepts a call but never answers cannot stall the daemon past the timeout.

A notification counts as delivered only when a notification server took it:
- first the child asks the session bus (with jeepney, pure Python) whether
  anything owns, or can be started as, org.freedesktop.Notifications; no bus
  or no server is a NotifyError that says what to do;
- then it hands the notification over the way plyer would on Linux, and makes
  the result count: with dbus-python, plyer's D-Bus backend (which raises on
  failure); without it, `notify-send` run here, its exit status checked
  (plyer's own notify-send backend ignores it).
plyer's backend is picked here rather than by `plyer.notification`: plyer
takes any folder named /app for a Flatpak sandbox and then sends through the
portal with `gdbus`, ignoring the result, so nothing would ever be shown on a
machine that merely has an /app folder. (Packaged as a real Flatpak, shoetrack
would need `--talk-name=org.freedesktop.Notifications`.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

URGENCY = {"low": 0, "normal": 1, "critical": 2}
SEND_TIMEOUT_S = 15  # the whole child: bus check, then the hand-over
PROBE_TIMEOUT_S = 5  # the bus check alone
BUS_TIMEOUT_S = 2  # one call to the bus itself
NOTIFY_SEND_TIMEOUT_S = 10
SERVER = "org.freedesktop.Notifications"
START_ONE = ("start a notification daemon (your desktop's own, or dunst, mako, xfce4-notifyd), "
             "or run shoetrack inside your desktop session")
NO_WAY = ("no way to send a notification: install notify-send (Debian/Ubuntu: apt install libnotify-bin) "
          "or dbus-python (pip install 'shoetrack[notify]')")


class NotifyError(Exception):
    """A notification was not delivered; the message says why, in one line."""


class Notifier:
    """Sends desktop notifications through plyer (or notify-send), confirmed."""

    def __init__(self, *, app_name: str = "shoetrack", urgency: str = "normal", timeout_s: int = 10):
        self.app_name = app_name
        self.urgency = urgency
        self.timeout_s = timeout_s
        self.last_way: str | None = None  # how the last delivered notification went: see backend_name()

    def send(self, title: str, body: str) -> None:
        """Deliver one notification or raise NotifyError."""
        payload = json.dumps({"title": title, "body": body, "app_name": self.app_name,
                              "urgency": self.urgency if self.urgency in URGENCY else "normal",
                              "timeout": self.timeout_s})
        self.last_way = None
        self.last_way = _run_child(["send", payload], SEND_TIMEOUT_S, "the notification server")


def backend_name() -> str:
    """How a notification is handed over: 'dbus-python' (plyer's D-Bus backend),
    'notify-send', or 'none' (neither is installed). Both ways are confirmed."""
    import importlib.util
    import shutil

    if importlib.util.find_spec("dbus") is not None:
        return "dbus-python"
    return "notify-send" if shutil.which("notify-send") else "none"


def desktop_problem() -> str | None:
    """Why no notification can be shown right now (one line, with what to do),
    or None when a notification server is reachable. Sends nothing."""
    try:
        _run_child(["probe"], PROBE_TIMEOUT_S, "the D-Bus session bus")
    except NotifyError as exc:
        return str(exc)
    return None


def _run_child(args: list[str], timeout_s: int, who: str) -> str:
    """Run this module as a child; returns what it printed (the way used) or raises NotifyError."""
    try:
        result = subprocess.run([sys.executable, "-m", __name__, *args], capture_output=True, text=True,
                                timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise NotifyError(f"{who} did not answer within {timeout_s} s") from None
    except OSError as exc:
        raise NotifyError(f"cannot start the notification helper: {exc.strerror}") from None
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        raise NotifyError(lines[-1] if lines else f"the notification helper exited with {result.returncode}")
    return result.stdout.strip()


# -- the child -------------------------------------------------------------------


def _session_bus_address() -> str | None:
    """The session bus address, found the way libdbus and GLib find it."""
    import stat

    address = os.environ.get("DBUS_SESSION_BUS_ADDRESS", "").strip()
    if address:
        return address
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        path = os.path.join(runtime, "bus")
        try:
            if stat.S_ISSOCK(os.stat(path).st_mode):
                return f"unix:path={path}"
        except OSError:
            pass
    return None


def _check_server() -> None:
    """Raise NotifyError unless a notification server owns, or can be started as, SERVER."""
    try:
        from jeepney.bus import get_connectable_addresses
        from jeepney.bus_messages import message_bus
        from jeepney.io.blocking import Proxy, open_dbus_connection
    except ImportError:
        raise NotifyError("jeepney is missing: install shoetrack again (pip install .)") from None

    address = _session_bus_address()
    if address is None:
        raise NotifyError("no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set): run shoetrack inside "
                          "your desktop session, or as a systemd user service of that session")
    os.environ["DBUS_SESSION_BUS_ADDRESS"] = address  # what dbus-python and notify-send will use too
    try:
        next(get_connectable_addresses(address))
    except RuntimeError:
        return  # a transport jeepney cannot reach (tcp...): the hand-over's own result decides
    except (ValueError, StopIteration):
        raise NotifyError(f"no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS={address!r} is not an address: "
                          "run shoetrack inside your desktop session") from None
    try:
        connection = open_dbus_connection(address, auth_timeout=BUS_TIMEOUT_S)
    except Exception as exc:
        reason = getattr(exc, "strerror", None) or " ".join(str(exc).split()) or type(exc).__name__
        raise NotifyError(f"no D-Bus session bus at {address} ({reason}): run shoetrack inside your desktop "
                          "session, or as a systemd user service of that session") from None
    with connection:
        bus = Proxy(message_bus, connection, timeout=BUS_TIMEOUT_S)
        if bus.NameHasOwner(SERVER)[0]:
            return
        if SERVER in bus.ListActivatableNames()[0]:
            return  # the bus starts it on the first call; whether that works is the hand-over's result
    raise NotifyError(f"no notification server is running in this session (nothing owns {SERVER}): "
                      + START_ONE)


def _send_now(payload: dict) -> str:
    """Hand the notification over; returns the way used, raises when it was not taken."""
    try:
        import dbus
    except ImportError:
        dbus = None
    if dbus is not None:
        from plyer.platforms.linux.notification import NotifyDbus

        NotifyDbus().notify(title=payload["title"], message=payload["body"], app_name=payload["app_name"],
                            timeout=payload["timeout"], hints={"urgency": dbus.Byte(URGENCY[payload["urgency"]])})
        return "dbus-python"
    import shutil

    program = shutil.which("notify-send")
    if program is None:
        raise NotifyError(NO_WAY)
    try:
        result = subprocess.run([program, "--app-name", payload["app_name"], "--urgency", payload["urgency"],
                                 "--expire-time", str(payload["timeout"] * 1000), "--", payload["title"],
                                 payload["body"]], capture_output=True, text=True, timeout=NOTIFY_SEND_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise NotifyError(f"notify-send got no answer within {NOTIFY_SEND_TIMEOUT_S} s") from None
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        raise NotifyError(f"notify-send failed: {lines[-1] if lines else f'exit status {result.returncode}'}")
    return "notify-send"


def _child(args: list[str]) -> None:
    _check_server()
    if args[0] == "probe":
        if backend_name() == "none":
            raise NotifyError(NO_WAY)
        return
    print(_send_now(json.loads(args[1])))


if __name__ == "__main__":
    try:
        _child(sys.argv[1:])
    except NotifyError as exc:
        print(exc, file=sys.stderr)
        sys.exit(1)
    except Exception as exc:  # report any failure as one line to the parent
        text = " ".join(str(exc).split()) or type(exc).__name__
        print(f"{type(exc).__name__}: {text}"[:300], file=sys.stderr)
        sys.exit(1)
