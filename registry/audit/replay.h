/*
 * replay.h - the audit's re-execution (audit_options.reexecute): every block runs again
 * through the executor and the contracts, from the genesis alone, into a scratch ledger,
 * and its receipts, writes and state hash are compared with the audited ledger's.
 *
 * Why signatures are not checked again here: the audit verifies every tx and
 * co-signature on its worker threads (audit.c), and fails the whole audit on any that
 * does not verify; the replay therefore runs with signature checks off, and its verdict
 * counts only together with the audit's. An OK audit + an OK replay = every tx's author
 * and co-signers signed it, and the contracts, run on the committed order, give exactly
 * the certified receipts and state.
 *
 * Internal to registry/audit.
 */
#ifndef TRIALREG_REPLAY_H
#define TRIALREG_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "ledger.h"

typedef struct replay replay;

/* A replay over a new scratch ledger in dir, which must be absent or empty (anything else is
 * refused: a ledger left there would be built on); the caller removes it afterwards.
 * Returns 0, or -1 with a message in why. */
int replay_open(const uint8_t *genesis, size_t genesis_len, const char *dir, replay **out,
                char *why, size_t why_cap);
void replay_close(replay *r);

/* Re-execute block b (decoded, its header checked by the audit) and compare with what the
 * ledger holds: `ledger` is the audited block's summary (receipts root and state hash
 * recomputed from its receipts and writes). true if everything is the same; otherwise
 * false, *tx = the first tx that differs (-1 if the difference is not one tx's) and why
 * names the field: "receipt status: the ledger says OK, re-execution gives REFUSED 123
 * (...)". After a difference the replay cannot go on (its state has diverged). */
bool replay_block(replay *r, const codec_block *b, const ledger_summary *ledger, int64_t *tx,
                  char *why, size_t why_cap);

/* The first state row (key and value, in key order) in which store differs from the
 * replay's scratch ledger after the same blocks: true if they hold the same rows, else
 * false with the key and what differs in why. For a stored ledger whose blocks all
 * replayed the same: a row changed behind the executor's back is in no block. */
bool replay_same_state(replay *r, ledger *store, char *why, size_t why_cap);

#endif
