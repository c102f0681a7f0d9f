#!/usr/bin/env bash
# bundle_check.sh TRIALNODE - the page bundle (web/, docs/WEB.md) without a consortium:
#   - its hash by hand (sha256sum over the sorted listing) is what `trialnode --version`
#     prints and what README.md states;
#   - the pages keep to the CSP (default-src 'self'): no inline script, no style or
#     event-handler attribute, no innerHTML, nothing loaded from another origin.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
fail() { echo "bundle_check: FAIL: $*" >&2; exit 1; }
(cd "$ROOT/web"
if grep -rnE '<script>|<script [^>]*>[^<]' --include='*.html' .; then fail "inline script"; fi
if grep -rnE '<style|[[:space:]]style=|[[:space:]]on[a-z]+=' --include='*.html' .; then fail "inline style or event-handler attribute"; fi
if grep -rnE '(src|href)="(https?:)?//' .; then fail "something loaded from another origin"; fi
if grep -rnE '\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function' --include='*.mjs' .; then fail "markup or code from strings"; fi)
by_hand=$(cd "$ROOT/web" && find . -type f -printf '%P\n' | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1)
printed=$("$1" --version | sed -n 's/^web pages bundle sha256 //p')
[ "$printed" = "$by_hand" ] || fail "trialnode --version prints bundle $printed, sha256sum over web/ gives $by_hand (rebuild?)"
grep -qx "    web pages bundle sha256 $by_hand" "$ROOT/README.md" \
    || fail "README.md does not state the bundle hash $by_hand (update the line in its \"Web pages\" section)"
echo "bundle_check: OK ($by_hand; no inline script or style, nothing from another origin)"
