"""systemd's service notification protocol, without a systemd library.

One datagram per message on the unix socket named by $NOTIFY_SOCKET
(an '@' prefix means the abstract namespace). Outside systemd it does nothing.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path


def notify(message: str, environ=os.environ) -> bool:
    """Send e.g. 'READY=1' to systemd; returns whether a socket was there to send to."""
    address = environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
    except OSError:
        return False
    return True


def watchdog_interval_s(environ=os.environ) -> float | None:
    """Half of WatchdogSec when systemd asks for keep-alive pings (and they are for us)."""
    usec = environ.get("WATCHDOG_USEC")
    pid = environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return int(usec) / 2_000_000
    except ValueError:
        return None


# The user unit. `systemd/shoetrack.service` in the source tree is this template
# rendered with the defaults below (a test keeps the two equal);
# `shoetrack install-service` renders it with this installation's real paths.
UNIT_TEMPLATE = """\
# shoetrack: a systemd user service that imports FIT files dropped into the
# inbox and notifies the desktop about worn shoes and missing rest.
#
# Install it with `shoetrack install-service`, which writes this unit with the
# real path of your shoetrack and your data and inbox folders into
# ~/.config/systemd/user/. This copy assumes `pip install --user` or pipx,
# which put the command in ~/.local/bin.

[Unit]
Description=shoetrack: shoe wear and training-load alerts from your FIT files
# It talks to the desktop's notification server, so it belongs to the
# graphical session: started with it, stopped with it (a plain
# default.target would start it before there is a desktop to notify).
PartOf=graphical-session.target
After=graphical-session.target

[Service]
Type=notify
NotifyAccess=main
ExecStart={exec_start}
Restart=on-failure
RestartSec=10
# 78 is a broken config: restarting cannot fix it.
RestartPreventExitStatus=78
TimeoutStopSec=30
WatchdogSec=10min
# Create the data and inbox folders before the sandbox needs them.
ExecStartPre=+/bin/mkdir -p {data_dir} {inbox_dir}
UMask=0077

# Sandbox: read-only system and home, except its own data and inbox folders;
# only unix sockets (the D-Bus session bus and systemd's notify socket) and no
# IP traffic. PrivateNetwork= is left out on purpose: it would hide a session
# bus that listens on an abstract socket, and with it every notification.
ProtectSystem=strict
ProtectHome=read-only
ReadWritePaths={data_dir} {inbox_dir}
PrivateTmp=yes
PrivateDevices=yes
PrivateUsers=yes
PrivateMounts=yes
ProtectClock=yes
ProtectHostname=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectProc=invisible
ProcSubset=pid
RestrictAddressFamilies=AF_UNIX
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
SystemCallArchitectures=native
SystemCallFilter=@system-service
KeyringMode=private
DevicePolicy=closed
IPAddressDeny=any
RemoveIPC=yes

[Install]
WantedBy=graphical-session.target
"""

DEFAULT_PATHS = {
    "exec_start": "%h/.local/bin/shoetrack daemon",
    "data_dir": "%h/.local/share/shoetrack",
    "inbox_dir": "%h/shoetrack-inbox",
}


def render_unit(exec_start: str, data_dir: str, inbox_dir: str) -> str:
    return UNIT_TEMPLATE.format(exec_start=exec_start, data_dir=data_dir, inbox_dir=inbox_dir)


VERIFY_TIMEOUT_S = 30


class UnitCheckError(Exception):
    """systemd-analyze could not be run, or gave no answer."""


def verify_unit(unit: Path) -> str | None:
    """What `systemd-analyze --user verify` says about a unit, checked offline (a private
    runtime folder, no manager asked): "" when nothing, None when systemd-analyze is not
    installed. It exits 0 on typos and unknown keys, so any output counts."""
    import shutil
    import subprocess
    import tempfile

    program = shutil.which("systemd-analyze")
    if program is None:
        return None
    env = {"HOME": os.path.expanduser("~"), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    if os.environ.get("XDG_CONFIG_HOME"):
        env["XDG_CONFIG_HOME"] = os.environ["XDG_CONFIG_HOME"]
    with tempfile.TemporaryDirectory(prefix="shoetrack-verify-") as runtime:
        env["XDG_RUNTIME_DIR"] = runtime
        try:
            result = subprocess.run([program, "--user", "verify", "--man=no", str(unit)], capture_output=True,
                                    text=True, timeout=VERIFY_TIMEOUT_S, env=env)
        except subprocess.TimeoutExpired:
            raise UnitCheckError(f"systemd-analyze verify gave no answer within {VERIFY_TIMEOUT_S} s") from None
        except OSError as exc:
            raise UnitCheckError(f"systemd-analyze cannot be run: {exc.strerror}") from None
    said = " | ".join(line.strip() for line in (result.stdout + result.stderr).splitlines() if line.strip())
    return said or (f"exit status {result.returncode}" if result.returncode else "")
