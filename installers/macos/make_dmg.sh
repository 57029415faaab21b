#!/usr/bin/env bash
# Make Hearth's .dmg: the app beside a link to /Applications (drag to install), and sign
# and notarize both when credentials are in the environment.
#
#   installers/macos/make_dmg.sh dist/Hearth.app dist/Hearth-0.1.0-macos-arm64.dmg 0.1.0
#
# Signing (skipped with a message when MACOS_SIGNING_IDENTITY is unset):
#   MACOS_SIGNING_IDENTITY      "Developer ID Application: Name (TEAMID)"
#   MACOS_CERTIFICATE           optional: base64 of the .p12 holding that identity
#   MACOS_CERTIFICATE_PASSWORD  its password (the .p12 is imported into a temporary
#                               keychain that is deleted at the end)
# Notarization (skipped with a message unless all three are set, and only when signed):
#   APPLE_ID, APPLE_TEAM_ID, APPLE_APP_PASSWORD (an app-specific password)
set -euo pipefail

if [ $# -ne 3 ]; then
    echo "usage: $0 APP DMG VERSION" >&2
    exit 2
fi
APP=$1
DMG=$2
VERSION=$3
HERE=$(cd "$(dirname "$0")" && pwd)
ENTITLEMENTS="$HERE/entitlements.plist"

if [ ! -d "$APP/Contents/MacOS" ]; then
    echo "make_dmg.sh: $APP is not an app bundle (build it with installers/build.py)" >&2
    exit 1
fi

KEYCHAIN=""
cleanup() {
    if [ -n "$KEYCHAIN" ]; then
        security delete-keychain "$KEYCHAIN" >/dev/null 2>&1 || true
    fi
    if [ -n "${STAGE:-}" ]; then
        rm -rf "$STAGE"
    fi
}
trap cleanup EXIT

import_certificate() {
    KEYCHAIN="$(mktemp -d)/hearth-signing.keychain-db"
    local password
    password=$(uuidgen)
    security create-keychain -p "$password" "$KEYCHAIN"
    security set-keychain-settings -lut 3600 "$KEYCHAIN"
    security unlock-keychain -p "$password" "$KEYCHAIN"
    echo "$MACOS_CERTIFICATE" | base64 --decode > "$(dirname "$KEYCHAIN")/cert.p12"
    security import "$(dirname "$KEYCHAIN")/cert.p12" -k "$KEYCHAIN" \
        -P "${MACOS_CERTIFICATE_PASSWORD:-}" -T /usr/bin/codesign
    rm -f "$(dirname "$KEYCHAIN")/cert.p12"
    security set-key-partition-list -S apple-tool:,apple: -s -k "$password" "$KEYCHAIN" >/dev/null
    # shellcheck disable=SC2046
    security list-keychains -d user -s "$KEYCHAIN" $(security list-keychains -d user | tr -d '"')
}

sign_app() {
    local identity=$1
    echo "Signing $APP as \"$identity\" (hardened runtime) ..."
    # Inside out: every Mach-O file first, then the bundle (Apple advises against --deep).
    while IFS= read -r -d '' file; do
        if file -b "$file" | grep -q "Mach-O"; then
            codesign --force --timestamp --options runtime --entitlements "$ENTITLEMENTS" \
                --sign "$identity" "$file"
        fi
    done < <(find "$APP/Contents" -type f \( -name "*.so" -o -name "*.dylib" -o -perm -u+x \) -print0)
    codesign --force --timestamp --options runtime --entitlements "$ENTITLEMENTS" \
        --sign "$identity" "$APP"
    codesign --verify --strict --verbose=2 "$APP"
}

SIGNED=0
if [ -n "${MACOS_SIGNING_IDENTITY:-}" ]; then
    if [ -n "${MACOS_CERTIFICATE:-}" ]; then
        import_certificate
    fi
    sign_app "$MACOS_SIGNING_IDENTITY"
    SIGNED=1
else
    echo "Code signing skipped: MACOS_SIGNING_IDENTITY is not set. The app keeps"
    echo "PyInstaller's ad-hoc signature; macOS will ask users to confirm the first open."
fi

echo "Making $DMG ..."
STAGE=$(mktemp -d)
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
rm -f "$DMG"
hdiutil create -volname "Hearth $VERSION" -srcfolder "$STAGE" -ov -fs HFS+ \
    -format UDZO -imagekey zlib-level=9 "$DMG"

if [ "$SIGNED" = 1 ]; then
    codesign --force --timestamp --sign "$MACOS_SIGNING_IDENTITY" "$DMG"
    if [ -n "${APPLE_ID:-}" ] && [ -n "${APPLE_TEAM_ID:-}" ] && [ -n "${APPLE_APP_PASSWORD:-}" ]; then
        echo "Notarizing $DMG (this waits for Apple's answer) ..."
        xcrun notarytool submit "$DMG" --apple-id "$APPLE_ID" --team-id "$APPLE_TEAM_ID" \
            --password "$APPLE_APP_PASSWORD" --wait
        xcrun stapler staple "$DMG"
        spctl --assess --type open --context context:primary-signature --verbose=2 "$DMG"
    else
        echo "Notarization skipped: APPLE_ID, APPLE_TEAM_ID and APPLE_APP_PASSWORD are not all set."
    fi
else
    echo "Notarization skipped: the app is not signed with a Developer ID."
fi
echo "Made $DMG"
