/*
 * test_codec.c - the canonical codec: round trips of every structure (with
 * golden bytes for the integer and length boundaries), every decoder refusal
 * (exact code, field, index and byte offset), and signatures binding to the
 * exact body, tag and chain they were made for.
 *
 * Refusal inputs are built by hand with the mp_* writers below, which do not
 * use msgpack-c, so non-canonical forms can be written on purpose and every
 * field's byte offset is known. Decoders always get an exact-size heap copy,
 * so ASan catches any read past the end.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "crypto.h"
#include "cvm.h"

static void suite_init(void) { cr_assert_eq(tcrypto_init(), TCRYPTO_OK); }

TestSuite(codec, .init = suite_init);

/* ==== hand-written msgpack ============================================== */

typedef struct {
    uint8_t b[6144];
    size_t n;
} bytes;

static void put(bytes *o, const void *p, size_t n)
{
    cr_assert_leq(o->n + n, sizeof o->b, "test buffer too small");
    if (n) memcpy(o->b + o->n, p, n);
    o->n += n;
}

static void put1(bytes *o, uint8_t v) { put(o, &v, 1); }

static void put_be(bytes *o, uint64_t v, unsigned width)
{
    for (unsigned i = width; i-- > 0;) put1(o, (uint8_t)(v >> (8 * i)));
}

static void put_fill(bytes *o, size_t n, uint8_t fill)
{
    for (size_t i = 0; i < n; i++) put1(o, fill);
}

static void mp_uint(bytes *o, uint64_t v)
{
    if (v <= 0x7f) put1(o, (uint8_t)v);
    else if (v <= 0xff) { put1(o, 0xcc); put_be(o, v, 1); }
    else if (v <= 0xffff) { put1(o, 0xcd); put_be(o, v, 2); }
    else if (v <= 0xffffffffu) { put1(o, 0xce); put_be(o, v, 4); }
    else { put1(o, 0xcf); put_be(o, v, 8); }
}

static void mp_array(bytes *o, uint32_t n)
{
    if (n < 16) put1(o, (uint8_t)(0x90 | n));
    else if (n <= 0xffff) { put1(o, 0xdc); put_be(o, n, 2); }
    else { put1(o, 0xdd); put_be(o, n, 4); }
}

static void mp_bin_header(bytes *o, size_t n)
{
    if (n <= 0xff) { put1(o, 0xc4); put_be(o, n, 1); }
    else if (n <= 0xffff) { put1(o, 0xc5); put_be(o, n, 2); }
    else { put1(o, 0xc6); put_be(o, n, 4); }
}

static void mp_bin_fill(bytes *o, size_t n, uint8_t fill)
{
    mp_bin_header(o, n);
    put_fill(o, n, fill);
}

static void mp_strn(bytes *o, const char *s, size_t n)
{
    if (n < 32) put1(o, (uint8_t)(0xa0 | n));
    else if (n <= 0xff) { put1(o, 0xd9); put_be(o, n, 1); }
    else { put1(o, 0xda); put_be(o, n, 2); }
    put(o, s, n);
}

static void mp_str(bytes *o, const char *s) { mp_strn(o, s, strlen(s)); }

static void mp_str_fill(bytes *o, size_t n, char c)
{
    char s[1024];
    cr_assert_lt(n, sizeof s);
    memset(s, c, n);
    mp_strn(o, s, n);
}

/* A structure as a list of separately built fields, assembled into one array;
 * off[i] is where field i starts in the assembled message. */
typedef struct {
    int n;
    bytes f[9]; /* a tx and a genesis have 8 fields; one more for the too-many-fields cases */
    size_t off[9];
} parts;

static void assemble(parts *p, bytes *out)
{
    out->n = 0;
    mp_array(out, (uint32_t)p->n);
    for (int i = 0; i < p->n; i++) {
        p->off[i] = out->n;
        put(out, p->f[i].b, p->f[i].n);
    }
}

static bytes *field(parts *p, int i)
{
    p->f[i].n = 0;
    return &p->f[i];
}

/* ==== structures as parts ================================================ */

static void cosig_bytes(bytes *o, uint64_t meaning, uint8_t fill)
{
    mp_array(o, 3);
    mp_bin_fill(o, 32, fill);
    mp_uint(o, meaning);
    mp_bin_fill(o, 64, fill);
}

/* tx = [signer, nonce "7", valid_until, "consent", "grant", [1, bin "ab"], cosigs, sig] */
static void tx_parts(parts *p, uint32_t cosigs)
{
    memset(p, 0, sizeof *p);
    p->n = 8;
    mp_bin_fill(field(p, 0), 32, 0x11);
    mp_uint(field(p, 1), 7);
    mp_uint(field(p, 2), 1764000600000ull);
    mp_str(field(p, 3), "consent");
    mp_str(field(p, 4), "grant");
    bytes *args = field(p, 5);
    mp_array(args, 2);
    mp_uint(args, 1);
    mp_bin_header(args, 2);
    put(args, "ab", 2);
    bytes *c = field(p, 6);
    mp_array(c, cosigs);
    for (uint32_t i = 0; i < cosigs; i++) cosig_bytes(c, MEANING_WITNESS, (uint8_t)(0x30 + i));
    mp_bin_fill(field(p, 7), 64, 0x22);
}

static void receipt_parts(parts *p)
{
    memset(p, 0, sizeof *p);
    p->n = 6;
    mp_bin_fill(field(p, 0), 32, 0x44);
    mp_uint(field(p, 1), RECEIPT_REFUSED);
    mp_uint(field(p, 2), 40001);
    mp_str(field(p, 3), "withdrawn");
    mp_uint(field(p, 4), 900);
    bytes *ev = field(p, 5);
    mp_array(ev, 1);
    mp_array(ev, 2);
    mp_str(ev, "consent.withdrawn");
    mp_bin_fill(ev, 3, 0x01);
}

static void vsigs_bytes(bytes *o, const uint32_t *idx, uint32_t n)
{
    mp_array(o, n);
    for (uint32_t i = 0; i < n; i++) {
        mp_array(o, 2);
        mp_uint(o, idx[i]);
        mp_bin_fill(o, 64, (uint8_t)(0x50 + i));
    }
}

static const uint32_t three_signers[3] = {0, 2, 3};

static void commit_parts(parts *p)
{
    memset(p, 0, sizeof *p);
    p->n = 4;
    mp_uint(field(p, 0), 12);
    mp_uint(field(p, 1), 1);
    mp_bin_fill(field(p, 2), 32, 0x66);
    vsigs_bytes(field(p, 3), three_signers, 3);
}

static void result_parts(parts *p)
{
    memset(p, 0, sizeof *p);
    p->n = 5;
    mp_uint(field(p, 0), 12);
    mp_bin_fill(field(p, 1), 32, 0x71);
    mp_bin_fill(field(p, 2), 32, 0x72);
    mp_bin_fill(field(p, 3), 32, 0x73);
    vsigs_bytes(field(p, 4), three_signers, 3);
}

static void block_header_parts(parts *p)
{
    memset(p, 0, sizeof *p);
    p->n = 4;
    bytes *b = field(p, 0);
    mp_array(b, 4);
    mp_uint(b, 12);
    mp_uint(b, 1764100000000ull);
    mp_bin_fill(b, 32, 0x81);
    mp_uint(b, 2);
    mp_bin_fill(field(p, 1), 32, 0x82);
    mp_uint(field(p, 2), 30);
    mp_bin_fill(field(p, 3), 32, 0x83);
}

static void validators_bytes(bytes *o, uint32_t n)
{
    mp_array(o, n);
    for (uint32_t i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "node-%u", i);
        mp_array(o, 2);
        mp_str(o, name);
        mp_bin_fill(o, 32, (uint8_t)(0x90 + i));
    }
}

/* Keys must be distinct within a genesis: derive the key byte from the name. */
static void authority_bytes(bytes *o, uint64_t role, const char *site, const char *name)
{
    mp_array(o, 4);
    mp_uint(o, role);
    mp_str(o, site);
    mp_str(o, name);
    mp_bin_fill(o, 32, (uint8_t)(0xa0 + strlen(name)));
}

/* The rules of genesis_parts: codec_rules_default's values, in field order. */
#define RULES_FIELDS 15
static const uint64_t good_rules[RULES_FIELDS] = {
    1, 1, 2000000, 512000000, 262144, 64, 256, 64, 256, 2097152, 1, 3600000, 604800000, 2000,
    259200000};

/* rules = [15 uints] (the first `count` of them: version 2 had 14); offs[i] (if not NULL) =
 * where value i starts within o. */
static void rules_bytes_n(bytes *o, const uint64_t *v, size_t *offs, int count)
{
    mp_array(o, (uint32_t)count);
    for (int i = 0; i < count; i++) {
        if (offs) offs[i] = o->n;
        mp_uint(o, v[i]);
    }
}

static void rules_bytes(bytes *o, const uint64_t *v, size_t *offs)
{
    rules_bytes_n(o, v, offs, RULES_FIELDS);
}

/* governance = [[kind, [[role, count]...]] x kinds]: kinds 1..4 need sponsor 1 + regulator 1,
 * kind 5 regulator 1, except that kind `which` gets the roles given. */
static void governance_bytes_n(bytes *o, uint64_t which, const uint64_t (*roles)[2], uint32_t n,
                               uint64_t kinds)
{
    mp_array(o, (uint32_t)kinds);
    for (uint64_t kind = 1; kind <= kinds; kind++) {
        mp_array(o, 2);
        mp_uint(o, kind);
        if (kind == which) {
            mp_array(o, n);
            for (uint32_t i = 0; i < n; i++) {
                mp_array(o, 2);
                mp_uint(o, roles[i][0]);
                mp_uint(o, roles[i][1]);
            }
        } else if (kind == GOVERNANCE_REGULATORS) {
            mp_array(o, 1);
            mp_array(o, 2);
            mp_uint(o, ROLE_REGULATOR);
            mp_uint(o, 1);
        } else {
            mp_array(o, 2);
            mp_array(o, 2);
            mp_uint(o, ROLE_SPONSOR);
            mp_uint(o, 1);
            mp_array(o, 2);
            mp_uint(o, ROLE_REGULATOR);
            mp_uint(o, 1);
        }
    }
}

static void governance_bytes(bytes *o, uint64_t which, const uint64_t (*roles)[2], uint32_t n)
{
    governance_bytes_n(o, which, roles, n, GOVERNANCE_KIND_MAX_);
}

static void genesis_parts(parts *p)
{
    memset(p, 0, sizeof *p);
    p->n = 8;
    mp_uint(field(p, 0), 3);
    mp_str(field(p, 1), "trial-chain");
    mp_uint(field(p, 2), 1764100000000ull);
    rules_bytes(field(p, 3), good_rules, NULL);
    validators_bytes(field(p, 4), 4);
    bytes *a = field(p, 5);
    mp_array(a, 4);
    authority_bytes(a, ROLE_SPONSOR, "", "sponsor");
    authority_bytes(a, ROLE_INVESTIGATOR, "site-berlin", "dr-weber");
    authority_bytes(a, ROLE_REGULATOR, "", "ethics-board");
    authority_bytes(a, ROLE_AUDITOR, "", "external-auditor");
    bytes *c = field(p, 6);
    mp_array(c, 1);
    mp_array(c, 3);
    mp_str(c, "consent");
    mp_uint(c, 3);
    mp_bin_fill(c, 8, 0xcc);
    governance_bytes(field(p, 7), 0, NULL, 0);
}

/* block = [header, [tx0, tx1], [receipt0], [[key, value], [key, nil]], commit cert] */
static void block_parts(parts *p, const bytes *tx1)
{
    parts sub;
    bytes m;
    memset(p, 0, sizeof *p);
    p->n = 5;
    block_header_parts(&sub);
    assemble(&sub, field(p, 0));
    bytes *txs = field(p, 1);
    mp_array(txs, 2);
    tx_parts(&sub, 0);
    assemble(&sub, &m);
    put(txs, m.b, m.n);
    if (tx1) put(txs, tx1->b, tx1->n);
    else put(txs, m.b, m.n);
    bytes *rs = field(p, 2);
    mp_array(rs, 1);
    receipt_parts(&sub);
    assemble(&sub, &m);
    put(rs, m.b, m.n);
    bytes *w = field(p, 3);
    mp_array(w, 2);
    mp_array(w, 2);
    mp_bin_fill(w, 4, 'k');
    mp_bin_fill(w, 5, 'v');
    mp_array(w, 2);
    mp_bin_fill(w, 4, 'd');
    put1(w, 0xc0);
    commit_parts(&sub);
    assemble(&sub, field(p, 4));
}

/* inclusion = [1, tx, leaf, header, result cert, [hash, hash]] */
static void proof_parts(parts *p)
{
    parts sub;
    memset(p, 0, sizeof *p);
    p->n = 6;
    mp_uint(field(p, 0), PROOF_INCLUSION);
    tx_parts(&sub, 1);
    assemble(&sub, field(p, 1));
    mp_uint(field(p, 2), 5);
    block_header_parts(&sub);
    assemble(&sub, field(p, 3));
    result_parts(&sub);
    assemble(&sub, field(p, 4));
    bytes *path = field(p, 5);
    mp_array(path, 2);
    mp_bin_fill(path, 32, 1);
    mp_bin_fill(path, 32, 2);
}

/* ==== decoding helpers ==================================================== */

typedef enum {
    S_TX,
    S_RECEIPT,
    S_COMMIT,
    S_RESULT,
    S_BLOCK_HEADER,
    S_GENESIS,
    S_BLOCK,
    S_PROOF,
    S_BATCH_HEADER,
} structure;

static codec_tx dec_tx;
static codec_receipt dec_receipt;
static codec_commit_cert dec_commit;
static codec_result_cert dec_result;
static codec_block_header dec_header;
static codec_batch_header dec_batch;
static codec_genesis dec_genesis;
static codec_proof dec_proof;
static codec_span dec_txs[8], dec_receipts[8];
static codec_write dec_writes[8];
static codec_block dec_block;

static codec_err decode_raw(structure s, const uint8_t *d, size_t n, codec_error *e)
{
    switch (s) {
    case S_TX: return codec_tx_decode(d, n, &dec_tx, e);
    case S_RECEIPT: return codec_receipt_decode(d, n, &dec_receipt, e);
    case S_COMMIT: return codec_commit_cert_decode(d, n, &dec_commit, e);
    case S_RESULT: return codec_result_cert_decode(d, n, &dec_result, e);
    case S_BLOCK_HEADER: return codec_block_header_decode(d, n, &dec_header, e);
    case S_BATCH_HEADER: return codec_batch_header_decode(d, n, &dec_batch, e);
    case S_GENESIS: return codec_genesis_decode(d, n, &dec_genesis, e);
    case S_PROOF: return codec_proof_decode(d, n, &dec_proof, e);
    case S_BLOCK:
        dec_block = (codec_block){.txs = dec_txs, .receipts = dec_receipts, .writes = dec_writes};
        return codec_block_decode(d, n, &dec_block, 8, 8, e);
    }
    cr_assert_fail("unknown structure");
    return CODEC_OK;
}

/* Decode an exact-size heap copy of the first n bytes of m. */
static codec_err decode_prefix(structure s, const bytes *m, size_t n, codec_error *e)
{
    uint8_t *copy = malloc(n ? n : 1);
    cr_assert_not_null(copy);
    memcpy(copy, m->b, n);
    memset(e, 0, sizeof *e);
    e->index = -7; /* must be overwritten */
    codec_err rc = decode_raw(s, copy, n, e);
    free(copy);
    return rc;
}

static codec_err decode(structure s, const bytes *m, codec_error *e)
{
    return decode_prefix(s, m, m->n, e);
}

#define EXPECT_ERR(rc, e, code_, field_, index_, offset_)                                        \
    do {                                                                                         \
        char why_[160];                                                                          \
        codec_error_format(&(e), why_, sizeof why_);                                             \
        cr_assert_eq((rc), (code_), "code %d, want %d (%s)", (int)(rc), (int)(code_), why_);    \
        cr_assert_eq((e).code, (code_), "err.code %d (%s)", (int)(e).code, why_);              \
        cr_assert_not_null((e).field);                                                           \
        cr_assert_str_eq((e).field, (field_), "field (%s)", why_);                              \
        cr_assert_eq((e).index, (int64_t)(index_), "index %lld (%s)", (long long)(e).index,    \
                     why_);                                                                      \
        cr_assert_eq((e).offset, (size_t)(offset_), "offset %zu, want %zu (%s)", (e).offset,   \
                     (size_t)(offset_), why_);                                                   \
    } while (0)

