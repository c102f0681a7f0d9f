#!/usr/bin/env bash
# test_install.sh BUILD_DIR SOURCE_DIR LIBDIR INCLUDEDIR BINDIR MANDIR VERSION MAN(ON|OFF)
# `cmake --install` into a temporary prefix puts trialctl, trialnode, the client library
# (libtrialreg-client.a), its one header, trialreg-client.pc and (with help2man) the manual
# pages trialctl.1 and trialnode.8; then a tiny C program (hello_client.c) builds against
# the installed library with nothing but pkg-config --static and runs.
set -u
BUILD=$(realpath "$1"); SRC=$(realpath "$2"); LIBDIR=$3; INCDIR=$4; BINDIR=$5; MANDIR=$6; VERSION=$7; MAN=$8
P=$(mktemp -d /tmp/trialreg-install-XXXXXX)
trap 'rm -rf "$P"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

out=$(cmake --install "$BUILD" --prefix "$P/prefix" 2>&1) || { echo "$out"; bad "cmake --install"; }
cd "$P" || exit 1
for f in "$BINDIR/trialctl" "$BINDIR/trialnode"; do
    [ -x "prefix/$f" ] && ok || bad "no executable $f"
done
for f in "$LIBDIR/libtrialreg-client.a" "$INCDIR/trialreg_client.h" "$LIBDIR/pkgconfig/trialreg-client.pc"; do
    [ -f "prefix/$f" ] && ok || bad "no $f"
done
# one header: the installed one includes no header of ours
if grep -E '^#include "' "prefix/$INCDIR/trialreg_client.h"; then bad "the header includes headers of ours"; else ok; fi
[ "$(ls "prefix/$INCDIR")" = trialreg_client.h ] && ok || bad "headers installed: $(ls "prefix/$INCDIR")"
# --version from the installed binaries
[ "$(prefix/$BINDIR/trialctl --version)" = "trialctl $VERSION" ] && ok || bad "trialctl --version"
# trialnode's second line: the web pages' bundle hash (docs/WEB.md)
[ "$(prefix/$BINDIR/trialnode --version | head -n 1)" = "trialnode $VERSION" ] && ok || bad "trialnode --version"
prefix/$BINDIR/trialnode --version | sed -n 2p | grep -Eqx 'web pages bundle sha256 [0-9a-f]{64}' && ok || bad "trialnode --version: no bundle hash"
if [ "$MAN" = ON ]; then
    grep -q '^\.TH TRIALCTL "1"' "prefix/$MANDIR/man1/trialctl.1" && ok || bad "no trialctl.1 (.TH)"
    grep -q '^\.TH TRIALNODE "8"' "prefix/$MANDIR/man8/trialnode.8" && ok || bad "no trialnode.8 (.TH)"
    grep -q "trialctl $VERSION" "prefix/$MANDIR/man1/trialctl.1" && ok || bad "trialctl.1 without the version"
    grep -q -- 'example\\-trial' "prefix/$MANDIR/man1/trialctl.1" && ok || bad "trialctl.1 without the commands"
    if command -v man >/dev/null; then
        MANWIDTH=80 man -l "prefix/$MANDIR/man8/trialnode.8" 2>/dev/null | grep -q "validator" && ok || bad "man -l trialnode.8"
    fi
else
    echo "install: help2man was not found at configure time: no manual pages (none checked)"
    [ ! -e "prefix/$MANDIR" ] && ok || bad "manual pages installed without help2man"
fi

# build a C program against the installed library, with pkg-config only
export PKG_CONFIG_PATH="$P/prefix/$LIBDIR/pkgconfig"
[ "$(pkg-config --modversion trialreg-client)" = "$VERSION" ] && ok || bad "pkg-config --modversion"
flags=$(pkg-config --cflags --libs --static trialreg-client) && ok || bad "pkg-config --static"
echo "install: cc hello_client.c $flags"
if cc -std=c11 -Wall -Wextra -Werror ${HELLO_CFLAGS:-} -o hello "$SRC/tests/install/hello_client.c" $flags; then
    ok
    out=$(./hello tcp://127.0.0.1:1 2>&1)
    rc=$?
    echo "$out" | sed 's/^/  hello: /'
    [ "$rc" = 0 ] && ok || bad "hello_client exited $rc"
    grep -q "^trialreg-client $VERSION\$" <<<"$out" && ok || bad "hello: no version line"
    grep -qE "^signed tx [0-9a-f]{64} \([0-9]+ bytes, trial\.register\)" <<<"$out" && ok || bad "hello: no signed tx"
    grep -q "^receipt from tcp://127.0.0.1:1: error: " <<<"$out" && ok || bad "hello: no error for an unreachable node"
    # and it links no shared library of ours (there is none): only system libraries
    if ldd ./hello | grep -q trialreg; then bad "hello links a trialreg shared object"; else ok; fi
else
    bad "hello_client.c does not build against the installed library"
fi
echo "install: $pass passed, $fail failed"
[ "$fail" = 0 ]
