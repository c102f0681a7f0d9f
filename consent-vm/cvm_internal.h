/*
 * cvm_internal.h - private structures shared by the consent-vm sources. Not installed.
 */
#ifndef CVM_INTERNAL_H
#define CVM_INTERNAL_H

#include "cvm.h"

#include <stdio.h>
#include <stdlib.h>

/* Programmer errors abort with a message (TigerBeetle style): never used for bad input. */
#define CVM_ASSERT(cond)                                                                     \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "cvm: assertion failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

#if defined(__GNUC__)
#define CVM_LIKELY(x) __builtin_expect(!!(x), 1)
#define CVM_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define CVM_LIKELY(x) (x)
#define CVM_UNLIKELY(x) (x)
#endif

typedef struct cvm_func {
    uint32_t code_start; /* index of the first instruction in module->code */
    uint32_t code_len;
    uint8_t nparams;
    uint8_t nregs;
    uint8_t flags;
    uint8_t name_len;
    char name[CVM_NAME_LEN_MAX + 1];
} cvm_func;

struct cvm_module {
    uint8_t *bytes; /* private copy of the module; byte constants point into it */
    size_t len;
    int64_t *kint;
    cvm_value *kbyt;
    cvm_func *funcs;
    uint32_t *code; /* all functions' code, decoded to host order */
    uint32_t n_kint;
    uint32_t n_kbyt;
    uint32_t n_func;
    uint32_t n_code;
};

/* Fills err (may be NULL) and returns code. */
cvm_status cvm_error_set(cvm_error *err, cvm_status code, uint32_t func, uint32_t pc,
                         const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* Verifies one function's code against the module (verifier pass). */
cvm_status cvm_verify_func(const cvm_module *m, uint32_t fi, cvm_error *err);

/* Accessors for the disassembler. */
const cvm_func *cvm_module_func(const cvm_module *m, uint32_t fi);

#endif
