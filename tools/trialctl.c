/*
 * trialctl - the one command-line tool of trialreg.
 *
 * Exit codes (every subcommand):
 *   0  success
 *   1  the operation ran and found a problem (audit failure or uncertified tail,
 *      invalid proof)
 *   2  bad command line
 *   3  an input file is missing, unreadable or malformed
 *   4  internal or environment error (storage, memory)
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "crypto.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static int cmd_bench(int argc, char **argv);

static const command COMMANDS[] = {
    {"cluster", cmd_cluster, "start, stop or show the local validators of a consortium"},
    {"init", cmd_init, "write keys, genesis and node configs of a local consortium"},
    {"keygen", cmd_keygen, "write a new Ed25519 key pair (NAME.key 0600, NAME.pub)"},
    {"genesis", cmd_genesis, "write a genesis from validator and authority keys and contracts"},
    {"sample", cmd_sample, "append sample blocks of real signed txs to a ledger"},
    {"export", cmd_export, "write a ledger export file (certified blocks) from a data directory or a node"},
    {"audit", cmd_audit, "verify a whole ledger (directory or export) with the genesis"},
    {"proof", cmd_proof, "write an inclusion or consistency proof"},
    {"verify-proof", cmd_verify_proof, "check a proof file with the genesis alone"},
    {"asm", cmd_asm, "assemble consent-vm assembly into a module"},
    {"disasm", cmd_disasm, "disassemble a consent-vm module"},
    {"vm-run", cmd_vm_run, "run one method of a module against an in-memory state"},
    {"example-trial", cmd_example_trial, "run the example trial in-process, or against a running consortium"},
    {"timeline", cmd_timeline, "ask a running node for a trial's timeline (signed query)"},
    {"query", cmd_query, "ask a running node for a trial or a consent history (signed query)"},
    {"register", cmd_register, "sponsor: register a trial's protocol (signed tx to a node)"},
    {"amend", cmd_amend, "sponsor: publish a protocol amendment"},
    {"approve", cmd_approve, "regulator: approve a protocol version"},
    {"activate", cmd_activate, "sponsor: activate a site"},
    {"add-site", cmd_add_site, "sponsor: list a new site in a trial (then activate it)"},
    {"enrol", cmd_enrol, "site: enrol a participant's pseudonymous key"},
    {"consent", cmd_consent, "participant: consent grant (site witness) | consent withdraw; lost key: consent site-withdraw | rebind-request | rebind-veto | rebind-complete"},
    {"anchor", cmd_anchor, "site: anchor the hash of a collected record"},
    {"governance", cmd_governance, "governance deploy | add | revoke | rotate | validators: a contract version, an authority's key, the validator set"},
    {"access", cmd_access, "researcher: access request for one scope; access records (read a grant); regulator: access log"},
    {"history", cmd_history, "a trial's public protocol history, no key, receipts verified"},
    {"outcomes", cmd_outcomes, "sponsor: report outcomes (switches flagged)"},
    {"receipt", cmd_receipt, "fetch a tx's receipt (with certificates and proofs) from a node"},
    {"verify-receipt", cmd_verify_receipt, "check a receipt file with the genesis alone"},
    {"fhir", cmd_fhir, "a trial as a FHIR R4 Bundle (fhir export), as one key may see it"},
    {"http-sign", cmd_http_sign, "print the RFC 9421 header fields that sign an HTTP API request"},
    {"sim", cmd_sim, "run the PBFT cluster simulator over seeds, or trace one"},
    {"bench", cmd_bench, "benchmarks: bench ledger | bench vm | bench exec | bench fhir | bench cluster | bench http"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: trialctl COMMAND [ARGS]   (trialctl COMMAND --help for details)\n"
                 "       trialctl --help | --version\n\n");
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++) {
        fprintf(out, "  %-15s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    }
    fprintf(out, "\nexit codes: 0 ok, 1 check failed (audit: also an uncertified tail), 2 usage, 3 bad input,\n4 internal error\n");
}

static int cmd_bench(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "ledger") == 0) return cmd_bench_ledger(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "vm") == 0) return cmd_bench_vm(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "exec") == 0) return cmd_bench_exec(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "fhir") == 0) return cmd_bench_fhir(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "cluster") == 0) return cmd_bench_cluster(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "http") == 0) { /* bench cluster --http-ab */
        char *args[40] = {"http", "--http-ab"};
        int n = 2;
        for (int i = 2; i < argc && n < 39; i++) args[n++] = argv[i];
        return cmd_bench_cluster(n, args);
    }
    fprintf(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr,
            "usage: trialctl bench ledger|vm|exec|fhir|cluster|http [--help]\n");
    return argc >= 2 && strcmp(argv[1], "--help") == 0 ? TC_EXIT_OK : TC_EXIT_USAGE;
}

int main(int argc, char **argv)
{
    if (tcrypto_init() != TCRYPTO_OK) {
        fprintf(stderr, "error: %s\n", tcrypto_strerror(TCRYPTO_ERR_INIT));
        return TC_EXIT_INTERNAL;
    }
    if (argc < 2) {
        usage(stderr);
        return TC_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("trialctl %s\n", TRIALREG_VERSION);
        return TC_EXIT_OK;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return TC_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++) {
        if (strcmp(argv[1], COMMANDS[i].name) == 0) return COMMANDS[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "error: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return TC_EXIT_USAGE;
}
