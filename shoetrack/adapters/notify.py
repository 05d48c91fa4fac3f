"""Desktop notifications: the only module that imports plyer.

Each notification is sent from a short-lived child process. dbus-python keeps
one shared session-bus connection per process and never reconnects once the
bus has gone away; a fresh process per notification means a bus or a
notification server that comes back is simply used again, and a server that
accepts a call but never answers cannot stall the daemon past the timeout.
"""

from __future__ import annotations

import json
import subprocess
import sys

URGENCY = {"low": 0, "normal": 1, "critical": 2}
SEND_TIMEOUT_S = 15


class NotifyError(Exception):
    """A notification was not delivered; the message says why, in one line."""


class Notifier:
    """Sends desktop notifications through plyer."""

    def __init__(self, *, app_name: str = "shoetrack", urgency: str = "normal", timeout_s: int = 10):
        self.app_name = app_name
        self.urgency = urgency
        self.timeout_s = timeout_s

    def send(self, title: str, body: str) -> None:
        """Deliver one notification or raise NotifyError."""
        payload = json.dumps({"title": title, "body": body, "app_name": self.app_name,
                              "urgency": URGENCY.get(self.urgency, 1), "timeout": self.timeout_s})
        try:
            result = subprocess.run([sys.executable, "-m", __name__, payload], capture_output=True,
                                    text=True, timeout=SEND_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise NotifyError(f"the notification server did not answer within {SEND_TIMEOUT_S} s") from None
        except OSError as exc:
            raise NotifyError(f"cannot start the notification helper: {exc.strerror}") from None
        if result.returncode != 0:
            lines = result.stderr.strip().splitlines()
            raise NotifyError(lines[-1] if lines else f"the notification helper exited with {result.returncode}")


def backend_name() -> str:
    """Which way plyer will deliver: 'dbus' (confirmed), 'notify-send' (not confirmed) or 'none'."""
    import importlib.util
    import shutil

    if importlib.util.find_spec("dbus") is not None:
        return "dbus"
    return "notify-send" if shutil.which("notify-send") else "none"


def _send_now(payload: dict) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # plyer warns when it falls back from D-Bus
        from plyer import notification

        hints = {}
        try:
            import dbus

            hints = {"urgency": dbus.Byte(payload["urgency"])}
        except ImportError:
            pass
        notification.notify(title=payload["title"], message=payload["body"], app_name=payload["app_name"],
                            timeout=payload["timeout"], hints=hints)


if __name__ == "__main__":
    try:
        _send_now(json.loads(sys.argv[1]))
    except NotImplementedError:
        print("no notification backend: install dbus-python or notify-send (libnotify-bin)", file=sys.stderr)
        sys.exit(1)
    except Exception as exc:  # report any failure as one line to the parent
        text = " ".join(str(exc).split()) or type(exc).__name__
        print(f"{type(exc).__name__}: {text}"[:300], file=sys.stderr)
        sys.exit(1)