/* Assemble p, decode as s, expect the refusal. */
#define EXPECT_PARTS_ERR(s, p, code_, field_, index_, offset_)                                   \
    do {                                                                                         \
        bytes m_;                                                                                \
        codec_error e_;                                                                          \
        assemble(&(p), &m_);                                                                     \
        codec_err rc_ = decode((s), &m_, &e_);                                                   \
        EXPECT_ERR(rc_, e_, code_, field_, index_, offset_);                                     \
    } while (0)

static void expect_ok(structure s, parts *p)
{
    bytes m;
    codec_error e;
    assemble(p, &m);
    codec_err rc = decode(s, &m, &e);
    char why[160];
    cr_assert_eq(rc, CODEC_OK, "valid input refused: %s", codec_error_format(&e, why, sizeof why));
}

static bool same(const void *a, const void *b, size_t n) { return memcmp(a, b, n) == 0; }

/* ==== 1. round trips ========================================================
 * Encode a structure, decode it, compare every field, encode the decoded copy
 * and require the identical bytes. Golden bytes pin the wire forms where the
 * encoder and decoder could otherwise agree on a wrong one. */

static keypair key_a, key_b, key_c;
static hash32 chain_a, chain_b;

static void make_keys(void)
{
    uint8_t seed[TCRYPTO_SEED_BYTES] = {1};
    tcrypto_keypair_from_seed(seed, &key_a);
    seed[0] = 2;
    tcrypto_keypair_from_seed(seed, &key_b);
    seed[0] = 3;
    tcrypto_keypair_from_seed(seed, &key_c);
    tcrypto_sha256("chain A", 7, &chain_a);
    tcrypto_sha256("chain B", 7, &chain_b);
}

static uint8_t blob[1100];

static void base_tx(codec_tx *tx)
{
    memset(tx, 0, sizeof *tx);
    make_keys();
    tx->signer = key_a.public_key;
    tx->nonce = 42;
    tx->valid_until = 1764000600000ull;
    strcpy(tx->contract.text, "consent");
    strcpy(tx->method.text, "grant");
    for (size_t i = 0; i < sizeof blob; i++) blob[i] = (uint8_t)(i * 7 + 1);
}

static size_t encode_tx(const codec_tx *tx, uint8_t *out, size_t cap)
{
    codec_buf b = codec_buf_make(out, cap);
    cr_assert_eq(codec_tx_encode(tx, &b), CODEC_OK);
    return b.len;
}

static void assert_tx_equal(const codec_tx *a, const codec_tx *b)
{
    cr_assert(same(&a->signer, &b->signer, sizeof a->signer));
    cr_assert_eq(a->nonce, b->nonce);
    cr_assert_eq(a->valid_until, b->valid_until);
    cr_assert_str_eq(a->contract.text, b->contract.text);
    cr_assert_str_eq(a->method.text, b->method.text);
    cr_assert_eq(a->arg_count, b->arg_count);
    for (uint32_t i = 0; i < a->arg_count; i++) {
        cr_assert_eq(a->args[i].kind, b->args[i].kind, "arg %u kind", i);
        if (a->args[i].kind == CODEC_VALUE_INT) {
            cr_assert_eq(a->args[i].integer, b->args[i].integer, "arg %u", i);
        } else {
            cr_assert_eq(a->args[i].len, b->args[i].len, "arg %u len", i);
            cr_assert(same(a->args[i].bytes, b->args[i].bytes, a->args[i].len), "arg %u", i);
        }
    }
    cr_assert_eq(a->cosig_count, b->cosig_count);
    for (uint32_t i = 0; i < a->cosig_count; i++) {
        cr_assert(same(&a->cosigs[i].key, &b->cosigs[i].key, sizeof(pubkey)));
        cr_assert_eq(a->cosigs[i].meaning, b->cosigs[i].meaning);
        cr_assert(same(&a->cosigs[i].sig, &b->cosigs[i].sig, sizeof(signature)));
    }
    cr_assert(same(&a->sig, &b->sig, sizeof a->sig));
}

/* Round trip tx; also checks that the decoder's body span is the signed body. */
static void tx_round_trip(const codec_tx *tx)
{
    static uint8_t first[CODEC_TX_MAX], second[CODEC_TX_MAX], body[CODEC_TX_MAX];
    size_t n = encode_tx(tx, first, sizeof first);
    codec_tx back;
    codec_error e;
    cr_assert_eq(codec_tx_decode(first, n, &back, &e), CODEC_OK);
    assert_tx_equal(tx, &back);
    cr_assert_eq(encode_tx(&back, second, sizeof second), n);
    cr_assert(same(first, second, n), "re-encoding changed the bytes");
    codec_buf b = codec_buf_make(body, sizeof body);
    cr_assert_eq(codec_tx_body_encode(tx, &b), CODEC_OK);
    cr_assert_eq(b.len, back.body_fields_len + 1);
    cr_assert_eq(body[0], 0x96);
    cr_assert(same(body + 1, back.body_fields, back.body_fields_len));
}

/* The args field is the tail of the signed body: check one arg's wire form. */
static void expect_arg_wire(const codec_value *v, const uint8_t *want, size_t want_len)
{
    codec_tx tx;
    base_tx(&tx);
    tx.arg_count = 1;
    tx.args[0] = *v;
    uint8_t body[2048];
    codec_buf b = codec_buf_make(body, sizeof body);
    cr_assert_eq(codec_tx_body_encode(&tx, &b), CODEC_OK);
    cr_assert_geq(b.len, want_len + 1);
    cr_assert_eq(body[b.len - want_len - 1], 0x91, "args array header");
    cr_assert(same(body + b.len - want_len, want, want_len), "wire form of arg");
    tx_round_trip(&tx);
}

