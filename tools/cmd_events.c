/*
 * cmd_events.c - trialctl commands that sign a trial event for one role, submit it to a
 * running node and wait for its certified receipt (register, amend, approve, activate,
 * enrol, consent grant|withdraw, anchor, access request, outcomes), and the receipt
 * commands (receipt, verify-receipt). Methods and argument shapes: contracts/ABI.md.
 *
 * Exit codes: 0 the receipt says ok; 1 the contract or the executor refused the tx (the
 * reason is printed) or a receipt does not verify; 2 usage; 3 an input file (key, genesis,
 * document) is missing or malformed; 4 the node is unreachable or no receipt came in time.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trialreg_client.h"
#include "commands.h"
#include "executor.h"
#include "proof.h"

#define OPTS_MAX 48

static const char COMMON_USAGE[] =
    "  common: --url URL (a node's client API) --genesis FILE (the chain) --key FILE (the\n"
    "  signer's secret key) [--nonce N] [--valid-for-ms MS | --valid-until MS]\n"
    "  [--timeout-ms MS (default 30000)] [--receipt-out FILE] [--cosign MEANING=KEYFILE]...\n"
    "  --cosign: a co-signature by that secret key (up to 20 in all), MEANING one of author,\n"
    "  approval, review, witness, responsibility (governance counts approval co-signers).\n"
    "  Nonce: random (64 bits) unless --nonce N; nothing is kept between runs. The tx is\n"
    "  valid until now + --valid-for-ms (default 600000, 10 minutes; the chain takes at most\n"
    "  3600000) or until --valid-until (UTC ms); after that no node commits it, and the\n"
    "  chain never commits one (signer, nonce) twice. A hash is HEX (64 hex digits) or\n"
    "  --*-file FILE (SHA-256 of the file: the document itself never goes to the ledger).\n"
    "  Prints the tx id, height and status; exit 0 ok, 1 refused (reason printed), 2 usage,\n"
    "  3 bad input file, 4 node unreachable or no receipt within the timeout.\n";

/* ---- options ---------------------------------------------------------------------------- */

typedef struct {
    const char *name[OPTS_MAX];
    const char *value[OPTS_MAX];
    int count;
    const char *positional[4];
    int positional_count;
    bool help;
} opts;

/* Parse "--name value" pairs; names must appear in allowed (space separated). */
static int opts_parse(int argc, char **argv, const char *allowed, opts *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            o->help = true;
            continue;
        }
        if (strncmp(a, "--", 2) != 0) {
            if (o->positional_count == 4) return fprintf(stderr, "error: too many arguments\n"), -1;
            o->positional[o->positional_count++] = a;
            continue;
        }
        const char *name = a + 2;
        size_t n = strlen(name);
        const char *p = allowed;
        bool known = false;
        while (p && *p && !known) {
            const char *sp = strchr(p, ' ');
            size_t len = sp ? (size_t)(sp - p) : strlen(p);
            known = len == n && strncmp(p, name, n) == 0;
            p = sp ? sp + 1 : NULL;
        }
        if (!known) return fprintf(stderr, "error: unknown option %s\n", a), -1;
        if (i + 1 >= argc) return fprintf(stderr, "error: %s needs a value\n", a), -1;
        if (o->count == OPTS_MAX) return fprintf(stderr, "error: too many options\n"), -1;
        o->name[o->count] = name;
        o->value[o->count++] = argv[++i];
    }
    return 0;
}

/* The value of a single-valued option, or NULL. Repeating it is a usage error (*bad). */
static const char *opt(const opts *o, const char *name, bool *bad)
{
    const char *v = NULL;
    for (int i = 0; i < o->count; i++) {
        if (strcmp(o->name[i], name) != 0) continue;
        if (v) {
            fprintf(stderr, "error: --%s given twice\n", name);
            *bad = true;
        }
        v = o->value[i];
    }
    return v;
}

static const char *need(const opts *o, const char *name, bool *bad)
{
    const char *v = opt(o, name, bad);
    if (!v && !*bad) {
        fprintf(stderr, "error: --%s is required\n", name);
        *bad = true;
    }
    return v;
}

/* ---- argument values --------------------------------------------------------------------- */

typedef enum { ARG_OK = 0, ARG_USAGE = TC_EXIT_USAGE, ARG_INPUT = TC_EXIT_INPUT } arg_rc;

static arg_rc parse_hex32(const char *opt_name, const char *text, hash32 *out)
{
    if (strlen(text) != 64 || !tcrypto_from_hex(text, 64, out->bytes, 32)) {
        fprintf(stderr, "error: --%s wants 64 hex digits (a SHA-256 hash), got '%s'\n", opt_name,
                text);
        return ARG_USAGE;
    }
    return ARG_OK;
}

static arg_rc hash_file(const char *path, hash32 *out, uint64_t *size)
{
    uint8_t *data = NULL;
    size_t len = 0;
    if (util_read_file(path, (size_t)1 << 40, &data, &len) != 0) return ARG_INPUT;
    tcrypto_sha256(data, len, out);
    if (size) *size = len;
    free(data);
    return ARG_OK;
}

/* Hashes named by --NAME HEX and --NAME-file FILE, in command-line order. */
static arg_rc collect_hashes(const opts *o, const char *name, hash32 *out, uint32_t min,
                             uint32_t max, uint32_t *count)
{
    char file_name[64];
    snprintf(file_name, sizeof file_name, "%s-file", name);
    *count = 0;
    for (int i = 0; i < o->count; i++) {
        bool hex = strcmp(o->name[i], name) == 0, file = strcmp(o->name[i], file_name) == 0;
        if (!hex && !file) continue;
        if (*count == max) {
            fprintf(stderr, "error: at most %u --%s hashes\n", max, name);
            return ARG_USAGE;
        }
        arg_rc rc = hex ? parse_hex32(name, o->value[i], &out[*count])
                        : hash_file(o->value[i], &out[*count], NULL);
        if (rc != ARG_OK) return rc;
        (*count)++;
    }
    if (*count < min) {
        fprintf(stderr, "error: give at least %u --%s HEX or --%s FILE\n", min, name, file_name);
        return ARG_USAGE;
    }
    return ARG_OK;
}

static arg_rc parse_int(const char *name, const char *text, uint64_t min, uint64_t max,
                        int64_t *out)
{
    uint64_t v;
    char label[64];
    snprintf(label, sizeof label, "--%s", name);
    if (util_parse_u64(label, text, min, max, &v) != 0) return ARG_USAGE;
    *out = (int64_t)v;
    return ARG_OK;
}

static const char *const SCOPE_NAMES[] = {"main", "follow-up", "future-research", "genetic",
                                          "data-sharing"};

