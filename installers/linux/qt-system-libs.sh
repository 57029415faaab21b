#!/bin/sh
# The system libraries Qt's xcb platform plugin (the part of Qt that opens windows on
# Linux) needs, which a bare Debian/Ubuntu lacks; without them the window does not open
# ("Could not load the Qt platform plugin 'xcb'").
#
#   qt-system-libs.sh --check     list what is missing (exit 1 if anything is), change nothing
#   qt-system-libs.sh --ensure    install what is missing with apt-get when running as root
#                                 or with sudo; otherwise print the one command to run and
#                                 exit 1 (make run calls this before building anything)
#   qt-system-libs.sh --packages  print the Debian package names, one a line
#
# The table maps each library (soname, as the dynamic linker looks it up) to the Debian
# package that ships it; where Debian and Ubuntu renamed a package, the alternatives are
# tried in order (apt-cache decides).  It follows Qt's "Qt for X11 Requirements"
# (doc.qt.io/qt-6/linux-requirements.html) and tests/installers/test_qt_system_libs.py
# checks it against `ldd` of the xcb plugin PySide6 actually ships.
set -eu

TABLE='
libxcb.so.1 libxcb1
libxcb-cursor.so.0 libxcb-cursor0
libxcb-icccm.so.4 libxcb-icccm4
libxcb-image.so.0 libxcb-image0
libxcb-keysyms.so.1 libxcb-keysyms1
libxcb-randr.so.0 libxcb-randr0
libxcb-render-util.so.0 libxcb-render-util0
libxcb-render.so.0 libxcb-render0
libxcb-shape.so.0 libxcb-shape0
libxcb-shm.so.0 libxcb-shm0
libxcb-sync.so.1 libxcb-sync1
libxcb-xfixes.so.0 libxcb-xfixes0
libxcb-xkb.so.1 libxcb-xkb1
libxcb-glx.so.0 libxcb-glx0
libxcb-util.so.1 libxcb-util1|libxcb-util0
libX11.so.6 libx11-6
libX11-xcb.so.1 libx11-xcb1
libxkbcommon.so.0 libxkbcommon0
libxkbcommon-x11.so.0 libxkbcommon-x11-0
libfontconfig.so.1 libfontconfig1
libfreetype.so.6 libfreetype6
libdbus-1.so.3 libdbus-1-3
libglib-2.0.so.0 libglib2.0-0t64|libglib2.0-0
libgthread-2.0.so.0 libglib2.0-0t64|libglib2.0-0
libEGL.so.1 libegl1
libGL.so.1 libgl1
libzstd.so.1 libzstd1
'

mode=${1:---check}

# Sonames the dynamic linker knows (ldconfig's cache), one a line.
known() {
    for tool in ldconfig /sbin/ldconfig /usr/sbin/ldconfig; do
        if command -v "$tool" >/dev/null 2>&1; then
            "$tool" -p 2>/dev/null | awk '{print $1}'
            return 0
        fi
    done
    return 0
}

# The first alternative apt knows ("a|b" -> a or b), else the first one.
package_for() {
    case "$1" in
    *'|'*) ;;
    *) echo "$1"; return 0 ;;  # one name: nothing to ask apt
    esac
    alternatives=$(echo "$1" | tr '|' ' ')
    for name in $alternatives; do
        if command -v apt-cache >/dev/null 2>&1 && apt-cache show "$name" >/dev/null 2>&1; then
            echo "$name"
            return 0
        fi
    done
    echo "$alternatives" | awk '{print $1}'
}

missing_packages() {
    have=$(known)
    echo "$TABLE" | while read -r soname packages; do
        [ -n "$soname" ] || continue
        echo "$have" | grep -qx "$soname" || echo "$packages"
    done | sort -u | while read -r packages; do
        package_for "$packages"
    done | sort -u | tr '\n' ' ' | sed 's/ $//'
}

missing_sonames() {
    have=$(known)
    echo "$TABLE" | while read -r soname _packages; do
        [ -n "$soname" ] || continue
        echo "$have" | grep -qx "$soname" || echo "$soname"
    done
}

case "$mode" in
--packages)
    echo "$TABLE" | awk 'NF {print $2}' | sort -u
    exit 0
    ;;
--check|--ensure) ;;
*)
    echo "usage: $0 --check | --ensure | --packages" >&2
    exit 2
    ;;
esac

if [ "$(uname -s)" != "Linux" ]; then
    exit 0  # macOS and Windows bring their own window system
fi

missing=$(missing_packages)
if [ -z "$missing" ]; then
    [ "$mode" = "--check" ] && echo "All system libraries Qt needs to open a window are present."
    exit 0
fi

if [ "$mode" = "--check" ]; then
    echo "Missing system libraries for Hearth's window:"
    missing_sonames | sed 's/^/  /'
    echo "Install them with:"
    echo "  sudo apt-get install -y $missing"
    exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "Hearth's window needs these system libraries, which this computer lacks:" >&2
    missing_sonames | sed 's/^/  /' >&2
    echo "This is not a Debian/Ubuntu system: install them with its package manager" >&2
    echo "(they are Qt's xcb requirements), then run make run again." >&2
    exit 1
fi

if [ "$(id -u)" = "0" ]; then
    as_root=""
elif command -v sudo >/dev/null 2>&1 && [ -t 0 ] || sudo -n true 2>/dev/null; then
    as_root="sudo"
else
    echo "Hearth's window needs system libraries this computer lacks. Run this once:" >&2
    echo "" >&2
    echo "  sudo apt-get install -y $missing" >&2
    echo "" >&2
    echo "(as root: apt-get install -y $missing), then make run again." >&2
    exit 1
fi

echo "Installing the system libraries Qt needs to open a window: $missing"
# shellcheck disable=SC2086  # one word per package
$as_root apt-get update -qq || true
# shellcheck disable=SC2086
if ! $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing; then
    echo "Installing failed. Run this once, then make run again:" >&2
    echo "  sudo apt-get install -y $missing" >&2
    exit 1
fi
