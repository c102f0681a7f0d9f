#!/usr/bin/env bash
# layers.sh SOURCE_DIR CC [--plant] - every source file of a layer includes only what its
# layer may use (registry/CMakeLists.txt, docs/ARCHITECTURE.md). Link lines cannot show it:
# every library's headers sit in /usr/include whatever a target links. So each file's full
# dependency list (the compiler's -M output, system headers included; -MM would hide
# them) is mapped to owners (a registry layer, consent-vm, the contracts, or a library:
# nng, leveldb, msgpack, sodium, openssl, jansson) and checked against the allowed list.
# --plant: check a copy of the tree with a LevelDB include planted in the PBFT core, which
# must be refused (the check's own test).
set -uo pipefail
SRC=$1; CC=$2; PLANT=${3:-}

# layer -> what its files may include (besides their own layer and the C library)
declare -A ALLOWED=(
    [base]="cvm msgpack sodium openssl"
    [ledger]="base msgpack leveldb"
    [execution]="base ledger cvm contracts"
    [audit]="base ledger execution contracts"
    [consensus]="base msgpack"
    [net]="nng"
    [node]="base ledger execution audit consensus net jansson"
    [client]="base net"
    [http]="base execution fhir microhttpd jansson"
    [fhir]="base execution jansson"
)
# layers that may use only some headers of a layer they may use: the FHIR mapping knows
# the executor only through events.h (issue 22)
declare -A HEADERS_ONLY=([fhir:execution]="events.h")
# files held to less than their layer: the relay knows no nng
declare -A FILE_DENIED=([net/relay.c]="nng")
LAYERS="base ledger execution audit consensus net node client fhir http"

if [ "$PLANT" = --plant ]; then
    copy=$(mktemp -d /tmp/trialreg-layers-XXXXXX)
    trap 'rm -rf "$copy"' EXIT
    mkdir -p "$copy"
    cp -r "$SRC/registry" "$SRC/consent-vm" "$SRC/contracts" "$copy/"
    printf '#include <leveldb/c.h>\n' >> "$copy/registry/consensus/pbft.c"
    SRC=$copy
fi

includes=(-I"$SRC/consent-vm" -I"$SRC/contracts")
for l in $LAYERS; do includes+=(-I"$SRC/registry/$l"); done

owner() {
    case $1 in
        "$SRC"/registry/*) local rest=${1#"$SRC"/registry/}; echo "${rest%%/*}" ;;
        "$SRC"/consent-vm/*) echo cvm ;;
        "$SRC"/contracts/*) echo contracts ;;
        */nng/*) echo nng ;;
        */leveldb/*) echo leveldb ;;
        */msgpack*) echo msgpack ;;
        */sodium*) echo sodium ;;
        */openssl/*) echo openssl ;;
        */jansson*) echo jansson ;;
        */microhttpd*) echo microhttpd ;;
        *) echo libc ;;
    esac
}

bad=0; files=0
for l in $LAYERS; do
    for f in "$SRC/registry/$l"/*.c; do
        files=$((files + 1))
        rel="$l/$(basename "$f")"
        deps=$("$CC" -M -D_GNU_SOURCE "${includes[@]}" "$f" 2>&1) || {
            echo "layers: cannot list the includes of registry/$rel: $deps"; bad=1; continue; }
        for dep in $(echo "$deps" | tr -d '\\' | tr ' ' '\n' | grep -v ':$' | grep .); do
            [ "$dep" = "$f" ] && continue
            o=$(owner "$(realpath -m "$dep")")
            [ "$o" = libc ] || [ "$o" = "$l" ] && continue
            denied=" ${FILE_DENIED[$rel]:-} "
            only=${HEADERS_ONLY[$l:$o]:-}
            if [ -n "$only" ] && [[ " $only " != *" $(basename "$dep") "* ]]; then
                echo "layers: registry/$rel (layer $l) includes $dep, but layer $l may use only $only of $o"
                bad=1
            elif [[ " ${ALLOWED[$l]} " != *" $o "* ]] || [[ "$denied" == *" $o "* ]]; then
                echo "layers: registry/$rel (layer $l) includes $dep ($o), which layer $l may not use"
                bad=1
            fi
        done
    done
done
if [ "$bad" = 0 ]; then
    echo "layers: ok: $files files of $(echo $LAYERS | wc -w) layers include only what their layer may use"
fi
exit $bad
