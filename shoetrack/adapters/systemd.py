"""systemd's service notification protocol, without a systemd library; and the user unit.

One datagram per message on the unix socket named by $NOTIFY_SOCKET
(an '@' prefix means the abstract namespace). Outside systemd it does nothing.
The unit's sandbox shows the daemon an empty home with only the folders it uses
bound back, so the unit names them: `install-service` fills them in from the config.
"""

from __future__ import annotations

import os
import re
import socket
import sys
from pathlib import Path

from ..errors import ShoetrackError


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
# real path of your shoetrack and the folders your config names into
# ~/.config/systemd/user/. This copy assumes `pip install --user` or pipx,
# which put the command in ~/.local/bin, and the default config.

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
ExecStartPre=+/bin/mkdir -p {mkdir}
UMask=0077

# Sandbox: a read-only system, and empty homes: /home, /root and /run/user
# are replaced by empty read-only folders, and only what it needs is brought
# back below. Only unix sockets (the D-Bus session bus and systemd's notify
# socket) and no IP traffic. PrivateNetwork= is left out on purpose: it would
# hide a session bus that listens on an abstract socket, and with it every
# notification.
ProtectSystem=strict
ProtectHome=tmpfs
# Read-write: its data folder and the inbox (imported files may be moved out
# of it){read_write_note}.
BindPaths={read_write}
# Read-only, each skipped while it is not there ("-"; one made later is seen
# after a restart): the runtime folder (the session bus and the notify socket
# are there; connecting to a socket works on a read-only mount), the config
# folder (a folder, so an edited file is seen on reload), the folders the
# config names ([[watch]]) and, when watch.devices is on, where watches
# plugged in appear (gvfs's MTP mounts are in the runtime folder).
BindReadOnlyPaths={read_only}
# Read-only: the program itself where it lies in a home (pip install --user,
# pipx, a virtualenv, pyenv): without it, it cannot start.
{program}
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

# In unit syntax: %E is $XDG_CONFIG_HOME (or ~/.config), %u the user, %t the runtime folder.
DEFAULT_PATHS = {
    "exec_start": "%h/.local/bin/shoetrack daemon",
    "data_dir": "%h/.local/share/shoetrack",
    "inbox_dir": "%h/shoetrack-inbox",
}
# The config folder and the device roots (gvfs's, %t/gvfs, comes with %t: a bind of its own would
# stop the service from starting while a stale gvfs mount answers "not connected").
DEFAULT_READ_ONLY = ("%E/shoetrack", "/media/%u", "/run/media/%u")
DEFAULT_PROGRAM = ("%h/.local/bin", "%h/.local/lib", "%h/.local/share/pipx", "%h/.local/pipx")  # pip --user, pipx

# What ProtectHome=tmpfs empties: a folder in them is gone unless the unit binds it back.
HIDDEN = (Path("/home"), Path("/root"), Path("/run/user"))


def render_unit(exec_start: str, data_dir: str, inbox_dir: str, read_write=(),
                read_only=DEFAULT_READ_ONLY, program=DEFAULT_PROGRAM) -> str:
    """The unit, from words already in unit syntax (`unit_path` writes a real path so).

    `read_write`: folders written besides the data folder and the inbox; `read_only`:
    the folders read (config, [[watch]], device roots); `program`: where the program
    lies. Each of these is skipped while it is not there (a "-" prefix)."""
    skippable = "".join(f" -{word}" for word in read_write)
    return UNIT_TEMPLATE.format(
        exec_start=exec_start,
        mkdir=f"{data_dir} {inbox_dir}".replace("$", "$$"),  # an Exec line expands $NAME; BindPaths= does not
        read_write=f"{data_dir} {inbox_dir}{skippable}",
        read_write_note=", and the report page's folder" if read_write else "",
        read_only=" ".join(f"-{word}" for word in ("%t", *read_only)),
        # An empty BindReadOnlyPaths= would drop every bind above it: no line then.
        program="BindReadOnlyPaths=" + " ".join(f"-{word}" for word in program) if program
        else "# (none here: it lies outside the homes)",
    )


def unit_path(path) -> str:
    """A real path as one word of a unit file: `%` doubled (systemd's specifiers), and in
    double quotes when it holds a space, a quote, a backslash or a colon (BindPaths= splits
    at colons). These settings read no C escapes: "\\x20" would stay "x20"."""
    text = str(path)
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise ShoetrackError(f"{text!r} holds a control character, which a systemd unit cannot name "
                             "(rename the folder)")
    text = text.replace("%", "%%")
    if not re.search(r"[\s\"'\\:]", text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def exec_line(words) -> str:
    """A command line for ExecStart=: each word as `unit_path` writes it; in the arguments
    (not the program, which systemd takes as it is) `$` doubled, or it would expand."""
    program, *arguments = (unit_path(word) for word in words)
    return " ".join([program, *(word.replace("$", "$$") for word in arguments)])


def this_program() -> list[str]:
    """The folders this Python and shoetrack run from: the interpreter's, the prefixes
    (a virtualenv, the Python it was made from) and the one holding the shoetrack
    package (its site-packages, or the source tree of an editable install)."""
    package_parent = Path(__file__).resolve().parents[2]
    return [os.path.dirname(sys.executable), sys.prefix, sys.base_prefix, sys.exec_prefix, str(package_parent)]


def program_paths(folders) -> list[Path]:
    """Of `folders`, those ProtectHome=tmpfs would empty, both as named and as resolved
    (a venv's python may link into ~/.pyenv), none inside another listed."""
    found: list[Path] = []
    for folder in folders:
        for path in (Path(os.path.abspath(folder)), Path(os.path.realpath(folder))):
            if any(path == hidden or hidden in path.parents for hidden in HIDDEN) and path not in found:
                found.append(path)
    return [path for path in found if not any(other in path.parents for other in found)]


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
