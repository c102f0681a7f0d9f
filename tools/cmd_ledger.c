/*
 * cmd_ledger.c - trialctl's key, genesis, ledger, audit and proof commands.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "audit_view.h"
#include "codec.h"
#include "trialreg_client.h"
#include "commands.h"
#include "crypto.h"
#include "executor.h"
#include "ledger.h"
#include "proof.h"
#include "sample.h"

#define GENESIS_FILE_MAX ((size_t)CODEC_GENESIS_MAX)
/* a proof with its validator-set changes (FORMATS 6.4): up to 256 of them, each < 32 KiB */
#define PROOF_FILE_MAX ((size_t)CODEC_CLIENT_MESSAGE_MAX)

/* ---- shared helpers ------------------------------------------------------------ */

/* getopt_long loop prologue: every command resets getopt and knows --help. */
static void getopt_reset(void) { optind = 1; opterr = 1; }

static int usage_error(const char *usage)
{
    fprintf(stderr, "%s", usage);
    return TC_EXIT_USAGE;
}

static int load_genesis(const char *path, uint8_t **bytes, size_t *len, codec_genesis **out)
{
    if (!path) {
        fprintf(stderr, "error: --genesis FILE is required\n");
        return TC_EXIT_USAGE;
    }
    if (util_read_file(path, GENESIS_FILE_MAX, bytes, len) != 0) return TC_EXIT_INPUT;
    codec_genesis *g = malloc(sizeof *g);
    codec_error err;
    char why[200];
    if (!g) return TC_EXIT_INTERNAL;
    if (codec_genesis_decode(*bytes, *len, g, &err) != CODEC_OK) {
        fprintf(stderr, "error: %s is not a valid genesis: %s\n", path,
                codec_error_format(&err, why, sizeof why));
        free(g);
        free(*bytes);
        return TC_EXIT_INPUT;
    }
    if (out) *out = g;
    else free(g);
    return TC_EXIT_OK;
}

static int open_ledger(const char *dir, const uint8_t *genesis, size_t len,
                       ledger_open_mode mode, ledger **out)
{
    if (!dir) {
        fprintf(stderr, "error: --data DIR is required\n");
        return TC_EXIT_USAGE;
    }
    ledger_error err;
    if (ledger_open(dir, genesis, len, mode, out, &err) != LEDGER_OK) {
        if (err.code == LEDGER_ERR_CORRUPT) {
            fprintf(stderr, "error: ledger %s is corrupt at height %llu: %s\n", dir,
                    (unsigned long long)err.height, err.message);
        } else {
            fprintf(stderr, "error: ledger %s: %s\n", dir, err.message);
        }
        if (err.code == LEDGER_ERR_CORRUPT) return TC_EXIT_FAIL;
        return err.code == LEDGER_ERR_IO ? TC_EXIT_INTERNAL : TC_EXIT_INPUT;
    }
    return TC_EXIT_OK;
}

static void print_hex(const char *label, const void *h32)
{
    char hex[65];
    tcrypto_to_hex(h32, 32, hex);
    printf("%s%s\n", label, hex);
}

/* ---- keygen ------------------------------------------------------------------------ */

static const char KEYGEN_USAGE[] =
    "usage: trialctl keygen NAME\n"
    "  Writes NAME.key (secret, mode 0600) and NAME.pub. Refuses to overwrite.\n";

int cmd_keygen(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    getopt_reset();
    for (int c; (c = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        if (c == 'h') return printf("%s", KEYGEN_USAGE), TC_EXIT_OK;
        return usage_error(KEYGEN_USAGE);
    }
    if (optind != argc - 1) return usage_error(KEYGEN_USAGE);
    char secret[4096], public[4096];
    snprintf(secret, sizeof secret, "%s.key", argv[optind]);
    snprintf(public, sizeof public, "%s.pub", argv[optind]);
    keypair kp;
    tcrypto_keypair_generate(&kp);
    tcrypto_err rc = tcrypto_write_secret_key(secret, &kp);
    if (rc == TCRYPTO_OK) rc = tcrypto_write_public_key(public, &kp.public_key);
    if (rc != TCRYPTO_OK) {
        fprintf(stderr, "error: %s: %s\n", rc == TCRYPTO_ERR_EXISTS ? secret : public,
                tcrypto_strerror(rc));
        return TC_EXIT_INPUT;
    }
    print_hex("public key ", &kp.public_key);
    return TC_EXIT_OK;
}

/* ---- genesis ------------------------------------------------------------------------ */

static const char GENESIS_USAGE[] =
    "usage: trialctl genesis -o FILE --chain-name NAME --validator PUB... [options]\n"
    "       trialctl genesis show FILE\n"
    "       trialctl genesis upgrade OLD NEW [rule options]\n"
    "  --validator FILE.pub          a validator key (4, 7, 10, 13 or 16 validators: n = 3f+1)\n"
    "  --authority ROLE[@SITE]=FILE  an authority key; ROLE is sponsor, investigator,\n"
    "                                regulator, researcher or auditor; investigators name a SITE\n"
    "  --contract NAME=FILE.cvm      a contract's bytecode (version 1)\n"
    "  --created-ms N                creation time (default: now)\n"
    GENESIS_RULE_OPTIONS_USAGE
    "  show: the genesis's summary: chain id, rules, governance, validators, authorities,\n"
    "  contracts. upgrade: converts a version 1 or 2 genesis to version 3: a version 1\n"
    "  gets the default rules (its max_batch_txs, anchor_window_ms and clock_skew_ms kept)\n"
    "  and the default governance; a version 2 keeps everything and gets the default\n"
    "  rebind_delay_ms and regulators requirement. The result is a NEW chain (a new chain\n"
    "  id): a ledger made on the old genesis does not open on it.\n";

typedef struct {
    codec_genesis g;
    uint8_t *bytecode[CODEC_CONTRACTS_MAX];
} genesis_draft;

/* Name an authority after its key file: dir/inv-a.pub -> inv-a. */
static void name_from_path(const char *path, codec_name *out)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t len = strcspn(base, ".");
    if (len > CODEC_NAME_MAX) len = CODEC_NAME_MAX;
    memcpy(out->text, base, len);
    out->text[len] = '\0';
}

