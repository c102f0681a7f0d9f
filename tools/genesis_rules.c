/*
 * genesis_rules.c - the rule options `trialctl genesis`, `genesis upgrade` and `init` share,
 * and the genesis summary `trialctl genesis show` prints.
 *
 * The options only set numbers: the bounds are the codec's (codec_genesis_decode), checked
 * when the genesis is written, so that one place decides what a rule may be and the error
 * names the genesis field.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "crypto.h"

typedef struct {
    const char *name;     /* option name = genesis field with '-' for '_' */
    size_t offset;        /* in codec_rules */
    bool wide;            /* uint64_t (else uint32_t) */
} rule_field;

#define RULE(field, wide) {#field, offsetof(codec_rules, field), wide}
/* in GENESIS_RULE_OPTIONS order (commands.h): option value GENESIS_RULE_OPTION_BASE + i */
static const rule_field RULE_FIELDS[] = {
    RULE(tx_gas_limit, true),     RULE(block_gas_limit, true),  RULE(vm_memory_bytes, false),
    RULE(vm_call_depth, false),   RULE(vm_writes_max, false),   RULE(vm_events_max, false),
    RULE(max_batch_txs, false),   RULE(block_bytes_max, false), RULE(valid_for_max_ms, true),
    RULE(anchor_window_ms, true), RULE(clock_skew_ms, true),    RULE(rebind_delay_ms, true),
};
#define RULE_COUNT (sizeof RULE_FIELDS / sizeof RULE_FIELDS[0])
_Static_assert(RULE_COUNT == GENESIS_RULE_OPTION_COUNT, "one option per rule field");

int genesis_rule_option(codec_rules *rules, int c, const char *arg)
{
    if (c < GENESIS_RULE_OPTION_BASE || c >= GENESIS_RULE_OPTION_BASE + (int)RULE_COUNT) {
        return TC_EXIT_USAGE;
    }
    const rule_field *f = &RULE_FIELDS[c - GENESIS_RULE_OPTION_BASE];
    char opt[64];
    snprintf(opt, sizeof opt, "--%s", f->name);
    for (char *p = opt; *p; p++) {
        if (*p == '_') *p = '-';
    }
    uint64_t v;
    if (util_parse_u64(opt, arg, 1, f->wide ? UINT64_MAX : UINT32_MAX, &v)) return TC_EXIT_USAGE;
    uint8_t *at = (uint8_t *)rules + f->offset;
    if (f->wide) {
        memcpy(at, &v, sizeof v);
    } else {
        uint32_t v32 = (uint32_t)v;
        memcpy(at, &v32, sizeof v32);
    }
    return TC_EXIT_OK;
}

void genesis_rules_merge(codec_rules *rules, const codec_rules *given)
{
    for (size_t i = 0; i < RULE_COUNT; i++) {
        const rule_field *f = &RULE_FIELDS[i];
        const uint8_t *from = (const uint8_t *)given + f->offset;
        size_t n = f->wide ? sizeof(uint64_t) : sizeof(uint32_t);
        static const uint8_t zero[8];
        if (memcmp(from, zero, n) != 0) memcpy((uint8_t *)rules + f->offset, from, n);
    }
}

static void print_key(FILE *out, const pubkey *k)
{
    char hex[65];
    tcrypto_to_hex(k->bytes, 32, hex);
    fprintf(out, "%.16s", hex);
}

static void print_rules(const codec_rules *r, FILE *out)
{
    fprintf(out, "rules (in force from height 1; no rule change is on a ledger yet):\n");
    fprintf(out, "  rules_version     %" PRIu32 "\n", r->rules_version);
    fprintf(out, "  gas_schedule      %" PRIu32 "\n", r->gas_schedule);
    fprintf(out, "  tx_gas_limit      %" PRIu64 "\n", r->tx_gas_limit);
    fprintf(out, "  block_gas_limit   %" PRIu64 "\n", r->block_gas_limit);
    fprintf(out, "  vm_memory_bytes   %" PRIu32 "\n", r->vm_memory_bytes);
    fprintf(out, "  vm_call_depth     %" PRIu32 "\n", r->vm_call_depth);
    fprintf(out, "  vm_writes_max     %" PRIu32 "\n", r->vm_writes_max);
    fprintf(out, "  vm_events_max     %" PRIu32 "\n", r->vm_events_max);
    fprintf(out, "  max_batch_txs     %" PRIu32 "\n", r->max_batch_txs);
    fprintf(out, "  block_bytes_max   %" PRIu32 "\n", r->block_bytes_max);
    fprintf(out, "  nonce_rule        %" PRIu32 " (valid_until)\n", r->nonce_rule);
    fprintf(out, "  valid_for_max_ms  %" PRIu64 "\n", r->valid_for_max_ms);
    fprintf(out, "  anchor_window_ms  %" PRIu64 "\n", r->anchor_window_ms);
    fprintf(out, "  clock_skew_ms     %" PRIu64 "\n", r->clock_skew_ms);
    fprintf(out, "  rebind_delay_ms   %" PRIu64 "\n", r->rebind_delay_ms);
}

void genesis_print(const codec_genesis *g, const hash32 *chain_id, FILE *out)
{
    char hex[65];
    tcrypto_to_hex(chain_id->bytes, 32, hex);
    fprintf(out, "chain id %s\nchain name %s\ngenesis version %d, created_ms %" PRIu64 "\n", hex,
            g->chain_name, CODEC_GENESIS_VERSION, g->created_ms);
    print_rules(&g->rules, out);
    fprintf(out, "governance (keys each change needs: signer + approval co-signers):\n");
    for (unsigned k = 1; k <= GOVERNANCE_KIND_MAX_; k++) {
        const codec_requirement *req = &g->governance[k - 1];
        fprintf(out, "  %-12s", codec_governance_kind_name(k));
        for (uint32_t i = 0; i < req->role_count; i++) {
            fprintf(out, "%s%s x%u", i ? " + " : "", codec_role_name(req->roles[i].role),
                    req->roles[i].count);
        }
        fprintf(out, "\n");
    }
    fprintf(out, "validators (%u, quorum %u):\n", g->validator_count, codec_genesis_quorum(g));
    for (uint32_t i = 0; i < g->validator_count; i++) {
        fprintf(out, "  %u %-24s ", i, g->validators[i].name.text);
        print_key(out, &g->validators[i].key);
        fprintf(out, "\n");
    }
    fprintf(out, "authorities (%u):\n", g->authority_count);
    for (uint32_t i = 0; i < g->authority_count; i++) {
        const codec_authority *a = &g->authorities[i];
        char role[80];
        snprintf(role, sizeof role, "%s%s%s", codec_role_name(a->role), a->site.text[0] ? "@" : "",
                 a->site.text);
        fprintf(out, "  %-28s %-24s ", role, a->name.text);
        print_key(out, &a->key);
        fprintf(out, "%s\n", a->role == ROLE_AUDITOR ? "  (reads; signs no tx)" : "");
    }
    fprintf(out, "contracts (%u):\n", g->contract_count);
    for (uint32_t i = 0; i < g->contract_count; i++) {
        fprintf(out, "  %-16s v%u, %u bytes\n", g->contracts[i].name.text, g->contracts[i].version,
                g->contracts[i].bytecode_len);
    }
}