Test(codec, int_args_use_the_shortest_form_at_every_width_boundary)
{
    static const struct {
        int64_t v;
        uint8_t wire[9];
        size_t len;
    } cases[] = {
        {-1, {0xff}, 1},
        {-32, {0xe0}, 1},
        {-33, {0xd0, 0xdf}, 2},
        {-128, {0xd0, 0x80}, 2},
        {-129, {0xd1, 0xff, 0x7f}, 3},
        {-32768, {0xd1, 0x80, 0x00}, 3},
        {-32769, {0xd2, 0xff, 0xff, 0x7f, 0xff}, 5},
        {(int64_t)INT32_MIN, {0xd2, 0x80, 0, 0, 0}, 5},
        {(int64_t)INT32_MIN - 1, {0xd3, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff}, 9},
        {INT64_MIN, {0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0}, 9},
        {0, {0x00}, 1},
        {127, {0x7f}, 1},
        {128, {0xcc, 0x80}, 2},
        {INT64_MAX, {0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 9},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        codec_value v = {CODEC_VALUE_INT, cases[i].v, NULL, 0};
        expect_arg_wire(&v, cases[i].wire, cases[i].len);
    }
}

Test(codec, bytes_args_of_0_255_256_and_1024_bytes_round_trip)
{
    codec_tx tx;
    base_tx(&tx);
    static const struct {
        uint32_t len;
        uint8_t header[3];
        size_t header_len;
    } cases[] = {
        {0, {0xc4, 0x00}, 2}, {255, {0xc4, 0xff}, 2}, {256, {0xc5, 0x01, 0x00}, 3},
        {1024, {0xc5, 0x04, 0x00}, 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t want[1100];
        memcpy(want, cases[i].header, cases[i].header_len);
        memcpy(want + cases[i].header_len, blob, cases[i].len);
        codec_value v = {CODEC_VALUE_BYTES, 0, blob, cases[i].len};
        expect_arg_wire(&v, want, cases[i].header_len + cases[i].len);
    }
}

Test(codec, tx_with_mixed_args_and_cosigs_round_trips)
{
    codec_tx tx;
    base_tx(&tx);
    static const int64_t ints[] = {-1,        -32,       -33,  -128, -129, -32768, -32769,
                                   (int64_t)INT32_MIN - 1, INT64_MIN, INT64_MAX};
    for (uint32_t i = 0; i < 10; i++) tx.args[tx.arg_count++] = (codec_value){CODEC_VALUE_INT, ints[i], NULL, 0};
    tx.args[tx.arg_count++] = (codec_value){CODEC_VALUE_BYTES, 0, blob, 0};
    tx.args[tx.arg_count++] = (codec_value){CODEC_VALUE_BYTES, 0, blob, 255};
    tx.args[tx.arg_count++] = (codec_value){CODEC_VALUE_BYTES, 0, blob, 256};
    tx.args[tx.arg_count++] = (codec_value){CODEC_VALUE_INT, 0, NULL, 0};
    tx.args[tx.arg_count++] = (codec_value){CODEC_VALUE_BYTES, 0, blob + 3, 1024};
    tx.args[tx.arg_count++] = (codec_value){CODEC_VALUE_INT, 1, NULL, 0};
    cr_assert_eq(tx.arg_count, CODEC_ARGS_MAX);
    tx.nonce = UINT64_MAX;
    strcpy(tx.contract.text, "abcdefghijklmnopqrstuvwxyz012345"); /* 32 chars, str8 */
    strcpy(tx.method.text, "r\xc3\xa9vocation");                  /* UTF-8 */
    tx.cosig_count = CODEC_COSIGS_MAX;
    for (uint32_t i = 0; i < tx.cosig_count; i++) {
        memset(tx.cosigs[i].key.bytes, 0x60 + (int)i, 32); /* distinct co-signers */
        tx.cosigs[i].meaning = (uint8_t)(MEANING_AUTHOR + i % MEANING_MAX_);
        memset(tx.cosigs[i].sig.bytes, 0x40 + (int)i, 64);
    }
    memset(tx.sig.bytes, 0x99, 64);
    tx_round_trip(&tx);
    base_tx(&tx); /* and the smallest: no args, no cosigs, nonce 0 */
    tx.nonce = 0;
    tx_round_trip(&tx);
}

Test(codec, batch_and_block_headers_round_trip_and_hash_their_encoding)
{
    codec_block_header h = {{UINT64_MAX, 1764100000000ull, {{1, 2, 3}}, CODEC_BLOCK_TXS_MAX},
                            {{9, 8, 7}}, 1ull << 40, {{0xee}}};
    uint8_t first[256], second[256];
    codec_buf b = codec_buf_make(first, sizeof first);
    cr_assert_eq(codec_block_header_encode(&h, &b), CODEC_OK);
    codec_block_header back;
    cr_assert_eq(codec_block_header_decode(first, b.len, &back, NULL), CODEC_OK);
    cr_assert(same(&h, &back, sizeof h));
    codec_buf b2 = codec_buf_make(second, sizeof second);
    cr_assert_eq(codec_block_header_encode(&back, &b2), CODEC_OK);
    cr_assert_eq(b2.len, b.len);
    cr_assert(same(first, second, b.len));
    hash32 want, got;
    tcrypto_sha256(first, b.len, &want);
    codec_block_hash(&h, &got);
    cr_assert(same(&want, &got, 32), "block hash is SHA-256 of the canonical header");

    b = codec_buf_make(first, sizeof first);
    cr_assert_eq(codec_batch_header_encode(&h.batch, &b), CODEC_OK);
    codec_batch_header bback;
    cr_assert_eq(codec_batch_header_decode(first, b.len, &bback, NULL), CODEC_OK);
    cr_assert(same(&h.batch, &bback, sizeof bback));
    tcrypto_sha256(first, b.len, &want);
    codec_batch_hash(&h.batch, &got);
    cr_assert(same(&want, &got, 32));
    /* the block header nests the batch header verbatim */
    b2 = codec_buf_make(second, sizeof second);
    codec_block_header_encode(&h, &b2);
    cr_assert_eq(second[0], 0x94);
    cr_assert(same(second + 1, first, b.len));
}

static size_t encode_receipt(const codec_receipt *r, uint8_t *out, size_t cap)
{
    codec_buf b = codec_buf_make(out, cap);
    cr_assert_eq(codec_receipt_encode(r, &b), CODEC_OK);
    return b.len;
}

Test(codec, receipt_round_trips)
{
    static codec_receipt r, back;
    memset(&r, 0, sizeof r);
    r.tx_id.bytes[3] = 3;
    r.status = RECEIPT_TRAPPED;
    r.error_code = UINT32_MAX;
    memset(r.reason, 'x', CODEC_REASON_MAX); /* 160 chars: str8 */
    r.gas_used = 1ull << 33;
    r.event_count = CODEC_EVENTS_MAX;
    for (uint32_t i = 0; i < r.event_count; i++) {
        snprintf(r.events[i].topic.text, sizeof r.events[i].topic.text, "topic.%u", i);
        r.events[i].data = blob;
        r.events[i].len = i == 0 ? 0 : i * 64;
    }
    uint8_t first[CODEC_RECEIPT_MAX], second[CODEC_RECEIPT_MAX];
    size_t n = encode_receipt(&r, first, sizeof first);
    cr_assert_eq(codec_receipt_decode(first, n, &back, NULL), CODEC_OK);
    cr_assert(same(&r.tx_id, &back.tx_id, 32));
    cr_assert_eq(back.status, RECEIPT_TRAPPED);
    cr_assert_eq(back.error_code, UINT32_MAX);
    cr_assert_str_eq(back.reason, r.reason);
    cr_assert_eq(back.gas_used, r.gas_used);
    cr_assert_eq(back.event_count, r.event_count);
    for (uint32_t i = 0; i < r.event_count; i++) {
        cr_assert_str_eq(back.events[i].topic.text, r.events[i].topic.text);
        cr_assert_eq(back.events[i].len, r.events[i].len);
        cr_assert(same(back.events[i].data, blob, r.events[i].len));
    }
    cr_assert_eq(encode_receipt(&back, second, sizeof second), n);
    cr_assert(same(first, second, n));
}

static void fill_vsigs(codec_vsig *sigs, uint32_t *count, uint32_t n)
{
    *count = n;
    for (uint32_t i = 0; i < n; i++) {
        sigs[i].validator = i == n - 1 ? CODEC_VALIDATORS_MAX - 1 : i;
        memset(sigs[i].sig.bytes, (int)(0x10 + i), 64);
    }
}

Test(codec, certificates_round_trip)
{
    static codec_commit_cert c, cback;
    c.height = 77;
    c.view = 1ull << 35;
    memset(c.batch_hash.bytes, 0xab, 32);
    fill_vsigs(c.sigs, &c.sig_count, 5);
    uint8_t first[8192], second[8192];
    codec_buf b = codec_buf_make(first, sizeof first);
    cr_assert_eq(codec_commit_cert_encode(&c, &b), CODEC_OK);
    cr_assert_eq(codec_commit_cert_decode(first, b.len, &cback, NULL), CODEC_OK);
    cr_assert_eq(cback.height, 77);
    cr_assert_eq(cback.view, c.view);
    cr_assert(same(&cback.batch_hash, &c.batch_hash, 32));
    cr_assert_eq(cback.sig_count, 5);
    cr_assert(same(cback.sigs, c.sigs, 5 * sizeof c.sigs[0]));
    codec_buf b2 = codec_buf_make(second, sizeof second);
    cr_assert_eq(codec_commit_cert_encode(&cback, &b2), CODEC_OK);
    cr_assert_eq(b2.len, b.len);
    cr_assert(same(first, second, b.len));

    static codec_result_cert r, rback;
    r.height = 78;
    memset(r.block_hash.bytes, 1, 32);
    memset(r.state_hash.bytes, 2, 32);
    memset(r.receipts_root.bytes, 3, 32);
    fill_vsigs(r.sigs, &r.sig_count, CODEC_VALIDATORS_MAX);
    b = codec_buf_make(first, sizeof first);
    cr_assert_eq(codec_result_cert_encode(&r, &b), CODEC_OK);
    cr_assert_eq(codec_result_cert_decode(first, b.len, &rback, NULL), CODEC_OK);
    cr_assert_eq(rback.height, 78);
    cr_assert(same(&rback.block_hash, &r.block_hash, 32));
    cr_assert(same(&rback.state_hash, &r.state_hash, 32));
    cr_assert(same(&rback.receipts_root, &r.receipts_root, 32));
    cr_assert_eq(rback.sig_count, CODEC_VALIDATORS_MAX);
    cr_assert(same(rback.sigs, r.sigs, sizeof r.sigs));
    b2 = codec_buf_make(second, sizeof second);
    cr_assert_eq(codec_result_cert_encode(&rback, &b2), CODEC_OK);
    cr_assert_eq(b2.len, b.len);
    cr_assert(same(first, second, b.len));
}

Test(codec, signed_bodies_are_the_leading_fields_of_their_certificates)
{
    static codec_result_cert r;
    r.height = 300;
    memset(r.block_hash.bytes, 1, 32);
    fill_vsigs(r.sigs, &r.sig_count, 1);
    uint8_t body[256], cert[256];
    codec_buf b = codec_buf_make(body, sizeof body);
    cr_assert_eq(codec_checkpoint_body_encode(&r, &b), CODEC_OK);
    codec_buf c = codec_buf_make(cert, sizeof cert);
    cr_assert_eq(codec_result_cert_encode(&r, &c), CODEC_OK);
    cr_assert_eq(body[0], 0x94); /* [height, block, state, receipts] */
    cr_assert_eq(cert[0], 0x95);
    cr_assert(same(body + 1, cert + 1, b.len - 1));

    codec_commit_cert cc = {.height = 300, .view = 2, .sig_count = 1};
    memset(cc.batch_hash.bytes, 5, 32);
    b = codec_buf_make(body, sizeof body);
    cr_assert_eq(codec_commit_body_encode(300, 2, &cc.batch_hash, &b), CODEC_OK);
    c = codec_buf_make(cert, sizeof cert);
    cr_assert_eq(codec_commit_cert_encode(&cc, &c), CODEC_OK);
    cr_assert_eq(body[0], 0x93);
    cr_assert_eq(cert[0], 0x94);
    cr_assert(same(body + 1, cert + 1, b.len - 1));
}

Test(codec, genesis_with_validators_authorities_and_contracts_round_trips)
{
    static codec_genesis g, back;
    static uint8_t first[65536], second[65536];
    make_keys();
    strcpy(g.chain_name, "ONC-2026-117 \xe2\x80\x94 phase II consent registry");
    g.created_ms = 1764100000000ull;
    codec_rules_default(&g.rules);
    g.rules.max_batch_txs = CODEC_BLOCK_TXS_MAX;
    g.rules.tx_gas_limit = g.rules.block_gas_limit = CODEC_RULES_GAS_MAX;
    g.rules.anchor_window_ms = CODEC_RULES_ANCHOR_WINDOW_MAX_MS;
    g.rules.clock_skew_ms = CODEC_RULES_CLOCK_SKEW_MAX_MS;
    codec_governance_default(g.governance);
    g.governance[GOVERNANCE_DEPLOY - 1] = (codec_requirement){
        .role_count = 3, .roles = {{ROLE_SPONSOR, 1}, {ROLE_INVESTIGATOR, 1}, {ROLE_REGULATOR, 1}}};
    g.validator_count = 7;
    for (uint32_t i = 0; i < 7; i++) {
        snprintf(g.validators[i].name.text, sizeof g.validators[i].name.text, "validator-%u", i);
        memset(g.validators[i].key.bytes, (int)i, 32);
    }
    g.authority_count = 4;
    for (uint32_t i = 0; i < 4; i++) {
        g.authorities[i].role = (uint8_t)(ROLE_SPONSOR + i);
        strcpy(g.authorities[i].site.text, i == 1 ? "site-berlin" : "");
        snprintf(g.authorities[i].name.text, sizeof g.authorities[i].name.text, "%s",
                 codec_role_name(ROLE_SPONSOR + i));
        memset(g.authorities[i].key.bytes, 0x70 + (int)i, 32);
    }
    g.contract_count = 2;
    strcpy(g.contracts[0].name.text, "consent");
    g.contracts[0].version = UINT32_MAX;
    g.contracts[0].bytecode = blob;
    g.contracts[0].bytecode_len = 1;
    strcpy(g.contracts[1].name.text, "registry");
    g.contracts[1].version = 2;
    g.contracts[1].bytecode = blob;
    g.contracts[1].bytecode_len = sizeof blob;
    codec_buf b = codec_buf_make(first, sizeof first);
    cr_assert_eq(codec_genesis_encode(&g, &b), CODEC_OK);
    codec_error e;
    char why[160];
    cr_assert_eq(codec_genesis_decode(first, b.len, &back, &e), CODEC_OK, "%s",
                 codec_error_format(&e, why, sizeof why));
    cr_assert_str_eq(back.chain_name, g.chain_name);
    cr_assert_eq(back.created_ms, g.created_ms);
    cr_assert(same(&back.rules, &g.rules, sizeof g.rules));
    cr_assert(same(back.governance, g.governance, sizeof g.governance));
    cr_assert_eq(back.validator_count, 7);
    cr_assert(same(back.validators, g.validators, 7 * sizeof g.validators[0]));
    cr_assert_eq(back.authority_count, 4);
    cr_assert(same(back.authorities, g.authorities, 4 * sizeof g.authorities[0]));
    cr_assert_eq(back.contract_count, 2);
    for (uint32_t i = 0; i < 2; i++) {
        cr_assert_str_eq(back.contracts[i].name.text, g.contracts[i].name.text);
        cr_assert_eq(back.contracts[i].version, g.contracts[i].version);
        cr_assert_eq(back.contracts[i].bytecode_len, g.contracts[i].bytecode_len);
        cr_assert(same(back.contracts[i].bytecode, blob, g.contracts[i].bytecode_len));
    }
    cr_assert_eq(codec_genesis_quorum(&back), 5);
    codec_buf b2 = codec_buf_make(second, sizeof second);
    cr_assert_eq(codec_genesis_encode(&back, &b2), CODEC_OK);
    cr_assert_eq(b2.len, b.len);
    cr_assert(same(first, second, b.len));
}

/* A block of two signed txs, two receipts, three writes (one delete). */
typedef struct {
    uint8_t tx[2][4096], receipt[2][512], cert[1024], block[16384];
    codec_span txs[2], receipts[2], commit;
    codec_write writes[3];
    codec_block_header header;
    size_t block_len;
} block_fixture;

static void make_block(block_fixture *f)
{
    memset(f, 0, sizeof *f);
    for (int i = 0; i < 2; i++) {
        codec_tx tx;
        base_tx(&tx);
        tx.nonce = 100 + (uint64_t)i;
        tx.arg_count = 1;
        tx.args[0] = (codec_value){CODEC_VALUE_INT, -129 * (i + 1), NULL, 0};
        f->txs[i] = (codec_span){f->tx[i], encode_tx(&tx, f->tx[i], sizeof f->tx[i])};
        codec_receipt r;
        memset(&r, 0, sizeof r);
        tcrypto_sha256(f->tx[i], f->txs[i].len, &r.tx_id);
        r.status = (uint8_t)i;
        strcpy(r.reason, i ? "refused" : "");
        f->receipts[i] = (codec_span){f->receipt[i],
                                      encode_receipt(&r, f->receipt[i], sizeof f->receipt[i])};
    }
    f->writes[0] = (codec_write){(const uint8_t *)"consent/P1", 10, (const uint8_t *)"granted", 7};
    f->writes[1] = (codec_write){(const uint8_t *)"consent/P2", 10, NULL, 0}; /* delete */
    f->writes[2] = (codec_write){(const uint8_t *)"empty", 5, (const uint8_t *)"", 0};
    codec_commit_cert cc = {.height = 5, .view = 0};
    fill_vsigs(cc.sigs, &cc.sig_count, 3);
    codec_buf b = codec_buf_make(f->cert, sizeof f->cert);
    cr_assert_eq(codec_commit_cert_encode(&cc, &b), CODEC_OK);
    f->commit = (codec_span){f->cert, b.len};
    f->header.batch.height = 5;
    f->header.batch.time_ms = 1764100005000ull; /* a batch with txs has a time (5.2) */
    f->header.batch.tx_count = 2;
    f->header.log_size = 9;
    b = codec_buf_make(f->block, sizeof f->block);
    cr_assert_eq(codec_block_encode(&f->header, f->txs, 2, f->receipts, 2, f->writes, 3,
                                    &f->commit, &b),
                 CODEC_OK);
    f->block_len = b.len;
}

static bool span_eq(const codec_span *a, const codec_span *b)
{
    return a->len == b->len && same(a->data, b->data, a->len);
}

Test(codec, block_with_txs_receipts_and_writes_round_trips)
{
    static block_fixture f;
    make_block(&f);
    codec_span txs[2], receipts[2];
    codec_write writes[3];
    codec_block blk = {.txs = txs, .receipts = receipts, .writes = writes};
    codec_error e;
    cr_assert_eq(codec_block_decode(f.block, f.block_len, &blk, 2, 3, &e), CODEC_OK);
    cr_assert(same(&blk.header, &f.header, sizeof f.header));
    cr_assert_eq(blk.tx_count, 2);
    cr_assert_eq(blk.receipt_count, 2);
    cr_assert_eq(blk.write_count, 3);
    for (int i = 0; i < 2; i++) {
        cr_assert(span_eq(&txs[i], &f.txs[i]));
        cr_assert(span_eq(&receipts[i], &f.receipts[i]));
    }
    cr_assert(span_eq(&blk.commit_cert, &f.commit));
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(writes[i].key_len, f.writes[i].key_len);
        cr_assert(same(writes[i].key, f.writes[i].key, f.writes[i].key_len));
        cr_assert_eq(writes[i].value == NULL, f.writes[i].value == NULL, "write %d delete", i);
        cr_assert_eq(writes[i].value_len, f.writes[i].value_len);
        if (writes[i].value) cr_assert(same(writes[i].value, f.writes[i].value, writes[i].value_len));
    }
    uint8_t second[16384];
    codec_buf b = codec_buf_make(second, sizeof second);
    cr_assert_eq(codec_block_encode(&blk.header, txs, 2, receipts, 2, writes, 3, &blk.commit_cert,
                                    &b),
                 CODEC_OK);
    cr_assert_eq(b.len, f.block_len);
    cr_assert(same(second, f.block, b.len));
    /* too small a capacity is a count refusal, not an overflow */
    cr_assert_eq(codec_block_decode(f.block, f.block_len, &blk, 1, 3, &e), CODEC_ERR_COUNT);
    cr_assert_str_eq(e.field, "block.txs");
    cr_assert_eq(codec_block_decode(f.block, f.block_len, &blk, 2, 2, &e), CODEC_ERR_COUNT);
    cr_assert_str_eq(e.field, "block.writes");
}

Test(codec, writes_encode_with_nil_for_delete_and_hash_their_encoding)
{
    codec_write w[2] = {{(const uint8_t *)"k", 1, (const uint8_t *)"v", 1},
                        {(const uint8_t *)"k", 1, NULL, 0}};
    static const uint8_t want[] = {0x92, 0x92, 0xc4, 1, 'k', 0xc4, 1, 'v',
                                   0x92, 0xc4, 1, 'k', 0xc0};
    uint8_t out[64];
    codec_buf b = codec_buf_make(out, sizeof out);
    cr_assert_eq(codec_writes_encode(w, 2, &b), CODEC_OK);
    cr_assert_eq(b.len, sizeof want);
    cr_assert(same(out, want, sizeof want));
    hash32 h, expect;
    codec_writes_hash(w, 2, &h);
    tcrypto_sha256(want, sizeof want, &expect);
    cr_assert(same(&h, &expect, 32));
    b = codec_buf_make(out, 5);
    cr_assert_eq(codec_writes_encode(w, 2, &b), CODEC_ERR_OVERFLOW);
}

Test(codec, export_header_and_entries_with_and_without_result_cert_round_trip)
{
    static block_fixture f;
    make_block(&f);
    uint8_t out[32768];
    codec_export_header h = {{{0x12, 0x34}}, 3}, hback;
    codec_buf b = codec_buf_make(out, sizeof out);
    cr_assert_eq(codec_export_header_encode(&h, &b), CODEC_OK);
    size_t header_len = b.len;
    codec_result_cert rc = {.height = 5};
    fill_vsigs(rc.sigs, &rc.sig_count, 3);
    uint8_t cert[4096];
    codec_buf cb = codec_buf_make(cert, sizeof cert);
    cr_assert_eq(codec_result_cert_encode(&rc, &cb), CODEC_OK);
    codec_span block = {f.block, f.block_len}, rcert = {cert, cb.len};
    cr_assert_eq(codec_export_entry_encode(&block, &rcert, &b), CODEC_OK);
    size_t first_end = b.len;
    cr_assert_eq(codec_export_entry_encode(&block, NULL, &b), CODEC_OK);
    cr_assert_eq(out[b.len - 1], 0xc0, "no result cert is nil");

    size_t used;
    codec_error e;
    cr_assert_eq(codec_export_header_decode(out, b.len, &hback, &used, &e), CODEC_OK);
    cr_assert_eq(used, header_len);
    cr_assert(same(&hback, &h, sizeof h));
    codec_span gb, gc;
    cr_assert_eq(codec_export_entry_decode(out + used, b.len - used, &gb, &gc, &used, &e), CODEC_OK);
    cr_assert_eq(used, first_end - header_len);
    cr_assert(span_eq(&gb, &block));
    cr_assert(span_eq(&gc, &rcert));
    size_t at = first_end;
    cr_assert_eq(codec_export_entry_decode(out + at, b.len - at, &gb, &gc, &used, &e), CODEC_OK);
    cr_assert_eq(at + used, b.len);
    cr_assert(span_eq(&gb, &block));
    cr_assert_eq(gc.len, 0);
    /* re-encode both entries from the decoded spans */
    uint8_t again[32768];
    codec_buf b2 = codec_buf_make(again, sizeof again);
    codec_export_header_encode(&hback, &b2);
    codec_export_entry_encode(&block, &rcert, &b2);
    codec_export_entry_encode(&gb, &gc, &b2);
    cr_assert_eq(b2.len, b.len);
    cr_assert(same(again, out, b.len));
}

static size_t encode_proof(const codec_proof *p, uint8_t *out, size_t cap)
{
    codec_buf b = codec_buf_make(out, cap);
    cr_assert_eq(codec_proof_encode(p, &b), CODEC_OK);
    return b.len;
}

Test(codec, inclusion_and_consistency_proofs_round_trip)
{
    static block_fixture f;
    make_block(&f);
    uint8_t h_old[256], h_new[256], c_old[4096], c_new[4096];
    codec_block_header hh = f.header;
    codec_buf b = codec_buf_make(h_new, sizeof h_new);
    codec_block_header_encode(&hh, &b);
    codec_span hn = {h_new, b.len};
    hh.batch.height = 2;
    b = codec_buf_make(h_old, sizeof h_old);
    codec_block_header_encode(&hh, &b);
    codec_span ho = {h_old, b.len};
    codec_result_cert rc = {.height = 5};
    fill_vsigs(rc.sigs, &rc.sig_count, 3);
    b = codec_buf_make(c_new, sizeof c_new);
    codec_result_cert_encode(&rc, &b);
    codec_span cn = {c_new, b.len};
    rc.height = 2;
    b = codec_buf_make(c_old, sizeof c_old);
    codec_result_cert_encode(&rc, &b);
    codec_span co = {c_old, b.len};

    static codec_proof p, back;
    static uint8_t first[16384], second[16384];
    for (int kind = PROOF_INCLUSION; kind <= PROOF_CONSISTENCY; kind++) {
        memset(&p, 0, sizeof p);
        p.kind = (uint8_t)kind;
        p.block = (codec_certified_block){hn, cn};
        if (kind == PROOF_INCLUSION) {
            p.tx = f.txs[1];
            p.leaf_index = 8;
        } else {
            p.old_block = (codec_certified_block){ho, co};
        }
        p.path_len = kind == PROOF_INCLUSION ? 4 : CODEC_PROOF_PATH_MAX;
        for (uint32_t i = 0; i < p.path_len; i++) memset(p.path[i].bytes, (int)i, 32);
        size_t n = encode_proof(&p, first, sizeof first);
        codec_error e;
        char why[160];
        cr_assert_eq(codec_proof_decode(first, n, &back, &e), CODEC_OK, "%s",
                     codec_error_format(&e, why, sizeof why));
        cr_assert_eq(back.kind, kind);
        cr_assert(span_eq(&back.block.header, &hn));
        cr_assert(span_eq(&back.block.result_cert, &cn));
        if (kind == PROOF_INCLUSION) {
            cr_assert(span_eq(&back.tx, &f.txs[1]));
            cr_assert_eq(back.leaf_index, 8);
        } else {
            cr_assert(span_eq(&back.old_block.header, &ho));
            cr_assert(span_eq(&back.old_block.result_cert, &co));
        }
        cr_assert_eq(back.path_len, p.path_len);
        cr_assert(same(back.path, p.path, p.path_len * sizeof p.path[0]));
        cr_assert_eq(encode_proof(&back, second, sizeof second), n);
        cr_assert(same(first, second, n));
    }
}

Test(codec, encoders_report_overflow_instead_of_writing_past_the_buffer)
{
    codec_tx tx;
    base_tx(&tx);
    uint8_t full[256];
    size_t n = encode_tx(&tx, full, sizeof full);
    for (size_t cap = 0; cap < n; cap++) {
        uint8_t *small = malloc(cap ? cap : 1);
        codec_buf b = codec_buf_make(small, cap);
        cr_assert_eq(codec_tx_encode(&tx, &b), CODEC_ERR_OVERFLOW, "cap %zu", cap);
        cr_assert_leq(b.len, cap);
        free(small);
    }
}

/* ==== 2. refusals ==========================================================
 * Each refusal names the code, the field, the innermost array index and the
 * byte offset where the offending value starts. */

Test(codec, hand_built_fixtures_are_valid)
{
    parts p;
    tx_parts(&p, 2);
    expect_ok(S_TX, &p);
    receipt_parts(&p);
    expect_ok(S_RECEIPT, &p);
    commit_parts(&p);
    expect_ok(S_COMMIT, &p);
    result_parts(&p);
    expect_ok(S_RESULT, &p);
    block_header_parts(&p);
    expect_ok(S_BLOCK_HEADER, &p);
    genesis_parts(&p);
    expect_ok(S_GENESIS, &p);
    block_parts(&p, NULL);
    expect_ok(S_BLOCK, &p);
    proof_parts(&p);
    expect_ok(S_PROOF, &p);
}

static void assemble_structure(structure s, bytes *m)
{
    parts p;
    switch (s) {
    case S_TX: tx_parts(&p, 2); break;
    case S_RECEIPT: receipt_parts(&p); break;
    case S_COMMIT: commit_parts(&p); break;
    case S_RESULT: result_parts(&p); break;
    case S_BLOCK_HEADER: block_header_parts(&p); break;
    case S_GENESIS: genesis_parts(&p); break;
    case S_BLOCK: block_parts(&p, NULL); break;
    case S_PROOF: proof_parts(&p); break;
    case S_BATCH_HEADER: block_header_parts(&p); m->n = 0; put(m, p.f[0].b, p.f[0].n); return;
    }
    assemble(&p, m);
}

Test(codec, every_prefix_of_every_structure_is_truncated)
{
    for (int s = S_TX; s <= S_BATCH_HEADER; s++) {
        bytes m;
        assemble_structure((structure)s, &m);
        for (size_t len = 0; len < m.n; len++) {
            codec_error e;
            codec_err rc = decode_prefix((structure)s, &m, len, &e);
            char why[160];
            cr_assert_eq(rc, CODEC_ERR_TRUNCATED, "structure %d prefix %zu of %zu: %s", s, len,
                         m.n, codec_error_format(&e, why, sizeof why));
            cr_assert_not_null(e.field);
            cr_assert_leq(e.offset, len, "structure %d prefix %zu: offset %zu", s, len, e.offset);
        }
    }
}

Test(codec, bytes_after_any_structure_are_trailing)
{
    static const uint8_t extras[][2] = {{0x00}, {0xc0}, {0x90}};
    for (int s = S_TX; s <= S_BATCH_HEADER; s++) {
        for (size_t k = 0; k < 3; k++) {
            bytes m;
            assemble_structure((structure)s, &m);
            size_t valid = m.n;
            put(&m, extras[k], 1);
            codec_error e;
            codec_err rc = decode((structure)s, &m, &e);
            EXPECT_ERR(rc, e, CODEC_ERR_TRAILING, "end", -1, valid);
        }
    }
}

/* Replacing top-level field i by nil, true or a float64 is a type error
 * naming that field. */
static void expect_field_types(structure s, void (*make)(parts *), const char *const *names)
{
    static const uint8_t wrong[][9] = {{0xc0}, {0xc3}, {0xcb, 0x3f, 0xf0}, {0x80}};
    static const size_t wrong_len[] = {1, 1, 9, 1};
    parts p;
    make(&p);
    int n = p.n;
    for (int i = 0; i < n; i++) {
        for (size_t k = 0; k < 4; k++) {
            make(&p);
            bytes *f = field(&p, i);
            put(f, wrong[k], wrong_len[k]);
            EXPECT_PARTS_ERR(s, p, CODEC_ERR_TYPE, names[i], -1, p.off[i]);
        }
    }
}

static void tx_parts_plain(parts *p) { tx_parts(p, 1); }
static void block_parts_plain(parts *p) { block_parts(p, NULL); }

Test(codec, wrong_type_in_any_field_is_named)
{
    static const char *const tx[] = {"tx.signer", "tx.nonce", "tx.valid_until", "tx.contract",
                                     "tx.method", "tx.args", "tx.cosigs", "tx.sig"};
    static const char *const receipt[] = {"receipt.tx_id", "receipt.status",
                                          "receipt.error_code", "receipt.reason",
                                          "receipt.gas_used", "receipt.events"};
    static const char *const commit[] = {"commit_cert.height", "commit_cert.view",
                                         "commit_cert.batch_hash", "commit_cert.sigs"};
    static const char *const result[] = {"result_cert.height", "result_cert.block_hash",
                                         "result_cert.state_hash", "result_cert.receipts_root",
                                         "result_cert.sigs"};
    static const char *const header[] = {"batch_header", "block_header.prev_hash",
                                         "block_header.log_size", "block_header.log_root"};
    static const char *const genesis[] = {"genesis.version", "genesis.chain_name",
                                          "genesis.created_ms", "genesis.rules",
                                          "genesis.validators", "genesis.authorities",
                                          "genesis.contracts", "genesis.governance"};
    static const char *const block[] = {"block_header", "block.txs", "block.receipts",
                                        "block.writes", "commit_cert"};
    static const char *const proof[] = {"proof.kind", "tx", "proof.leaf_index", "block_header",
                                        "result_cert", "proof.path"};
    expect_field_types(S_TX, tx_parts_plain, tx);
    expect_field_types(S_RECEIPT, receipt_parts, receipt);
    expect_field_types(S_COMMIT, commit_parts, commit);
    expect_field_types(S_RESULT, result_parts, result);
    expect_field_types(S_BLOCK_HEADER, block_header_parts, header);
    expect_field_types(S_GENESIS, genesis_parts, genesis);
    expect_field_types(S_BLOCK, block_parts_plain, block);
    expect_field_types(S_PROOF, proof_parts, proof);
}

Test(codec, text_where_bytes_belong_and_bytes_where_text_belongs_are_type_errors)
{
    parts p;
    tx_parts(&p, 0);
    mp_str_fill(field(&p, 0), 32, 'k'); /* a 32-char str is not a 32-byte key */
    EXPECT_PARTS_ERR(S_TX, p, CODEC_ERR_TYPE, "tx.signer", -1, p.off[0]);
    tx_parts(&p, 0);
    mp_bin_fill(field(&p, 3), 7, 'c');
    EXPECT_PARTS_ERR(S_TX, p, CODEC_ERR_TYPE, "tx.contract", -1, p.off[3]);
    tx_parts(&p, 0);
    put1(field(&p, 1), 0xff); /* -1 is not a nonce */
    EXPECT_PARTS_ERR(S_TX, p, CODEC_ERR_TYPE, "tx.nonce", -1, p.off[1]);
    tx_parts(&p, 0);
    bytes *a = field(&p, 5);
    mp_array(a, 3);
    mp_uint(a, 1);
    mp_uint(a, 2);
    mp_str(a, "no"); /* args are int or bin only */
    EXPECT_PARTS_ERR(S_TX, p, CODEC_ERR_TYPE, "tx.args[]", 2, p.off[5] + 3);
    tx_parts(&p, 0);
    mp_bin_fill(field(&p, 7), 64, 0);
    p.f[7].b[0] = 0xda; /* str16 header where the sig bin belongs */
    EXPECT_PARTS_ERR(S_TX, p, CODEC_ERR_TYPE, "tx.sig", -1, p.off[7]);
    tx_parts(&p, 2);
    bytes *c = field(&p, 6);
    mp_array(c, 2);
    cosig_bytes(c, MEANING_WITNESS, 1);
    mp_array(c, 3);
    mp_bin_fill(c, 32, 2);
    mp_str(c, "4");
    EXPECT_PARTS_ERR(S_TX, p, CODEC_ERR_TYPE, "tx.cosigs[].meaning", 1,
                     p.off[6] + 1 + 102 + 1 + 34);
    /* a map where the whole tx belongs */
    bytes m = {.n = 0};
    put1(&m, 0x87);
    codec_error e;
    codec_err rc = decode(S_TX, &m, &e);
    EXPECT_ERR(rc, e, CODEC_ERR_TYPE, "tx", -1, 0);
}

/* Non-canonical forms: each is valid msgpack that a lenient reader accepts. */
Test(codec, non_shortest_integers_are_refused)
{
    static const struct {
        uint8_t wire[9];
        size_t len;
    } nonce[] = {
        {{0xcc, 5}, 2},                                      /* uint8 holding 5 */
        {{0xcc, 0x7f}, 2},                                   /* uint8 holding 127 */
        {{0xcd, 0, 200}, 3},                                 /* uint16 holding 200 */
        {{0xce, 0, 0, 0xea, 0x60}, 5},                       /* uint32 holding 60000 */
        {{0xcf, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, 9},     /* uint64 holding 2^32-1 */
        {{0xd0, 5}, 2},                                      /* int8 holding 5 */
        {{0xd0, 0xfb}, 2},                                   /* int8 holding -5 */
    };
    parts p;
    for (size_t i = 0; i < sizeof nonce / sizeof nonce[0]; i++) {
        tx_parts(&p, 0);
        put(field(&p, 1), nonce[i].wire, nonce[i].len);
        codec_err want = nonce[i].wire[0] >= 0xd0 ? CODEC_ERR_TYPE : CODEC_ERR_NONCANONICAL;
        EXPECT_PARTS_ERR(S_TX, p, want, "tx.nonce", -1, p.off[1]);
    }
    static const struct {
        uint8_t wire[9];
        size_t len;
    } arg[] = {
        {{0xcc, 5}, 2},
        {{0xd0, 5}, 2},                                      /* int8 holding 5 */
        {{0xd0, 0xfb}, 2},                                   /* int8 holding -5 */
        {{0xd0, 0xe0}, 2},                                   /* int8 holding -32 */
        {{0xd1, 0xff, 0x80}, 3},                             /* int16 holding -128 */
        {{0xd2, 0xff, 0xff, 0x80, 0x00}, 5},                 /* int32 holding -32768 */
        {{0xd3, 0xff, 0xff, 0xff, 0xff, 0x80, 0, 0, 0}, 9},  /* int64 holding INT32_MIN */
        {{0xd3, 0, 0, 0, 0, 0, 0, 0, 1}, 9},                 /* int64 holding 1 */
    };
    for (size_t i = 0; i < sizeof arg / sizeof arg[0]; i++) {
        tx_parts(&p, 0);
        bytes *a = field(&p, 5);
        mp_array(a, 2);
        mp_uint(a, 9);
        put(a, arg[i].wire, arg[i].len);
        EXPECT_PARTS_ERR(S_TX, p, CODEC_ERR_NONCANONICAL, "tx.args[]", 1, p.off[5] + 2);
    }
    /* the shortest forms just past each boundary are accepted */
    static const struct {
        uint8_t wire[9];
        size_t len;
        int64_t value;
    } ok[] = {
        {{0xd0, 0xdf}, 2, -33},
        {{0xd1, 0xff, 0x7f}, 3, -129},
        {{0xd2, 0xff, 0xff, 0x7f, 0xff}, 5, -32769},
        {{0xd3, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff}, 9, (int64_t)INT32_MIN - 1},
        {{0xcc, 0x80}, 2, 128},
        {{0xcf, 0, 0, 0, 1, 0, 0, 0, 0}, 9, 1ll << 32},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        tx_parts(&p, 0);
        bytes *a = field(&p, 5);
        mp_array(a, 1);
        put(a, ok[i].wire, ok[i].len);
        expect_ok(S_TX, &p);
        cr_assert_eq(dec_tx.args[0].integer, ok[i].value);
    }
}

Test(codec, non_shortest_headers_are_refused)
{
    parts p;
    /* array16 holding 3 elements */
    tx_parts(&p, 0);
    bytes *a = field(&p, 5);
    put1(a, 0xdc);
    put_be(a, 3, 2);
    mp_uint(a, 1);
    mp_uint(a, 2);
    mp_uint(a, 3);
    EXPECT_PARTS_ERR(S_TX, p, CODEC_ERR_NONCANONICAL, "tx.args", -1, p.off[5]);
    /* array16 holding the whole tx */
    tx_parts(&p, 0);
    bytes m;
    assemble(&p, &m);
    bytes m16 = {.n = 0};
    put1(&m16, 0xdc);
    put_be(&m16, 7, 2);
    put(&m16, m.b + 1, m.n - 1);
    codec_error e;
    codec_err rc = decode(S_TX, &m16, &e);
    EXPECT_ERR(rc, e, CODEC_ERR_NONCANONICAL, "tx", -1, 0);
    /* bin16 holding 10 bytes */
    tx_parts(&p, 0);
    a = field(&p, 5);
    mp_array(a, 1);
    put1(a, 0xc5);
    put_be(a, 10, 2);
    put_fill(a, 10, 7);
    EXPECT_PARTS_ERR(S_TX, p, CODEC_ERR_NONCANONICAL, "tx.args[]", 0, p.off[5] + 1);
    /* bin16 holding the 32-byte signer */
    tx_parts(&p, 0);
    a = field(&p, 0);
    put1(a, 0xc5);
    put_be(a, 32, 2);
    put_fill(a, 32, 7);
    EXPECT_PARTS_ERR(S_TX, p, CODEC_ERR_NONCANONICAL, "tx.signer", -1, p.off[0]);
    /* str8 holding 5 chars */
    tx_parts(&p, 0);
    a = field(&p, 3);
    put1(a, 0xd9);
    put1(a, 5);
    put(a, "hello", 5);
    EXPECT_PARTS_ERR(S_TX, p, CODEC_ERR_NONCANONICAL, "tx.contract", -1, p.off[3]);
    /* str16 holding 100 chars (reason allows 160, so only the form is wrong) */
    receipt_parts(&p);
    a = field(&p, 3);
    put1(a, 0xda);
    put_be(a, 100, 2);
    put_fill(a, 100, 'r');
    EXPECT_PARTS_ERR(S_RECEIPT, p, CODEC_ERR_NONCANONICAL, "receipt.reason", -1, p.off[3]);
    /* str8 holding 31 chars is non-canonical, 32 chars is the shortest */
    tx_parts(&p, 0);
    a = field(&p, 4);
    put1(a, 0xd9);
    put1(a, 31);
    put_fill(a, 31, 'm');
    EXPECT_PARTS_ERR(S_TX, p, CODEC_ERR_NONCANONICAL, "tx.method", -1, p.off[4]);
    tx_parts(&p, 0);
    mp_str_fill(field(&p, 4), 32, 'm');
    cr_assert_eq(p.f[4].b[0], 0xd9);
    expect_ok(S_TX, &p);
    /* bin8 holding 0 bytes is the shortest empty bin */
    tx_parts(&p, 0);
    a = field(&p, 5);
    mp_array(a, 1);
    mp_bin_fill(a, 0, 0);
    expect_ok(S_TX, &p);
    cr_assert_eq(dec_tx.args[0].kind, CODEC_VALUE_BYTES);
    cr_assert_eq(dec_tx.args[0].len, 0);
}

Test(codec, integers_out_of_range_are_refused_at_the_field)
{
    parts p;
    for (uint64_t meaning = 0; meaning <= 6; meaning += 6) {
        tx_parts(&p, 2);
        bytes *c = field(&p, 6);
        mp_array(c, 2);
        cosig_bytes(c, MEANING_WITNESS, 1);
        cosig_bytes(c, meaning, 2);
        /* cosig = [0x93, key (34 bytes), meaning, sig] */
        EXPECT_PARTS_ERR(S_TX, p, CODEC_ERR_RANGE, "tx.cosigs[].meaning", 1,
                         p.off[6] + 1 + 102 + 1 + 34);
    }
    for (uint64_t role = 0; role <= 7; role += role == 0 ? 5 : 2) { /* 0, 5 (participant), 7 */
        genesis_parts(&p);
        bytes *a = field(&p, 5);
        mp_array(a, 2);
        authority_bytes(a, ROLE_SPONSOR, "", "sponsor");
        size_t second = a->n;
        authority_bytes(a, role, "", "x");
        EXPECT_PARTS_ERR(S_GENESIS, p, CODEC_ERR_RANGE, "genesis.authorities[].role", 1,
                         p.off[5] + second + 1);
    }
    receipt_parts(&p);
    mp_uint(field(&p, 1), 4);
    EXPECT_PARTS_ERR(S_RECEIPT, p, CODEC_ERR_RANGE, "receipt.status", -1, p.off[1]);
    receipt_parts(&p);
    mp_uint(field(&p, 2), 1ull << 32);
    EXPECT_PARTS_ERR(S_RECEIPT, p, CODEC_ERR_RANGE, "receipt.error_code", -1, p.off[2]);
    static const uint32_t bad_index[3] = {0, 2, 64};
    commit_parts(&p);
    vsigs_bytes(field(&p, 3), bad_index, 3);
    /* sigs = [0x93, [0, sig] (68 bytes), [2, sig], [64 ...]] */
    EXPECT_PARTS_ERR(S_COMMIT, p, CODEC_ERR_RANGE, "commit_cert.sigs[]", 2,
                     p.off[3] + 1 + 2 * 68 + 1);
    result_parts(&p);
    vsigs_bytes(field(&p, 4), bad_index, 3);
    EXPECT_PARTS_ERR(S_RESULT, p, CODEC_ERR_RANGE, "result_cert.sigs[]", 2,
                     p.off[4] + 1 + 2 * 68 + 1);
    genesis_parts(&p);
    mp_uint(field(&p, 0), 4);
    EXPECT_PARTS_ERR(S_GENESIS, p, CODEC_ERR_UNKNOWN, "genesis.version", -1, p.off[0]);
    genesis_parts(&p);
    mp_uint(field(&p, 0), 0);
    EXPECT_PARTS_ERR(S_GENESIS, p, CODEC_ERR_UNKNOWN, "genesis.version", -1, p.off[0]);
    for (uint64_t kind = 0; kind <= 3; kind += 3) {
        proof_parts(&p);
        mp_uint(field(&p, 0), kind);
        EXPECT_PARTS_ERR(S_PROOF, p, CODEC_ERR_RANGE, "proof.kind", -1, p.off[0]);
    }
    block_header_parts(&p);
    bytes *b = field(&p, 0);
    mp_array(b, 4);
    mp_uint(b, 1);
    mp_uint(b, 2);
    mp_bin_fill(b, 32, 0);
    mp_uint(b, CODEC_BLOCK_TXS_MAX + 1);
    EXPECT_PARTS_ERR(S_BLOCK_HEADER, p, CODEC_ERR_RANGE, "batch_header.tx_count", -1,
                     p.off[0] + 1 + 1 + 1 + 34);
}

Test(codec, lengths_out_of_bounds_are_refused)
{
    parts p;
    for (size_t len = 31; len <= 33; len += 2) {
        tx_parts(&p, 0);
        mp_bin_fill(field(&p, 0), len, 1);
        EXPECT_PARTS_ERR(S_TX, p, CODEC_ERR_LENGTH, "tx.signer", -1, p.off[0]);
    }
    tx_parts(&p, 0);
    mp_bin_fill(field(&p, 7), 63, 1);
    EXPECT_PARTS_ERR(S_TX, p, CODEC_ERR_LENGTH, "tx.sig", -1, p.off[7]);
    tx_parts(&p, 2);
    bytes *c = field(&p, 6);
    mp_array(c, 2);
    cosig_bytes(c, MEANING_WITNESS, 1);
    mp_array(c, 3);
    mp_bin_fill(c, 32, 2);
    mp_uint(c, MEANING_APPROVAL);
    mp_bin_fill(c, 65, 2);
    bytes m;
    assemble(&p, &m);
    size_t sig_at = p.off[6] + 1 + 102 + 1 + 34 + 1;
    codec_error e;
    codec_err rc = decode(S_TX, &m, &e);
    EXPECT_ERR(rc, e, CODEC_ERR_LENGTH, "tx.cosigs[].sig", 1, sig_at);
    char text[160], want[160];
    snprintf(want, sizeof want, "tx.cosigs[1].sig: length out of bounds at byte %zu", sig_at);
    cr_assert_str_eq(codec_error_format(&e, text, sizeof text), want);

    tx_parts(&p, 0);
    mp_str_fill(field(&p, 3), 33, 'c');
    EXPECT_PARTS_ERR(S_TX, p, CODEC_ERR_LENGTH, "tx.contract", -1, p.off[3]);
    tx_parts(&p, 0);
    mp_str_fill(field(&p, 4), 33, 'm');
    EXPECT_PARTS_ERR(S_TX, p, CODEC_ERR_LENGTH, "tx.method", -1, p.off[4]);
    for (size_t len = 1024; len <= 1025; len++) {
        tx_parts(&p, 0);
        bytes *a = field(&p, 5);
        mp_array(a, 2);
        mp_uint(a, 1);
        mp_bin_fill(a, len, 9);
        if (len == 1024) expect_ok(S_TX, &p);
        else EXPECT_PARTS_ERR(S_TX, p, CODEC_ERR_LENGTH, "tx.args[]", 1, p.off[5] + 2);
    }
    for (size_t len = 160; len <= 161; len++) {
        receipt_parts(&p);
        mp_str_fill(field(&p, 3), len, 'r');
        if (len == 160) expect_ok(S_RECEIPT, &p);
        else EXPECT_PARTS_ERR(S_RECEIPT, p, CODEC_ERR_LENGTH, "receipt.reason", -1, p.off[3]);
    }
    genesis_parts(&p);
    mp_str_fill(field(&p, 1), 65, 'g');
    EXPECT_PARTS_ERR(S_GENESIS, p, CODEC_ERR_LENGTH, "genesis.chain_name", -1, p.off[1]);
    genesis_parts(&p);
    bytes *k = field(&p, 6);
    mp_array(k, 1);
    mp_array(k, 3);
    mp_str(k, "consent");
    mp_uint(k, 1);
    mp_bin_fill(k, 0, 0); /* empty bytecode */
    EXPECT_PARTS_ERR(S_GENESIS, p, CODEC_ERR_LENGTH, "genesis.contracts[].bytecode", 0,
                     p.off[6] + 1 + 1 + 8 + 1);
    /* block write key must be 1..256 bytes */
    block_parts(&p, NULL);
    bytes *w = field(&p, 3);
    mp_array(w, 1);
    mp_array(w, 2);
    mp_bin_fill(w, 0, 0);
    put1(w, 0xc0);
    EXPECT_PARTS_ERR(S_BLOCK, p, CODEC_ERR_LENGTH, "block.writes[].key", 0, p.off[3] + 2);
    /* a tx longer than CODEC_TX_MAX is refused before it is read */
    uint8_t *big = malloc(CODEC_TX_MAX + 1);
    cr_assert_not_null(big);
    memset(big, 0x98, CODEC_TX_MAX + 1);
    rc = codec_tx_decode(big, CODEC_TX_MAX + 1, &dec_tx, &e);
    free(big);
    EXPECT_ERR(rc, e, CODEC_ERR_LENGTH, "tx", -1, 0);
}

Test(codec, element_counts_out_of_bounds_are_refused)
{
    parts p;
    tx_parts(&p, 0);
    bytes *a = field(&p, 5);
    mp_array(a, 17);
    for (int i = 0; i < 17; i++) mp_uint(a, (uint64_t)i);
    EXPECT_PARTS_ERR(S_TX, p, CODEC_ERR_COUNT, "tx.args", -1, p.off[5]);
    tx_parts(&p, CODEC_COSIGS_MAX + 1);
    EXPECT_PARTS_ERR(S_TX, p, CODEC_ERR_COUNT, "tx.cosigs", -1, p.off[6]);
    tx_parts(&p, CODEC_COSIGS_MAX);
    expect_ok(S_TX, &p);
    for (uint32_t n = 1; n <= 8; n++) {
        genesis_parts(&p);
        validators_bytes(field(&p, 4), n);
        if (n == 4 || n == 7) {
            expect_ok(S_GENESIS, &p);
            cr_assert_eq(codec_genesis_quorum(&dec_genesis), n == 4 ? 3 : 5);
        } else {
            EXPECT_PARTS_ERR(S_GENESIS, p, CODEC_ERR_COUNT, "genesis.validators", -1, p.off[4]);
        }
    }
    commit_parts(&p);
    mp_array(field(&p, 3), 0);
    EXPECT_PARTS_ERR(S_COMMIT, p, CODEC_ERR_COUNT, "commit_cert.sigs", -1, p.off[3]);
    result_parts(&p);
    mp_array(field(&p, 4), 0);
    EXPECT_PARTS_ERR(S_RESULT, p, CODEC_ERR_COUNT, "result_cert.sigs", -1, p.off[4]);
    /* fewer and more fields than the structure has */
    static const struct {
        structure s;
        void (*make)(parts *);
        const char *name;
    } shapes[] = {
        {S_TX, tx_parts_plain, "tx"},        {S_RECEIPT, receipt_parts, "receipt"},
        {S_COMMIT, commit_parts, "commit_cert"}, {S_RESULT, result_parts, "result_cert"},
        {S_BLOCK_HEADER, block_header_parts, "block_header"},
        {S_GENESIS, genesis_parts, "genesis"}, {S_BLOCK, block_parts_plain, "block"},
        {S_PROOF, proof_parts, "proof"},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        shapes[i].make(&p);
        p.n--;
        EXPECT_PARTS_ERR(shapes[i].s, p, CODEC_ERR_COUNT, shapes[i].name, -1, 0);
        shapes[i].make(&p);
        /* a proof may have a 7th field, its validator-set changes (FORMATS 6.4): 8 is one more */
        for (uint32_t extra = shapes[i].s == S_PROOF ? 2 : 1; extra > 0; extra--) {
            mp_uint(field(&p, p.n), 0);
            p.n++;
        }
        EXPECT_PARTS_ERR(shapes[i].s, p, CODEC_ERR_COUNT, shapes[i].name, -1, 0);
    }
    /* the changes field is present only when it holds a change: an empty one is refused */
    proof_parts(&p);
    mp_array(field(&p, p.n), 0);
    p.n++;
    EXPECT_PARTS_ERR(S_PROOF, p, CODEC_ERR_COUNT, "proof.changes", -1, p.off[6]);
    /* nested arrays with the wrong field count */
    tx_parts(&p, 1);
    bytes *c = field(&p, 6);
    mp_array(c, 1);
    mp_array(c, 2);
    mp_bin_fill(c, 32, 1);
    mp_uint(c, 1);
    EXPECT_PARTS_ERR(S_TX, p, CODEC_ERR_COUNT, "tx.cosigs[]", 0, p.off[6] + 1);
    commit_parts(&p);
    bytes *s = field(&p, 3);
    mp_array(s, 1);
    mp_array(s, 3);
    mp_uint(s, 0);
    mp_bin_fill(s, 64, 0);
    mp_uint(s, 0);
    EXPECT_PARTS_ERR(S_COMMIT, p, CODEC_ERR_COUNT, "commit_cert.sigs[]", 0, p.off[3] + 1);
    genesis_parts(&p);
    bytes *rules = field(&p, 3);
    mp_array(rules, 3);
    mp_uint(rules, 1);
    mp_uint(rules, 1);
    mp_uint(rules, 1);
    EXPECT_PARTS_ERR(S_GENESIS, p, CODEC_ERR_COUNT, "genesis.rules", -1, p.off[3]);
}

Test(codec, huge_array_headers_in_tiny_buffers_fail_at_the_header)
{
    /* 2^32-1 elements: more than any structure allows */
    static const uint8_t huge[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x00};
    bytes m = {.n = 0};
    put(&m, huge, sizeof huge);
    codec_error e;
    codec_err rc = decode(S_TX, &m, &e);
    EXPECT_ERR(rc, e, CODEC_ERR_COUNT, "tx", -1, 0);
    rc = decode(S_GENESIS, &m, &e);
    EXPECT_ERR(rc, e, CODEC_ERR_COUNT, "genesis", -1, 0);
    /* within the limit but more elements than bytes left: refused before
     * reading (or allocating for) any element */
    parts p;
    block_parts(&p, NULL);
    bytes *w = field(&p, 3);
    put1(w, 0xdd);
    put_be(w, 65536, 4);
    static codec_write many_writes[CODEC_WRITES_MAX];
    assemble(&p, &m);
    codec_block blk = {.txs = dec_txs, .receipts = dec_receipts, .writes = many_writes};
    rc = codec_block_decode(m.b, m.n, &blk, 8, CODEC_WRITES_MAX, &e);
    EXPECT_ERR(rc, e, CODEC_ERR_TRUNCATED, "block.writes", -1, p.off[3]);
    genesis_parts(&p);
    bytes *a = field(&p, 5);
    put1(a, 0xdc);
    put_be(a, 256, 2);
    EXPECT_PARTS_ERR(S_GENESIS, p, CODEC_ERR_TRUNCATED, "genesis.authorities", -1, p.off[5]);
    /* a bin claiming 4 GiB */
    tx_parts(&p, 0);
    bytes *s = field(&p, 0);
    put1(s, 0xc6);
    put_be(s, 0xffffffffu, 4);
    EXPECT_PARTS_ERR(S_TX, p, CODEC_ERR_LENGTH, "tx.signer", -1, p.off[0]);
}

Test(codec, invalid_utf8_in_names_is_refused)
{
    static const struct {
        const char *text;
        size_t len;
        const char *what;
    } bad[] = {
        {"c\xc0\xafx", 4, "overlong '/'"},
        {"\xe0\x80\xaf", 3, "overlong 3-byte"},
        {"a\xed\xa0\x80", 4, "surrogate U+D800"},
        {"ab\xe2\x82", 4, "truncated 3-byte sequence"},
        {"ab\xc3", 3, "truncated 2-byte sequence at the end"},
        {"a\0b", 3, "NUL byte"},
        {"\x80", 1, "lone continuation byte"},
        {"\xf4\x90\x80\x80", 4, "above U+10FFFF"},
        {"\xff", 1, "0xff"},
    };
    parts p;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tx_parts(&p, 0);
        mp_strn(field(&p, 3), bad[i].text, bad[i].len);
        bytes m;
        assemble(&p, &m);
        codec_error e;
        codec_err rc = decode(S_TX, &m, &e);
        cr_assert_eq(rc, CODEC_ERR_UTF8, "%s accepted", bad[i].what);
        EXPECT_ERR(rc, e, CODEC_ERR_UTF8, "tx.contract", -1, p.off[3]);
    }
    genesis_parts(&p);
    bytes *a = field(&p, 5);
    mp_array(a, 1);
    authority_bytes(a, ROLE_INVESTIGATOR, "site\xed\xbf\xbf", "x");
    EXPECT_PARTS_ERR(S_GENESIS, p, CODEC_ERR_UTF8, "genesis.authorities[].site", 0,
                     p.off[5] + 1 + 1 + 1);
    /* valid multi-byte text, including 4-byte and U+10FFFF, is accepted */
    tx_parts(&p, 0);
    mp_str(field(&p, 3), "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf");
    expect_ok(S_TX, &p);
    cr_assert_str_eq(dec_tx.contract.text, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf");
}

Test(codec, certificate_signers_must_be_strictly_increasing)
{
    static const uint32_t unsorted[3] = {0, 3, 2};
    static const uint32_t duplicate[3] = {0, 2, 2};
    static const uint32_t first_dup[2] = {5, 5};
    parts p;
    commit_parts(&p);
    vsigs_bytes(field(&p, 3), unsorted, 3);
    EXPECT_PARTS_ERR(S_COMMIT, p, CODEC_ERR_ORDER, "commit_cert.sigs[]", 2, p.off[3] + 1 + 2 * 68);
    commit_parts(&p);
    vsigs_bytes(field(&p, 3), duplicate, 3);
    EXPECT_PARTS_ERR(S_COMMIT, p, CODEC_ERR_ORDER, "commit_cert.sigs[]", 2, p.off[3] + 1 + 2 * 68);
    result_parts(&p);
    vsigs_bytes(field(&p, 4), first_dup, 2);
    EXPECT_PARTS_ERR(S_RESULT, p, CODEC_ERR_ORDER, "result_cert.sigs[]", 1, p.off[4] + 1 + 68);
    result_parts(&p);
    vsigs_bytes(field(&p, 4), unsorted, 3);
    EXPECT_PARTS_ERR(S_RESULT, p, CODEC_ERR_ORDER, "result_cert.sigs[]", 2, p.off[4] + 1 + 2 * 68);
}

Test(codec, repeated_keys_and_misplaced_sites_are_refused)
{
    parts p;
    /* a co-signer equal to the signer, then a co-signer repeated */
    tx_parts(&p, 1);
    bytes *c = field(&p, 6);
    mp_array(c, 1);
    cosig_bytes(c, MEANING_WITNESS, 0x11);
    EXPECT_PARTS_ERR(S_TX, p, CODEC_ERR_DUPLICATE, "tx.cosigs[].key", 0, p.off[6] + 1);
    tx_parts(&p, 3);
    c = field(&p, 6);
    mp_array(c, 3);
    cosig_bytes(c, MEANING_WITNESS, 1);
    cosig_bytes(c, MEANING_APPROVAL, 2);
    cosig_bytes(c, MEANING_REVIEW, 1);
    EXPECT_PARTS_ERR(S_TX, p, CODEC_ERR_DUPLICATE, "tx.cosigs[].key", 2, p.off[6] + 1 + 2 * 102);
    /* validators: the fourth repeats the first key; [name, key] = 0x92 + 7 + 34 */
    genesis_parts(&p);
    bytes *v = field(&p, 4);
    mp_array(v, 4);
    for (uint32_t i = 0; i < 4; i++) {
        char name[16];
        snprintf(name, sizeof name, "node-%u", i);
        mp_array(v, 2);
        mp_str(v, name);
        mp_bin_fill(v, 32, (uint8_t)(i == 3 ? 0x90 : 0x90 + i));
    }
    EXPECT_PARTS_ERR(S_GENESIS, p, CODEC_ERR_DUPLICATE, "genesis.validators[].key", 3,
                     p.off[4] + 1 + 3 * 42 + 1 + 7);
    genesis_parts(&p);
    bytes *a = field(&p, 5);
    mp_array(a, 2);
    authority_bytes(a, ROLE_SPONSOR, "", "same");
    size_t second = a->n;
    authority_bytes(a, ROLE_REGULATOR, "", "SAME"); /* same length, same key */
    EXPECT_PARTS_ERR(S_GENESIS, p, CODEC_ERR_DUPLICATE, "genesis.authorities[].key", 1,
                     p.off[5] + second + 1 + 1 + 1 + 5);
    /* investigators name their site; nobody else does */
    genesis_parts(&p);
    a = field(&p, 5);
    mp_array(a, 1);
    authority_bytes(a, ROLE_INVESTIGATOR, "", "dr-weber");
    EXPECT_PARTS_ERR(S_GENESIS, p, CODEC_ERR_LENGTH, "genesis.authorities[].site", 0,
                     p.off[5] + 1 + 1 + 1);
    genesis_parts(&p);
    a = field(&p, 5);
    mp_array(a, 1);
    authority_bytes(a, ROLE_REGULATOR, "site-x", "ethics");
    EXPECT_PARTS_ERR(S_GENESIS, p, CODEC_ERR_LENGTH, "genesis.authorities[].site", 0,
                     p.off[5] + 1 + 1 + 1);
}

/* A block whose second tx is bad: the error names the tx field and the
 * block element, at the absolute offset. */
static void expect_block_tx_err(const bytes *bad_tx, size_t field_in_tx, codec_err code,
                                const char *name)
{
    parts p;
    block_parts(&p, bad_tx);
    bytes first;
    assemble(&p, &first); /* fills p.off */
    parts t;
    tx_parts(&t, 0);
    assemble(&t, &first);
    size_t at = p.off[1] + 1 + first.n + field_in_tx;
    EXPECT_PARTS_ERR(S_BLOCK, p, code, name, 1, at);
}

Test(codec, non_canonical_tx_inside_a_block_names_the_tx_field_and_element)
{
    parts t;
    bytes bad;
    tx_parts(&t, 0);
    put(field(&t, 1), (const uint8_t[]){0xcd, 0, 9}, 3); /* uint16 holding 9 */
    assemble(&t, &bad);
    expect_block_tx_err(&bad, t.off[1], CODEC_ERR_NONCANONICAL, "tx.nonce");
    /* a field after the args: the element index must survive the args loop */
    tx_parts(&t, 0);
    bytes *s = field(&t, 7);
    put1(s, 0xc5);
    put_be(s, 64, 2);
    put_fill(s, 64, 1);
    assemble(&t, &bad);
    expect_block_tx_err(&bad, t.off[7], CODEC_ERR_NONCANONICAL, "tx.sig");
    tx_parts(&t, 0);
    put1(field(&t, 6), 0xc0);
    assemble(&t, &bad);
    expect_block_tx_err(&bad, t.off[6], CODEC_ERR_TYPE, "tx.cosigs");
    /* a bad receipt inside a block */
    parts p;
    block_parts(&p, NULL);
    bytes *r = field(&p, 2);
    mp_array(r, 1);
    parts rp;
    receipt_parts(&rp);
    mp_uint(field(&rp, 1), 9);
    bytes rb;
    assemble(&rp, &rb);
    put(r, rb.b, rb.n);
    EXPECT_PARTS_ERR(S_BLOCK, p, CODEC_ERR_RANGE, "receipt.status", 0, p.off[2] + 1 + rp.off[1]);
    /* and in a proof */
    proof_parts(&p);
    tx_parts(&t, 0);
    mp_str_fill(field(&t, 3), 33, 'x');
    assemble(&t, field(&p, 1));
    EXPECT_PARTS_ERR(S_PROOF, p, CODEC_ERR_LENGTH, "tx.contract", -1, p.off[1] + t.off[3]);
}

Test(codec, export_readers_refuse_bad_magic_version_and_entries)
{
    bytes m = {.n = 0};
    mp_array(&m, 4);
    mp_str(&m, "trialreg-ledgex");
    size_t version_at = m.n;
    mp_uint(&m, 1);
    mp_bin_fill(&m, 32, 0);
    mp_uint(&m, 0);
    codec_export_header h;
    codec_error e;
    size_t used;
    codec_err rc = codec_export_header_decode(m.b, m.n, &h, &used, &e);
    EXPECT_ERR(rc, e, CODEC_ERR_TYPE, "export.header.magic", -1, 1);
    m.n = 0;
    mp_array(&m, 4);
    mp_str(&m, CODEC_EXPORT_MAGIC);
    mp_uint(&m, 2);
    mp_bin_fill(&m, 32, 0);
    mp_uint(&m, 0);
    rc = codec_export_header_decode(m.b, m.n, &h, &used, &e);
    EXPECT_ERR(rc, e, CODEC_ERR_RANGE, "export.header.version", -1, version_at);
    /* entry: the result cert slot takes a cert or nil, nothing else */
    parts p;
    block_parts(&p, NULL);
    bytes blk;
    assemble(&p, &blk);
    m.n = 0;
    mp_array(&m, 2);
    put(&m, blk.b, blk.n);
    size_t cert_at = m.n;
    put1(&m, 0xc3);
    codec_span b, c;
    rc = codec_export_entry_decode(m.b, m.n, &b, &c, &used, &e);
    EXPECT_ERR(rc, e, CODEC_ERR_TYPE, "result_cert", -1, cert_at);
    /* an entry's block is fully checked */
    m.n = 0;
    mp_array(&m, 2);
    put(&m, blk.b, blk.n);
    m.b[1 + p.off[4] + 1] = 0xcc; /* commit_cert.height 12 -> uint8 header */
    rc = codec_export_entry_decode(m.b, m.n, &b, &c, &used, &e);
    cr_assert_neq(rc, CODEC_OK);
    cr_assert_str_eq(e.field, "commit_cert.height");
}

/* ==== 3. signatures bind to tag, chain and exact body ===================== */

/* The signed body of a decoded tx: 0x96 || its body fields, as on the wire. */
static size_t wire_body(const codec_tx *decoded, uint8_t *out)
{
    out[0] = 0x96;
    memcpy(out + 1, decoded->body_fields, decoded->body_fields_len);
    return decoded->body_fields_len + 1;
}

static void sign_tx(codec_tx *tx, const keypair *k, const hash32 *chain)
{
    uint8_t body[CODEC_TX_MAX];
    codec_buf b = codec_buf_make(body, sizeof body);
    cr_assert_eq(codec_tx_body_encode(tx, &b), CODEC_OK);
    cr_assert_eq(tcrypto_sign(k, TCRYPTO_TAG_TX, chain, body, b.len, &tx->sig), TCRYPTO_OK);
}

/* Encode tx, decode it back and verify its author signature from the wire. */
static bool tx_verifies(const codec_tx *tx, const char *tag, const hash32 *chain)
{
    static uint8_t wire[CODEC_TX_MAX], body[CODEC_TX_MAX];
    static codec_tx back;
    size_t n = encode_tx(tx, wire, sizeof wire);
    cr_assert_eq(codec_tx_decode(wire, n, &back, NULL), CODEC_OK);
    size_t len = wire_body(&back, body);
    return tcrypto_verify(&back.signer, tag, chain, body, len, &back.sig);
}

Test(codec, tx_signature_verifies_only_for_its_own_body_tag_and_chain)
{
    codec_tx tx;
    base_tx(&tx);
    tx.arg_count = 2;
    tx.args[0] = (codec_value){CODEC_VALUE_INT, -33, NULL, 0};
    tx.args[1] = (codec_value){CODEC_VALUE_BYTES, 0, blob, 40};
    sign_tx(&tx, &key_a, &chain_a);
    cr_assert(tx_verifies(&tx, TCRYPTO_TAG_TX, &chain_a), "genuine signature refused");
    cr_assert_not(tx_verifies(&tx, TCRYPTO_TAG_COSIG, &chain_a), "accepted as a cosig");
    cr_assert_not(tx_verifies(&tx, TCRYPTO_TAG_TX, &chain_b), "accepted on another chain");

    codec_tx moved = tx; /* the same signature on the next tx of the signer */
    moved.nonce++;
    cr_assert_not(tx_verifies(&moved, TCRYPTO_TAG_TX, &chain_a), "moved to another nonce");
    codec_tx extended = tx; /* valid_until is signed: nobody can extend a tx's life */
    extended.valid_until += 3600000;
    cr_assert_not(tx_verifies(&extended, TCRYPTO_TAG_TX, &chain_a), "valid_until changed");
    codec_tx other = tx;
    strcpy(other.contract.text, "registry");
    cr_assert_not(tx_verifies(&other, TCRYPTO_TAG_TX, &chain_a), "contract changed");
    other = tx;
    strcpy(other.method.text, "withdraw");
    cr_assert_not(tx_verifies(&other, TCRYPTO_TAG_TX, &chain_a), "method changed");
    other = tx;
    other.args[0].integer = -34;
    cr_assert_not(tx_verifies(&other, TCRYPTO_TAG_TX, &chain_a), "int arg changed");
    other = tx;
    other.args[1].len = 39;
    cr_assert_not(tx_verifies(&other, TCRYPTO_TAG_TX, &chain_a), "bytes arg shortened");
    other = tx;
    other.args[0] = (codec_value){CODEC_VALUE_BYTES, 0, (const uint8_t *)"\xdf", 1};
    cr_assert_not(tx_verifies(&other, TCRYPTO_TAG_TX, &chain_a), "int arg retyped as bytes");
    other = tx;
    other.signer = key_b.public_key;
    cr_assert_not(tx_verifies(&other, TCRYPTO_TAG_TX, &chain_a), "signer changed");
    /* cosigs and the sig itself are outside the body: adding one keeps it valid */
    other = tx;
    other.cosig_count = 1;
    other.cosigs[0] = (codec_cosig){key_b.public_key, MEANING_WITNESS, {{0}}};
    cr_assert(tx_verifies(&other, TCRYPTO_TAG_TX, &chain_a));
}

Test(codec, flipping_any_body_byte_on_the_wire_breaks_the_signature)
{
    codec_tx tx;
    base_tx(&tx);
    tx.arg_count = 1;
    tx.args[0] = (codec_value){CODEC_VALUE_INT, 7, NULL, 0};
    sign_tx(&tx, &key_a, &chain_a);
    uint8_t wire[512], body[512];
    size_t n = encode_tx(&tx, wire, sizeof wire);
    codec_tx back;
    cr_assert_eq(codec_tx_decode(wire, n, &back, NULL), CODEC_OK);
    size_t body_start = (size_t)(back.body_fields - wire), body_end = body_start + back.body_fields_len;
    int checked = 0;
    for (size_t i = body_start; i < body_end; i++) {
        for (int bit = 0; bit < 8; bit++) {
            wire[i] ^= (uint8_t)(1u << bit);
            if (codec_tx_decode(wire, n, &back, NULL) == CODEC_OK) {
                size_t len = wire_body(&back, body);
                cr_assert_not(tcrypto_verify(&back.signer, TCRYPTO_TAG_TX, &chain_a, body, len,
                                             &back.sig),
                              "byte %zu bit %d flipped and still verifies", i, bit);
                checked++;
            }
            wire[i] ^= (uint8_t)(1u << bit);
        }
    }
    cr_assert_gt(checked, 100, "too few flips decoded (%d) to mean anything", checked);
}

static void cosig_body(const codec_tx *tx, unsigned meaning, const pubkey *who, uint8_t *out,
                       size_t *len)
{
    uint8_t body[CODEC_TX_MAX];
    codec_buf b = codec_buf_make(body, sizeof body);
    cr_assert_eq(codec_tx_body_encode(tx, &b), CODEC_OK);
    hash32 h;
    tcrypto_sha256(body, b.len, &h);
    codec_buf c = codec_buf_make(out, 128);
    cr_assert_eq(codec_cosig_body_encode(&h, meaning, who, &c), CODEC_OK);
    *len = c.len;
}

Test(codec, cosig_signature_binds_meaning_cosigner_and_tx)
{
    codec_tx tx;
    base_tx(&tx);
    sign_tx(&tx, &key_a, &chain_a);
    uint8_t body[128];
    size_t len;
    cosig_body(&tx, MEANING_WITNESS, &key_b.public_key, body, &len);
    /* golden shape: [bin32 hash, 4, bin32 key] */
    cr_assert_eq(len, 1 + 34 + 1 + 34);
    cr_assert_eq(body[0], 0x93);
    cr_assert_eq(body[35], MEANING_WITNESS);
    signature sig;
    cr_assert_eq(tcrypto_sign(&key_b, TCRYPTO_TAG_COSIG, &chain_a, body, len, &sig), TCRYPTO_OK);
    cr_assert(tcrypto_verify(&key_b.public_key, TCRYPTO_TAG_COSIG, &chain_a, body, len, &sig));
    cr_assert_not(tcrypto_verify(&key_b.public_key, TCRYPTO_TAG_TX, &chain_a, body, len, &sig),
                  "cosig accepted as a tx signature");
    cr_assert_not(tcrypto_verify(&key_b.public_key, TCRYPTO_TAG_COSIG, &chain_b, body, len, &sig),
                  "cosig accepted on another chain");
    uint8_t other[128];
    size_t other_len;
    cosig_body(&tx, MEANING_APPROVAL, &key_b.public_key, other, &other_len);
    cr_assert_not(tcrypto_verify(&key_b.public_key, TCRYPTO_TAG_COSIG, &chain_a, other, other_len,
                                 &sig),
                  "witness signature accepted as approval");
    cosig_body(&tx, MEANING_WITNESS, &key_c.public_key, other, &other_len);
    cr_assert_not(tcrypto_verify(&key_b.public_key, TCRYPTO_TAG_COSIG, &chain_a, other, other_len,
                                 &sig),
                  "cosig body naming another cosigner accepted");
    codec_tx next = tx;
    next.nonce++;
    cosig_body(&next, MEANING_WITNESS, &key_b.public_key, other, &other_len);
    cr_assert_not(tcrypto_verify(&key_b.public_key, TCRYPTO_TAG_COSIG, &chain_a, other, other_len,
                                 &sig),
                  "cosig moved to another tx");
    /* the meaning travels in the tx: changing it on the wire breaks the cosig */
    tx.cosig_count = 1;
    tx.cosigs[0] = (codec_cosig){key_b.public_key, MEANING_WITNESS, sig};
    uint8_t wire[512];
    size_t n = encode_tx(&tx, wire, sizeof wire);
    codec_tx back;
    cr_assert_eq(codec_tx_decode(wire, n, &back, NULL), CODEC_OK);
    cosig_body(&back, back.cosigs[0].meaning, &back.cosigs[0].key, other, &other_len);
    cr_assert(tcrypto_verify(&back.cosigs[0].key, TCRYPTO_TAG_COSIG, &chain_a, other, other_len,
                             &back.cosigs[0].sig));
    back.cosigs[0].meaning = MEANING_APPROVAL;
    n = encode_tx(&back, wire, sizeof wire);
    cr_assert_eq(codec_tx_decode(wire, n, &back, NULL), CODEC_OK);
    cr_assert_eq(back.cosigs[0].meaning, MEANING_APPROVAL);
    cosig_body(&back, back.cosigs[0].meaning, &back.cosigs[0].key, other, &other_len);
    cr_assert_not(tcrypto_verify(&back.cosigs[0].key, TCRYPTO_TAG_COSIG, &chain_a, other,
                                 other_len, &back.cosigs[0].sig),
                  "meaning changed from witness to approval and still verifies");
}

Test(codec, commit_and_checkpoint_signatures_do_not_stand_in_for_each_other)
{
    make_keys();
    codec_result_cert rc = {.height = 9};
    memset(rc.block_hash.bytes, 1, 32);
    memset(rc.state_hash.bytes, 2, 32);
    memset(rc.receipts_root.bytes, 3, 32);
    uint8_t cp[256], cm[256];
    codec_buf b = codec_buf_make(cp, sizeof cp);
    cr_assert_eq(codec_checkpoint_body_encode(&rc, &b), CODEC_OK);
    size_t cp_len = b.len;
    b = codec_buf_make(cm, sizeof cm);
    cr_assert_eq(codec_commit_body_encode(9, 0, &rc.block_hash, &b), CODEC_OK);
    size_t cm_len = b.len;
    signature commit_sig, checkpoint_sig;
    cr_assert_eq(tcrypto_sign(&key_a, TCRYPTO_TAG_COMMIT, &chain_a, cm, cm_len, &commit_sig),
                 TCRYPTO_OK);
    cr_assert_eq(tcrypto_sign(&key_a, TCRYPTO_TAG_CHECKPOINT, &chain_a, cp, cp_len,
                              &checkpoint_sig),
                 TCRYPTO_OK);
    const pubkey *k = &key_a.public_key;
    cr_assert(tcrypto_verify(k, TCRYPTO_TAG_COMMIT, &chain_a, cm, cm_len, &commit_sig));
    cr_assert(tcrypto_verify(k, TCRYPTO_TAG_CHECKPOINT, &chain_a, cp, cp_len, &checkpoint_sig));
    /* same bytes, other tag; and each signature over the other's body */
    cr_assert_not(tcrypto_verify(k, TCRYPTO_TAG_CHECKPOINT, &chain_a, cm, cm_len, &commit_sig));
    cr_assert_not(tcrypto_verify(k, TCRYPTO_TAG_COMMIT, &chain_a, cp, cp_len, &checkpoint_sig));
    cr_assert_not(tcrypto_verify(k, TCRYPTO_TAG_CHECKPOINT, &chain_a, cp, cp_len, &commit_sig));
    cr_assert_not(tcrypto_verify(k, TCRYPTO_TAG_COMMIT, &chain_a, cm, cm_len, &checkpoint_sig));
    /* another chain, another view */
    cr_assert_not(tcrypto_verify(k, TCRYPTO_TAG_COMMIT, &chain_b, cm, cm_len, &commit_sig));
    b = codec_buf_make(cm, sizeof cm);
    codec_commit_body_encode(9, 1, &rc.block_hash, &b);
    cr_assert_not(tcrypto_verify(k, TCRYPTO_TAG_COMMIT, &chain_a, cm, b.len, &commit_sig),
                  "commit signature moved to another view");
}

/* ---- pruned tx (issue 14 C, FORMATS.md 5.10) ---------------------------------------- */

Test(codec, pruned_tx_round_trips_keeps_the_tx_leaf_and_id_and_refuses_a_bad_shape)
{
    codec_tx tx;
    memset(&tx, 0, sizeof tx);
    memset(tx.signer.bytes, 7, 32);
    tx.nonce = 300;
    tx.valid_until = UINT64_MAX; /* the largest: 9 bytes */
    snprintf(tx.contract.text, sizeof tx.contract.text, "nosuch");
    snprintf(tx.method.text, sizeof tx.method.text, "m");
    static const uint8_t kilo[1024] = {1};
    tx.arg_count = 3;
    tx.args[0] = (codec_value){.kind = CODEC_VALUE_INT, .integer = -5};
    tx.args[1] = (codec_value){.kind = CODEC_VALUE_BYTES, .bytes = kilo, .len = sizeof kilo};
    tx.args[2] = (codec_value){.kind = CODEC_VALUE_BYTES, .bytes = kilo, .len = 3};
    static uint8_t tb[CODEC_TX_MAX], pb[256];
    codec_buf b = codec_buf_make(tb, sizeof tb);
    cr_assert_eq(codec_tx_encode(&tx, &b), CODEC_OK);
    codec_span span = {b.data, b.len};
    codec_pruned_tx p, q;
    codec_pruned_tx_of(&tx, &span, &p);
    cr_expect_eq(p.arg_count, 3);
    cr_expect_eq(p.arg_kinds, 6u);
    codec_buf o = codec_buf_make(pb, sizeof pb);
    cr_assert_eq(codec_pruned_tx_encode(&p, &o), CODEC_OK);
    cr_expect_lt(o.len, 200u);
    cr_expect_eq(o.data[0], 0x99);
    cr_assert_eq(codec_pruned_tx_decode(o.data, o.len, &q, NULL), CODEC_OK);
    cr_expect_eq(q.nonce, 300u);
    cr_expect_eq(q.valid_until, UINT64_MAX);
    cr_expect_str_eq(q.contract.text, "nosuch");
    codec_span entry = {o.data, o.len};
    hash32 leaf_tx, leaf_entry, id_tx, id_entry;
    codec_entry_leaf(&span, &leaf_tx);
    codec_entry_leaf(&entry, &leaf_entry);
    codec_entry_tx_id(&span, &id_tx);
    codec_entry_tx_id(&entry, &id_entry);
    cr_expect(codec_entry_is_pruned(&entry) && !codec_entry_is_pruned(&span));
    cr_expect_arr_eq(leaf_tx.bytes, leaf_entry.bytes, 32, "the pruned entry keeps the tx's leaf");
    cr_expect_arr_eq(id_tx.bytes, id_entry.bytes, 32, "the pruned entry keeps the tx's id");
    /* arg_kinds must stay below 2^arg_count */
    p.arg_kinds = 8;
    o = codec_buf_make(pb, sizeof pb);
    cr_assert_eq(codec_pruned_tx_encode(&p, &o), CODEC_OK);
    cr_expect_neq(codec_pruned_tx_decode(o.data, o.len, &q, NULL), CODEC_OK);
}

/* ==== genesis version 2: rules and governance (issue 16) ===================== */

/* A refusal naming field (and index) at any offset within [from, to). */
static void expect_genesis_refused(parts *p, codec_err code, const char *field_name,
                                   int64_t index, size_t offset)
{
    EXPECT_PARTS_ERR(S_GENESIS, *p, code, field_name, index, offset);
}

Test(codec, genesis_rules_out_of_bounds_are_refused_with_the_field_named)
{
    static const struct {
        int at;
        uint64_t value;
        codec_err code;
        const char *field;
    } bad[] = {
        {0, 0, CODEC_ERR_UNKNOWN, "genesis.rules.rules_version"},
        {0, 2, CODEC_ERR_UNKNOWN, "genesis.rules.rules_version"},
        {1, 0, CODEC_ERR_UNKNOWN, "genesis.rules.gas_schedule"},
        {1, 2, CODEC_ERR_UNKNOWN, "genesis.rules.gas_schedule"},
        {2, 0, CODEC_ERR_RANGE, "genesis.rules.tx_gas_limit"},
        {2, 512000001, CODEC_ERR_RANGE, "genesis.rules.tx_gas_limit (above block_gas_limit)"},
        {3, 0, CODEC_ERR_RANGE, "genesis.rules.block_gas_limit"},
        {3, 1ull << 63, CODEC_ERR_RANGE, "genesis.rules.block_gas_limit"},
        {4, 0, CODEC_ERR_RANGE, "genesis.rules.vm_memory_bytes"},
        {4, CVM_LIMIT_ARENA_BYTES_MAX + 1ull, CODEC_ERR_RANGE, "genesis.rules.vm_memory_bytes"},
        {5, 0, CODEC_ERR_RANGE, "genesis.rules.vm_call_depth"},
        {5, CVM_LIMIT_CALL_DEPTH_MAX + 1ull, CODEC_ERR_RANGE, "genesis.rules.vm_call_depth"},
        {6, 0, CODEC_ERR_RANGE, "genesis.rules.vm_writes_max"},
        {6, CVM_LIMIT_WRITES_MAX + 1ull, CODEC_ERR_RANGE, "genesis.rules.vm_writes_max"},
        {7, 0, CODEC_ERR_RANGE, "genesis.rules.vm_events_max"},
        {7, CVM_LIMIT_EVENTS_MAX + 1ull, CODEC_ERR_RANGE, "genesis.rules.vm_events_max"},
        {8, 0, CODEC_ERR_RANGE, "genesis.rules.max_batch_txs"},
        {8, CODEC_BLOCK_TXS_MAX + 1ull, CODEC_ERR_RANGE, "genesis.rules.max_batch_txs"},
        {9, 0, CODEC_ERR_RANGE, "genesis.rules.block_bytes_max"},
        {9, CODEC_TX_MAX - 1ull, CODEC_ERR_RANGE, "genesis.rules.block_bytes_max"},
        /* above the transport's message bound */
        {9, CODEC_MESSAGE_BYTES_DEFAULT, CODEC_ERR_RANGE, "genesis.rules.block_bytes_max"},
        {10, 0, CODEC_ERR_UNKNOWN, "genesis.rules.nonce_rule"},
        {10, 2, CODEC_ERR_UNKNOWN, "genesis.rules.nonce_rule"},
        {11, 0, CODEC_ERR_RANGE, "genesis.rules.valid_for_max_ms"},
        {11, 59999, CODEC_ERR_RANGE, "genesis.rules.valid_for_max_ms"},
        {11, 86400001, CODEC_ERR_RANGE, "genesis.rules.valid_for_max_ms"},
        {12, 0, CODEC_ERR_RANGE, "genesis.rules.anchor_window_ms"},
        {12, 367ull * 86400000, CODEC_ERR_RANGE, "genesis.rules.anchor_window_ms"},
        {13, 0, CODEC_ERR_RANGE, "genesis.rules.clock_skew_ms"},
        {13, 3600000, CODEC_ERR_RANGE, "genesis.rules.clock_skew_ms"}, /* an hour */
        {13, 60001, CODEC_ERR_RANGE, "genesis.rules.clock_skew_ms"},
        {14, 0, CODEC_ERR_RANGE, "genesis.rules.rebind_delay_ms"},
        {14, CODEC_RULES_REBIND_DELAY_MAX_MS + 1, CODEC_ERR_RANGE, "genesis.rules.rebind_delay_ms"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v[RULES_FIELDS];
        size_t offs[RULES_FIELDS];
        memcpy(v, good_rules, sizeof v);
        v[bad[i].at] = bad[i].value;
        parts p;
        genesis_parts(&p);
        rules_bytes(field(&p, 3), v, offs);
        assemble(&p, &(bytes){0}); /* fills p.off */
        expect_genesis_refused(&p, bad[i].code, bad[i].field, -1, p.off[3] + offs[bad[i].at]);
    }
    /* the bounds themselves are accepted */
    uint64_t v[RULES_FIELDS];
    memcpy(v, good_rules, sizeof v);
    v[2] = v[3] = CODEC_RULES_GAS_MAX;
    v[4] = CVM_LIMIT_ARENA_BYTES_MAX;
    v[5] = CVM_LIMIT_CALL_DEPTH_MAX;
    v[6] = CVM_LIMIT_WRITES_MAX;
    v[7] = CVM_LIMIT_EVENTS_MAX;
    v[8] = CODEC_BLOCK_TXS_MAX;
    v[9] = CODEC_RULES_BLOCK_BYTES_MAX;
    v[11] = CODEC_RULES_VALID_FOR_MIN_MS;
    v[13] = CODEC_RULES_CLOCK_SKEW_MAX_MS;
    v[14] = CODEC_RULES_REBIND_DELAY_MAX_MS;
    parts p;
    genesis_parts(&p);
    rules_bytes(field(&p, 3), v, NULL);
    expect_ok(S_GENESIS, &p);
    cr_expect_eq(dec_genesis.rules.block_bytes_max, CODEC_RULES_BLOCK_BYTES_MAX);
    cr_expect_eq(dec_genesis.rules.clock_skew_ms, 60000);
    cr_expect_eq(dec_genesis.rules.rebind_delay_ms, CODEC_RULES_REBIND_DELAY_MAX_MS);
}

Test(codec, genesis_governance_requirements_are_checked)
{
    parts p;
    /* one pair: the assembled message holds governance at p.off[7]; errors are found by
     * field and index (the requirement), offsets by the decoder's own walk */
    static const uint64_t two_regulators[][2] = {{ROLE_REGULATOR, 2}};
    static const uint64_t zero[][2] = {{ROLE_SPONSOR, 0}};
    static const uint64_t auditor[][2] = {{ROLE_AUDITOR, 1}};
    static const uint64_t participant[][2] = {{ROLE_PARTICIPANT, 1}};
    static const uint64_t backwards[][2] = {{ROLE_REGULATOR, 1}, {ROLE_SPONSOR, 1}};
    static const uint64_t too_many[][2] = {{ROLE_SPONSOR, 6}}; /* > CODEC_REQUIREMENT_KEYS_MAX */
    static const uint64_t fine[][2] = {{ROLE_SPONSOR, 1}, {ROLE_INVESTIGATOR, 1},
                                        {ROLE_REGULATOR, 1}};
    static const struct {
        const uint64_t (*roles)[2];
        uint32_t n;
        codec_err code;
        const char *field;
    } bad[] = {
        {two_regulators, 1, CODEC_ERR_RANGE,
         "genesis.governance[].roles[].count (above the authorities of that role)"},
        {zero, 1, CODEC_ERR_RANGE, "genesis.governance[].roles[].count"},
        {auditor, 1, CODEC_ERR_RANGE, "genesis.governance[].roles[].role"},
        {participant, 1, CODEC_ERR_RANGE, "genesis.governance[].roles[].role"},
        {backwards, 2, CODEC_ERR_ORDER, "genesis.governance[].roles[].role"},
        {too_many, 1, CODEC_ERR_RANGE, "genesis.governance[].roles[].count"},
        {fine, 0, CODEC_ERR_COUNT, "genesis.governance[].roles"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        genesis_parts(&p);
        governance_bytes(field(&p, 7), GOVERNANCE_DEPLOY, bad[i].roles, bad[i].n);
        bytes m;
        assemble(&p, &m);
        codec_error e;
        codec_err rc = decode(S_GENESIS, &m, &e);
        char why[200];
        cr_expect_eq(rc, bad[i].code, "case %zu: %s", i, codec_error_format(&e, why, sizeof why));
        cr_expect_str_eq(e.field, bad[i].field, "case %zu", i);
        cr_expect_eq(e.index, GOVERNANCE_DEPLOY - 1, "case %zu: the deploy requirement", i);
        cr_expect(e.offset > p.off[7] && e.offset < m.n, "case %zu: offset in governance", i);
    }
    genesis_parts(&p);
    governance_bytes(field(&p, 7), GOVERNANCE_DEPLOY, fine, 3);
    expect_ok(S_GENESIS, &p);
    cr_expect_eq(dec_genesis.governance[GOVERNANCE_DEPLOY - 1].role_count, 3);
    cr_expect_eq(dec_genesis.governance[GOVERNANCE_DEPLOY - 1].roles[1].role, ROLE_INVESTIGATOR);
    cr_expect_eq(dec_genesis.governance[GOVERNANCE_RULES - 1].roles[1].role, ROLE_REGULATOR);
    cr_expect_eq(dec_genesis.governance[GOVERNANCE_REGULATORS - 1].role_count, 1);
    cr_expect_eq(dec_genesis.governance[GOVERNANCE_REGULATORS - 1].roles[0].role, ROLE_REGULATOR);
    /* a regulator's change is signed by regulators only: a sponsor in kind 5 is refused */
    static const uint64_t with_sponsor[][2] = {{ROLE_SPONSOR, 1}, {ROLE_REGULATOR, 1}};
    genesis_parts(&p);
    governance_bytes(field(&p, 7), GOVERNANCE_REGULATORS, with_sponsor, 2);
    bytes m5;
    assemble(&p, &m5);
    codec_error e5;
    cr_expect_eq(decode(S_GENESIS, &m5, &e5), CODEC_ERR_RANGE);
    cr_expect_str_eq(e5.field, "genesis.governance[].roles[].role (a regulator's change is "
                               "signed by regulators only)");
    cr_expect_eq(e5.index, GOVERNANCE_REGULATORS - 1);
    /* kinds: each once, in order 1..5 */
    genesis_parts(&p);
    bytes *g = field(&p, 7);
    mp_array(g, 3);
    for (uint64_t kind = 1; kind <= 3; kind++) {
        mp_array(g, 2);
        mp_uint(g, kind);
        mp_array(g, 1);
        mp_array(g, 2);
        mp_uint(g, ROLE_SPONSOR);
        mp_uint(g, 1);
    }
    assemble(&p, &(bytes){0});
    expect_genesis_refused(&p, CODEC_ERR_COUNT, "genesis.governance", -1, p.off[7]);
    for (uint64_t wrong = 3; wrong <= 6; wrong += 3) { /* kind 2 repeated as 3, or 6 */
        genesis_parts(&p);
        g = field(&p, 7);
        mp_array(g, 5);
        size_t second = 0;
        for (uint64_t kind = 1; kind <= 5; kind++) {
            mp_array(g, 2);
            if (kind == 2) second = g->n;
            mp_uint(g, kind == 2 ? wrong : kind);
            mp_array(g, 1);
            mp_array(g, 2);
            mp_uint(g, kind == GOVERNANCE_REGULATORS ? ROLE_REGULATOR : ROLE_SPONSOR);
            mp_uint(g, 1);
        }
        assemble(&p, &(bytes){0});
        expect_genesis_refused(&p, wrong == 6 ? CODEC_ERR_UNKNOWN : CODEC_ERR_ORDER,
                               "genesis.governance[].kind", 1, p.off[7] + second);
    }
}

Test(codec, genesis_versions_1_and_2_are_refused_naming_the_upgrade_command)
{
    for (uint64_t version = 1; version <= 2; version++) {
        parts p;
        genesis_parts(&p);
        mp_uint(field(&p, 0), version);
        bytes m;
        assemble(&p, &m);
        codec_error e;
        cr_assert_eq(decode(S_GENESIS, &m, &e), CODEC_ERR_OLD_GENESIS, "version %lu",
                     (unsigned long)version);
        cr_expect_str_eq(e.field, "genesis.version");
        cr_expect_eq(e.offset, p.off[0]);
        char why[400];
        codec_error_format(&e, why, sizeof why);
        cr_expect(strstr(why, "trialctl genesis upgrade") != NULL, "%s", why);
        cr_expect(strstr(why, "new chain") != NULL, "%s", why);
    }
}

/* A version 2 genesis as trialctl wrote it before issue 23: 14 rules, 4 requirements. */
static void genesis_v2_parts(parts *p)
{
    genesis_parts(p);
    mp_uint(field(p, 0), 2);
    rules_bytes_n(field(p, 3), good_rules, NULL, RULES_FIELDS - 1);
    governance_bytes_n(field(p, 7), GOVERNANCE_DEPLOY, (const uint64_t[][2]){{ROLE_REGULATOR, 1}},
                       1, GOVERNANCE_RULES);
}

Test(codec, a_version_2_genesis_upgrades_to_version_3_keeping_everything)
{
    parts p;
    genesis_v2_parts(&p);
    bytes m;
    assemble(&p, &m);
    static codec_genesis g, back;
    codec_error e;
    char why[300];
    cr_assert_eq(codec_genesis_decode(m.b, m.n, &g, &e), CODEC_ERR_OLD_GENESIS);
    cr_assert_eq(codec_genesis_decode_old(m.b, m.n, &g, &e), CODEC_OK, "%s",
                 codec_error_format(&e, why, sizeof why));
    cr_expect_eq(g.rules.tx_gas_limit, good_rules[2], "kept");
    cr_expect_eq(g.rules.clock_skew_ms, good_rules[13], "kept");
    cr_expect_eq(g.rules.rebind_delay_ms, CODEC_RULES_REBIND_DELAY_DEFAULT_MS);
    cr_expect_eq(g.governance[GOVERNANCE_DEPLOY - 1].role_count, 1, "kept");
    cr_expect_eq(g.governance[GOVERNANCE_REGULATORS - 1].roles[0].role, ROLE_REGULATOR);
    cr_expect_eq(g.authority_count, 4);
    static uint8_t out[8192];
    codec_buf b = codec_buf_make(out, sizeof out);
    cr_assert_eq(codec_genesis_encode(&g, &b), CODEC_OK);
    cr_assert_eq(codec_genesis_decode(out, b.len, &back, &e), CODEC_OK, "%s",
                 codec_error_format(&e, why, sizeof why));
    cr_expect_eq(out[1], 3, "version 3");
    cr_expect_eq(back.rules.rebind_delay_ms, CODEC_RULES_REBIND_DELAY_DEFAULT_MS);
}

/* A version 1 genesis as trialctl wrote it before issue 16. */
static void genesis_v1_parts(parts *p, uint64_t max_batch, uint64_t anchor, uint64_t skew)
{
    genesis_parts(p);
    p->n = 7;
    mp_uint(field(p, 0), 1);
    bytes *params = field(p, 3);
    mp_array(params, 4);
    mp_uint(params, max_batch);
    mp_uint(params, 64);
    mp_uint(params, anchor);
    mp_uint(params, skew);
    bytes *a = field(p, 5);
    mp_array(a, 3);
    authority_bytes(a, ROLE_SPONSOR, "", "sponsor");
    authority_bytes(a, ROLE_INVESTIGATOR, "site-berlin", "dr-weber");
    authority_bytes(a, ROLE_REGULATOR, "", "ethics-board");
}

Test(codec, a_version_1_genesis_upgrades_to_version_3_with_default_rules)
{
    parts p;
    genesis_v1_parts(&p, 512, 3600000, 5000);
    bytes m;
    assemble(&p, &m);
    static codec_genesis g, back;
    codec_error e;
    char why[300];
    cr_assert_eq(codec_genesis_decode_old(m.b, m.n, &g, &e), CODEC_OK, "%s",
                 codec_error_format(&e, why, sizeof why));
    codec_rules want;
    codec_rules_default(&want);
    want.max_batch_txs = 512;
    want.anchor_window_ms = 3600000;
    want.clock_skew_ms = 5000;
    cr_expect(same(&g.rules, &want, sizeof want));
    cr_expect_eq(g.authority_count, 3);
    cr_expect_str_eq(g.chain_name, "trial-chain");
    static uint8_t out[8192];
    codec_buf b = codec_buf_make(out, sizeof out);
    cr_assert_eq(codec_genesis_encode(&g, &b), CODEC_OK);
    cr_assert_eq(codec_genesis_decode(out, b.len, &back, &e), CODEC_OK, "%s",
                 codec_error_format(&e, why, sizeof why));
    cr_expect_eq(back.governance[GOVERNANCE_DEPLOY - 1].role_count, 2);
    cr_expect_eq(out[1], 3, "version 3");
    /* a version 3 genesis is no old one (v1 holds no auditor) */
    cr_expect_eq(codec_genesis_decode_old(out, b.len, &g, &e), CODEC_ERR_COUNT);
    cr_expect_str_eq(e.field, "genesis");
    /* an old clock skew of an hour decodes as v1 but not as v3: the upgrade names it */
    genesis_v1_parts(&p, 512, 3600000, 3600000);
    assemble(&p, &m);
    cr_assert_eq(codec_genesis_decode_old(m.b, m.n, &g, &e), CODEC_OK);
    b = codec_buf_make(out, sizeof out);
    cr_assert_eq(codec_genesis_encode(&g, &b), CODEC_OK);
    cr_expect_eq(codec_genesis_decode(out, b.len, &back, &e), CODEC_ERR_RANGE);
    cr_expect_str_eq(e.field, "genesis.rules.clock_skew_ms");
}

/* ==== issue 18: rules an independent verifier found unstated ================= */

/* FORMATS.md 2 and 5.9: n = 3f+1 validators, and no more than PBFT runs (16), so that every
 * genesis that decodes is one the nodes can run. */
Test(codec, genesis_validators_are_4_7_10_13_or_16)
{
    parts p;
    static const uint32_t counts[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 13, 15, 16, 17, 19, 22, 64};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        uint32_t n = counts[i];
        genesis_parts(&p);
        validators_bytes(field(&p, 4), n);
        if (n >= 4 && n <= 16 && (n - 1) % 3 == 0) {
            expect_ok(S_GENESIS, &p);
            cr_assert_eq(codec_genesis_quorum(&dec_genesis), 2 * ((n - 1) / 3) + 1);
        } else {
            EXPECT_PARTS_ERR(S_GENESIS, p, CODEC_ERR_COUNT, "genesis.validators", -1, p.off[4]);
        }
    }
    /* the certificates' bound is the same: at most 16 signatures, validators 0..15 */
    uint32_t idx[17];
    for (uint32_t i = 0; i < 17; i++) idx[i] = i;
    commit_parts(&p);
    vsigs_bytes(field(&p, 3), idx, 16);
    expect_ok(S_COMMIT, &p);
    commit_parts(&p);
    vsigs_bytes(field(&p, 3), idx, 17);
    EXPECT_PARTS_ERR(S_COMMIT, p, CODEC_ERR_COUNT, "commit_cert.sigs", -1, p.off[3]);
    static const uint32_t past_last[2] = {0, 16};
    result_parts(&p);
    vsigs_bytes(field(&p, 4), past_last, 2);
    /* sigs = [0x92, [0, sig] (68 bytes), [16 ...]]: the index after its array byte */
    EXPECT_PARTS_ERR(S_RESULT, p, CODEC_ERR_RANGE, "result_cert.sigs[]", 1,
                     p.off[4] + 1 + 68 + 1);
}

/* FORMATS.md 5.4: an OK receipt has error code 0 and an empty reason. */
Test(codec, an_ok_receipt_has_code_0_and_no_reason)
{
    parts p;
    receipt_parts(&p);
    mp_uint(field(&p, 1), RECEIPT_OK);
    mp_uint(field(&p, 2), 5);
    mp_str(field(&p, 3), "");
    EXPECT_PARTS_ERR(S_RECEIPT, p, CODEC_ERR_RANGE, "receipt.error_code (an OK receipt's is 0)",
                     -1, p.off[2]);
    receipt_parts(&p);
    mp_uint(field(&p, 1), RECEIPT_OK);
    mp_uint(field(&p, 2), 0);
    mp_str(field(&p, 3), "ok");
    EXPECT_PARTS_ERR(S_RECEIPT, p, CODEC_ERR_LENGTH, "receipt.reason (an OK receipt's is empty)",
                     -1, p.off[3]);
    receipt_parts(&p);
    mp_uint(field(&p, 1), RECEIPT_OK);
    mp_uint(field(&p, 2), 0);
    mp_str(field(&p, 3), "");
    expect_ok(S_RECEIPT, &p);
    /* any other status may carry a code (0 included: a contract's abort without one) */
    for (uint64_t status = RECEIPT_REFUSED; status <= RECEIPT_TRAPPED; status++) {
        receipt_parts(&p);
        mp_uint(field(&p, 1), status);
        mp_uint(field(&p, 2), status == RECEIPT_REFUSED ? 0 : 5);
        expect_ok(S_RECEIPT, &p);
    }
    /* the same receipt inside a block is refused there too */
    parts b;
    block_parts(&b, NULL);
    bytes *rs = field(&b, 2);
    mp_array(rs, 1);
    receipt_parts(&p);
    mp_uint(field(&p, 1), RECEIPT_OK);
    mp_uint(field(&p, 2), 5);
    mp_str(field(&p, 3), "");
    bytes m;
    assemble(&p, &m);
    put(rs, m.b, m.n);
    EXPECT_PARTS_ERR(S_BLOCK, b, CODEC_ERR_RANGE, "receipt.error_code (an OK receipt's is 0)",
                     0, b.off[2] + 1 + p.off[2]);
}

/* FORMATS.md 5.2: time_ms 0 is a null batch's, and a null batch has no txs. */
Test(codec, a_batch_of_time_0_has_no_txs)
{
    parts p;
    block_header_parts(&p);
    bytes *b = field(&p, 0);
    mp_array(b, 4);
    mp_uint(b, 12);
    mp_uint(b, 0);
    mp_bin_fill(b, 32, 0x81);
    mp_uint(b, 2);
    /* block_header = [0x94, [0x94, 12, time ...]]: the time after two array bytes and 12 */
    EXPECT_PARTS_ERR(S_BLOCK_HEADER, p, CODEC_ERR_RANGE,
                     "batch_header.time_ms (0 is a null batch's, which has no txs)", -1,
                     p.off[0] + 2);
    /* the null batch itself: time 0, no txs, the empty root */
    block_header_parts(&p);
    b = field(&p, 0);
    mp_array(b, 4);
    mp_uint(b, 12);
    mp_uint(b, 0);
    mp_bin_fill(b, 32, 0x81);
    mp_uint(b, 0);
    expect_ok(S_BLOCK_HEADER, &p);
    /* any other time with txs */
    block_header_parts(&p);
    b = field(&p, 0);
    mp_array(b, 4);
    mp_uint(b, 12);
    mp_uint(b, 1);
    mp_bin_fill(b, 32, 0x81);
    mp_uint(b, 2);
    expect_ok(S_BLOCK_HEADER, &p);
}

/* Issue 22: the events reply carries its block's time (FORMATS.md 13.10 field 3), the FHIR
 * export's clock; a reply without it (the three fields before) is refused, naming it. */
Test(codec, events_reply_round_trips_with_the_block_time)
{
    uint8_t tx[3] = {0x93, 1, 2}, receipt[2] = {0x91, 0};
    codec_event_tx in[1] = {{7, {tx, 3}, {receipt, 2}}}, out[2];
    uint8_t buf[128];
    codec_buf b = codec_buf_make(buf, sizeof buf);
    cr_assert_eq(codec_events_reply_encode(42, true, in, 1, 1764000000123ull, &b), CODEC_OK);
    uint64_t height = 0, time_ms = 0;
    bool certified = false;
    uint32_t n = 0;
    cr_assert_eq(codec_events_reply_decode(b.data, b.len, &height, &certified, out, 2, &n, &time_ms, NULL),
                 CODEC_OK);
    cr_assert(height == 42 && certified && n == 1 && out[0].index == 7 && out[0].tx.len == 3);
    cr_assert_eq(time_ms, 1764000000123ull);
    /* the same reply without its time: [height, certified, txs] */
    uint8_t old[128];
    old[0] = 0x93;
    memcpy(old + 1, b.data + 1, b.len - 1 - 9); /* drop the uint64 time (0xcf + 8 bytes) */
    codec_error err;
    cr_assert_neq(codec_events_reply_decode(old, b.len - 9, &height, &certified, out, 2, &n, &time_ms, &err),
                  CODEC_OK);
    cr_assert(strstr(err.field, "events_reply"), "%s", err.field);
}

/* Issue 23 item 2: a consent history entry of kinds 3-5, or a grant marked after a
 * re-binding, carries flags and the other key (9 fields); the others keep their 7. */
Test(codec, consent_reply_entries_carry_flags_and_other_only_when_they_have_them)
{
    codec_consent_reply_entry in[2] = {
        {.kind = 1, .time_ms = 5, .scopes = 3, .version = 1, .meaning = 4},
        {.kind = 3, .time_ms = 6, .scopes = 1, .version = 1, .flags = 0},
    };
    memset(in[1].other.bytes, 0xab, 32);
    codec_consent_page page = {.total = 2, .from = 0, .count = 2};
    uint8_t buf[1024];
    codec_buf b = codec_buf_make(buf, sizeof buf);
    cr_assert_eq(codec_consent_reply_encode(&page, in, &b), CODEC_OK);
    codec_consent_reply_entry out[2];
    codec_consent_page back;
    cr_assert_eq(codec_consent_reply_decode(b.data, b.len, &back, out, 2, NULL), CODEC_OK);
    cr_expect_eq(out[1].kind, 3);
    cr_expect_arr_eq(out[1].other.bytes, in[1].other.bytes, 32);
    cr_expect_eq(out[0].flags, 0);
    /* the first entry is the 7-field array of before (0x97), the second has 9 (0x99) */
    cr_expect_eq(buf[4], 0x97, "a plain grant keeps its 7 fields");
    uint8_t *second = memchr(buf + 5, 0x99, b.len - 5);
    cr_assert_not_null(second, "the site withdrawal has 9");
    /* an 8-field entry is refused */
    *second = 0x98;
    codec_error err;
    cr_expect_neq(codec_consent_reply_decode(b.data, b.len, &back, out, 2, &err), CODEC_OK);
    /* one encoding per entry (fuzz_codec_client, CI): a plain grant in nine fields (flags 0)
     * and a site withdrawal in seven are refused */
    codec_consent_reply_entry plain = in[0];
    codec_consent_page one = {.total = 1, .from = 0, .count = 1};
    b = codec_buf_make(buf, sizeof buf);
    plain.kind = 3;
    cr_assert_eq(codec_consent_reply_encode(&one, &plain, &b), CODEC_OK);
    cr_assert_eq(buf[4], 0x99);
    buf[5] = 1; /* the kind, 3 -> 1: a grant with flags 0 in nine fields */
    cr_expect_neq(codec_consent_reply_decode(b.data, b.len, &back, out, 2, &err), CODEC_OK,
                  "a grant without flags in nine fields");
    cr_expect(strstr(err.field, "nine fields"), "%s", err.field);
    b = codec_buf_make(buf, sizeof buf);
    plain.kind = 1;
    cr_assert_eq(codec_consent_reply_encode(&one, &plain, &b), CODEC_OK);
    cr_assert_eq(buf[4], 0x97);
    buf[5] = 3; /* the kind, 1 -> 3: a site withdrawal in seven fields */
    cr_expect_neq(codec_consent_reply_decode(b.data, b.len, &back, out, 2, &err), CODEC_OK,
                  "a site withdrawal in seven fields");
    cr_expect(strstr(err.field, "seven fields for kind"), "%s", err.field);
}