static int add_validator(genesis_draft *d, const char *path)
{
    if (d->g.validator_count == CODEC_VALIDATORS_MAX) {
        fprintf(stderr, "error: at most %d validators (n = 3f+1: 4, 7, 10, 13 or 16)\n",
                CODEC_VALIDATORS_MAX);
        return TC_EXIT_USAGE;
    }
    codec_validator *v = &d->g.validators[d->g.validator_count];
    tcrypto_err rc = tcrypto_read_public_key(path, &v->key);
    if (rc != TCRYPTO_OK) {
        fprintf(stderr, "error: --validator %s: %s\n", path, tcrypto_strerror(rc));
        return TC_EXIT_INPUT;
    }
    name_from_path(path, &v->name);
    d->g.validator_count++;
    return TC_EXIT_OK;
}

static int add_authority_arg(genesis_draft *d, const char *arg)
{
    char role[64] = "", site[64] = "";
    const char *eq = strchr(arg, '=');
    const char *at = strchr(arg, '@');
    if (!eq || (size_t)(eq - arg) >= sizeof role || d->g.authority_count == CODEC_AUTHORITIES_MAX) {
        fprintf(stderr, "error: --authority wants ROLE[@SITE]=FILE.pub, got '%s'\n", arg);
        return TC_EXIT_USAGE;
    }
    size_t role_len = (size_t)((at && at < eq ? at : eq) - arg);
    memcpy(role, arg, role_len);
    if (at && at < eq) snprintf(site, sizeof site, "%.*s", (int)(eq - at - 1), at + 1);
    codec_authority *a = &d->g.authorities[d->g.authority_count];
    a->role = (uint8_t)codec_role_parse(role);
    if (a->role == 0 || a->role == ROLE_PARTICIPANT || strlen(site) > CODEC_NAME_MAX
        || (a->role == ROLE_INVESTIGATOR) != (site[0] != '\0')) {
        fprintf(stderr, "error: --authority '%s': role must be sponsor, regulator, researcher, "
                        "auditor or investigator@SITE\n", arg);
        return TC_EXIT_USAGE;
    }
    memcpy(a->site.text, site, strlen(site) + 1); /* length checked above */
    tcrypto_err rc = tcrypto_read_public_key(eq + 1, &a->key);
    if (rc != TCRYPTO_OK) {
        fprintf(stderr, "error: --authority %s: %s\n", eq + 1, tcrypto_strerror(rc));
        return TC_EXIT_INPUT;
    }
    name_from_path(eq + 1, &a->name);
    d->g.authority_count++;
    return TC_EXIT_OK;
}

static int add_contract_arg(genesis_draft *d, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || (size_t)(eq - arg) > CODEC_NAME_MAX
        || d->g.contract_count == CODEC_CONTRACTS_MAX) {
        fprintf(stderr, "error: --contract wants NAME=FILE.cvm, got '%s'\n", arg);
        return TC_EXIT_USAGE;
    }
    uint32_t i = d->g.contract_count;
    codec_contract *c = &d->g.contracts[i];
    snprintf(c->name.text, sizeof c->name.text, "%.*s", (int)(eq - arg), arg);
    size_t len;
    if (util_read_file(eq + 1, CODEC_BYTECODE_MAX, &d->bytecode[i], &len) != 0) {
        return TC_EXIT_INPUT;
    }
    c->version = 1;
    c->bytecode = d->bytecode[i];
    c->bytecode_len = (uint32_t)len;
    d->g.contract_count++;
    return TC_EXIT_OK;
}

int genesis_write_file(const codec_genesis *g, const char *out_path)
{
    if (g->validator_count < 4 || (g->validator_count - 1) % 3 != 0) {
        fprintf(stderr, "error: need n = 3f+1 validators (4, 7, 10, 13 or 16), got %u\n",
                g->validator_count);
        return TC_EXIT_USAGE;
    }
    size_t cap = GENESIS_FILE_MAX;
    uint8_t *buf = malloc(cap);
    if (!buf) return TC_EXIT_INTERNAL;
    codec_buf b = codec_buf_make(buf, cap);
    int rc = TC_EXIT_INTERNAL;
    codec_genesis *check = malloc(sizeof *check);
    codec_error err;
    char why[300];
    if (!check) {
        free(buf);
        return TC_EXIT_INTERNAL;
    }
    if (codec_genesis_encode(g, &b) != CODEC_OK) {
        fprintf(stderr, "error: the genesis could not be encoded\n");
    } else if (codec_genesis_decode(b.data, b.len, check, &err) != CODEC_OK) {
        /* a rule or a requirement out of its bounds: the field is named */
        fprintf(stderr, "error: the genesis would be refused: %s\n",
                codec_error_format(&err, why, sizeof why));
        rc = TC_EXIT_USAGE;
    } else if (util_write_file(out_path, b.data, b.len) == 0) {
        hash32 chain_id;
        tcrypto_sha256(b.data, b.len, &chain_id);
        print_hex("chain id ", &chain_id);
        rc = TC_EXIT_OK;
    } else {
        fprintf(stderr, "error: the genesis could not be written\n");
    }
    free(check);
    free(buf);
    return rc;
}