/* "main,follow-up" or a number 1..31; one = exactly one scope. */
static arg_rc parse_scopes(const char *name, const char *text, bool one, int64_t *out)
{
    if (text[0] >= '0' && text[0] <= '9') {
        if (parse_int(name, text, 1, 31, out) != ARG_OK) return ARG_USAGE;
    } else {
        *out = 0;
        char buf[128];
        snprintf(buf, sizeof buf, "%s", text);
        for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            int bit = -1;
            for (int i = 0; i < 5; i++) {
                if (strcmp(t, SCOPE_NAMES[i]) == 0) bit = i;
            }
            if (bit < 0) {
                fprintf(stderr, "error: --%s: unknown scope '%s' (main, follow-up, "
                                "future-research, genetic, data-sharing)\n", name, t);
                return ARG_USAGE;
            }
            *out |= (int64_t)1 << bit;
        }
    }
    if (*out == 0 || (one && (*out & (*out - 1)) != 0)) {
        fprintf(stderr, "error: --%s must name %s scope\n", name,
                one ? "exactly one" : "at least one");
        return ARG_USAGE;
    }
    return ARG_OK;
}

/* A participant key: 64 hex digits or a public key file. */
static arg_rc parse_pubkey(const char *name, const char *text, pubkey *out)
{
    if (strlen(text) == 64 && tcrypto_from_hex(text, 64, out->bytes, 32)) return ARG_OK;
    tcrypto_err rc = tcrypto_read_public_key(text, out);
    if (rc != TCRYPTO_OK) {
        fprintf(stderr, "error: --%s %s: not 64 hex digits, and as a public key file: %s\n", name,
                text, tcrypto_strerror(rc));
        return ARG_INPUT;
    }
    return ARG_OK;
}

static arg_rc check_code(const char *name, const char *text)
{
    size_t n = strlen(text);
    if (n < 1 || n > 32) {
        fprintf(stderr, "error: --%s must be 1..32 bytes, got %zu\n", name, n);
        return ARG_USAGE;
    }
    return ARG_OK;
}

/* ---- the event being built ------------------------------------------------------------ */

typedef struct {
    const char *contract, *method;
    codec_value args[CODEC_ARGS_MAX];
    uint32_t nargs;
    /* co-signers: key files and meanings (consent grant's --witness-key, --cosign) */
    const char *cosign_key[CODEC_COSIGS_MAX];
    unsigned cosign_meaning[CODEC_COSIGS_MAX];
    uint32_t ncosign;
    /* storage the args point into */
    hash32 doc, hashes[2][16], forms[4];
    pubkey participant, new_key;
    uint8_t sites[8 * 33];
    const char *trial;
    uint8_t *module; /* governance deploy: the module's bytes (malloc'd) */
    pubkey key; /* governance add|revoke|rotate: the key the args point into (and new_key) */
    char site[CODEC_NAME_MAX + 1], name[CODEC_NAME_MAX + 1];
    uint8_t valset[CODEC_ARG_BYTES_MAX]; /* governance validators: the new set, encoded */
} event;

static arg_rc add_cosigner(event *e, const char *key_file, unsigned meaning)
{
    if (e->ncosign == CODEC_COSIGS_MAX) {
        fprintf(stderr, "error: at most %d co-signers\n", CODEC_COSIGS_MAX);
        return ARG_USAGE;
    }
    e->cosign_key[e->ncosign] = key_file;
    e->cosign_meaning[e->ncosign++] = meaning;
    return ARG_OK;
}

static const char *const MEANING_NAMES[] = {"author", "approval", "review", "witness",
                                            "responsibility"};

/* Every --cosign MEANING=KEYFILE, in command-line order. */
static arg_rc add_cosign_options(event *e, const opts *o)
{
    for (int i = 0; i < o->count; i++) {
        if (strcmp(o->name[i], "cosign") != 0) continue;
        const char *v = o->value[i], *eq = strchr(v, '=');
        unsigned meaning = 0;
        for (unsigned m = 0; eq && m < MEANING_MAX_; m++) {
            size_t n = strlen(MEANING_NAMES[m]);
            if ((size_t)(eq - v) == n && strncmp(v, MEANING_NAMES[m], n) == 0) meaning = m + 1;
        }
        if (!meaning || !eq[1]) {
            fprintf(stderr, "error: --cosign wants MEANING=KEYFILE (MEANING: author, approval, "
                            "review, witness or responsibility), got '%s'\n", v);
            return ARG_USAGE;
        }
        if (add_cosigner(e, eq + 1, meaning) != ARG_OK) return ARG_USAGE;
    }
    return ARG_OK;
}

static void add_int(event *e, int64_t v)
{
    e->args[e->nargs++] = (codec_value){.kind = CODEC_VALUE_INT, .integer = v};
}
static void add_bytes(event *e, const void *p, size_t len)
{
    e->args[e->nargs++] =
        (codec_value){.kind = CODEC_VALUE_BYTES, .bytes = p, .len = (uint32_t)len};
}

static arg_rc add_trial(event *e, const opts *o, bool *bad)
{
    e->trial = need(o, "trial", bad);
    if (*bad) return ARG_USAGE;
    if (check_code("trial", e->trial) != ARG_OK) return ARG_USAGE;
    add_bytes(e, e->trial, strlen(e->trial));
    return ARG_OK;
}

/* primary (1..4), secondary (0..16) outcome hashes: register, amend and outcomes. */
static arg_rc add_outcomes(event *e, const opts *o)
{
    uint32_t np, ns;
    arg_rc rc = collect_hashes(o, "primary", e->hashes[0], 1, 4, &np);
    if (rc == ARG_OK) rc = collect_hashes(o, "secondary", e->hashes[1], 0, 16, &ns);
    if (rc != ARG_OK) return rc;
    add_bytes(e, e->hashes[0], 32u * np);
    add_bytes(e, e->hashes[1], 32u * ns);
    return ARG_OK;
}

/* doc, primary (1..4), secondary (0..16): the shared part of register and amend. */
static arg_rc add_protocol(event *e, const opts *o)
{
    uint32_t nd;
    arg_rc rc = collect_hashes(o, "doc", &e->doc, 1, 1, &nd);
    if (rc != ARG_OK) return rc;
    add_bytes(e, e->doc.bytes, 32);
    return add_outcomes(e, o);
}

/* The consent forms (1..4) approved with the version: the last argument of register and
 * amend. */
static arg_rc add_forms(event *e, const opts *o)
{
    uint32_t n;
    arg_rc rc = collect_hashes(o, "form", e->forms, 1, 4, &n);
    if (rc == ARG_OK) add_bytes(e, e->forms, 32u * n);
    return rc;
}

static arg_rc build_register(event *e, const opts *o, bool *bad)
{
    int64_t planned;
    if (add_trial(e, o, bad) != ARG_OK) return ARG_USAGE;
    arg_rc rc = add_protocol(e, o);
    const char *p = need(o, "planned", bad);
    if (rc != ARG_OK || *bad) return rc != ARG_OK ? rc : ARG_USAGE;
    if (parse_int("planned", p, 1, 1000000, &planned) != ARG_OK) return ARG_USAGE;
    add_int(e, planned);
    size_t len = 0;
    int sites = 0;
    for (int i = 0; i < o->count; i++) {
        if (strcmp(o->name[i], "site") != 0) continue;
        if (check_code("site", o->value[i]) != ARG_OK || ++sites > 8) {
            if (sites > 8) fprintf(stderr, "error: at most 8 --site\n");
            return ARG_USAGE;
        }
        size_t n = strlen(o->value[i]);
        e->sites[len++] = (uint8_t)n;
        memcpy(e->sites + len, o->value[i], n);
        len += n;
    }
    if (sites == 0) return fprintf(stderr, "error: give at least one --site NAME\n"), ARG_USAGE;
    add_bytes(e, e->sites, len);
    return add_forms(e, o);
}

