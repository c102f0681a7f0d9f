/*
 * contracts.h - the built-in contracts, assembled from the contracts/ assembly sources at build time.
 *
 * The build runs contracts/embed.c (a tiny assembler driver over consent-vm's
 * cvm_assemble) on common.s + <name>.s for each contract and writes the modules both as
 * <build>/contracts/<name>.cvm and as the arrays behind contracts_builtin below. A genesis
 * that carries these bytes defines the chain's rules; the registry itself never links them
 * (it loads whatever the genesis holds).
 */
#ifndef TRIALREG_CONTRACTS_H
#define TRIALREG_CONTRACTS_H

#include <stdint.h>

typedef struct {
    const char *name;         /* "protocol", "consent", "data", "access", "outcomes" */
    const uint8_t *bytecode;  /* a verified consent-vm module (static storage) */
    uint32_t len;
} contract_builtin;

extern const contract_builtin contracts_builtin[];
extern const uint32_t contracts_builtin_count;

#endif