static int genesis_option(genesis_draft *d, int c, const char *arg)
{
    switch (c) {
    case 'n': snprintf(d->g.chain_name, sizeof d->g.chain_name, "%s", arg); return 0;
    case 'v': return add_validator(d, arg);
    case 'a': return add_authority_arg(d, arg);
    case 'c': return add_contract_arg(d, arg);
    case 't': return util_parse_u64("--created-ms", arg, 0, UINT64_MAX, &d->g.created_ms) ? 2 : 0;
    }
    return genesis_rule_option(&d->g.rules, c, arg);
}

static const struct option GENESIS_OPTIONS[] = {
    {"help", no_argument, 0, 'h'},         {"out", required_argument, 0, 'o'},
    {"chain-name", required_argument, 0, 'n'}, {"validator", required_argument, 0, 'v'},
    {"authority", required_argument, 0, 'a'},  {"contract", required_argument, 0, 'c'},
    {"created-ms", required_argument, 0, 't'}, GENESIS_RULE_OPTIONS, {0, 0, 0, 0}};

/* trialctl genesis show FILE */
static int genesis_show(int argc, char **argv)
{
    if (argc != 2) return usage_error(GENESIS_USAGE);
    uint8_t *bytes;
    size_t len;
    codec_genesis *g;
    int rc = load_genesis(argv[1], &bytes, &len, &g);
    if (rc != TC_EXIT_OK) return rc;
    hash32 chain_id;
    tcrypto_sha256(bytes, len, &chain_id);
    genesis_print(g, &chain_id, stdout);
    free(g);
    free(bytes);
    return TC_EXIT_OK;
}

/* trialctl genesis upgrade OLD NEW [rule options] */
static int genesis_upgrade(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, 0, 'h'}, GENESIS_RULE_OPTIONS,
                                         {0, 0, 0, 0}};
    genesis_draft *d = calloc(1, sizeof *d);
    uint8_t *old = NULL;
    size_t len;
    int rc = TC_EXIT_OK;
    if (!d) return TC_EXIT_INTERNAL;
    codec_rules given = {0}; /* the options, applied over what the old genesis gives */
    getopt_reset();
    for (int c; rc == TC_EXIT_OK && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        if (c == 'h') {
            printf("%s", GENESIS_USAGE);
            goto done;
        }
        rc = c == '?' ? usage_error(GENESIS_USAGE) : genesis_rule_option(&given, c, optarg);
    }
    if (rc == TC_EXIT_OK && optind != argc - 2) rc = usage_error(GENESIS_USAGE);
    if (rc == TC_EXIT_OK && util_read_file(argv[optind], GENESIS_FILE_MAX, &old, &len) != 0) {
        rc = TC_EXIT_INPUT;
    }
    codec_error err;
    char why[300];
    if (rc == TC_EXIT_OK && codec_genesis_decode_old(old, len, &d->g, &err) != CODEC_OK) {
        fprintf(stderr, "error: %s is not a version 1 or 2 genesis: %s\n", argv[optind],
                codec_error_format(&err, why, sizeof why));
        rc = TC_EXIT_INPUT;
    }
    if (rc == TC_EXIT_OK) {
        genesis_rules_merge(&d->g.rules, &given);
        hash32 old_id;
        tcrypto_sha256(old, len, &old_id);
        print_hex("old chain id ", &old_id);
        rc = genesis_write_file(&d->g, argv[optind + 1]);
        if (rc == TC_EXIT_OK) {
            printf("%s: version 3 genesis of a NEW chain (the chain id changed): start its "
                   "validators on empty data directories\n", argv[optind + 1]);
        }
    }
done:
    free(old);
    free(d);
    return rc;
}

int cmd_genesis(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "show") == 0) return genesis_show(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "upgrade") == 0) return genesis_upgrade(argc - 1, argv + 1);
    genesis_draft *d = calloc(1, sizeof *d);
    if (!d) return TC_EXIT_INTERNAL;
    d->g.created_ms = (uint64_t)time(NULL) * 1000;
    codec_rules_default(&d->g.rules);
    codec_governance_default(d->g.governance);
    const char *out = NULL;
    int rc = TC_EXIT_OK;
    getopt_reset();
    for (int c; rc == TC_EXIT_OK
                && (c = getopt_long(argc, argv, "ho:", GENESIS_OPTIONS, NULL)) != -1;) {
        if (c == 'h') {
            printf("%s", GENESIS_USAGE);
            goto done;
        }
        if (c == 'o') out = optarg;
        else if (c == '?') rc = usage_error(GENESIS_USAGE);
        else rc = genesis_option(d, c, optarg);
    }
    if (rc == TC_EXIT_OK && (!out || !d->g.chain_name[0] || optind != argc)) {
        rc = usage_error(GENESIS_USAGE);
    }
    if (rc == TC_EXIT_OK) rc = genesis_write_file(&d->g, out);