static arg_rc build_amend(event *e, const opts *o, bool *bad)
{
    if (add_trial(e, o, bad) != ARG_OK) return ARG_USAGE;
    arg_rc rc = add_protocol(e, o);
    const char *r = need(o, "reconsent", bad);
    if (rc != ARG_OK || *bad) return rc != ARG_OK ? rc : ARG_USAGE;
    if (strcmp(r, "yes") != 0 && strcmp(r, "no") != 0) {
        fprintf(stderr, "error: --reconsent wants yes or no\n");
        return ARG_USAGE;
    }
    add_int(e, strcmp(r, "yes") == 0);
    return add_forms(e, o);
}

static arg_rc build_version(event *e, const opts *o, bool *bad)
{
    int64_t v;
    if (add_trial(e, o, bad) != ARG_OK) return ARG_USAGE;
    const char *t = need(o, "version", bad);
    if (*bad || parse_int("version", t, 1, INT64_MAX, &v) != ARG_OK) return ARG_USAGE;
    add_int(e, v);
    return ARG_OK;
}

static arg_rc build_activate(event *e, const opts *o, bool *bad)
{
    if (add_trial(e, o, bad) != ARG_OK) return ARG_USAGE;
    const char *s = need(o, "site", bad);
    if (*bad || check_code("site", s) != ARG_OK) return ARG_USAGE;
    add_bytes(e, s, strlen(s));
    return ARG_OK;
}

static arg_rc build_enrol(event *e, const opts *o, bool *bad)
{
    if (add_trial(e, o, bad) != ARG_OK) return ARG_USAGE;
    const char *p = need(o, "participant", bad);
    if (*bad) return ARG_USAGE;
    arg_rc rc = parse_pubkey("participant", p, &e->participant);
    if (rc == ARG_OK) add_bytes(e, e->participant.bytes, 32);
    return rc;
}

/* --participant (the key it is about) and --regulator-key FILE (co-signs with meaning
 * approval): the shared part of the lost-key flows a site starts (issue 23 item 2). */
static arg_rc add_site_request(event *e, const opts *o, bool *bad)
{
    arg_rc rc = build_enrol(e, o, bad);
    if (rc != ARG_OK) return rc;
    const char *reg = need(o, "regulator-key", bad);
    if (*bad || add_cosigner(e, reg, MEANING_APPROVAL) != ARG_OK) return ARG_USAGE;
    return ARG_OK;
}

/* --request HEX | --request-file FILE: the hash of the participant's documented request,
 * which the site keeps. */
static arg_rc add_request_hash(event *e, const opts *o)
{
    uint32_t n;
    arg_rc rc = collect_hashes(o, "request", &e->doc, 1, 1, &n);
    if (rc == ARG_OK) add_bytes(e, e->doc.bytes, 32);
    return rc;
}

/* consent site-withdraw: trial, participant, scopes, request */
static arg_rc build_site_withdraw(event *e, const opts *o, bool *bad)
{
    int64_t scopes;
    arg_rc rc = add_site_request(e, o, bad);
    if (rc != ARG_OK) return rc;
    const char *s = need(o, "scopes", bad);
    if (*bad || parse_scopes("scopes", s, false, &scopes) != ARG_OK) return ARG_USAGE;
    add_int(e, scopes);
    return add_request_hash(e, o);
}

/* The incoming key (governance add, rotate; consent rebind-request): its secret key file
 * proves possession (it co-signs, with meaning approval). */
static arg_rc governance_new_key(event *e, const char *file)
{
    keypair k;
    tcrypto_err rc = tcrypto_read_secret_key(file, &k);
    if (rc != TCRYPTO_OK) {
        fprintf(stderr, "error: --new-key %s: %s\n", file, tcrypto_strerror(rc));
        return ARG_INPUT;
    }
    e->new_key = k.public_key;
    return add_cosigner(e, file, MEANING_APPROVAL);
}

/* consent rebind-request: trial, old (participant), new, request; the new key's secret key
 * file co-signs (approval: the proof that its holder asks for it) */
static arg_rc build_rebind_request(event *e, const opts *o, bool *bad)
{
    arg_rc rc = add_site_request(e, o, bad);
    if (rc != ARG_OK) return rc;
    const char *n = need(o, "new-key", bad);
    if (*bad) return ARG_USAGE;
    rc = governance_new_key(e, n);
    if (rc != ARG_OK) return rc;
    add_bytes(e, e->new_key.bytes, 32);
    return add_request_hash(e, o);
}

/* consent rebind-complete: trial, old (participant), new */
static arg_rc build_rebind_complete(event *e, const opts *o, bool *bad)
{
    arg_rc rc = build_enrol(e, o, bad);
    if (rc != ARG_OK) return rc;
    const char *n = need(o, "new", bad);
    if (*bad) return ARG_USAGE;
    rc = parse_pubkey("new", n, &e->new_key);
    if (rc == ARG_OK) add_bytes(e, e->new_key.bytes, 32);
    return rc;
}

/* consent rebind-veto: the trial alone (the old key signs) */
static arg_rc build_trial_only(event *e, const opts *o, bool *bad) { return add_trial(e, o, bad); }

static arg_rc build_grant(event *e, const opts *o, bool *bad)
{
    int64_t version, scopes;
    uint32_t n;
    if (build_version(e, o, bad) != ARG_OK) return ARG_USAGE;
    const char *s = need(o, "scopes", bad);
    const char *witness = need(o, "witness-key", bad);
    if (*bad || add_cosigner(e, witness, MEANING_WITNESS) != ARG_OK) return ARG_USAGE;
    arg_rc rc = collect_hashes(o, "form", &e->doc, 1, 1, &n);
    if (rc != ARG_OK) return rc;
    if (parse_scopes("scopes", s, false, &scopes) != ARG_OK) return ARG_USAGE;
    version = e->args[1].integer;
    e->nargs = 1;
    add_int(e, version);
    add_bytes(e, e->doc.bytes, 32);
    add_int(e, scopes);
    return ARG_OK;
}

static arg_rc build_withdraw(event *e, const opts *o, bool *bad)
{
    int64_t scopes;
    if (add_trial(e, o, bad) != ARG_OK) return ARG_USAGE;
    const char *s = need(o, "scopes", bad);
    if (*bad || parse_scopes("scopes", s, false, &scopes) != ARG_OK) return ARG_USAGE;
    add_int(e, scopes);
    return ARG_OK;
}

