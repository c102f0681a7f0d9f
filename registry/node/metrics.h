/*
 * metrics.h - a validator's counters, gauges and latency histograms, and their rendering in
 * the Prometheus text exposition format (version 0.0.4) for the HTTP API's /metrics.
 * The node's thread updates a node_metrics; node_metrics_write renders a snapshot of it
 * (node.h node_metrics_get). No I/O but the FILE it writes to.
 */
#ifndef TRIALREG_METRICS_H
#define TRIALREG_METRICS_H

#include <stdint.h>
#include <stdio.h>

/* Upper bounds of the latency buckets, in ms (then +Inf). */
#define METRICS_BUCKETS 12
extern const double METRICS_BUCKET_MS[METRICS_BUCKETS];

typedef struct {
    uint64_t counts[METRICS_BUCKETS + 1]; /* per bucket, not cumulative; the last is +Inf */
    uint64_t count;
    double sum_ms;
} metrics_histogram;

void metrics_observe(metrics_histogram *h, double ms);

/* The client API's answers by status (codec.h CAPI_STATUSES, 0..9). */
#define METRICS_CAPI_STATUSES 10

typedef struct {
    uint32_t node;
    uint64_t height;
    uint64_t committed_txs;
    uint64_t view;
    uint32_t primary;
    int view_changing;
    int ready;
    uint32_t pending;            /* requests the PBFT core waits to order */
    uint32_t verify_queue;       /* txs waiting for a signature check */
    uint32_t waiting_preprepares;
    uint32_t peer_connections;   /* peers this validator's links are connected to now */
    uint64_t view_changes;       /* views entered since start */
    uint64_t fetches_sent;
    uint64_t fetches_served;
    uint64_t capi_answers[METRICS_CAPI_STATUSES];
    metrics_histogram state_fsync;   /* pbft.state write + fdatasync */
    metrics_histogram block_append;  /* ledger_append of a block (one synced WriteBatch) */
    metrics_histogram commit_latency;/* a block's proposal time to its execution here */
} node_metrics;

/* Render m in the Prometheus text format. */
void node_metrics_write(const node_metrics *m, FILE *out);

#endif
