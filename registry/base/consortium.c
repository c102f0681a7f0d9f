/*
 * consortium.c - the consortium at a height (consortium.h).
 */
#include "consortium.h"

void consortium_at(const codec_genesis *g, uint64_t height, consortium *out)
{
    (void)height; /* no governance tx exists yet: the genesis's consortium holds throughout */
    *out = (consortium){
        .validators = g->validators,
        .validator_count = g->validator_count,
        .quorum = codec_genesis_quorum(g),
        .authorities = g->authorities,
        .authority_count = g->authority_count,
        .rules = &g->rules,
    };
}
