#!/usr/bin/env bash
# test_state_fsync.sh TRIALCTL TRIALNODE WORKDIR PORT - issue 13, bug 7: a validator's first
# pbft.state must survive a power loss, so after the file is created and written, its
# directory is fsynced (an fdatasync of the file does not make its name durable). A fresh
# 4-validator consortium; node 0 (the primary) runs under strace (its main thread, which
# persists, so strace's lines do not interleave), one event is registered (node 0 signs
# and persists a PRE-PREPARE), then the trace is read: after the first write of
# pbft.state, the data directory must be opened and fsync'd.
set -uo pipefail
T=$1; N=$2; D=$3; PORT=$4
PIDS=()
fail() { echo "FAIL: $*"; tail -n 5 "$D"/node-*.log; exit 1; }
SPID=
# strace does not pass a SIGTERM on to its tracee: stop the traced node itself (strace's
# child), and strace exits with it
cleanup() {
    [ -n "$SPID" ] && pkill -TERM -P "$SPID" 2>/dev/null
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    true
}
trap cleanup EXIT
command -v strace >/dev/null || fail "strace is not installed (scripts/setup.sh installs it)"

rm -rf "$D"
mkdir -p "$D"
"$T" init --base-port "$PORT" "$D/cons" >/dev/null || fail "init"
DATA=$(sed -n 's/.*"data_dir": "\(.*\)".*/\1/p' "$D/cons/node-0/config.json")
case $DATA in /*) ;; *) DATA=$D/cons/node-0/$DATA ;; esac
[ -e "$DATA/pbft.state" ] && fail "pbft.state exists before the first start"
strace -o "$D/strace.out" -e trace=openat,fsync,fdatasync,pwrite64 \
    "$N" --config "$D/cons/node-0/config.json" >"$D/node-0.log" 2>&1 &
SPID=$!
for i in 1 2 3; do
    "$N" --config "$D/cons/node-$i/config.json" >"$D/node-$i.log" 2>&1 &
    PIDS+=($!)
done
H=$(printf '%064d' 7)
"$T" register --url "tcp://127.0.0.1:$((PORT + 100))" --genesis "$D/cons/genesis.bin" \
    --key "$D/cons/keys/sponsor.key" --trial T-1 --doc "$H" --primary "$H" --form "$H" --planned 10 \
    --site site-a --timeout-ms 30000 >"$D/register.out" 2>&1 || fail "register: $(cat "$D/register.out")"
cleanup
wait "$SPID"
SPID=
PIDS=()
[ -s "$DATA/pbft.state" ] || fail "node 0 wrote no pbft.state"

# The trace, in order: the state file opened for writing (fd S), written, fdatasync(S);
# then the data directory opened (fd D) and fsync(D). Paths as the node opened them.
verdict=$(awk -v state="pbft.state\"" -v dir="\"$(basename "$DATA")\"" '
    /openat\(/ && index($0, state) && /O_CREAT/ && !created { created = 1; fd = $NF; next }
    created && !written && $0 ~ ("^fdatasync\\(" fd "\\)") { written = 1; next }
    written && /openat\(/ && /O_DIRECTORY/ { split($0, q, "\""); n = split(q[2], parts, "/");
        if ("\"" parts[n] "\"" == dir) dfd = $NF; next }
    written && dfd != "" && $0 ~ ("^fsync\\(" dfd "\\)") { print "synced"; done = 1; exit }
    END { if (done) exit; if (!created) print "no-create"; else if (!written) print "no-datasync"; else print "no-dir-fsync" }' "$D/strace.out")
[ "$verdict" = synced ] || {
    grep -nF -e pbft.state -e "$(basename "$DATA")\", O_RDONLY|O_DIRECTORY" "$D/strace.out" | head -8
    fail "the data directory was not fsynced after pbft.state was first written ($verdict)"
}
echo "ok: pbft.state created, written, fdatasync'd, then $(basename "$DATA")/ fsync'd"