static arg_rc build_anchor(event *e, const opts *o, bool *bad)
{
    /* "now": a millisecond before signing. The contract needs collected-at strictly before
     * its block's time (ABI.md "One block, one time"), and on one host a block can carry the
     * very millisecond the client signed in. */
    int64_t scope, at = (int64_t)client_now_ms() - 1, size = -1;
    arg_rc first = build_enrol(e, o, bad);
    if (first != ARG_OK) return first;
    const char *s = need(o, "scope", bad), *c = opt(o, "collected-at", bad);
    const char *h = opt(o, "hash", bad), *f = opt(o, "data-file", bad), *z = opt(o, "size", bad);
    if (*bad || parse_scopes("scope", s, true, &scope) != ARG_OK) return ARG_USAGE;
    if (c && strcmp(c, "now") != 0 && parse_int("collected-at", c, 1, INT64_MAX, &at) != ARG_OK)
        return ARG_USAGE;
    if ((h != NULL) == (f != NULL)) {
        fprintf(stderr, "error: give exactly one of --hash HEX and --data-file FILE\n");
        return ARG_USAGE;
    }
    if (z && parse_int("size", z, 0, (uint64_t)1 << 40, &size) != ARG_OK) return ARG_USAGE;
    if (h && parse_hex32("hash", h, &e->doc) != ARG_OK) return ARG_USAGE;
    uint64_t file_size = 0;
    if (f && hash_file(f, &e->doc, &file_size) != ARG_OK) return ARG_INPUT;
    if (size < 0 && !f)
        return fprintf(stderr, "error: --size N is required with --hash\n"), ARG_USAGE;
    add_int(e, scope);
    add_int(e, at);
    add_bytes(e, e->doc.bytes, 32);
    add_int(e, size >= 0 ? size : (int64_t)file_size);
    return ARG_OK;
}

static arg_rc build_access(event *e, const opts *o, bool *bad)
{
    int64_t scope;
    if (add_trial(e, o, bad) != ARG_OK) return ARG_USAGE;
    const char *s = need(o, "scope", bad), *p = need(o, "purpose", bad);
    if (*bad || parse_scopes("scope", s, true, &scope) != ARG_OK || check_code("purpose", p))
        return ARG_USAGE;
    add_int(e, scope);
    add_bytes(e, p, strlen(p));
    return ARG_OK;
}

static arg_rc build_outcomes(event *e, const opts *o, bool *bad)
{
    if (add_trial(e, o, bad) != ARG_OK) return ARG_USAGE;
    return add_outcomes(e, o);
}

/* governance deploy NAME FILE.cvm --version N: the module in chunks of CODEC_ARG_BYTES_MAX
 * (executor.h: args name, version, chunk...). The node checks the module; here only that it
 * fits in one tx. */
static arg_rc build_deploy(event *e, const opts *o, bool *bad)
{
    int64_t version;
    if (o->positional_count != 2) {
        fprintf(stderr, "error: give the contract's NAME and its module FILE.cvm\n");
        return ARG_USAGE;
    }
    const char *name = o->positional[0], *path = o->positional[1];
    const char *v = need(o, "version", bad);
    if (*bad || check_code("contract name", name) != ARG_OK
        || parse_int("version", v, 1, UINT32_MAX, &version) != ARG_OK) {
        return ARG_USAGE;
    }
    size_t len = 0;
    if (util_read_file(path, CODEC_BYTECODE_MAX + 1, &e->module, &len) != 0) return ARG_INPUT;
    size_t chunks = (len + CODEC_ARG_BYTES_MAX - 1) / CODEC_ARG_BYTES_MAX;
    if (len == 0 || chunks > EXEC_DEPLOY_CHUNKS_MAX) {
        fprintf(stderr, "error: %s: %zu bytes; a module deployed in one tx is 1..%d bytes\n",
                path, len, EXEC_DEPLOY_CHUNKS_MAX * CODEC_ARG_BYTES_MAX);
        return ARG_INPUT;
    }
    add_bytes(e, name, strlen(name));
    add_int(e, version);
    for (size_t at = 0; at < len; at += CODEC_ARG_BYTES_MAX) {
        size_t n = len - at < CODEC_ARG_BYTES_MAX ? len - at : CODEC_ARG_BYTES_MAX;
        add_bytes(e, e->module + at, n);
    }
    return ARG_OK;
}

/* ---- governance add | revoke | rotate (issue 23 item 1) -------------------------------- */

/* governance.authority args (action, role, site, name, key, new_key) from the options:
 * --role, --site (investigators), --name, --target (revoke, rotate), --new-key (add,
 * rotate); the approvals are --cosign approval=FILE (run_event). */
static arg_rc build_governance(event *e, const opts *o, bool *bad, int action)
{
    const char *role_name = need(o, "role", bad), *site = opt(o, "site", bad),
               *name = opt(o, "name", bad), *target = opt(o, "target", bad),
               *new_key = opt(o, "new-key", bad);
    if (*bad) return ARG_USAGE;
    unsigned role = codec_role_parse(role_name);
    if (role < ROLE_SPONSOR || role > ROLE_RESEARCHER) {
        fprintf(stderr, "error: --role %s: sponsor, investigator, regulator or researcher\n",
                role_name);
        return ARG_USAGE;
    }
    bool add = action == 1, rotate = action == 3;
    if (add && !name) return fprintf(stderr, "error: --name is required to add a key\n"), ARG_USAGE;
    if (add && role == ROLE_INVESTIGATOR && !site)
        return fprintf(stderr, "error: --site is required to add an investigator\n"), ARG_USAGE;
    if (site && role != ROLE_INVESTIGATOR)
        return fprintf(stderr, "error: --site: only an investigator has a site\n"), ARG_USAGE;
    if (add == (target != NULL))
        return fprintf(stderr, "error: --target %s\n", add ? "is not taken by add (--new-key "
                       "is the key added)" : "is required (the key to revoke or rotate)"),
               ARG_USAGE;
    if ((add || rotate) != (new_key != NULL))
        return fprintf(stderr, "error: --new-key %s\n", add || rotate ? "FILE is required (the "
                       "incoming key's secret key: it co-signs)" : "is not taken by revoke"),
               ARG_USAGE;
    if ((site && check_code("site", site) != ARG_OK) || (name && check_code("name", name) != ARG_OK))
        return ARG_USAGE;
    snprintf(e->site, sizeof e->site, "%s", site ? site : "");
    snprintf(e->name, sizeof e->name, "%s", name ? name : "");
    arg_rc rc = new_key ? governance_new_key(e, new_key) : ARG_OK;
    if (rc == ARG_OK && target) rc = parse_pubkey("target", target, &e->key);
    if (rc != ARG_OK) return rc;
    if (add) e->key = e->new_key;
    add_int(e, action);
    add_int(e, role);
    add_bytes(e, e->site, strlen(e->site));
    add_bytes(e, e->name, strlen(e->name));
    add_bytes(e, e->key.bytes, 32);
    add_bytes(e, rotate ? e->new_key.bytes : NULL, rotate ? 32 : 0);
    return ARG_OK;
}

static arg_rc build_gov_add(event *e, const opts *o, bool *bad) { return build_governance(e, o, bad, 1); }
static arg_rc build_gov_revoke(event *e, const opts *o, bool *bad) { return build_governance(e, o, bad, 2); }
static arg_rc build_gov_rotate(event *e, const opts *o, bool *bad) { return build_governance(e, o, bad, 3); }

