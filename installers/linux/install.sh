#!/bin/sh
# Add Hearth to this user's application menu (no root needed), or remove it again.
#
#   ./install.sh            menu entry + icons for the Hearth in this folder
#   ./install.sh --remove   remove the menu entry and icons (your data stays in
#                           ~/.local/share/Hearth; delete that folder to remove it too)
#
# Hearth runs from wherever this folder is; move the folder first, then run this.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
DATA_HOME=${XDG_DATA_HOME:-"$HOME/.local/share"}
APPS="$DATA_HOME/applications"
ICONS="$DATA_HOME/icons/hicolor"

# Desktops that cache menus and icons pick up the change sooner (optional tools).
refresh_menu() {
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database "$APPS" || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1; then
        gtk-update-icon-cache -q -t "$ICONS" || true
    fi
}

if [ "${1:-}" = "--remove" ]; then
    rm -f "$APPS/hearth.desktop"
    for size in 16 32 48 64 128 256 512; do
        rm -f "$ICONS/${size}x${size}/apps/hearth.png"
    done
    refresh_menu
    echo "Hearth's menu entry is removed. Your conversations and library are still in"
    echo "$DATA_HOME/Hearth (delete that folder to remove them too)."
    exit 0
fi

if [ ! -x "$HERE/app/Hearth" ]; then
    echo "install.sh: $HERE/app/Hearth is missing; run this from the unpacked Hearth folder." >&2
    exit 1
fi

mkdir -p "$APPS"
for size in 16 32 48 64 128 256 512; do
    mkdir -p "$ICONS/${size}x${size}/apps"
    cp "$HERE/icons/hearth-$size.png" "$ICONS/${size}x${size}/apps/hearth.png"
done
# Exec and TryExec get the absolute path of this copy (quoted for spaces in the path).
sed -e "s|^Exec=.*|Exec=\"$HERE/app/Hearth\" %F|" \
    -e "s|^TryExec=.*|TryExec=$HERE/app/Hearth|" \
    "$HERE/hearth.desktop" > "$APPS/hearth.desktop"
chmod 644 "$APPS/hearth.desktop"
refresh_menu
echo "Hearth is in your applications menu. You can also start it with: $HERE/app/Hearth"
# Qt's window needs system libraries a bare Debian/Ubuntu lacks; say which, and the command.
if [ -f "$HERE/qt-system-libs.sh" ]; then
    sh "$HERE/qt-system-libs.sh" --check >&2 || true
fi
