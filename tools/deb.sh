#!/bin/sh
# Build the Debian packages from a clean copy of this checkout (committed or
# not) and run lintian on them; the .deb files land in OUTDIR.
#   sh tools/deb.sh OUTDIR
# Nothing is written inside the checkout or its parent directory.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: tools/deb.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
src="$work/imgscan"
mkdir "$src"
# the files git knows (tracked and new ones not ignored), without build trees
(cd "$top" && git ls-files -z --cached --others --exclude-standard) |
	(cd "$top" && xargs -0 tar -cf - --no-recursion) | tar -xf - -C "$src"
(cd "$src" && dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) || {
	tail -n 60 "$work/build.log" >&2
	echo "tools/deb.sh: dpkg-buildpackage failed" >&2
	exit 1
}
cp "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$out"/
# errors and warnings fail; every override carries its reason in debian/
lintian --fail-on error,warning --info "$out"/*.changes
ls "$out"/*.deb
