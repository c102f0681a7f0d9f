# lib.sh - shared by the multi-process tests: sourced after T (trialctl), D (the
# consortium of `trialctl init`) and PORT (its base port) are set.
fail() { echo "FAIL: $*"; "$T" cluster status "$D" || true; tail -n 5 "$D"/node-*/node.log; exit 1; }
url() { echo "tcp://127.0.0.1:$((PORT + 100 + $1))"; }
pid() { cat "$D/node-$1/trialnode.pid"; }
field() { grep -o "\"$2\": [0-9]*" "$D/node-$1/data/status.json" | grep -o '[0-9]*$'; }

# Wait until the four nodes agree (same height and state), then export and audit each.
agree() {
    local what=$1
    for attempt in $(seq 1 100); do
        local n
        n=$(for i in 0 1 2 3; do grep -o '"height": [0-9]*, .*"state_hash": "[0-9a-f]*"' \
            "$D/node-$i/data/status.json" | sed 's/"view.*"state_hash"//'; done | sort -u | wc -l)
        [ "$n" = 1 ] && break
        [ "$attempt" = 100 ] && fail "$what: the nodes did not converge"
        sleep 0.2
    done
    # a node that caught up by fetching may lack a result certificate for a moment (a
    # peer had none for that height); it fetches it again (backfill): allow it 3 tries
    for i in 0 1 2 3; do
        for try in 1 2 3; do
            "$T" export --genesis "$D/genesis.bin" --url "$(url $i)" --key "$D/keys/regulator.key" -o "$D/n$i.export" \
                >/dev/null || fail "$what: export of node $i"
            "$T" audit --genesis "$D/genesis.bin" "$D/n$i.export" > "$D/n$i.audit" && break
            [ "$try" = 3 ] && fail "$what: audit of node $i: $(cat "$D/n$i.audit")"
            sleep 0.5
        done
    done
    local heads
    heads=$(for i in 0 1 2 3; do grep -E '^(head|state)' "$D/n$i.audit" | md5sum; done | sort -u | wc -l)
    [ "$heads" = 1 ] || fail "$what: the four audited heads differ"
    echo "ok: $what ($(head -n 1 "$D/n0.audit"))"
}