#define GOVERNANCE_USAGE_TAIL                                                                \
    "  ROLE: sponsor, investigator, regulator or researcher. Signers: the genesis's\n"      \
    "  governance requirement (kind 1; for a regulator, kind 5: other regulators only,\n"   \
    "  trialctl genesis show): --key signs, each --cosign approval=FILE approves (at most\n" \
    "  20 co-signers in all). --new-key FILE is the incoming key's secret key: it co-signs\n" \
    "  (proof of possession); keep it with its holder afterwards. --target is the key\n"   \
    "  that goes (HEX or a public key file); --site/--name of revoke and rotate may be\n"  \
    "  left out (as recorded). The change takes effect at the height that commits it.\n"

/* governance validators --validator NAME=KEY...: the WHOLE new set, in index order, as one
 * canonical valset argument (FORMATS.md 5.12). The node checks the rules; here only the
 * shape (1..16 entries, names 1..32 bytes, keys) and that it fits one argument. */
static arg_rc build_validators(event *e, const opts *o, bool *bad)
{
    (void)bad;
    codec_valset set = {0};
    for (int i = 0; i < o->count; i++) {
        if (strcmp(o->name[i], "validator") != 0) continue;
        const char *v = o->value[i], *eq = strchr(v, '=');
        size_t name_len = eq ? (size_t)(eq - v) : 0;
        if (set.count == CODEC_VALIDATORS_MAX) {
            fprintf(stderr, "error: at most %d validators\n", CODEC_VALIDATORS_MAX);
            return ARG_USAGE;
        }
        if (!eq || name_len == 0 || name_len > CODEC_NAME_MAX || !eq[1]) {
            fprintf(stderr, "error: --validator wants NAME=HEX|PUBFILE (NAME 1..%d bytes), got "
                            "'%s'\n", CODEC_NAME_MAX, v);
            return ARG_USAGE;
        }
        codec_validator *val = &set.validators[set.count++];
        memcpy(val->name.text, v, name_len);
        val->name.text[name_len] = '\0';
        arg_rc rc = parse_pubkey("validator", eq + 1, &val->key);
        if (rc != ARG_OK) return rc;
    }
    if (set.count == 0) {
        fprintf(stderr, "error: give the whole new set: --validator NAME=KEY for each, in order\n");
        return ARG_USAGE;
    }
    codec_buf b = codec_buf_make(e->valset, sizeof e->valset);
    if (codec_valset_encode(&set, &b) != CODEC_OK) {
        fprintf(stderr, "error: the set does not fit one argument (%d bytes): shorter names\n",
                CODEC_ARG_BYTES_MAX);
        return ARG_INPUT;
    }
    add_bytes(e, e->valset, b.len);
    return ARG_OK;
}

/* ---- the commands ------------------------------------------------------------------------- */

typedef struct {
    const char *name;   /* as typed: "consent grant" */
    const char *contract, *method;
    const char *options; /* beyond the common ones */
    arg_rc (*build)(event *e, const opts *o, bool *bad);
    const char *usage;
} event_command;