done:
    for (uint32_t i = 0; i < d->g.contract_count; i++) free(d->bytecode[i]);
    free(d);
    return rc;
}

/* ---- sample ------------------------------------------------------------------------- */

static const char SAMPLE_USAGE[] =
    "usage: trialctl sample --genesis FILE --keys DIR --data DIR [--blocks N] [--txs N]\n"
    "                       [--uncertified N]\n"
    "  Appends N blocks (default 10) of N sample txs (default 20) to the ledger in\n"
    "  --data, signed with the secret keys found in --keys (matched to the genesis by\n"
    "  public key). Txs are real and signed; contracts are not executed (see\n"
    "  docs/FORMATS.md). --uncertified N: the last N of the blocks get no result\n"
    "  certificate (an uncertified tail, as a node stopped before their checkpoints\n"
    "  completed leaves; for tests of audit and export).\n";

/* Find the secret key in dir whose public key is want. */
static bool find_key(const char *dir, const pubkey *want, keypair *out)
{
    DIR *d = opendir(dir);
    if (!d) return false;
    bool found = false;
    for (struct dirent *e; !found && (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".key") != 0) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        keypair kp;
        if (tcrypto_read_secret_key(path, &kp) == TCRYPTO_OK
            && memcmp(kp.public_key.bytes, want->bytes, 32) == 0) {
            *out = kp;
            found = true;
        }
    }
    closedir(d);
    return found;
}

static const codec_authority *nth_role(const codec_genesis *g, unsigned role, unsigned nth)
{
    for (uint32_t i = 0; i < g->authority_count; i++) {
        if (g->authorities[i].role == role && nth-- == 0) return &g->authorities[i];
    }
    return NULL;
}

static int gather_keys(const codec_genesis *g, const char *dir, sample_keys *keys)
{
    keys->validator_count = g->validator_count;
    for (uint32_t i = 0; i < g->validator_count; i++) {
        if (!find_key(dir, &g->validators[i].key, &keys->validators[i])) {
            fprintf(stderr, "error: no secret key in %s for validator %s\n", dir,
                    g->validators[i].name.text);
            return TC_EXIT_INPUT;
        }
    }
    const codec_authority *sponsor = nth_role(g, ROLE_SPONSOR, 0);
    const codec_authority *inv_a = nth_role(g, ROLE_INVESTIGATOR, 0);
    const codec_authority *inv_b = nth_role(g, ROLE_INVESTIGATOR, 1);
    const codec_authority *reg = nth_role(g, ROLE_REGULATOR, 0);
    if (!inv_b) inv_b = inv_a;
    if (!sponsor || !inv_a || !reg || !find_key(dir, &sponsor->key, &keys->sponsor)
        || !find_key(dir, &inv_a->key, &keys->investigators[0])
        || !find_key(dir, &inv_b->key, &keys->investigators[1])
        || !find_key(dir, &reg->key, &keys->regulator)) {
        fprintf(stderr, "error: the genesis needs a sponsor, an investigator and a regulator "
                        "whose secret keys are in %s\n", dir);
        return TC_EXIT_INPUT;
    }
    return TC_EXIT_OK;
}

/* Print the head and the id of the newest tx (for proofs and receipts). */
static void print_last_tx(ledger *l, const char *data)
{
    ledger_summary head;
    ledger_head(l, &head);
    printf("ledger %s: height %llu, %llu txs\n", data, (unsigned long long)head.height,
           (unsigned long long)head.log_size);
    uint8_t *block;
    size_t len;
    static codec_span txs[CODEC_BLOCK_TXS_MAX];
    codec_block b = {.txs = txs};
    if (head.height == 0 || ledger_get_block(l, head.height, &block, &len) != LEDGER_OK) return;
    if (codec_block_decode(block, len, &b, CODEC_BLOCK_TXS_MAX, CODEC_WRITES_MAX, NULL) == CODEC_OK
        && b.tx_count > 0) {
        hash32 id;
        codec_entry_tx_id(&b.txs[b.tx_count - 1], &id);
        print_hex("last tx id ", &id);
    }
    free(block);
}

