/*
 * cmd_cluster.c - `trialctl init`: the keys, genesis and node configs of a
 * local consortium.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "commands.h"
#include "config.h"
#include "contracts.h"
#include "crypto.h"

static const char INIT_USAGE[] =
    "usage: trialctl init [--validators N] [--base-port P] [--chain-name NAME] DIR\n"
    "  Writes a local consortium into DIR (which must not exist or be empty):\n"
    "    keys/         validator-I, sponsor, investigator-site-a, investigator-site-b,\n"
    "                  regulator, researcher (NAME.key 0600 + NAME.pub)\n"
    "    genesis.bin   validators, authorities by role and site, the built-in contracts\n"
    "    node-I/config.json  listen tcp://127.0.0.1:P+I, client API P+100+I, data in node-I/data\n"
    "  N = 4 (default), 7, 10, ... (3f+1). P defaults to 7100.\n";

typedef struct {
    const char *name;
    unsigned role;
    const char *site;
} authority_spec;

static const authority_spec AUTHORITIES[] = {
    {"sponsor", ROLE_SPONSOR, ""},
    {"investigator-site-a", ROLE_INVESTIGATOR, "site-a"},
    {"investigator-site-b", ROLE_INVESTIGATOR, "site-b"},
    {"regulator", ROLE_REGULATOR, ""},
    {"researcher", ROLE_RESEARCHER, ""},
};

/* Generate NAME.key/.pub under dir/keys; returns the public key. */
static int make_key(const char *dir, const char *name, pubkey *out)
{
    char path[4096];
    keypair kp;
    tcrypto_keypair_generate(&kp);
    snprintf(path, sizeof path, "%s/keys/%s.key", dir, name);
    tcrypto_err rc = tcrypto_write_secret_key(path, &kp);
    snprintf(path, sizeof path, "%s/keys/%s.pub", dir, name);
    if (rc == TCRYPTO_OK) rc = tcrypto_write_public_key(path, &kp.public_key);
    if (rc != TCRYPTO_OK) {
        fprintf(stderr, "error: %s: %s\n", path, tcrypto_strerror(rc));
        return -1;
    }
    *out = kp.public_key;
    return 0;
}

static int make_dir(const char *path)
{
    if (mkdir(path, 0755) == 0 || errno == EEXIST) return 0;
    fprintf(stderr, "error: cannot create %s: %s\n", path, strerror(errno));
    return -1;
}

static int write_configs(const char *dir, uint32_t n, unsigned base_port)
{
    for (uint32_t i = 0; i < n; i++) {
        config_node c;
        config_defaults(&c);
        c.node = i;
        c.peer_count = n;
        for (uint32_t p = 0; p < n; p++) {
            snprintf(c.peers[p], sizeof c.peers[p], "tcp://127.0.0.1:%u", base_port + p);
        }
        snprintf(c.listen, sizeof c.listen, "%s", c.peers[i]);
        snprintf(c.client, sizeof c.client, "tcp://127.0.0.1:%u", base_port + 100 + i);
        snprintf(c.data_dir, sizeof c.data_dir, "data");
        snprintf(c.key_file, sizeof c.key_file, "../keys/validator-%u.key", i);
        snprintf(c.genesis_file, sizeof c.genesis_file, "../genesis.bin");
        char path[4096], why[300];
        snprintf(path, sizeof path, "%s/node-%u", dir, i);
        if (make_dir(path) != 0) return -1;
        snprintf(path, sizeof path, "%s/node-%u/config.json", dir, i);
        if (config_save(path, &c, why, sizeof why) != 0) {
            fprintf(stderr, "error: %s\n", why);
            return -1;
        }
    }
    return 0;
}