static const event_command EVENTS[] = {
    {"register", "protocol", "register",
     "trial doc doc-file primary primary-file secondary secondary-file planned site form "
     "form-file",
     build_register,
     "usage: trialctl register COMMON --trial ID (--doc HEX | --doc-file FILE)\n"
     "         (--primary HEX | --primary-file FILE)... [--secondary HEX | --secondary-file "
     "FILE]...\n"
     "         --planned N --site NAME... (--form HEX | --form-file FILE)...\n"
     "  The sponsor registers a trial at protocol version 1 (1..4 primary and 0..16 secondary\n"
     "  pre-registered outcomes, planned enrolment, 1..8 sites, all inactive, and the 1..4\n"
     "  consent forms submitted with it: its approval approves them).\n"},
    {"amend", "protocol", "amend",
     "trial doc doc-file primary primary-file secondary secondary-file reconsent form form-file",
     build_amend,
     "usage: trialctl amend COMMON --trial ID (--doc HEX | --doc-file FILE)\n"
     "         (--primary HEX | --primary-file FILE)... [--secondary ...]... --reconsent yes|no\n"
     "         (--form HEX | --form-file FILE)...\n"
     "  The trial's sponsor publishes version k+1 with its 1..4 consent forms (changed\n"
     "  outcomes are flagged).\n"},
    {"approve", "protocol", "approve", "trial version", build_version,
     "usage: trialctl approve COMMON --trial ID --version N\n"
     "  A regulator or ethics committee approves a protocol version.\n"},
    {"activate", "protocol", "activate", "trial site", build_activate,
     "usage: trialctl activate COMMON --trial ID --site NAME\n"
     "  The trial's sponsor activates a listed site.\n"},
    {"add-site", "protocol", "add_site", "trial site", build_activate,
     "usage: trialctl add-site COMMON --trial ID --site NAME\n"
     "  The trial's sponsor lists a new site (inactive; `trialctl activate` starts it). Its\n"
     "  investigators: keys added by `trialctl governance add --role investigator --site\n"
     "  NAME`.\n"},
    {"enrol", "consent", "enrol", "trial participant", build_enrol,
     "usage: trialctl enrol COMMON --trial ID --participant HEX|PUBFILE\n"
     "  An investigator of an active site enrols a participant's pseudonymous key.\n"},
    {"consent grant", "consent", "grant", "trial version form form-file scopes witness-key",
     build_grant,
     "usage: trialctl consent grant COMMON --trial ID --version N (--form HEX | --form-file FILE)\n"
     "         --scopes LIST --witness-key FILE\n"
     "  The participant (--key) grants consent, co-signed (meaning: witness) by an\n"
     "  investigator of the enrolling site (--witness-key). LIST: main, follow-up,\n"
     "  future-research, genetic, data-sharing, comma separated, or the bits as 1..31.\n"},
    {"consent withdraw", "consent", "withdraw", "trial scopes", build_withdraw,
     "usage: trialctl consent withdraw COMMON --trial ID --scopes LIST\n"
     "  The participant alone withdraws scopes, from this block on.\n"},
    {"consent site-withdraw", "consent", "site_withdraw",
     "trial participant scopes request request-file regulator-key", build_site_withdraw,
     "usage: trialctl consent site-withdraw COMMON --trial ID --participant HEX|PUBFILE\n"
     "         --scopes LIST (--request HEX | --request-file FILE) --regulator-key FILE\n"
     "  A participant who lost their key: an investigator of the enrolling site (--key)\n"
     "  records the withdrawal of scopes on the participant's documented request (its\n"
     "  SHA-256; the signed request stays at the site), co-signed by a regulator (meaning\n"
     "  approval). It only removes scopes.\n"},
    {"consent rebind-request", "consent", "rebind_request",
     "trial participant new-key request request-file regulator-key", build_rebind_request,
     "usage: trialctl consent rebind-request COMMON --trial ID --participant HEX|PUBFILE\n"
     "         --new-key FILE (--request HEX | --request-file FILE) --regulator-key FILE\n"
     "  An investigator of the enrolling site (--key) asks to move the participant's\n"
     "  pseudonym (--participant, the lost key) to a new key, co-signed by the new key\n"
     "  itself (--new-key, its secret key file) and a regulator, both with meaning approval.\n"
     "  It can complete only after the genesis's rebind delay (rules.rebind_delay_ms); until\n"
     "  then the old key may veto it (consent rebind-veto).\n"},
    {"consent rebind-veto", "consent", "rebind_veto", "trial", build_trial_only,
     "usage: trialctl consent rebind-veto COMMON --trial ID\n"
     "  The participant's old key (--key) vetoes the pending re-binding of its pseudonym.\n"},
    {"consent rebind-complete", "consent", "rebind_complete", "trial participant new",
     build_rebind_complete,
     "usage: trialctl consent rebind-complete COMMON --trial ID --participant HEX|PUBFILE\n"
     "         --new HEX|PUBFILE\n"
     "  An investigator of the enrolling site (--key) completes a re-binding once its delay\n"
     "  has passed and the old key has not vetoed it: the consent moves to the new key,\n"
     "  unchanged, and the old key holds nothing any more.\n"},
    {"anchor", "data", "anchor", "trial participant scope collected-at hash data-file size",
     build_anchor,
     "usage: trialctl anchor COMMON --trial ID --participant HEX|PUBFILE --scope NAME\n"
     "         (--hash HEX --size N | --data-file FILE [--size N]) [--collected-at MS|now]\n"
     "  A site anchors the hash of a collected record (collected-at: UTC ms, before the block\n"
     "  that commits it; default now, one ms before signing).\n"},
    {"access request", "access", "request", "trial scope purpose", build_access,
     "usage: trialctl access request COMMON --trial ID --scope NAME --purpose CODE\n"
     "  A researcher asks for the records of one scope; the grant is logged (the receipt's\n"
     "  access.granted event carries the count and the list hash).\n"},
    {"governance add", "governance", "authority", "role site name new-key", build_gov_add,
     "usage: trialctl governance add COMMON --role ROLE [--site SITE] --name NAME\n"
     "         --new-key FILE --cosign approval=KEY...\n"
     "  Adds the key of --new-key as an authority of ROLE (an investigator at --site: a new\n"
     "  site's code, or an existing one).\n" GOVERNANCE_USAGE_TAIL},
    {"governance revoke", "governance", "authority", "role site name target", build_gov_revoke,
     "usage: trialctl governance revoke COMMON --role ROLE --target HEX|PUBFILE\n"
     "         [--site SITE] [--name NAME] --cosign approval=KEY...\n"
     "  Revokes an authority's key: its later txs and reads are refused; what it signed\n"
     "  before stays valid. The last regulator (or fewer keys of a role than a governance\n"
     "  requirement needs) cannot be revoked.\n" GOVERNANCE_USAGE_TAIL},
    {"governance rotate", "governance", "authority", "role site name target new-key",
     build_gov_rotate,
     "usage: trialctl governance rotate COMMON --role ROLE --target HEX|PUBFILE\n"
     "         --new-key FILE [--site SITE] [--name NAME] --cosign approval=KEY...\n"
     "  Replaces an authority's key by the key of --new-key (same role, site and name; a\n"
     "  sponsor's trials follow it).\n" GOVERNANCE_USAGE_TAIL},
    {"governance deploy", "governance", "deploy", "version", build_deploy,
     "usage: trialctl governance deploy COMMON NAME FILE.cvm --version N --cosign approval=KEY...\n"
     "  A new version N (above the one in force) of contract NAME: the module FILE.cvm\n"
     "  (trialctl asm writes one), which every validator verifies before it is installed.\n"
     "  The signer and the approval co-signers must hold the keys the genesis's deploy\n"
     "  requirement names (trialctl genesis show: 'deploy'; by default a sponsor and a\n"
     "  regulator). In force from the next block; the timeline shows governance.deployed.\n"},
    {"governance validators", "governance", "validators", "validator", build_validators,
     "usage: trialctl governance validators COMMON --validator NAME=HEX|PUBFILE...\n"
     "         --cosign approval=KEY...\n"
     "  The WHOLE new validator set, in index order (validator i signs as index i): the\n"
     "  current set plus 3 (growth), minus 3 (shrink), or at most f keys replaced. The signer\n"
     "  and approval co-signers must hold the genesis's 'validators' requirement keys, AND\n"
     "  2f+1 current validators must co-sign with approval, AND every new key must co-sign\n"
     "  (any meaning). In force from height (h/16 + 2) * 16 for the committing height h; the\n"
     "  receipt's governance.validators event names it (docs/FORMATS.md 5.12).\n"},
    {"outcomes", "outcomes", "report", "trial primary primary-file secondary secondary-file",
     build_outcomes,
     "usage: trialctl outcomes COMMON --trial ID (--primary HEX | --primary-file FILE)...\n"
     "         [--secondary HEX | --secondary-file FILE]...\n"
     "  The trial's sponsor reports 1..4 primary and 0..16 secondary outcomes; switches\n"
     "  against the pre-registered ones (a secondary reported as primary, an outcome never\n"
     "  pre-registered, a pre-registered primary not reported as primary) are flagged.\n"},
};

static int usage_of(const event_command *c, FILE *out, int rc)
{
    fprintf(out, "%s%s", c->usage, COMMON_USAGE);
    return rc;
}

static void print_hex32(const char *label, const hash32 *h)
{
    char hex[65];
    tcrypto_to_hex(h->bytes, 32, hex);
    printf("%s%s\n", label, hex);
}

/* Print a settled result and give the exit code. */
static int report(const client_result *r, const char *receipt_out)
{
    print_hex32("tx ", &r->tx_id);
    if (r->state != CLIENT_TX_DONE) {
        fprintf(stderr, "error: %s\n", r->reason);
        return r->state == CLIENT_TX_REFUSED ? TC_EXIT_FAIL : TC_EXIT_INTERNAL;
    }
    printf("height %" PRIu64 " index %u\n", r->rr.height, r->rr.index);
    const codec_receipt *rc = &r->receipt;
    static const char *const STATUS[] = {"ok", "refused", "invalid", "trapped"};
    if (rc->status == RECEIPT_OK) printf("status ok (gas %" PRIu64 ")\n", rc->gas_used);
    else
        printf("status %s (code %u): %s\n",
               rc->status <= RECEIPT_STATUS_MAX_ ? STATUS[rc->status] : "?", rc->error_code,
               rc->reason);
    for (uint32_t i = 0; i < rc->event_count; i++) printf("event %s\n", rc->events[i].topic.text);
    if (receipt_out) {
        if (util_write_file(receipt_out, r->reply, r->reply_len) != 0) return TC_EXIT_INTERNAL;
        printf("receipt written to %s\n", receipt_out);
    }
    return rc->status == RECEIPT_OK ? TC_EXIT_OK : TC_EXIT_FAIL;
}

typedef struct {
    const char *url, *genesis, *key, *nonce, *timeout, *receipt_out, *valid_for, *valid_until;
} common_args;

