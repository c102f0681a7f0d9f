/*
 * consortium.h - who decides and who acts at a height: the validator set (and so the quorum
 * every certificate needs), the authorities and the rules.
 *
 * The audit, inclusion proofs, receipts and the executor all ask here, and nowhere else,
 * so that governance (validators and authorities changed by committed txs) changes one
 * place. Today no governance tx changes them: every height has the genesis's. When one
 * does, this function gains the committed changes (read from the ledger by the executor,
 * or replayed from the blocks by an offline auditor) as its input.
 */
#ifndef TRIALREG_CONSORTIUM_H
#define TRIALREG_CONSORTIUM_H

#include <stdint.h>

#include "codec.h"

typedef struct {
    const codec_validator *validators; /* validator i signs as index i */
    uint32_t validator_count;
    uint32_t quorum;                   /* 2f+1 of n = 3f+1 (codec_genesis_quorum) */
    const codec_authority *authorities;
    uint32_t authority_count;
    const codec_rules *rules;
} consortium;

/* The consortium in force at height (borrowed from g: valid while g is). Height 0 is the
 * genesis itself. */
void consortium_at(const codec_genesis *g, uint64_t height, consortium *out);

#endif
