/*
 * trialnode - the validator daemon (registry/node/node.h does the work).
 *
 *   trialnode --config node-0/config.json
 *
 * Logs one line per event on stderr. SIGTERM or SIGINT stop it cleanly.
 * Exit codes: 0 clean stop, 1 stopped after a failure (storage, execution),
 * 2 bad command line, 3 bad config, key, genesis or ledger (the message says
 * which, and the height of a corrupt ledger), or an HTTP API that cannot serve.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "client_api.h"
#include "config.h"
#include "crypto.h"
#include "http_api.h"
#include "node.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* Descriptors: raise the soft limit to the hard one, at most NOFILE_WANTED (a login's
 * default soft limit is 1,024, often far below the hard one; every client connection costs
 * one, and the transport keeps a reserve of them for the store: docs/NODE.md). */
#define NOFILE_WANTED 65536
static void raise_file_limit(void)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) != 0)
        return;
    rlim_t want = r.rlim_max == RLIM_INFINITY || r.rlim_max > NOFILE_WANTED ? NOFILE_WANTED
                                                                           : r.rlim_max;
    if (want > r.rlim_cur) {
        r.rlim_cur = want;
        setrlimit(RLIMIT_NOFILE, &r);
    }
}

static void http_status(void *ctx, http_node_status *out)
{
    node_status st;
    node_status_get(ctx, &st);
    *out = (http_node_status){st.node, st.height, st.view, st.primary, st.view_changing,
                              st.caught_up, st.pending, st.committed_txs};
}

static void http_metrics(void *ctx, FILE *out)
{
    node_metrics m;
    node_metrics_get(ctx, &m);
    node_metrics_write(&m, out);
}

static void http_on_certified(void *ctx, uint64_t height) { http_certified(ctx, height); }

/* The HTTP API (config "http"), answering through the node's client API handler. */
static http_api *open_http(const config_node *cfg, node *n, char *why, size_t cap)
{
    http_config hc = {.address = cfg->http,
                      .tls_cert_key_file = config_uses_tls(cfg) ? cfg->tls_cert_key_file : NULL,
                      .handler = capi_handle_as, .handler_ctx = node_client_api(n),
                      .status = http_status, .status_ctx = n, .metrics = http_metrics,
                      .metrics_ctx = n, .chain_id = *node_chain_id(n),
                      .envelope_ttl_max_ms = cfg->envelope_ttl_max_ms,
                      .envelopes_max = cfg->envelopes_max,
                      .envelope_bytes_max = cfg->envelope_bytes_max};
    return http_open(&hc, why, cap);
}

static const char USAGE[] = "usage: trialnode --config FILE\n"
                            "       trialnode --help | --version\n"
                            "  Runs one validator of a consortium (see trialctl init).\n";

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--help") == 0) {
        fputs(USAGE, stdout);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("trialnode %s\nweb pages bundle sha256 %s\n", TRIALREG_VERSION, http_bundle_sha256());
        return 0;
    }
    if (argc != 3 || strcmp(argv[1], "--config") != 0) {
        fputs(USAGE, stderr);
        return 2;
    }
    if (tcrypto_init() != TCRYPTO_OK) {
        fprintf(stderr, "trialnode: %s\n", tcrypto_strerror(TCRYPTO_ERR_INIT));
        return 1;
    }
    config_node cfg;
    char why[512];
    if (config_load(argv[2], &cfg, why, sizeof why) != 0) {
        fprintf(stderr, "trialnode: %s\n", why);
        return 3;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    raise_file_limit();
    node *n = node_open(&cfg, why, sizeof why);
    if (!n) {
        fprintf(stderr, "trialnode: node %u: %s\n", cfg.node, why);
        return 3;
    }
    http_api *http = NULL;
    if (cfg.http[0] && !(http = open_http(&cfg, n, why, sizeof why))) {
        fprintf(stderr, "trialnode: node %u: HTTP API: %s\n", cfg.node, why);
        node_close(n);
        return 3;
    }
    if (http) node_on_certified(n, http_on_certified, http); /* events streams look at once */
    int rc = node_run(n, &stop_requested);
    node_on_certified(n, NULL, NULL);
    http_close(http); /* before the node: its handler calls into the node */
    node_close(n);
    return rc;
}
