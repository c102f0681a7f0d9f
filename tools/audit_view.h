/*
 * audit_view.h - what `trialctl audit` shows (tools/cmd_ledger.c runs the audit): the
 * verdict in text or JSON, with the certified height H and the uncertified tail H+1..N
 * named apart (issue 18 item 2), and a progress bar on a terminal (item 5).
 */
#ifndef TRIALREG_TOOLS_AUDIT_VIEW_H
#define TRIALREG_TOOLS_AUDIT_VIEW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "audit.h"

/* ---- the verdict -------------------------------------------------------------------- */

typedef enum {
    AUDIT_VERDICT_OK,               /* every block verified and certified */
    AUDIT_VERDICT_UNCERTIFIED_TAIL, /* 1..H verified and certified; H+1..N NOT verified */
    AUDIT_VERDICT_FAILED,           /* a failure: its height, tx and reason */
} audit_verdict_kind;

/* A result certificate's bytes are at most this many (docs/FORMATS.md 14.5). */
#define AUDIT_VIEW_CERT_MAX 8192

typedef struct {
    bool ok;                  /* audit_run_with's result */
    bool reexecuted;          /* --reexecute: summary.reexecuted blocks replayed the same */
    audit_summary summary;
    audit_failure failure;
    double seconds;
    /* the result certificate of height certified_height as the source gave it (len 0 if
     * none was read): on a tail, the certified head's block and state hashes come from it
     * (the audit checked them against its own recomputation of that height) */
    uint8_t last_cert[AUDIT_VIEW_CERT_MAX];
    size_t last_cert_len;
    uint64_t last_cert_height;
} audit_outcome;

audit_verdict_kind audit_verdict_of(const audit_outcome *o);

/* H: heights 1..H are certified and verified (on a failure, the certified heights below
 * the failing one). */
uint64_t audit_certified_height_of(const audit_outcome *o);

/* Print the verdict on stdout, as text or as one JSON object (docs/FORMATS.md 8). */
void audit_print_text(const audit_outcome *o);
void audit_print_json(const audit_outcome *o);

/* The exit code: 0 verified; 1 a failure, or a tail unless allow_tail. */
int audit_exit_code(const audit_outcome *o, bool allow_tail);

/* An audit source that passes another's blocks through and keeps the newest result
 * certificate it saw (into the outcome). */
typedef struct {
    audit_source inner;
    audit_outcome *outcome;
    uint64_t height;
} audit_cert_watch;
void audit_cert_watch_source(audit_cert_watch *w, const audit_source *inner,
                             audit_outcome *outcome, audit_source *out);

/* ---- the progress bar --------------------------------------------------------------- */

/* On stderr, when it is a terminal and the audit has run for a second: blocks (of total
 * when known), txs/s, signatures/s and the time left; redrawn at most 10 times a second,
 * cleared by audit_bar_finish. */
typedef struct {
    bool enabled;
    bool drawn;
    uint64_t total_blocks;  /* 0: unknown */
    double start;
    double last_draw;
    FILE *out;
} audit_bar;

/* enabled: the caller's choice (not --quiet); the bar also needs out to be a terminal. */
void audit_bar_init(audit_bar *bar, FILE *out, bool enabled, uint64_t total_blocks);
void audit_bar_update(void *bar, const audit_progress *p); /* an audit_progress_fn */
void audit_bar_finish(audit_bar *bar);

#endif