int cmd_sample(int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, 0, 'h'},           {"genesis", required_argument, 0, 'g'},
        {"keys", required_argument, 0, 'k'},     {"data", required_argument, 0, 'd'},
        {"blocks", required_argument, 0, 'b'},   {"txs", required_argument, 0, 't'},
        {"uncertified", required_argument, 0, 'u'}, {0, 0, 0, 0}};
    const char *genesis_path = NULL, *keys_dir = NULL, *data = NULL;
    uint64_t blocks = 10, txs = 20, uncertified = 0;
    getopt_reset();
    for (int c; (c = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        if (c == 'h') return printf("%s", SAMPLE_USAGE), TC_EXIT_OK;
        if (c == 'g') genesis_path = optarg;
        else if (c == 'k') keys_dir = optarg;
        else if (c == 'd') data = optarg;
        else if (c == 'b' && !util_parse_u64("--blocks", optarg, 1, 1000000, &blocks)) continue;
        else if (c == 't' && !util_parse_u64("--txs", optarg, 0, 4096, &txs)) continue;
        else if (c == 'u' && !util_parse_u64("--uncertified", optarg, 0, 1000000, &uncertified))
            continue;
        else return usage_error(SAMPLE_USAGE);
    }
    if (uncertified > blocks) {
        fprintf(stderr, "error: --uncertified %llu is more than --blocks %llu\n",
                (unsigned long long)uncertified, (unsigned long long)blocks);
        return TC_EXIT_USAGE;
    }
    if (!keys_dir || optind != argc) return usage_error(SAMPLE_USAGE);
    uint8_t *gbytes;
    size_t glen;
    codec_genesis *g;
    int rc = load_genesis(genesis_path, &gbytes, &glen, &g);
    if (rc != TC_EXIT_OK) return rc;
    sample_keys *keys = calloc(1, sizeof *keys);
    ledger *l = NULL;
    if (!keys) rc = TC_EXIT_INTERNAL;
    if (rc == TC_EXIT_OK) rc = gather_keys(g, keys_dir, keys);
    if (rc == TC_EXIT_OK) rc = open_ledger(data, gbytes, glen, LEDGER_OPEN_CREATE, &l);
    char why[300];
    if (rc == TC_EXIT_OK
        && sample_write_blocks_tail(l, keys, blocks, (uint32_t)txs, uncertified, why, sizeof why)) {
        fprintf(stderr, "error: %s\n", why);
        rc = TC_EXIT_INTERNAL;
    }
    if (rc == TC_EXIT_OK) print_last_tx(l, data);
    ledger_close(l);
    free(keys);
    free(g);
    free(gbytes);
    return rc;
}

/* ---- export ----------------------------------------------------------------------------- */

static const char EXPORT_USAGE[] =
    "usage: trialctl export --genesis FILE --data DIR [--include-uncertified] -o FILE\n"
    "       trialctl export --genesis FILE --url URL --key FILE [--timeout-ms MS]\n"
    "                       [--include-uncertified] (-o FILE | FILE)\n"
    "  Writes the blocks and result certificates of the ledger in DIR, or of the running\n"
    "  node at URL (fetched over the client API's BLOCKS), to an export file (format in\n"
    "  docs/FORMATS.md) that `trialctl audit` reads. Over --url the reads are signed by\n"
    "  --key: a validator's, a regulator's or the genesis auditor's key (any other is\n"
    "  refused, exit 1). The export stops at the ledger's last\n"
    "  certified height H (before the first block without a result certificate) and says\n"
    "  how many blocks it left out: blocks after H (the uncertified tail) have receipts and\n"
    "  state writes that no quorum signed. --include-uncertified: every block (`trialctl\n"
    "  audit` then names the tail as NOT verified). Exit 4 if the node does not answer\n"
    "  within the timeout (default 30000 ms, for the whole export).\n";

/* The line that says what an export left out (nothing when it left nothing out). */
static void print_left_out(uint64_t written, uint64_t left_out)
{
    if (left_out == 0) return;
    printf("left out %llu block%s (heights %llu..%llu): height %llu has no result certificate "
           "(--include-uncertified exports them)\n", (unsigned long long)left_out,
           left_out == 1 ? "" : "s", (unsigned long long)written + 1,
           (unsigned long long)(written + left_out), (unsigned long long)written + 1);
}

static int export_ledger(ledger *l, const char *out, bool include_uncertified)
{
    ledger_summary head;
    ledger_head(l, &head);
    uint64_t last = include_uncertified ? head.height : audit_certified_height(l);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", out, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) return fprintf(stderr, "error: cannot create %s\n", tmp), TC_EXIT_INPUT;
    char why[300] = "";
    bool ok = audit_export_heights(l, f, last, why, sizeof why) == 0;
    ok = fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, out) != 0) {
        unlink(tmp);
        fprintf(stderr, "error: cannot write %s %s\n", out, why);
        return TC_EXIT_INTERNAL;
    }
    printf("exported %llu blocks to %s\n", (unsigned long long)last, out);
    print_left_out(last, head.height - last);
    return TC_EXIT_OK;
}

/* export --url: the node's blocks over the client API (registry/client/trialreg_client.c). */
static int export_remote(const char *url, const char *key_path, const uint8_t *genesis,
                         size_t genesis_len, uint64_t timeout_ms, bool include_uncertified,
                         const char *out)
{
    hash32 chain;
    tcrypto_sha256(genesis, genesis_len, &chain);
    keypair key;
    tcrypto_err kr = tcrypto_read_secret_key(key_path, &key);
    if (kr != TCRYPTO_OK)
        return fprintf(stderr, "error: %s: %s\n", key_path, tcrypto_strerror(kr)), TC_EXIT_INPUT;
    client_export_counts counts;
    char why[300];
    int rc = client_export(url, &key, &chain, (uint32_t)timeout_ms, include_uncertified, out,
                           &counts, why, sizeof why);
    if (rc != 0) {
        fprintf(stderr, "error: %s: %s\n", rc == -2 ? out : url, why);
        return rc == -3 ? TC_EXIT_FAIL : TC_EXIT_INTERNAL;
    }
    printf("exported %llu blocks from %s to %s\n", (unsigned long long)counts.blocks, url, out);
    print_left_out(counts.blocks, counts.left_out);
    return TC_EXIT_OK;
}

