#!/bin/sh
# amalgamate_header.sh IN OUT DIR... - write IN with every `#include "X"` found in one of the
# DIRs replaced by X's text (recursively, each header once): the installed trialreg_client.h,
# one self-contained public header. An include found in none of the DIRs is an error.
set -eu
in=$1; out=$2; shift 2
seen=" "
inline() {
    local line name found d
    while IFS= read -r line || [ -n "$line" ]; do
        case $line in
            '#include "'*)
                name=${line#'#include "'}; name=${name%%'"'*}
                found=""
                for d in "$@"; do [ -f "$d/$name" ] && { found=$d/$name; break; }; done
                [ -n "$found" ] || { echo "amalgamate: $name (in $in) is in none of: $*" >&2; exit 1; }
                case $seen in *" $name "*) continue ;; esac
                seen="$seen$name "
                printf '/* ---- %s (inlined) ---- */\n' "$name"
                inline "$@" < "$found"
                printf '/* ---- end of %s ---- */\n' "$name"
                ;;
            *) printf '%s\n' "$line" ;;
        esac
    done
}
{
    printf '/* Generated from registry/client/trialreg_client.h with the headers it includes\n'
    printf ' * inlined (cmake/amalgamate_header.sh): do not edit. */\n'
    inline "$@" < "$in"
} > "$out.tmp"
mv "$out.tmp" "$out"
