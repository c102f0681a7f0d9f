/*
 * bench_http.h - the HTTP side of `trialctl bench http` (tools/cmd_bench_cluster.c): txs
 * submitted in JSON batches over one keep-alive connection per submitter, and a
 * /v1/events reader that notes when each tx's first event arrives.
 */
#ifndef TRIALREG_TOOLS_BENCH_HTTP_H
#define TRIALREG_TOOLS_BENCH_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include "codec.h"
#include "crypto.h"

/* POST /v1/txs with the txs as a JSON batch on *fd (opened, or reopened after a failure, to
 * 127.0.0.1:port); accepted[i] per tx. false if the request failed as a whole. */
bool bench_http_submit(int *fd, uint16_t port, const codec_span *txs, uint32_t count,
                       bool *accepted, char *why, size_t why_cap);

typedef struct bench_events bench_events;
/* Follow GET /v1/events (signed by reader) from height from on; for each data line naming
 * one of ids[0..n), arrived[i] = the monotonic time (s) of its first event. */
bench_events *bench_events_start(uint16_t port, const keypair *reader, const hash32 *chain,
                                 uint64_t from, const hash32 *ids, uint32_t n, double *arrived);
void bench_events_stop(bench_events *e);

#endif