enum { OPT_INCLUDE_UNCERTIFIED = 0x100, OPT_ALLOW_TAIL, OPT_JSON, OPT_QUIET, OPT_REEXECUTE };

int cmd_export(int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, 0, 'h'}, {"genesis", required_argument, 0, 'g'},
        {"data", required_argument, 0, 'd'}, {"out", required_argument, 0, 'o'},
        {"url", required_argument, 0, 'u'}, {"timeout-ms", required_argument, 0, 't'},
        {"include-uncertified", no_argument, 0, OPT_INCLUDE_UNCERTIFIED},
        {"key", required_argument, 0, 'k'}, {0, 0, 0, 0}};
    const char *genesis_path = NULL, *data = NULL, *out = NULL, *url = NULL, *key = NULL;
    uint64_t timeout_ms = CLIENT_TIMEOUT_DEFAULT_MS;
    bool include_uncertified = false;
    getopt_reset();
    for (int c; (c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1;) {
        if (c == 'h') return printf("%s", EXPORT_USAGE), TC_EXIT_OK;
        if (c == 'g') genesis_path = optarg;
        else if (c == 'd') data = optarg;
        else if (c == 'o') out = optarg;
        else if (c == 'u') url = optarg;
        else if (c == 'k') key = optarg;
        else if (c == OPT_INCLUDE_UNCERTIFIED) include_uncertified = true;
        else if (c == 't') {
            if (util_parse_u64("--timeout-ms", optarg, 1, 3600000, &timeout_ms) != 0)
                return usage_error(EXPORT_USAGE);
        } else return usage_error(EXPORT_USAGE);
    }
    if (!out && url && optind == argc - 1) out = argv[optind++];
    if (!out || optind != argc || (url && data) || (!url && !data)) return usage_error(EXPORT_USAGE);
    if (url && !key) {
        fprintf(stderr, "error: export --url reads are signed: give --key (a validator's, a "
                "regulator's or the auditor's key)\n");
        return usage_error(EXPORT_USAGE);
    }
    if (key && !url) return usage_error(EXPORT_USAGE);
    uint8_t *gbytes;
    size_t glen;
    int rc = load_genesis(genesis_path, &gbytes, &glen, NULL);
    if (rc != TC_EXIT_OK) return rc;
    if (url) {
        rc = export_remote(url, key, gbytes, glen, timeout_ms, include_uncertified, out);
        free(gbytes);
        return rc;
    }
    ledger *l = NULL;
    rc = open_ledger(data, gbytes, glen, LEDGER_OPEN_EXISTING, &l);
    if (rc == TC_EXIT_OK) rc = export_ledger(l, out, include_uncertified);
    ledger_close(l);
    free(gbytes);
    return rc;
}

/* ---- audit -------------------------------------------------------------------------------- */

static const char AUDIT_USAGE[] =
    "usage: trialctl audit --genesis FILE [--threads N] [--json] [--quiet] [--reexecute]\n"
    "                      [--allow-uncertified-tail] DIR|FILE\n"
    "  Verifies a whole ledger offline, from a stopped node's data directory or an\n"
    "  export file: hash links, tx signatures and co-signatures, Merkle roots, log\n"
    "  roots, commit and result certificates against the genesis validators.\n"
    "  --reexecute  also runs every block again through the contracts, from the genesis\n"
    "            alone (an empty state, its bytecode and rules, then the deploys as they\n"
    "            were committed), in a scratch ledger under $TMPDIR (removed after), and\n"
    "            compares every receipt, the state writes and the state hash: results a\n"
    "            colluding quorum certified wrongly fail, naming height, tx and field\n"
    "  Blocks after the last result certificate (heights H+1..N: the uncertified tail of a\n"
    "  node stopped before their checkpoints completed) have receipts and state writes that\n"
    "  no quorum signed; they are reported as NOT verified, never OK:\n"
    "    audit: heights 1..H certified and verified; heights H+1..N have no result\n"
    "    certificate: NOT verified\n"
    "  --json    the verdict as one JSON object (docs/FORMATS.md 8): verdict (ok,\n"
    "            uncertified_tail, failed), certified_height, uncertified_from and _to,\n"
    "            blocks, txs, signatures, seconds, head, certified_head, failure\n"
    "            {height, tx, reason}\n"
    "  --allow-uncertified-tail   exit 0 on a tail (the verdict still says NOT verified)\n"
    "  --quiet   no progress bar (on stderr, when it is a terminal, after a second)\n"
    "  Exit codes: 0 every block verified and certified (with --allow-uncertified-tail:\n"
    "  heights 1..H verified, a tail named); 1 a failure (height, tx and reason of the\n"
    "  first) or an uncertified tail; 2 bad command line; 3 a missing or unreadable\n"
    "  genesis, data directory or export file; 4 internal error.\n";

typedef struct {
    const uint8_t *genesis;
    size_t genesis_len;
    audit_options options;
    bool quiet;
} audit_request;

/* Run the audit over src (total_blocks: 0 if unknown), with the certificate watch and the
 * progress bar around it. */