static int load_inputs(const common_args *a, const event *e, keypair *key, keypair *cos,
                       hash32 *chain)
{
    tcrypto_err rc = tcrypto_read_secret_key(a->key, key);
    if (rc != TCRYPTO_OK)
        return fprintf(stderr, "error: %s: %s\n", a->key, tcrypto_strerror(rc)), TC_EXIT_INPUT;
    for (uint32_t i = 0; e && i < e->ncosign; i++) {
        const char *file = e->cosign_key[i];
        if ((rc = tcrypto_read_secret_key(file, &cos[i])) != TCRYPTO_OK)
            return fprintf(stderr, "error: %s: %s\n", file, tcrypto_strerror(rc)), TC_EXIT_INPUT;
    }
    uint8_t *g = NULL;
    size_t len = 0;
    if (util_read_file(a->genesis, CODEC_GENESIS_MAX, &g, &len) != 0) return TC_EXIT_INPUT;
    codec_genesis *dec = malloc(sizeof *dec);
    codec_error cerr;
    char why[160];
    bool ok = dec && codec_genesis_decode(g, len, dec, &cerr) == CODEC_OK;
    if (!ok)
        fprintf(stderr, "error: %s is not a genesis: %s\n", a->genesis,
                dec ? codec_error_format(&cerr, why, sizeof why) : "out of memory");
    tcrypto_sha256(g, len, chain);
    free(dec);
    free(g);
    return ok ? TC_EXIT_OK : TC_EXIT_INPUT;
}

static int submit_event(const common_args *a, const event *e)
{
    keypair key, cos[CODEC_COSIGS_MAX];
    hash32 chain;
    int rc = load_inputs(a, e, &key, cos, &chain);
    uint64_t timeout = CLIENT_TIMEOUT_DEFAULT_MS, nonce = client_random_nonce();
    uint64_t valid_for = CLIENT_VALID_FOR_DEFAULT_MS, valid_until = 0;
    if (a->timeout && util_parse_u64("--timeout-ms", a->timeout, 1, 3600000, &timeout))
        return TC_EXIT_USAGE;
    if (a->nonce && util_parse_u64("--nonce", a->nonce, 0, UINT64_MAX, &nonce))
        return TC_EXIT_USAGE;
    if (a->valid_for && a->valid_until)
        return fprintf(stderr, "error: --valid-for-ms and --valid-until exclude each other\n"),
               TC_EXIT_USAGE;
    if (a->valid_for && util_parse_u64("--valid-for-ms", a->valid_for, 1, 86400000, &valid_for))
        return TC_EXIT_USAGE;
    if (a->valid_until
        && util_parse_u64("--valid-until", a->valid_until, 0, UINT64_MAX, &valid_until))
        return TC_EXIT_USAGE;
    if (rc != TC_EXIT_OK) return rc;
    if (!a->valid_until) valid_until = client_now_ms() + valid_for;
    static uint8_t tx[CODEC_TX_MAX];
    const keypair *cosp[CODEC_COSIGS_MAX];
    for (uint32_t i = 0; i < e->ncosign; i++) cosp[i] = &cos[i];
    size_t len = client_sign_tx(&key, nonce, valid_until, &chain, e->contract, e->method,
                                e->args, e->nargs, cosp, e->cosign_meaning, e->ncosign, tx,
                                sizeof tx);
    if (len == 0)
        return fprintf(stderr, "error: the tx does not encode (arguments too large)\n"),
               TC_EXIT_USAGE;
    printf("%s.%s nonce %" PRIu64 " valid_until %" PRIu64 "\n", e->contract, e->method, nonce,
           valid_until);
    /* the receipt is polled as the tx's signer, who may read it (a signed read) */
    client_options opt = {a->url, 1, (uint32_t)timeout, &key, &chain};
    codec_span span = {tx, len};
    client_result r;
    client_run(&opt, &span, 1, &r);
    rc = report(&r, a->receipt_out);
    client_result_free(&r);
    return rc;
}

static int run_event(const event_command *c, int argc, char **argv)
{
    char allowed[512];
    snprintf(allowed, sizeof allowed,
             "url genesis key nonce valid-for-ms valid-until timeout-ms receipt-out cosign %s",
             c->options);
    opts o;
    if (opts_parse(argc, argv, allowed, &o) != 0) return usage_of(c, stderr, TC_EXIT_USAGE);
    if (o.help) return usage_of(c, stdout, TC_EXIT_OK);
    bool bad = o.positional_count != 0 && c->build != build_deploy; /* NAME FILE */
    if (bad) fprintf(stderr, "error: unexpected argument '%s'\n", o.positional[0]);
    common_args a = {need(&o, "url", &bad),       need(&o, "genesis", &bad),
                     need(&o, "key", &bad),       opt(&o, "nonce", &bad),
                     opt(&o, "timeout-ms", &bad), opt(&o, "receipt-out", &bad),
                     opt(&o, "valid-for-ms", &bad), opt(&o, "valid-until", &bad)};
    if (bad) return usage_of(c, stderr, TC_EXIT_USAGE);
    static event e;
    memset(&e, 0, sizeof e);
    e.contract = c->contract;
    e.method = c->method;
    arg_rc rc = c->build(&e, &o, &bad);
    if (rc == ARG_OK && !bad) rc = add_cosign_options(&e, &o);
    int exit_code = rc == ARG_USAGE || bad ? usage_of(c, stderr, TC_EXIT_USAGE)
                    : rc != ARG_OK         ? TC_EXIT_INPUT
                                           : submit_event(&a, &e);
    free(e.module);
    return exit_code;
}

static int run_named(const char *name, int argc, char **argv)
{
    for (size_t i = 0; i < sizeof EVENTS / sizeof EVENTS[0]; i++) {
        if (strcmp(EVENTS[i].name, name) == 0) return run_event(&EVENTS[i], argc, argv);
    }
    return TC_EXIT_INTERNAL;
}

int cmd_register(int argc, char **argv) { return run_named("register", argc, argv); }
int cmd_amend(int argc, char **argv) { return run_named("amend", argc, argv); }
int cmd_approve(int argc, char **argv) { return run_named("approve", argc, argv); }
int cmd_activate(int argc, char **argv) { return run_named("activate", argc, argv); }
int cmd_enrol(int argc, char **argv) { return run_named("enrol", argc, argv); }
int cmd_anchor(int argc, char **argv) { return run_named("anchor", argc, argv); }
int cmd_outcomes(int argc, char **argv) { return run_named("outcomes", argc, argv); }
int cmd_add_site(int argc, char **argv) { return run_named("add-site", argc, argv); }

/* "consent grant|withdraw", "access request": a second word picks the method. */
static int run_pair(const char *first, const char *const *seconds, int n, int argc, char **argv)
{
    char name[64];
    for (int i = 0; argc >= 2 && i < n; i++) {
        if (strcmp(argv[1], seconds[i]) != 0) continue;
        snprintf(name, sizeof name, "%s %s", first, seconds[i]);
        return run_named(name, argc - 1, argv + 1);
    }
    bool help = argc >= 2 && strcmp(argv[1], "--help") == 0;
    FILE *out = help ? stdout : stderr;
    fprintf(out, "usage: trialctl %s ", first);
    for (int i = 0; i < n; i++) fprintf(out, "%s%s", i ? "|" : "", seconds[i]);
    fprintf(out, " ... (trialctl %s %s --help)\n", first, seconds[0]);
    return help ? TC_EXIT_OK : TC_EXIT_USAGE;
}

int cmd_consent(int argc, char **argv)
{
    static const char *const m[] = {"grant", "withdraw", "site-withdraw", "rebind-request",
                                    "rebind-veto", "rebind-complete"};
    return run_pair("consent", m, 6, argc, argv);
}

