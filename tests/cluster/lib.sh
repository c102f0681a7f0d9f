# lib.sh - shared by the multi-process tests: sourced after T (trialctl), D (the
# consortium of `trialctl init`) and PORT (its base port) are set.
fail() { echo "FAIL: $*"; "$T" cluster status "$D" || true; tail -n 5 "$D"/node-*/node.log; exit 1; }
url() { echo "tcp://127.0.0.1:$((PORT + 100 + $1))"; }
pid() { cat "$D/node-$1/trialnode.pid"; }
field() { grep -o "\"$2\": [0-9]*" "$D/node-$1/data/status.json" | grep -o '[0-9]*$'; }

# Wait until the four nodes agree (same height and state), then export and audit each of
# all four and require identical audited heads.
agree() {
    local what=$1 height=0 nodes="0 1 2 3"
    for attempt in $(seq 1 100); do
        local n
        n=$(for i in 0 1 2 3; do grep -o '"height": [0-9]*, .*"state_hash": "[0-9a-f]*"' \
            "$D/node-$i/data/status.json" | sed 's/"view.*"state_hash"//'; done | sort -u | wc -l)
        [ "$n" = 1 ] && height=$(field 0 height) && break
        [ "$attempt" = 100 ] && fail "$what: the nodes did not converge"
        sleep 0.2
    done
    # An export stops at the node's last certified height (issue 18), and a node may lack
    # its newest result certificates for a moment: their checkpoint quorum is still forming,
    # or it caught up by fetching from a peer that had none yet and fetches them again
    # (backfill). So retry until all four audit OK at one head, at least the agreed height.
    local heads audited
    for try in $(seq 1 20); do
        for i in $nodes; do
            "$T" export --genesis "$D/genesis.bin" --url "$(url $i)" --key "$D/keys/regulator.key" -o "$D/n$i.export" \
                >/dev/null || fail "$what: export of node $i"
            "$T" audit --genesis "$D/genesis.bin" "$D/n$i.export" > "$D/n$i.audit" ||
                { [ "$try" = 20 ] && fail "$what: audit of node $i: $(cat "$D/n$i.audit")"; }
        done
        heads=$(for i in $nodes; do grep -E '^(head|state)' "$D/n$i.audit" | md5sum; done | sort -u | wc -l)
        audited=$(grep -o '^head height [0-9]*' "$D/n0.audit" | grep -o '[0-9]*$')
        [ "$heads" = 1 ] && [ "${audited:-0}" -ge "$height" ] && break
        [ "$try" = 20 ] && fail "$what: the audited heads of nodes $nodes differ or lag the agreed height $height: $(head -qn 2 "$D"/n?.audit | tr '\n' ' ')"
        sleep 0.5
    done
    echo "ok: $what ($(head -n 1 "$D/n0.audit"))"
}

# Heights, kills and validator-set boundaries (test_valset.sh, test_valset_many.sh).
height() { field "$1" height || echo 0; }
# wait_height NODE H SECONDS WHAT
wait_height() {
    for _ in $(seq 1 $(($3 * 5))); do
        [ "$(height "$1")" -ge "$2" ] && return 0
        sleep 0.2
    done
    fail "$4: node $1 at height $(height "$1"), not $2 within $3 s"
}
kill9() { local p; p=$(pid "$1"); kill -9 "$p"; for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done; }
boundary() { echo $(( ($1 / 16 + 2) * 16 )); }
# the committing height of a governance tx from trialctl's output
committed_at() { grep -oE 'height [0-9]+' <<<"$1" | head -n 1 | grep -oE '[0-9]+'; }
