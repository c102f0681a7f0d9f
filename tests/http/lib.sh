# lib.sh - shared by the HTTP tests (sourced).
# consortium_up TRIALCTL DIR PORT: a fresh 4-validator consortium in DIR on ports PORT..
# (trialctl init), started, stopped again when the script exits, and waited for until node
# 0's HTTP API (PORT + 164) says it is ready. The EXIT trap also runs $ON_EXIT if set.
consortium_up() {
    CONSORTIUM_T=$1 CONSORTIUM_D=$2
    "$1" cluster down "$2" >/dev/null 2>&1 || true
    rm -rf "$2"
    "$1" init --base-port "$3" "$2" >/dev/null
    trap '"$CONSORTIUM_T" cluster down "$CONSORTIUM_D" >/dev/null 2>&1 || true; eval "${ON_EXIT:-}"' EXIT
    "$1" cluster up "$2" >/dev/null
    for _ in $(seq 100); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$(($3 + 164))/readyz")" = 200 ] && return 0
        sleep 0.1
    done
    echo "consortium_up: node 0 never became ready" >&2
    return 1
}