int cmd_governance(int argc, char **argv)
{
    static const char *const m[] = {"deploy", "add", "revoke", "rotate", "validators"};
    for (int i = 0; argc >= 2 && i < 5; i++)
        if (strcmp(argv[1], m[i]) == 0) return run_pair("governance", m, 5, argc, argv);
    bool help = argc >= 2 && strcmp(argv[1], "--help") == 0;
    fprintf(help ? stdout : stderr,
            "usage: trialctl governance deploy|add|revoke|rotate|validators ... (trialctl "
            "governance add --help)\n"
            "  deploy: a new contract version; add, revoke, rotate: an authority's key\n"
            "  (sponsor, investigator, regulator, researcher); validators: the validator set.\n"
            "  Each is signed as the genesis says (trialctl genesis show).\n");
    return help ? TC_EXIT_OK : TC_EXIT_USAGE;
}

int cmd_access(int argc, char **argv)
{
    static const char *const m[] = {"request"};
    if (argc >= 2 && strcmp(argv[1], "records") == 0) return access_records(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "log") == 0) return access_log(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "--help") == 0)
        printf("trialctl access request ...  (researcher: ask for a scope's records)\n"
               "trialctl access records ...  (researcher: read the records a grant gives)\n"
               "trialctl access log ...      (regulator: the node's log of those reads)\n");
    return run_pair("access", m, 1, argc, argv);
}

/* ---- receipt, verify-receipt ------------------------------------------------------------ */

static const char RECEIPT_USAGE[] =
    "usage: trialctl receipt --url URL --genesis FILE --key FILE --tx TXID_HEX --out FILE\n"
    "                        [--timeout-ms MS]\n"
    "  Fetches the receipt of a committed tx (the receipt file of docs/FORMATS.md 13.5: the\n"
    "  tx, its receipt, the batch header and block fields, the commit and result\n"
    "  certificates and both inclusion paths), asking as --key (a signed read): the tx's\n"
    "  signer or a co-signer, its trial's sponsor, an investigator of its participant's\n"
    "  site, a regulator, the auditor or a validator. Exit 0 written, 1 no such tx (or not\n"
    "  certified yet, or the key may not read it), 2 usage, 3 bad key or genesis, 4 node\n"
    "  unreachable.\n";

int cmd_receipt(int argc, char **argv)
{
    opts o;
    if (opts_parse(argc, argv, "url genesis key tx out timeout-ms", &o) != 0)
        return fprintf(stderr, "%s", RECEIPT_USAGE), TC_EXIT_USAGE;
    if (o.help) return printf("%s", RECEIPT_USAGE), TC_EXIT_OK;
    bool bad = o.positional_count != 0;
    const char *url = need(&o, "url", &bad), *tx = need(&o, "tx", &bad),
               *out = need(&o, "out", &bad);
    common_args a = {.url = url, .genesis = need(&o, "genesis", &bad), .key = need(&o, "key", &bad)};
    const char *t = opt(&o, "timeout-ms", &bad);
    uint64_t timeout = CLIENT_TIMEOUT_DEFAULT_MS;
    hash32 id;
    if (bad || (t && util_parse_u64("--timeout-ms", t, 1, 3600000, &timeout))
        || parse_hex32("tx", tx, &id) != ARG_OK) {
        return fprintf(stderr, "%s", RECEIPT_USAGE), TC_EXIT_USAGE;
    }
    keypair key;
    hash32 chain;
    int rc = load_inputs(&a, NULL, &key, NULL, &chain);
    if (rc != TC_EXIT_OK) return rc;
    uint8_t *reply = NULL;
    size_t len = 0;
    char why[300];
    rc = client_fetch_receipt(url, &key, &chain, &id, (uint32_t)timeout, &reply, &len, why,
                              sizeof why);
    if (rc != 0) {
        fprintf(stderr, "error: %s: %s\n", url, why);
        return rc > 0 ? TC_EXIT_FAIL : TC_EXIT_INTERNAL;
    }
    codec_receipt_reply rr;
    if (codec_receipt_reply_decode(reply, len, &rr, NULL) != CODEC_OK) {
        rc = TC_EXIT_INTERNAL;
        fprintf(stderr, "error: the node's receipt does not decode\n");
    } else if (rr.proof.len == 0) {
        rc = TC_EXIT_FAIL;
        fprintf(stderr,
                "error: the tx is committed at height %" PRIu64
                " but not certified yet; try again\n",
                rr.height);
    } else if (util_write_file(out, reply, len) != 0) {
        rc = TC_EXIT_INTERNAL;
    } else {
        printf("receipt of tx at height %" PRIu64 " written to %s\n", rr.height, out);
    }
    free(reply);
    return rc;
}

static const char VERIFY_RECEIPT_USAGE[] =
    "usage: trialctl verify-receipt --genesis FILE RECEIPT_FILE\n"
    "  Checks a receipt file with the genesis alone: the tx and its signatures, the receipt\n"
    "  naming it, the block header against the result certificate, the result and commit\n"
    "  certificates (2f+1 genesis validators each), the tx in the log and the receipt in the\n"
    "  receipts root. Exit 0 valid, 1 invalid (names what failed), 3 unreadable.\n";

int cmd_verify_receipt(int argc, char **argv)
{
    opts o;
    if (opts_parse(argc, argv, "genesis", &o) != 0)
        return fprintf(stderr, "%s", VERIFY_RECEIPT_USAGE), TC_EXIT_USAGE;
    if (o.help) return printf("%s", VERIFY_RECEIPT_USAGE), TC_EXIT_OK;
    bool bad = o.positional_count != 1;
    const char *genesis = need(&o, "genesis", &bad);
    if (bad) return fprintf(stderr, "%s", VERIFY_RECEIPT_USAGE), TC_EXIT_USAGE;
    uint8_t *g = NULL, *r = NULL;
    size_t glen = 0, rlen = 0;
    if (util_read_file(genesis, CODEC_GENESIS_MAX, &g, &glen) != 0) return TC_EXIT_INPUT;
    if (util_read_file(o.positional[0], CODEC_CLIENT_MESSAGE_MAX, &r, &rlen) != 0) {
        free(g);
        return TC_EXIT_INPUT;
    }
    char why[300];
    int rc = TC_EXIT_OK;
    if (!proof_verify_receipt(g, glen, r, rlen, why, sizeof why)) {
        printf("receipt INVALID: %s\n", why);
        rc = strncmp(why, "genesis", 7) == 0 ? TC_EXIT_INPUT : TC_EXIT_FAIL;
    } else {
        codec_receipt_reply rr;
        codec_receipt rc_;
        codec_receipt_reply_decode(r, rlen, &rr, NULL);
        codec_receipt_decode(rr.receipt.data, rr.receipt.len, &rc_, NULL);
        print_hex32("receipt OK: tx ", &rc_.tx_id);
        printf("height %" PRIu64 " index %u, status %u%s%s\n", rr.height, rr.index, rc_.status,
               rc_.status ? ": " : "", rc_.status ? rc_.reason : "");
    }
    free(g);
    free(r);
    return rc;
}