static void run_audit(const audit_request *req, const audit_source *src, uint64_t total_blocks,
                      audit_outcome *o)
{
    audit_cert_watch watch;
    audit_source watched;
    audit_cert_watch_source(&watch, src, o, &watched);
    audit_bar bar;
    audit_bar_init(&bar, stderr, !req->quiet, total_blocks);
    audit_options opt = req->options;
    opt.progress = audit_bar_update;
    opt.progress_ctx = &bar;
    char scratch[4096] = "";
    if (opt.reexecute) {
        const char *tmp = getenv("TMPDIR");
        snprintf(scratch, sizeof scratch, "%s/trialreg-reexecute-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(scratch)) {
            o->failure.tx_index = -1;
            snprintf(o->failure.reason, sizeof o->failure.reason,
                     "cannot make a scratch directory for re-execution in %.200s", scratch);
            audit_bar_finish(&bar);
            return;
        }
        opt.scratch_dir = scratch;
    }
    o->ok = audit_run_with(req->genesis, req->genesis_len, &watched, &opt, &o->summary,
                           &o->failure);
    o->reexecuted = opt.reexecute;
    if (scratch[0]) util_remove_tree(scratch);
    audit_bar_finish(&bar);
}

static int audit_store(const audit_request *req, const char *path, audit_outcome *o)
{
    ledger *l;
    int rc = open_ledger(path, req->genesis, req->genesis_len, LEDGER_OPEN_EXISTING, &l);
    if (rc != TC_EXIT_OK) return rc;
    ledger_summary head;
    ledger_head(l, &head);
    audit_ledger_cursor cursor;
    audit_source src;
    audit_ledger_source(&cursor, l, &src);
    run_audit(req, &src, head.height, o);
    audit_ledger_cursor_done(&cursor);
    ledger_close(l);
    return TC_EXIT_OK;
}

static int audit_export_file(const audit_request *req, const char *path, audit_outcome *o)
{
    audit_file *file;
    char why[300];
    if (audit_file_open(path, &file, why, sizeof why) != 0) {
        return fprintf(stderr, "error: %s\n", why), TC_EXIT_INPUT;
    }
    hash32 chain_id;
    tcrypto_sha256(req->genesis, req->genesis_len, &chain_id);
    if (memcmp(chain_id.bytes, audit_file_chain_id(file)->bytes, 32) != 0) {
        audit_file_close(file);
        o->ok = false;
        o->failure.tx_index = -1;
        snprintf(o->failure.reason, sizeof o->failure.reason,
                 "the export belongs to another chain (chain id differs)");
        return TC_EXIT_OK;
    }
    audit_source src;
    audit_file_source(file, &src);
    run_audit(req, &src, audit_file_block_count(file), o);
    audit_file_close(file);
    return TC_EXIT_OK;
}

static int audit_path(const audit_request *req, const char *path, bool json, bool allow_tail)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        return fprintf(stderr, "error: %s does not exist\n", path), TC_EXIT_INPUT;
    }
    audit_outcome *o = calloc(1, sizeof *o);
    if (!o) return TC_EXIT_INTERNAL;
    double t0 = util_now();
    int rc = S_ISDIR(st.st_mode) ? audit_store(req, path, o) : audit_export_file(req, path, o);
    o->seconds = util_now() - t0;
    if (rc == TC_EXIT_OK) {
        if (json) audit_print_json(o);
        else audit_print_text(o);
        rc = audit_exit_code(o, allow_tail);
    }
    free(o);
    return rc;
}

int cmd_audit(int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, 0, 'h'},
        {"genesis", required_argument, 0, 'g'},
        {"threads", required_argument, 0, 't'},
        {"json", no_argument, 0, OPT_JSON},
        {"quiet", no_argument, 0, OPT_QUIET},
        {"allow-uncertified-tail", no_argument, 0, OPT_ALLOW_TAIL},
        {"reexecute", no_argument, 0, OPT_REEXECUTE},
        {0, 0, 0, 0}};
    const char *genesis_path = NULL;
    uint64_t threads = 0;
    bool json = false, allow_tail = false;
    audit_request req = {0};
    getopt_reset();
    for (int c; (c = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        if (c == 'h') return printf("%s", AUDIT_USAGE), TC_EXIT_OK;
        if (c == 'g') genesis_path = optarg;
        else if (c == OPT_JSON) json = true;
        else if (c == OPT_QUIET) req.quiet = true;
        else if (c == OPT_ALLOW_TAIL) allow_tail = true;
        else if (c == OPT_REEXECUTE) req.options.reexecute = true;
        else if (c == 't' && !util_parse_u64("--threads", optarg, 1, 64, &threads)) continue;
        else return usage_error(AUDIT_USAGE);
    }
    if (optind != argc - 1) return usage_error(AUDIT_USAGE);
    uint8_t *gbytes;
    size_t glen;
    int rc = load_genesis(genesis_path, &gbytes, &glen, NULL);
    if (rc != TC_EXIT_OK) return rc;
    req.genesis = gbytes;
    req.genesis_len = glen;
    req.options.threads = (unsigned)threads;
    rc = audit_path(&req, argv[optind], json, allow_tail);
    free(gbytes);
    return rc;
}

/* ---- proof / verify-proof ------------------------------------------------------------------ */

static const char PROOF_USAGE[] =
    "usage: trialctl proof --genesis FILE --data DIR --tx TXID -o FILE\n"
    "       trialctl proof --genesis FILE --data DIR --from HEIGHT --to HEIGHT -o FILE\n"
    "  Writes an inclusion proof of a tx (anchored at the block that committed it, which\n"
    "  must be certified) or a consistency proof between the logs of two certified blocks\n"
    "  (--from below --to).\n";

