/*
 * contracts.h - the built-in contracts, assembled from the contracts/ assembly sources at build time.
 *
 * The build runs contracts/embed.c (a tiny assembler driver over consent-vm's
 * cvm_assemble) on common.s + <name>.s for each contract and writes the modules both as
 * <build>/contracts/<name>.cvm and as the arrays behind contracts_builtin below. A genesis
 * that carries these bytes defines the chain's rules: the registry runs whatever the
 * genesis (or a deploy) holds, and links this library only for the ABI table below.
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

/* The ABI table, generated from the `;@abi METHOD KIND...` lines of the sources (one per
 * exported method; embed.c fails the build unless they match the assembled functions):
 * kinds holds one character per parameter, 'i' int64 or 'b' bytes. It describes exactly
 * the modules of contracts_builtin: the executor applies it to a contract whose bytecode
 * equals the built-in module of that name, and checks only the parameter count of any
 * other module (ABI.md "Routing"). */
typedef struct {
    const char *contract;
    const char *method;
    const char *kinds;
} contract_abi_method;

extern const contract_abi_method contracts_abi[];
extern const uint32_t contracts_abi_count;

#endif
