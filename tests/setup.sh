#!/usr/bin/env bash
# Set up everything the test suite uses, on Debian or Ubuntu:
# - system packages: a D-Bus session bus (dbus-daemon), an X server without a
#   screen (xvfb), a real notification daemon (dunst) and notify-send
#   (libnotify-bin: how notifications go without dbus-python) for the daemon tests;
#   systemd-analyze for the unit tests; headers to build dbus-python; a headless
#   browser (chromium) that renders the report page for its tests; bindfs, a FUSE
#   file system the watched-places tests mount (where the machine allows FUSE);
# - a virtual environment in .venv with shoetrack and its test extras.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(dbus-daemon dbus-bin xvfb dunst libnotify-bin systemd util-linux libdbus-1-dev libglib2.0-dev pkg-config gcc chromium bindfs)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    if command -v apt-get >/dev/null; then
        sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
        export DEBIAN_FRONTEND=noninteractive
        $sudo apt-get update -q
        $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
    else
        echo "note: cannot install ${missing[*]} (no apt-get); the tests that need them will be skipped" >&2
    fi
fi

python3 -m venv .venv
.venv/bin/pip install -q -e '.[test]'
