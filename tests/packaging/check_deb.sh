#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The Debian package of a build: cpack -G DEB writes it (into a temporary folder), its contents
# are what a desktop needs (dpkg-deb -c), lintian finds no error in it, and the programs it
# unpacks run.   usage: check_deb.sh BUILD_DIR
set -euo pipefail
build=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work" > "$work/cpack.log" 2>&1 ||
    { cat "$work/cpack.log"; exit 1; }
deb=$(ls "$work"/mergefront_*.deb)
dpkg-deb -c "$deb" | awk '{print $6}' > "$work/contents"
status=0
for path in ./usr/bin/mergefront ./usr/bin/mergefront-cli ./usr/lib/mergefront/libmergefront_torch.so \
    ./usr/lib/mergefront/libmergefront_sentencepiece.so \
    ./usr/share/applications/mergefront.desktop ./usr/share/icons/hicolor/scalable/apps/mergefront.svg \
    ./usr/share/doc/mergefront/copyright ./usr/share/doc/mergefront/changelog.gz; do
    grep -qx "$path" "$work/contents" || { echo "missing from the package: $path"; status=1; }
done
depends=$(dpkg-deb -f "$deb" Depends)
for needed in libtorch libqt6widgets6 libqcustomplot libsentencepiece libonig libutf8proc; do
    case "$depends" in *"$needed"*) ;; *) echo "Depends lacks $needed: $depends"; status=1 ;; esac
done
if command -v lintian > /dev/null; then
    # Exit 1 means errors (E:); warnings (no manual page yet) are printed, not failed.
    lintian --allow-root "$deb" || { echo "lintian reports errors"; status=1; }
else
    echo "lintian is not installed (./run.sh test installs it): not checked"
fi
dpkg-deb -x "$deb" "$work/root"
"$work/root/usr/bin/mergefront-cli" --version || status=1
[ $status -eq 0 ] && echo "package $deb: contents, Depends and lintian checked"
exit $status