/* The validator-set changes the proof's height needs (FORMATS.md 6.4), from the executor's
 * history of the store. */
static int attach_changes(ledger *l, codec_buf *proof, char *why, size_t why_cap)
{
    exec *e;
    exec_error err;
    if (exec_open(l, NULL, &e, &err) != EXEC_OK) {
        snprintf(why, why_cap, "the executor does not open: %s", err.message);
        return -1;
    }
    int rc = proof_attach_changes(l, exec_history(e), proof, why, why_cap);
    exec_close(e);
    return rc;
}

static int make_proof(ledger *l, const char *tx_hex, uint64_t from, uint64_t to,
                      const char *out)
{
    uint8_t *buf = malloc(PROOF_FILE_MAX);
    if (!buf) return TC_EXIT_INTERNAL;
    codec_buf b = codec_buf_make(buf, PROOF_FILE_MAX);
    char why[300];
    int rc;
    hash32 tx_id;
    if (tx_hex && !tcrypto_from_hex(tx_hex, strlen(tx_hex), tx_id.bytes, 32)) {
        fprintf(stderr, "error: --tx wants 64 hex characters\n");
        rc = TC_EXIT_USAGE;
    } else if ((tx_hex ? proof_make_inclusion(l, &tx_id, &b, why, sizeof why)
                       : proof_make_consistency(l, from, to, &b, why, sizeof why)) != 0
               || attach_changes(l, &b, why, sizeof why) != 0) {
        fprintf(stderr, "error: %s\n", why);
        rc = TC_EXIT_FAIL;
    } else {
        rc = util_write_file(out, b.data, b.len) == 0 ? TC_EXIT_OK : TC_EXIT_INTERNAL;
        if (rc == TC_EXIT_OK) printf("wrote %s (%zu bytes)\n", out, b.len);
    }
    free(buf);
    return rc;
}

int cmd_proof(int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, 0, 'h'},         {"genesis", required_argument, 0, 'g'},
        {"data", required_argument, 0, 'd'},   {"tx", required_argument, 0, 'x'},
        {"from", required_argument, 0, 'f'},   {"to", required_argument, 0, 't'},
        {"out", required_argument, 0, 'o'},    {0, 0, 0, 0}};
    const char *genesis_path = NULL, *data = NULL, *tx = NULL, *out = NULL;
    uint64_t from = 0, to = 0;
    getopt_reset();
    for (int c; (c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1;) {
        if (c == 'h') return printf("%s", PROOF_USAGE), TC_EXIT_OK;
        if (c == 'g') genesis_path = optarg;
        else if (c == 'd') data = optarg;
        else if (c == 'x') tx = optarg;
        else if (c == 'o') out = optarg;
        else if (c == 'f' && !util_parse_u64("--from", optarg, 1, UINT64_MAX, &from)) continue;
        else if (c == 't' && !util_parse_u64("--to", optarg, 1, UINT64_MAX, &to)) continue;
        else return usage_error(PROOF_USAGE);
    }
    if (!out || optind != argc || (tx != NULL) == (from != 0 || to != 0)
        || (!tx && (from == 0 || to == 0))) {
        return usage_error(PROOF_USAGE);
    }
    uint8_t *gbytes;
    size_t glen;
    int rc = load_genesis(genesis_path, &gbytes, &glen, NULL);
    if (rc != TC_EXIT_OK) return rc;
    ledger *l = NULL;
    rc = open_ledger(data, gbytes, glen, LEDGER_OPEN_EXISTING, &l);
    if (rc == TC_EXIT_OK) rc = make_proof(l, tx, from, to, out);
    ledger_close(l);
    free(gbytes);
    return rc;
}

static const char VERIFY_PROOF_USAGE[] =
    "usage: trialctl verify-proof --genesis FILE PROOF\n"
    "  Checks a proof with the genesis alone. Exit 0 if it holds, 1 if not.\n";

int cmd_verify_proof(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, 0, 'h'},
                                         {"genesis", required_argument, 0, 'g'},
                                         {0, 0, 0, 0}};
    const char *genesis_path = NULL;
    getopt_reset();
    for (int c; (c = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        if (c == 'h') return printf("%s", VERIFY_PROOF_USAGE), TC_EXIT_OK;
        if (c == 'g') genesis_path = optarg;
        else return usage_error(VERIFY_PROOF_USAGE);
    }
    if (optind != argc - 1) return usage_error(VERIFY_PROOF_USAGE);
    uint8_t *gbytes, *proof = NULL;
    size_t glen, plen;
    int rc = load_genesis(genesis_path, &gbytes, &glen, NULL);
    if (rc != TC_EXIT_OK) return rc;
    if (util_read_file(argv[optind], PROOF_FILE_MAX, &proof, &plen) != 0) {
        rc = TC_EXIT_INPUT;
    } else {
        char why[300];
        bool ok = proof_verify(gbytes, glen, proof, plen, why, sizeof why);
        if (ok) printf("proof OK: %s\n", argv[optind]);
        else printf("proof INVALID: %s\n", why);
        rc = ok ? TC_EXIT_OK : TC_EXIT_FAIL;
    }
    free(proof);
    free(gbytes);
    return rc;
}
