/*
 * commands.h - the subcommands of trialctl. Each takes the arguments after
 * the subcommand name (argv[0] is the subcommand) and returns the process
 * exit code (see tools/trialctl.c for the table of exit codes).
 */
#ifndef TRIALREG_TOOLS_COMMANDS_H
#define TRIALREG_TOOLS_COMMANDS_H

#include <stdint.h>

/* Exit codes shared by every subcommand. */
enum {
    TC_EXIT_OK = 0,    /* success */
    TC_EXIT_FAIL = 1,   /* the operation ran and found a problem (audit failure, bad proof) */
    TC_EXIT_USAGE = 2,   /* bad command line */
    TC_EXIT_INPUT = 3,   /* an input file is missing, unreadable or malformed */
    TC_EXIT_INTERNAL = 4,  /* an internal or environment error (I/O, database) */
};

/* ledger tools (tools/cmd_ledger.c) */
int cmd_keygen(int argc, char **argv);
int cmd_genesis(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_proof(int argc, char **argv);
int cmd_verify_proof(int argc, char **argv);
int cmd_bench_ledger(int argc, char **argv);

/* consortium tools (tools/cmd_cluster.c) */
int cmd_init(int argc, char **argv);
int cmd_cluster(int argc, char **argv); /* tools/cmd_node.c: cluster up|down|status */
/* The pid in DIR/node-I/trialnode.pid (written by cluster up), or 0. */
long cluster_node_pid(const char *dir, uint32_t i);
int cmd_bench_cluster(int argc, char **argv); /* tools/cmd_bench_cluster.c */

/* Helpers shared by the commands (tools/util.c). */
#include <stddef.h>
#include <stdint.h>
/* Read a whole file (at most max bytes) into a new malloc'd buffer; prints
 * an error naming the file and returns -1 on failure. */
int util_read_file(const char *path, size_t max, uint8_t **out, size_t *len);
/* Remove a directory and everything in it (a warning if that fails). */
void util_remove_tree(const char *dir);
/* Write a file atomically (temp + rename); prints an error and returns -1. */
int util_write_file(const char *path, const uint8_t *data, size_t len);
/* Check that url is a node URL, tcp://HOST:PORT or tls+tcp://HOST:PORT with PORT in
 * 1..65535; prints an error naming opt and returns -1 if not. */
int util_check_url(const char *opt, const char *url);
/* Parse an unsigned decimal argument; prints an error naming opt on failure. */
int util_parse_u64(const char *opt, const char *text, uint64_t min, uint64_t max,
                   uint64_t *out);
/* Encode, check and write a genesis file; prints the chain id. Returns an
 * exit code. (tools/cmd_ledger.c) */
#include "codec.h"
int genesis_write_file(const codec_genesis *g, const char *out_path);

/* The rule options (tools/genesis_rules.c): one long option per genesis.rules limit, named
 * after its field (--tx-gas-limit, --block-gas-limit, --vm-memory-bytes, --vm-call-depth,
 * --vm-writes-max, --vm-events-max, --max-batch-txs, --block-bytes-max,
 * --valid-for-max-ms, --anchor-window-ms, --clock-skew-ms, --rebind-delay-ms). Put GENESIS_RULE_OPTIONS in a
 * getopt_long table and hand every option value it returns to genesis_rule_option, which
 * sets that field (>= 1; the codec checks the bounds when the genesis is written). */
#include <getopt.h>
#include <stdio.h>
#define GENESIS_RULE_OPTION_BASE 0x200
#define GENESIS_RULE_OPTION_COUNT 12
#define GENESIS_RULE_OPTIONS                                                                \
    {"tx-gas-limit", required_argument, 0, 0x200},                                          \
    {"block-gas-limit", required_argument, 0, 0x201},                                       \
    {"vm-memory-bytes", required_argument, 0, 0x202},                                       \
    {"vm-call-depth", required_argument, 0, 0x203},                                         \
    {"vm-writes-max", required_argument, 0, 0x204},                                         \
    {"vm-events-max", required_argument, 0, 0x205},                                         \
    {"max-batch-txs", required_argument, 0, 0x206},                                         \
    {"block-bytes-max", required_argument, 0, 0x207},                                       \
    {"valid-for-max-ms", required_argument, 0, 0x208},                                      \
    {"anchor-window-ms", required_argument, 0, 0x209},                                      \
    {"clock-skew-ms", required_argument, 0, 0x20a},                                         \
    {"rebind-delay-ms", required_argument, 0, 0x20b}
#define GENESIS_RULE_OPTIONS_USAGE                                                          \
    "  rules (genesis.rules, docs/FORMATS.md 5.9; default in brackets):\n"                   \
    "  --tx-gas-limit N [1000000]   --block-gas-limit N [250000000]\n"                       \
    "  --vm-memory-bytes N [262144] --vm-call-depth N [64] --vm-writes-max N [256]\n"        \
    "  --vm-events-max N [64]       --max-batch-txs N [256] --block-bytes-max N [2097152]\n" \
    "  --valid-for-max-ms N [3600000] --anchor-window-ms N [604800000] --clock-skew-ms N [2000]\n" \
    "  --rebind-delay-ms N [259200000] (72 h: a participant's key re-binding waits this long)\n"
int genesis_rule_option(codec_rules *rules, int c, const char *arg);
/* Copy every non-zero field of the rule options given over rules. */
void genesis_rules_merge(codec_rules *rules, const codec_rules *given);
/* The genesis summary (trialctl genesis show). */
void genesis_print(const codec_genesis *g, const hash32 *chain_id, FILE *out);

/* Monotonic time in seconds. */
double util_now(void);
/* Ed25519 verifications per second with `threads` threads verifying at once for
 * `seconds` (the bound the benchmarks print beside their figures). */
double util_verify_rate(unsigned threads, double seconds);

/* consent-vm tools (tools/cmd_vm.c) */
int cmd_asm(int argc, char **argv);
int cmd_disasm(int argc, char **argv);
int cmd_vm_run(int argc, char **argv);
int cmd_bench_vm(int argc, char **argv);

/* contracts: the example trial and the executor benchmark (tools/cmd_trial.c) */
int cmd_example_trial(int argc, char **argv);
int cmd_bench_exec(int argc, char **argv);
int cmd_sim(int argc, char **argv); /* tools/cmd_sim.c: the PBFT simulator */
/* client API commands against a running node (tools/cmd_client.c) */
int cmd_timeline(int argc, char **argv);
int cmd_query(int argc, char **argv); /* query trial|consent */
/* trial events for every role, and receipts (tools/cmd_events.c) */
int cmd_register(int argc, char **argv);
int cmd_amend(int argc, char **argv);
int cmd_approve(int argc, char **argv);
int cmd_activate(int argc, char **argv);
int cmd_enrol(int argc, char **argv);
int cmd_consent(int argc, char **argv);
int cmd_anchor(int argc, char **argv);
int cmd_access(int argc, char **argv);
int cmd_governance(int argc, char **argv);
/* issue 19 reads (tools/cmd_reads.c): history (public), access records, access log */
int cmd_history(int argc, char **argv);
int access_records(int argc, char **argv);
int access_log(int argc, char **argv);
int cmd_outcomes(int argc, char **argv);
int cmd_receipt(int argc, char **argv);
int cmd_http_sign(int argc, char **argv); /* tools/cmd_http.c */
int cmd_fhir(int argc, char **argv);      /* tools/cmd_fhir.c: fhir export, fhir codesystem */
int cmd_bench_fhir(int argc, char **argv); /* tools/cmd_fhir.c: bench fhir */
int cmd_verify_receipt(int argc, char **argv);
/* the example trial against a running consortium (tools/trial_remote.c) */
int example_trial_remote(const char *url, const char *dir, uint32_t timeout_ms);

#endif
