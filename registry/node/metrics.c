/*
 * metrics.c - Prometheus rendering of a validator's metrics (metrics.h).
 */
#include "metrics.h"

#include <inttypes.h>

#include "codec.h"

const double METRICS_BUCKET_MS[METRICS_BUCKETS] = {0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000};

void metrics_observe(metrics_histogram *h, double ms)
{
    unsigned i = 0;
    while (i < METRICS_BUCKETS && ms > METRICS_BUCKET_MS[i]) i++;
    h->counts[i]++;
    h->count++;
    h->sum_ms += ms;
}

static void gauge(FILE *out, const char *name, const char *help, double v)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %.17g\n", name, help, name, name, v);
}

static void counter(FILE *out, const char *name, const char *help, uint64_t v)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s counter\n%s %" PRIu64 "\n", name, help, name, name, v);
}

/* A histogram in seconds, as Prometheus names them. */
static void histogram(FILE *out, const char *name, const char *help, const metrics_histogram *h)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    uint64_t cumulative = 0;
    for (unsigned i = 0; i < METRICS_BUCKETS; i++) {
        cumulative += h->counts[i];
        fprintf(out, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", name, METRICS_BUCKET_MS[i] / 1000.0,
                cumulative);
    }
    fprintf(out, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n%s_sum %.9f\n%s_count %" PRIu64 "\n", name,
            h->count, name, h->sum_ms / 1000.0, name, h->count);
}

void node_metrics_write(const node_metrics *m, FILE *out)
{
    gauge(out, "trialreg_node", "This validator's index in the genesis.", m->node);
    gauge(out, "trialreg_height", "Height of the last block this validator executed and stored.",
          (double)m->height);
    counter(out, "trialreg_committed_blocks_total", "Blocks this validator stored (its height).",
            m->height);
    counter(out, "trialreg_committed_txs_total", "Txs in the blocks this validator stored.",
            m->committed_txs);
    gauge(out, "trialreg_view", "The PBFT view this validator is in.", (double)m->view);
    gauge(out, "trialreg_primary", "Index of the primary of the current view.", m->primary);
    gauge(out, "trialreg_view_changing", "1 while a view change is under way.", m->view_changing);
    gauge(out, "trialreg_ready", "1 when caught up and in a view with a primary.", m->ready);
    counter(out, "trialreg_view_changes_total", "Views this validator entered since it started.",
            m->view_changes);
    gauge(out, "trialreg_pending_requests", "Requests waiting to be ordered.", m->pending);
    gauge(out, "trialreg_verify_queue", "Txs waiting for their signature check.", m->verify_queue);
    gauge(out, "trialreg_waiting_preprepares",
          "PRE-PREPAREs waiting for their txs' signature checks.", m->waiting_preprepares);
    gauge(out, "trialreg_peer_connections",
          "Peers this validator's links are connected to now (of the other validators).",
          m->peer_connections);
    counter(out, "trialreg_fetches_sent_total", "FETCH requests sent to peers for missing blocks.",
            m->fetches_sent);
    counter(out, "trialreg_fetches_served_total", "FETCH requests of peers answered.",
            m->fetches_served);
    fprintf(out, "# HELP trialreg_client_api_answers_total Client API answers (nng and HTTP) by "
                 "status.\n# TYPE trialreg_client_api_answers_total counter\n");
    for (uint32_t s = 0; s < METRICS_CAPI_STATUSES; s++) {
        fprintf(out, "trialreg_client_api_answers_total{status=\"%s\"} %" PRIu64 "\n",
                capi_status_name(s),
                m->capi_answers[s]);
    }
    histogram(out, "trialreg_state_fsync_seconds",
              "Writing and syncing the PBFT durable state (pbft.state).", &m->state_fsync);
    histogram(out, "trialreg_block_append_seconds",
              "Appending a block to the ledger (one synced LevelDB WriteBatch).", &m->block_append);
    histogram(out, "trialreg_commit_latency_seconds",
              "From a block's proposal time (the primary's clock) to its execution here.",
              &m->commit_latency);
}