static int build_consortium(const char *dir, uint32_t n, unsigned base_port, const char *name)
{
    codec_genesis *g = calloc(1, sizeof *g);
    char path[4096];
    int rc = TC_EXIT_INTERNAL;
    snprintf(path, sizeof path, "%s/keys", dir);
    if (!g || make_dir(dir) != 0 || make_dir(path) != 0) goto out;
    snprintf(g->chain_name, sizeof g->chain_name, "%s", name);
    g->created_ms = 0; /* set below from the clock */
    g->params = (codec_params){.max_batch_txs = 512, .nonce_window = 64,
                               .anchor_window_ms = 7ull * 24 * 3600 * 1000,
                               .clock_skew_ms = 2000};
    for (uint32_t i = 0; i < n; i++) {
        snprintf(g->validators[i].name.text, sizeof g->validators[i].name.text, "validator-%u", i);
        if (make_key(dir, g->validators[i].name.text, &g->validators[i].key) != 0) goto out;
    }
    g->validator_count = n;
    for (size_t i = 0; i < sizeof AUTHORITIES / sizeof AUTHORITIES[0]; i++) {
        codec_authority *a = &g->authorities[g->authority_count++];
        a->role = (uint8_t)AUTHORITIES[i].role;
        snprintf(a->site.text, sizeof a->site.text, "%s", AUTHORITIES[i].site);
        snprintf(a->name.text, sizeof a->name.text, "%s", AUTHORITIES[i].name);
        if (make_key(dir, AUTHORITIES[i].name, &a->key) != 0) goto out;
    }
    for (uint32_t i = 0; i < contracts_builtin_count; i++) { /* the built-in contracts, v1 */
        codec_contract *c = &g->contracts[g->contract_count++];
        snprintf(c->name.text, sizeof c->name.text, "%s", contracts_builtin[i].name);
        c->version = 1;
        c->bytecode = contracts_builtin[i].bytecode;
        c->bytecode_len = contracts_builtin[i].len;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    g->created_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    snprintf(path, sizeof path, "%s/genesis.bin", dir);
    if ((rc = genesis_write_file(g, path)) != TC_EXIT_OK) goto out;
    rc = write_configs(dir, n, base_port) == 0 ? TC_EXIT_OK : TC_EXIT_INTERNAL;
    if (rc == TC_EXIT_OK) printf("consortium of %u validators in %s\n", n, dir);
out:
    free(g);
    return rc;
}

/* DIR must not exist, or be an empty directory. */
static bool usable_dir(const char *dir)
{
    char cmd[4200];
    struct stat st;
    if (stat(dir, &st) != 0) return true;
    if (!S_ISDIR(st.st_mode)) return false;
    snprintf(cmd, sizeof cmd, "%s/genesis.bin", dir);
    return stat(cmd, &st) != 0;
}

int cmd_init(int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, 0, 'h'},        {"validators", required_argument, 0, 'n'},
        {"base-port", required_argument, 0, 'p'}, {"chain-name", required_argument, 0, 'c'},
        {0, 0, 0, 0}};
    uint64_t n = 4, port = 7100;
    const char *name = "local consortium";
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        if (c == 'h') return printf("%s", INIT_USAGE), TC_EXIT_OK;
        if (c == 'n' && !util_parse_u64("--validators", optarg, 4, 64, &n)) continue;
        if (c == 'p' && !util_parse_u64("--base-port", optarg, 1024, 65000, &port)) continue;
        if (c == 'c') {
            name = optarg;
            continue;
        }
        return fprintf(stderr, "%s", INIT_USAGE), TC_EXIT_USAGE;
    }
    if (optind != argc - 1) return fprintf(stderr, "%s", INIT_USAGE), TC_EXIT_USAGE;
    if ((n - 1) % 3 != 0) {
        fprintf(stderr, "error: --validators must be 3f+1 (4, 7, 10, ...), got %llu\n",
                (unsigned long long)n);
        return TC_EXIT_USAGE;
    }
    if (port + 100 + n > 65535) return fprintf(stderr, "error: --base-port too high\n"), 2;
    if (!usable_dir(argv[optind])) {
        fprintf(stderr, "error: %s already holds a consortium (or is not a directory)\n",
                argv[optind]);
        return TC_EXIT_INPUT;
    }
    return build_consortium(argv[optind], (uint32_t)n, (unsigned)port, name);
}
