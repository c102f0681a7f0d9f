/*
 * codec.c - canonical msgpack: msgpack-c's packer for output, a strict
 * reader for input.
 *
 * Why not msgpack-c's unpacker for input: it accepts every encoding of a
 * value (a uint8 holding 5, a str16 holding 3 bytes), so canonical form would
 * need a second pass that no longer knows which field it is looking at; it
 * allocates an object per element from counts it has not bounded yet; and it
 * copies nothing we could not point at. The reader below checks type,
 * shortest form and bounds at the exact byte where each field starts, names
 * that field, allocates nothing and returns pointers into the input. The
 * fuzz target (tests/fuzz/fuzz_codec.c) checks it against msgpack-c: every
 * input the reader accepts must unpack and re-pack through msgpack-c to the
 * identical bytes.
 */
#include "codec.h"
#include "codec_reader.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <msgpack.h>

#include "cvm.h" /* the VM's hard maxima (CVM_LIMIT_*), which genesis.rules may not exceed */

/* ==== errors ============================================================ */

const char *codec_strerror(codec_err err)
{
    switch (err) {
    case CODEC_OK: return "ok";
    case CODEC_ERR_TRUNCATED: return "input ends inside the value";
    case CODEC_ERR_TYPE: return "wrong type";
    case CODEC_ERR_NONCANONICAL: return "not the shortest (canonical) encoding";
    case CODEC_ERR_RANGE: return "integer out of range";
    case CODEC_ERR_LENGTH: return "length out of bounds";
    case CODEC_ERR_COUNT: return "element count out of bounds";
    case CODEC_ERR_UTF8: return "text is not valid UTF-8 (or contains NUL)";
    case CODEC_ERR_TRAILING: return "trailing bytes after the structure";
    case CODEC_ERR_ORDER: return "list is not strictly increasing";
    case CODEC_ERR_DUPLICATE: return "duplicate key (keys must be distinct)";
    case CODEC_ERR_OVERFLOW: return "output buffer too small";
    case CODEC_ERR_OLD_GENESIS:
        return "a version 1 or 2 genesis is no longer accepted: convert it with `trialctl genesis "
               "upgrade OLD NEW` (the converted genesis is a new chain, with a new chain id)";
    case CODEC_ERR_UNKNOWN: return "a version or kind this build does not know";
    }
    return "unknown codec error";
}

const char *codec_error_format(const codec_error *err, char *buf, size_t cap)
{
    const char *field = err->field ? err->field : "input";
    const char *bracket = strstr(field, "[]");
    if (bracket && err->index >= 0) {
        snprintf(buf, cap, "%.*s[%lld]%s: %s at byte %zu", (int)(bracket - field), field,
                 (long long)err->index, bracket + 2, codec_strerror(err->code), err->offset);
    } else {
        snprintf(buf, cap, "%s: %s at byte %zu", field, codec_strerror(err->code), err->offset);
    }
    return buf;
}

const char *codec_meaning_name(unsigned meaning)
{
    static const char *names[] = {"?", "author", "approval", "review", "witness",
                                  "responsibility"};
    return meaning <= MEANING_MAX_ ? names[meaning] : "?";
}

const char *codec_role_name(unsigned role)
{
    static const char *names[] = {"?", "sponsor", "investigator", "regulator", "researcher",
                                  "participant", "auditor"};
    return role <= ROLE_MAX_ ? names[role] : "?";
}

unsigned codec_role_parse(const char *name)
{
    for (unsigned role = 1; role <= ROLE_MAX_; role++) {
        if (strcmp(name, codec_role_name(role)) == 0) return role;
    }
    return 0;
}

/* ==== writer ============================================================ */

static int buf_write(void *data, const char *bytes, size_t len)
{
    codec_buf *b = data;
    if (b->overflow || len > b->cap - b->len) {
        b->overflow = true;
        return -1;
    }
    memcpy(b->data + b->len, bytes, len);
    b->len += len;
    return 0;
}

typedef struct {
    msgpack_packer pk;
    codec_buf *buf;
} writer;

static void wr_init(writer *w, codec_buf *out)
{
    w->buf = out;
    msgpack_packer_init(&w->pk, out, buf_write);
}

static codec_err wr_done(const writer *w)
{
    return w->buf->overflow ? CODEC_ERR_OVERFLOW : CODEC_OK;
}

static void wr_array(writer *w, uint32_t n) { msgpack_pack_array(&w->pk, n); }
static void wr_uint(writer *w, uint64_t v) { msgpack_pack_uint64(&w->pk, v); }
static void wr_int(writer *w, int64_t v) { msgpack_pack_int64(&w->pk, v); }
static void wr_nil(writer *w) { msgpack_pack_nil(&w->pk); }
static void wr_raw(writer *w, const void *p, size_t n) { buf_write(w->buf, p, n); }

static void wr_bin(writer *w, const void *p, size_t n)
{
    msgpack_pack_bin(&w->pk, n);
    if (n > 0) msgpack_pack_bin_body(&w->pk, p, n);
}

static void wr_str(writer *w, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(&w->pk, n);
    if (n > 0) msgpack_pack_str_body(&w->pk, s, n);
}

static void wr_hash(writer *w, const hash32 *h) { wr_bin(w, h->bytes, 32); }

/* Writer primitives for the other encoders of the codec module (wire.c):
 * each appends to out through a packer made on the spot (msgpack_packer is
 * two pointers), so msgpack stays private to this file. */
void codec_wr_array(codec_buf *out, uint32_t count)
{
    writer w;
    wr_init(&w, out);
    wr_array(&w, count);
}

void codec_wr_uint(codec_buf *out, uint64_t v)
{
    writer w;
    wr_init(&w, out);
    wr_uint(&w, v);
}

void codec_wr_bin(codec_buf *out, const void *p, size_t n)
{
    writer w;
    wr_init(&w, out);
    wr_bin(&w, p, n);
}

void codec_wr_nil(codec_buf *out)
{
    writer w;
    wr_init(&w, out);
    wr_nil(&w);
}

/* ==== reader ============================================================ */

bool codec_rd_fail_at(codec_reader *r, const uint8_t *at, codec_err code, const char *field)
{
    if (r->err) {
        r->err->code = code;
        r->err->offset = (size_t)(at - r->start);
        r->err->field = field;
        r->err->index = r->index;
    }
    return false;
}

bool codec_rd_fail(codec_reader *r, codec_err code, const char *field)
{
    return codec_rd_fail_at(r, r->p, code, field);
}

size_t codec_rd_remaining(const codec_reader *r) { return (size_t)(r->end - r->p); }

static uint64_t load_be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

/*
 * Read a length-prefixed header of one family (array, bin or str).
 * fix_lo..fix_hi is the fixed-size range (fix_mask bits hold the length),
 * ext[0..2] are the 8/16/32-bit length markers (0 = not in this family).
 * Checks shortest form. Does not consume the body.
 */
typedef struct {
    uint8_t fix_lo, fix_hi, fix_mask;
    uint8_t ext8, ext16, ext32;
} header_family;

static const header_family FAMILY_ARRAY = {0x90, 0x9f, 0x0f, 0, 0xdc, 0xdd};
static const header_family FAMILY_BIN = {0, 0, 0, 0xc4, 0xc5, 0xc6};
static const header_family FAMILY_STR = {0xa0, 0xbf, 0x1f, 0xd9, 0xda, 0xdb};

static bool rd_header(codec_reader *r, const header_family *fam, const char *field, uint32_t *len)
{
    if (codec_rd_remaining(r) < 1) return codec_rd_fail(r, CODEC_ERR_TRUNCATED, field);
    uint8_t b = r->p[0];
    unsigned width;
    uint64_t shortest_min;
    if (fam->fix_hi && b >= fam->fix_lo && b <= fam->fix_hi) {
        *len = b & fam->fix_mask;
        r->p += 1;
        return true;
    }
    if (fam->ext8 && b == fam->ext8) {
        width = 1;
        shortest_min = fam->fix_hi ? (uint64_t)fam->fix_mask + 1 : 0;
    } else if (b == fam->ext16) {
        width = 2;
        shortest_min = fam->ext8 ? 256 : (uint64_t)fam->fix_mask + 1;
    } else if (b == fam->ext32) {
        width = 4;
        shortest_min = 65536;
    } else {
        return codec_rd_fail(r, CODEC_ERR_TYPE, field);
    }
    if (codec_rd_remaining(r) < 1 + width) return codec_rd_fail(r, CODEC_ERR_TRUNCATED, field);
    uint64_t v = load_be(r->p + 1, width);
    if (v < shortest_min) return codec_rd_fail(r, CODEC_ERR_NONCANONICAL, field);
    *len = (uint32_t)v;
    r->p += 1 + width;
    return true;
}

bool codec_rd_array(codec_reader *r, const char *field, uint32_t min, uint32_t max, uint32_t *count)
{
    const uint8_t *at = r->p;
    if (!rd_header(r, &FAMILY_ARRAY, field, count)) return false;
    if (*count < min || *count > max) return codec_rd_fail_at(r, at, CODEC_ERR_COUNT, field);
    /* every element takes at least one byte */
    if (*count > codec_rd_remaining(r)) return codec_rd_fail_at(r, at, CODEC_ERR_TRUNCATED, field);
    return true;
}

/* Read a uint form; non-negative values must use these. */
bool codec_rd_uint(codec_reader *r, const char *field, uint64_t max, uint64_t *out)
{
    if (codec_rd_remaining(r) < 1) return codec_rd_fail(r, CODEC_ERR_TRUNCATED, field);
    const uint8_t *at = r->p;
    uint8_t b = at[0];
    uint64_t v;
    if (b <= 0x7f) {
        v = b;
        r->p += 1;
    } else if (b >= 0xcc && b <= 0xcf) {
        unsigned width = 1u << (b - 0xcc);
        if (codec_rd_remaining(r) < 1 + width) return codec_rd_fail(r, CODEC_ERR_TRUNCATED, field);
        v = load_be(at + 1, width);
        static const uint64_t shortest_min[] = {0x80, 0x100, 0x10000, 0x100000000ull};
        if (v < shortest_min[b - 0xcc]) return codec_rd_fail(r, CODEC_ERR_NONCANONICAL, field);
        r->p += 1 + width;
    } else {
        return codec_rd_fail(r, CODEC_ERR_TYPE, field);
    }
    if (v > max) return codec_rd_fail_at(r, at, CODEC_ERR_RANGE, field);
    *out = v;
    return true;
}

bool codec_rd_u32(codec_reader *r, const char *field, uint32_t max, uint32_t *out)
{
    uint64_t v;
    if (!codec_rd_uint(r, field, max, &v)) return false;
    *out = (uint32_t)v;
    return true;
}

/* rd_u32 with a lower bound too; both refusals point at the value's start. */
bool codec_rd_u32_in(codec_reader *r, const char *field, uint32_t min, uint32_t max, uint32_t *out)
{
    const uint8_t *at = r->p;
    if (!codec_rd_u32(r, field, max, out)) return false;
    if (*out < min) return codec_rd_fail_at(r, at, CODEC_ERR_RANGE, field);
    return true;
}

/* Read any int64: uint forms for v >= 0, the shortest negative form otherwise. */
static bool rd_int(codec_reader *r, const char *field, int64_t *out)
{
    if (codec_rd_remaining(r) < 1) return codec_rd_fail(r, CODEC_ERR_TRUNCATED, field);
    const uint8_t *at = r->p;
    uint8_t b = at[0];
    if (b <= 0x7f || (b >= 0xcc && b <= 0xcf)) {
        uint64_t v;
        if (!codec_rd_uint(r, field, INT64_MAX, &v)) return false;
        *out = (int64_t)v;
        return true;
    }
    if (b >= 0xe0) {
        *out = (int8_t)b;
        r->p += 1;
        return true;
    }
    if (b < 0xd0 || b > 0xd3) return codec_rd_fail(r, CODEC_ERR_TYPE, field);
    unsigned width = 1u << (b - 0xd0);
    if (codec_rd_remaining(r) < 1 + width) return codec_rd_fail(r, CODEC_ERR_TRUNCATED, field);
    uint64_t raw = load_be(at + 1, width);
    int64_t v;
    if (width == 8) {
        memcpy(&v, &raw, sizeof v);
    } else {
        uint64_t sign = 1ull << (8 * width - 1);
        v = (int64_t)(raw ^ sign) - (int64_t)sign;
    }
    static const int64_t shortest_max[] = {-33, -129, -32769, -2147483649ll};
    if (v > shortest_max[b - 0xd0]) return codec_rd_fail(r, CODEC_ERR_NONCANONICAL, field);
    r->p += 1 + width;
    *out = v;
    return true;
}

bool codec_rd_bin(codec_reader *r, const char *field, uint32_t min, uint32_t max,
                   const uint8_t **out, uint32_t *len)
{
    const uint8_t *at = r->p;
    if (!rd_header(r, &FAMILY_BIN, field, len)) return false;
    if (*len < min || *len > max) return codec_rd_fail_at(r, at, CODEC_ERR_LENGTH, field);
    if (*len > codec_rd_remaining(r)) return codec_rd_fail_at(r, at, CODEC_ERR_TRUNCATED, field);
    *out = r->p;
    r->p += *len;
    return true;
}

bool codec_rd_fixed(codec_reader *r, const char *field, void *out, uint32_t n)
{
    const uint8_t *p;
    uint32_t len;
    if (!codec_rd_bin(r, field, n, n, &p, &len)) return false;
    memcpy(out, p, n);
    return true;
}

bool codec_rd_hash(codec_reader *r, const char *field, hash32 *out)
{
    return codec_rd_fixed(r, field, out->bytes, 32);
}

/* Strict UTF-8: no overlongs, no surrogates, <= U+10FFFF, no NUL. */
static bool utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c == 0) return false;
        if (c < 0x80) { i++; continue; }
        unsigned extra;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0) { extra = 1; cp = c & 0x1f; min = 0x80; }
        else if ((c & 0xf0) == 0xe0) { extra = 2; cp = c & 0x0f; min = 0x800; }
        else if ((c & 0xf8) == 0xf0) { extra = 3; cp = c & 0x07; min = 0x10000; }
        else return false;
        if (n - i <= extra) return false;
        for (unsigned k = 1; k <= extra; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return false;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += extra + 1;
    }
    return true;
}

/* Read a str of at most max bytes into out (capacity max + 1), NUL-terminated. */
static bool rd_str(codec_reader *r, const char *field, uint32_t max, char *out)
{
    const uint8_t *at = r->p;
    uint32_t len;
    if (!rd_header(r, &FAMILY_STR, field, &len)) return false;
    if (len > max) return codec_rd_fail_at(r, at, CODEC_ERR_LENGTH, field);
    if (len > codec_rd_remaining(r)) return codec_rd_fail_at(r, at, CODEC_ERR_TRUNCATED, field);
    if (!utf8_valid(r->p, len)) return codec_rd_fail_at(r, at, CODEC_ERR_UTF8, field);
    memcpy(out, r->p, len);
    out[len] = '\0';
    r->p += len;
    return true;
}

static bool rd_name(codec_reader *r, const char *field, codec_name *out)
{
    return rd_str(r, field, CODEC_NAME_MAX, out->text);
}

bool codec_rd_nil(codec_reader *r)
{
    if (codec_rd_remaining(r) >= 1 && r->p[0] == 0xc0) {
        r->p += 1;
        return true;
    }
    return false;
}

void codec_rd_init(codec_reader *r, const uint8_t *data, size_t len, codec_error *err)
{
    r->start = data;
    r->p = data;
    r->end = data + len;
    r->err = err ? err : &r->own_err;
    r->index = -1;
}

codec_err codec_rd_finish(codec_reader *r, bool ok)
{
    if (ok && r->p != r->end) ok = codec_rd_fail(r, CODEC_ERR_TRAILING, "end");
    return ok ? CODEC_OK : r->err->code;
}

/* ==== transaction ======================================================= */

static void wr_tx_body_fields(writer *w, const codec_tx *tx)
{
    wr_bin(w, tx->signer.bytes, 32);
    wr_uint(w, tx->nonce);
    wr_uint(w, tx->valid_until);
    wr_str(w, tx->contract.text);
    wr_str(w, tx->method.text);
    wr_array(w, tx->arg_count);
    for (uint32_t i = 0; i < tx->arg_count; i++) {
        const codec_value *v = &tx->args[i];
        if (v->kind == CODEC_VALUE_INT) wr_int(w, v->integer);
        else wr_bin(w, v->bytes, v->len);
    }
}

codec_err codec_tx_body_encode(const codec_tx *tx, codec_buf *out)
{
    writer w;
    wr_init(&w, out);
    wr_array(&w, 6);
    wr_tx_body_fields(&w, tx);
    return wr_done(&w);
}

codec_err codec_tx_encode(const codec_tx *tx, codec_buf *out)
{
    writer w;
    wr_init(&w, out);
    wr_array(&w, 8);
    wr_tx_body_fields(&w, tx);
    wr_array(&w, tx->cosig_count);
    for (uint32_t i = 0; i < tx->cosig_count; i++) {
        wr_array(&w, 3);
        wr_bin(&w, tx->cosigs[i].key.bytes, 32);
        wr_uint(&w, tx->cosigs[i].meaning);
        wr_bin(&w, tx->cosigs[i].sig.bytes, 64);
    }
    wr_bin(&w, tx->sig.bytes, 64);
    return wr_done(&w);
}

codec_err codec_cosig_body_encode(const hash32 *body_hash, unsigned meaning,
                                  const pubkey *cosigner, codec_buf *out)
{
    writer w;
    wr_init(&w, out);
    wr_array(&w, 3);
    wr_hash(&w, body_hash);
    wr_uint(&w, meaning);
    wr_bin(&w, cosigner->bytes, 32);
    return wr_done(&w);
}

static bool rd_value(codec_reader *r, codec_value *v)
{
    if (codec_rd_remaining(r) >= 1 && r->p[0] >= 0xc4 && r->p[0] <= 0xc6) {
        v->kind = CODEC_VALUE_BYTES;
        v->integer = 0;
        return codec_rd_bin(r, "tx.args[]", 0, CODEC_ARG_BYTES_MAX, &v->bytes, &v->len);
    }
    v->kind = CODEC_VALUE_INT;
    v->bytes = NULL;
    v->len = 0;
    return rd_int(r, "tx.args[]", &v->integer);
}

static bool rd_cosig(codec_reader *r, codec_cosig *c)
{
    uint32_t n;
    uint32_t meaning;
    if (!codec_rd_array(r, "tx.cosigs[]", 3, 3, &n)) return false;
    if (!codec_rd_fixed(r, "tx.cosigs[].key", c->key.bytes, 32)) return false;
    if (!codec_rd_u32_in(r, "tx.cosigs[].meaning", 1, MEANING_MAX_, &meaning)) return false;
    c->meaning = (uint8_t)meaning;
    return codec_rd_fixed(r, "tx.cosigs[].sig", c->sig.bytes, 64);
}

/* A co-signer must differ from the signer and from every earlier co-signer. */
static bool cosigner_is_new(const codec_tx *tx, uint32_t i)
{
    const uint8_t *key = tx->cosigs[i].key.bytes;
    if (memcmp(key, tx->signer.bytes, 32) == 0) return false;
    for (uint32_t k = 0; k < i; k++) {
        if (memcmp(key, tx->cosigs[k].key.bytes, 32) == 0) return false;
    }
    return true;
}

static bool rd_tx(codec_reader *r, codec_tx *tx)
{
    uint32_t n;
    const int64_t outer_index = r->index; /* block element, restored after inner loops */
    if (!codec_rd_array(r, "tx", 8, 8, &n)) return false;
    tx->body_fields = r->p;
    if (!codec_rd_fixed(r, "tx.signer", tx->signer.bytes, 32)) return false;
    if (!codec_rd_uint(r, "tx.nonce", UINT64_MAX, &tx->nonce)) return false;
    if (!codec_rd_uint(r, "tx.valid_until", UINT64_MAX, &tx->valid_until)) return false;
    if (!rd_name(r, "tx.contract", &tx->contract)) return false;
    if (!rd_name(r, "tx.method", &tx->method)) return false;
    if (!codec_rd_array(r, "tx.args", 0, CODEC_ARGS_MAX, &tx->arg_count)) return false;
    for (uint32_t i = 0; i < tx->arg_count; i++) {
        r->index = i;
        if (!rd_value(r, &tx->args[i])) return false;
    }
    r->index = outer_index;
    tx->body_fields_len = (size_t)(r->p - tx->body_fields);
    if (!codec_rd_array(r, "tx.cosigs", 0, CODEC_COSIGS_MAX, &tx->cosig_count)) return false;
    for (uint32_t i = 0; i < tx->cosig_count; i++) {
        const uint8_t *at = r->p;
        r->index = i;
        if (!rd_cosig(r, &tx->cosigs[i])) return false;
        if (!cosigner_is_new(tx, i)) {
            return codec_rd_fail_at(r, at, CODEC_ERR_DUPLICATE, "tx.cosigs[].key");
        }
    }
    r->index = outer_index;
    return codec_rd_fixed(r, "tx.sig", tx->sig.bytes, 64);
}

/* ---- pruned tx ---------------------------------------------------------------- */

codec_err codec_pruned_tx_encode(const codec_pruned_tx *p, codec_buf *out)
{
    writer w;
    wr_init(&w, out);
    wr_array(&w, 9);
    wr_hash(&w, &p->leaf);
    wr_hash(&w, &p->tx_id);
    wr_bin(&w, p->signer.bytes, 32);
    wr_uint(&w, p->nonce);
    wr_uint(&w, p->valid_until);
    wr_str(&w, p->contract.text);
    wr_str(&w, p->method.text);
    wr_uint(&w, p->arg_count);
    wr_uint(&w, p->arg_kinds);
    return wr_done(&w);
}

static bool rd_pruned_tx(codec_reader *r, codec_pruned_tx *p)
{
    uint32_t n;
    uint64_t count, kinds;
    if (!codec_rd_array(r, "pruned", 9, 9, &n)) return false;
    if (!codec_rd_fixed(r, "pruned.leaf_hash", p->leaf.bytes, 32)) return false;
    if (!codec_rd_fixed(r, "pruned.tx_id", p->tx_id.bytes, 32)) return false;
    if (!codec_rd_fixed(r, "pruned.signer", p->signer.bytes, 32)) return false;
    if (!codec_rd_uint(r, "pruned.nonce", UINT64_MAX, &p->nonce)) return false;
    if (!codec_rd_uint(r, "pruned.valid_until", UINT64_MAX, &p->valid_until)) return false;
    if (!rd_name(r, "pruned.contract", &p->contract)) return false;
    if (!rd_name(r, "pruned.method", &p->method)) return false;
    if (!codec_rd_uint(r, "pruned.arg_count", CODEC_ARGS_MAX, &count)) return false;
    if (!codec_rd_uint(r, "pruned.arg_kinds", (1u << count) - 1, &kinds)) return false;
    p->arg_count = (uint32_t)count;
    p->arg_kinds = (uint32_t)kinds;
    return true;
}

codec_err codec_pruned_tx_decode(const uint8_t *data, size_t len, codec_pruned_tx *out,
                                 codec_error *err)
{
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    return codec_rd_finish(&r, rd_pruned_tx(&r, out));
}

void codec_pruned_tx_of(const codec_tx *tx, const codec_span *tx_bytes, codec_pruned_tx *out)
{
    memset(out, 0, sizeof *out);
    tcrypto_sha256_state st;
    static const uint8_t zero = 0;
    tcrypto_sha256_init(&st);
    tcrypto_sha256_update(&st, &zero, 1);
    tcrypto_sha256_update(&st, tx_bytes->data, tx_bytes->len);
    tcrypto_sha256_final(&st, &out->leaf);
    tcrypto_sha256(tx_bytes->data, tx_bytes->len, &out->tx_id);
    out->signer = tx->signer;
    out->nonce = tx->nonce;
    out->valid_until = tx->valid_until;
    out->contract = tx->contract;
    out->method = tx->method;
    out->arg_count = tx->arg_count;
    for (uint32_t i = 0; i < tx->arg_count; i++) {
        if (tx->args[i].kind == CODEC_VALUE_BYTES) out->arg_kinds |= 1u << i;
    }
}

bool codec_entry_is_pruned(const codec_span *entry)
{
    return entry->len > 0 && entry->data[0] == 0x99;
}

void codec_entry_leaf(const codec_span *entry, hash32 *leaf)
{
    if (codec_entry_is_pruned(entry) && entry->len >= 35) {
        memcpy(leaf->bytes, entry->data + 3, 32); /* 0x99, c4 20, leaf hash */
        return;
    }
    tcrypto_sha256_state st;
    static const uint8_t zero = 0;
    tcrypto_sha256_init(&st);
    tcrypto_sha256_update(&st, &zero, 1);
    tcrypto_sha256_update(&st, entry->data, entry->len);
    tcrypto_sha256_final(&st, leaf);
}

void codec_entry_tx_id(const codec_span *entry, hash32 *tx_id)
{
    if (codec_entry_is_pruned(entry) && entry->len >= 69) {
        memcpy(tx_id->bytes, entry->data + 37, 32); /* after the leaf hash: c4 20, tx id */
        return;
    }
    tcrypto_sha256(entry->data, entry->len, tx_id);
}

codec_err codec_tx_decode(const uint8_t *data, size_t len, codec_tx *out, codec_error *err)
{
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    if (len > CODEC_TX_MAX) return codec_rd_finish(&r, codec_rd_fail(&r, CODEC_ERR_LENGTH, "tx"));
    return codec_rd_finish(&r, rd_tx(&r, out));
}

int codec_tx_verify_signatures(const codec_tx *tx, const hash32 *chain_id)
{
    uint8_t body[CODEC_TX_MAX + 1];
    if (tx->body_fields_len + 1 > sizeof body) return -1;
    body[0] = 0x96; /* fixarray of the 6 body fields */
    memcpy(body + 1, tx->body_fields, tx->body_fields_len);
    size_t body_len = tx->body_fields_len + 1;
    if (!tcrypto_verify(&tx->signer, TCRYPTO_TAG_TX, chain_id, body, body_len, &tx->sig)) {
        return -1;
    }
    hash32 body_hash;
    tcrypto_sha256(body, body_len, &body_hash);
    for (uint32_t k = 0; k < tx->cosig_count; k++) {
        uint8_t cbody[128];
        codec_buf cb = codec_buf_make(cbody, sizeof cbody);
        codec_cosig_body_encode(&body_hash, tx->cosigs[k].meaning, &tx->cosigs[k].key, &cb);
        if (!tcrypto_verify(&tx->cosigs[k].key, TCRYPTO_TAG_COSIG, chain_id, cb.data, cb.len,
                            &tx->cosigs[k].sig)) {
            return (int)k + 1;
        }
    }
    return 0;
}

/* ==== batch and block headers =========================================== */

static void wr_batch_header(writer *w, const codec_batch_header *h)
{
    wr_array(w, 4);
    wr_uint(w, h->height);
    wr_uint(w, h->time_ms);
    wr_hash(w, &h->tx_root);
    wr_uint(w, h->tx_count);
}

static void wr_block_header(writer *w, const codec_block_header *h)
{
    wr_array(w, 4);
    wr_batch_header(w, &h->batch);
    wr_hash(w, &h->prev_hash);
    wr_uint(w, h->log_size);
    wr_hash(w, &h->log_root);
}

/* Time 0 is the null batch's (a NEW-VIEW fills a height nobody prepared with it, and it
 * has no txs); every proposal with txs carries its primary's clock, which replicas check
 * is after the previous block's time, so a batch of time 0 with txs is never valid
 * (FORMATS.md 5.2). */
bool codec_rd_batch_header(codec_reader *r, codec_batch_header *h)
{
    uint32_t n;
    const uint8_t *time_at;
    if (!(codec_rd_array(r, "batch_header", 4, 4, &n)
          && codec_rd_uint(r, "batch_header.height", UINT64_MAX, &h->height))) {
        return false;
    }
    time_at = r->p;
    if (!(codec_rd_uint(r, "batch_header.time_ms", UINT64_MAX, &h->time_ms)
          && codec_rd_hash(r, "batch_header.tx_root", &h->tx_root)
          && codec_rd_uint(r, "batch_header.tx_count", CODEC_BLOCK_TXS_MAX, &h->tx_count))) {
        return false;
    }
    if (h->time_ms == 0 && h->tx_count > 0) {
        return codec_rd_fail_at(r, time_at, CODEC_ERR_RANGE,
                                "batch_header.time_ms (0 is a null batch's, which has no txs)");
    }
    return true;
}

static bool rd_block_header(codec_reader *r, codec_block_header *h)
{
    uint32_t n;
    return codec_rd_array(r, "block_header", 4, 4, &n)
        && codec_rd_batch_header(r, &h->batch)
        && codec_rd_hash(r, "block_header.prev_hash", &h->prev_hash)
        && codec_rd_uint(r, "block_header.log_size", UINT64_MAX, &h->log_size)
        && codec_rd_hash(r, "block_header.log_root", &h->log_root);
}

codec_err codec_batch_header_encode(const codec_batch_header *h, codec_buf *out)
{
    writer w;
    wr_init(&w, out);
    wr_batch_header(&w, h);
    return wr_done(&w);
}

codec_err codec_block_header_encode(const codec_block_header *h, codec_buf *out)
{
    writer w;
    wr_init(&w, out);
    wr_block_header(&w, h);
    return wr_done(&w);
}

codec_err codec_batch_header_decode(const uint8_t *data, size_t len, codec_batch_header *out,
                                    codec_error *err)
{
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    return codec_rd_finish(&r, codec_rd_batch_header(&r, out));
}

codec_err codec_block_header_decode(const uint8_t *data, size_t len, codec_block_header *out,
                                    codec_error *err)
{
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    return codec_rd_finish(&r, rd_block_header(&r, out));
}

void codec_batch_hash(const codec_batch_header *h, hash32 *out)
{
    uint8_t buf[128];
    codec_buf b = codec_buf_make(buf, sizeof buf);
    codec_err rc = codec_batch_header_encode(h, &b);
    assert(rc == CODEC_OK);
    (void)rc;
    tcrypto_sha256(b.data, b.len, out);
}

void codec_block_hash(const codec_block_header *h, hash32 *out)
{
    uint8_t buf[256];
    codec_buf b = codec_buf_make(buf, sizeof buf);
    codec_err rc = codec_block_header_encode(h, &b);
    assert(rc == CODEC_OK);
    (void)rc;
    tcrypto_sha256(b.data, b.len, out);
}

/* ==== receipt =========================================================== */

codec_err codec_receipt_encode(const codec_receipt *rc, codec_buf *out)
{
    writer w;
    wr_init(&w, out);
    wr_array(&w, 6);
    wr_hash(&w, &rc->tx_id);
    wr_uint(&w, rc->status);
    wr_uint(&w, rc->error_code);
    wr_str(&w, rc->reason);
    wr_uint(&w, rc->gas_used);
    wr_array(&w, rc->event_count);
    for (uint32_t i = 0; i < rc->event_count; i++) {
        wr_array(&w, 2);
        wr_str(&w, rc->events[i].topic.text);
        wr_bin(&w, rc->events[i].data, rc->events[i].len);
    }
    return wr_done(&w);
}

static bool rd_event(codec_reader *r, codec_event *e)
{
    uint32_t n;
    return codec_rd_array(r, "receipt.events[]", 2, 2, &n)
        && rd_name(r, "receipt.events[].topic", &e->topic)
        && codec_rd_bin(r, "receipt.events[].data", 0, CODEC_EVENT_DATA_MAX, &e->data, &e->len);
}

static bool rd_receipt(codec_reader *r, codec_receipt *rc)
{
    uint32_t n;
    uint64_t gas;
    uint32_t status;
    if (!(codec_rd_array(r, "receipt", 6, 6, &n) && codec_rd_hash(r, "receipt.tx_id", &rc->tx_id)
          && codec_rd_u32(r, "receipt.status", RECEIPT_STATUS_MAX_, &status))) {
        return false;
    }
    /* An OK receipt has error code 0 and an empty reason (FORMATS.md 5.4): the executor
     * writes nothing else, so anything else is not one of its receipts. */
    const uint8_t *code_at = r->p;
    if (!codec_rd_u32(r, "receipt.error_code", UINT32_MAX, &rc->error_code)) return false;
    if (status == RECEIPT_OK && rc->error_code != 0) {
        return codec_rd_fail_at(r, code_at, CODEC_ERR_RANGE,
                                "receipt.error_code (an OK receipt's is 0)");
    }
    const uint8_t *reason_at = r->p;
    if (!rd_str(r, "receipt.reason", CODEC_REASON_MAX, rc->reason)) return false;
    if (status == RECEIPT_OK && rc->reason[0] != '\0') {
        return codec_rd_fail_at(r, reason_at, CODEC_ERR_LENGTH,
                                "receipt.reason (an OK receipt's is empty)");
    }
    if (!(codec_rd_uint(r, "receipt.gas_used", UINT64_MAX, &gas)
          && codec_rd_array(r, "receipt.events", 0, CODEC_EVENTS_MAX, &rc->event_count))) {
        return false;
    }
    rc->status = (uint8_t)status;
    rc->gas_used = gas;
    for (uint32_t i = 0; i < rc->event_count; i++) {
        r->index = i;
        if (!rd_event(r, &rc->events[i])) return false;
    }
    r->index = -1;
    return true;
}

codec_err codec_receipt_decode(const uint8_t *data, size_t len, codec_receipt *out,
                               codec_error *err)
{
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    if (len > CODEC_RECEIPT_MAX) {
        return codec_rd_finish(&r, codec_rd_fail(&r, CODEC_ERR_LENGTH, "receipt"));
    }
    return codec_rd_finish(&r, rd_receipt(&r, out));
}

/* ==== certificates ====================================================== */

static void wr_vsigs(writer *w, const codec_vsig *sigs, uint32_t count)
{
    wr_array(w, count);
    for (uint32_t i = 0; i < count; i++) {
        wr_array(w, 2);
        wr_uint(w, sigs[i].validator);
        wr_bin(w, sigs[i].sig.bytes, 64);
    }
}

static bool rd_vsigs(codec_reader *r, const char *field, const char *item, const char *sig_field,
                     uint32_t min, codec_vsig *sigs, uint32_t *count)
{
    if (!codec_rd_array(r, field, min, CODEC_VALIDATORS_MAX, count)) return false;
    for (uint32_t i = 0; i < *count; i++) {
        uint32_t n;
        r->index = i;
        const uint8_t *at = r->p;
        if (!codec_rd_array(r, item, 2, 2, &n)) return false;
        if (!codec_rd_u32(r, item, CODEC_VALIDATORS_MAX - 1, &sigs[i].validator)) return false;
        if (i > 0 && sigs[i].validator <= sigs[i - 1].validator) {
            return codec_rd_fail_at(r, at, CODEC_ERR_ORDER, item);
        }
        if (!codec_rd_fixed(r, sig_field, sigs[i].sig.bytes, 64)) return false;
    }
    r->index = -1;
    return true;
}

codec_err codec_commit_body_encode(uint64_t height, uint64_t view, const hash32 *batch_hash,
                                   codec_buf *out)
{
    writer w;
    wr_init(&w, out);
    wr_array(&w, 3);
    wr_uint(&w, height);
    wr_uint(&w, view);
    wr_hash(&w, batch_hash);
    return wr_done(&w);
}

codec_err codec_commit_cert_encode(const codec_commit_cert *c, codec_buf *out)
{
    writer w;
    wr_init(&w, out);
    wr_array(&w, 4);
    wr_uint(&w, c->height);
    wr_uint(&w, c->view);
    wr_hash(&w, &c->batch_hash);
    wr_vsigs(&w, c->sigs, c->sig_count);
    return wr_done(&w);
}

static bool rd_commit_cert(codec_reader *r, codec_commit_cert *c)
{
    uint32_t n;
    return codec_rd_array(r, "commit_cert", 4, 4, &n)
        && codec_rd_uint(r, "commit_cert.height", UINT64_MAX, &c->height)
        && codec_rd_uint(r, "commit_cert.view", UINT64_MAX, &c->view)
        && codec_rd_hash(r, "commit_cert.batch_hash", &c->batch_hash)
        && rd_vsigs(r, "commit_cert.sigs", "commit_cert.sigs[]", "commit_cert.sigs[].sig",
                    1, c->sigs, &c->sig_count);
}

codec_err codec_commit_cert_decode(const uint8_t *data, size_t len, codec_commit_cert *out,
                                   codec_error *err)
{
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    return codec_rd_finish(&r, rd_commit_cert(&r, out));
}

static void wr_checkpoint_fields(writer *w, const codec_result_cert *c)
{
    wr_uint(w, c->height);
    wr_hash(w, &c->block_hash);
    wr_hash(w, &c->state_hash);
    wr_hash(w, &c->receipts_root);
}

codec_err codec_checkpoint_body_encode(const codec_result_cert *c, codec_buf *out)
{
    writer w;
    wr_init(&w, out);
    wr_array(&w, 4);
    wr_checkpoint_fields(&w, c);
    return wr_done(&w);
}

codec_err codec_result_cert_encode(const codec_result_cert *c, codec_buf *out)
{
    writer w;
    wr_init(&w, out);
    wr_array(&w, 5);
    wr_checkpoint_fields(&w, c);
    wr_vsigs(&w, c->sigs, c->sig_count);
    return wr_done(&w);
}

bool codec_rd_result_cert(codec_reader *r, codec_result_cert *c, uint32_t min_sigs)
{
    uint32_t n;
    return codec_rd_array(r, "result_cert", 5, 5, &n)
        && codec_rd_uint(r, "result_cert.height", UINT64_MAX, &c->height)
        && codec_rd_hash(r, "result_cert.block_hash", &c->block_hash)
        && codec_rd_hash(r, "result_cert.state_hash", &c->state_hash)
        && codec_rd_hash(r, "result_cert.receipts_root", &c->receipts_root)
        && rd_vsigs(r, "result_cert.sigs", "result_cert.sigs[]", "result_cert.sigs[].sig",
                    min_sigs, c->sigs, &c->sig_count);
}

codec_err codec_result_cert_decode(const uint8_t *data, size_t len, codec_result_cert *out,
                                   codec_error *err)
{
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    return codec_rd_finish(&r, codec_rd_result_cert(&r, out, 1));
}

/* ==== block record ====================================================== */

static void wr_writes(writer *w, const codec_write *writes, uint32_t count)
{
    wr_array(w, count);
    for (uint32_t i = 0; i < count; i++) {
        wr_array(w, 2);
        wr_bin(w, writes[i].key, writes[i].key_len);
        if (writes[i].value) wr_bin(w, writes[i].value, writes[i].value_len);
        else wr_nil(w);
    }
}

codec_err codec_writes_encode(const codec_write *writes, uint32_t count, codec_buf *out)
{
    writer w;
    wr_init(&w, out);
    wr_writes(&w, writes, count);
    return wr_done(&w);
}

static int hash_write(void *data, const char *bytes, size_t len)
{
    tcrypto_sha256_update(data, bytes, len);
    return 0;
}

void codec_writes_hash(const codec_write *writes, uint32_t count, hash32 *out)
{
    tcrypto_sha256_state st;
    tcrypto_sha256_init(&st);
    writer w;
    codec_buf unused = codec_buf_make(NULL, 0);
    w.buf = &unused;
    msgpack_packer_init(&w.pk, &st, hash_write);
    wr_writes(&w, writes, count);
    tcrypto_sha256_final(&st, out);
}

codec_err codec_block_encode(const codec_block_header *h, const codec_span *txs,
                             uint32_t tx_count, const codec_span *receipts,
                             uint32_t receipt_count, const codec_write *writes,
                             uint32_t write_count, const codec_span *commit_cert,
                             codec_buf *out)
{
    writer w;
    wr_init(&w, out);
    wr_array(&w, 5);
    wr_block_header(&w, h);
    wr_array(&w, tx_count);
    for (uint32_t i = 0; i < tx_count; i++) wr_raw(&w, txs[i].data, txs[i].len);
    wr_array(&w, receipt_count);
    for (uint32_t i = 0; i < receipt_count; i++) wr_raw(&w, receipts[i].data, receipts[i].len);
    wr_writes(&w, writes, write_count);
    wr_raw(&w, commit_cert->data, commit_cert->len);
    return wr_done(&w);
}

static bool rd_write(codec_reader *r, codec_write *wr)
{
    uint32_t n;
    if (!codec_rd_array(r, "block.writes[]", 2, 2, &n)) return false;
    if (!codec_rd_bin(r, "block.writes[].key", 1, CODEC_KEY_MAX, &wr->key, &wr->key_len)) {
        return false;
    }
    if (codec_rd_nil(r)) {
        wr->value = NULL;
        wr->value_len = 0;
        return true;
    }
    return codec_rd_bin(r, "block.writes[].value", 0, CODEC_VALUE_MAX, &wr->value, &wr->value_len);
}

/* A block's (or an inclusion proof's) tx entry: a tx, or a pruned tx (9 fields; a tx
 * has 8, so the first byte tells them apart). */
static bool rd_tx_entry(codec_reader *r, codec_tx *scratch)
{
    static _Thread_local codec_pruned_tx pruned;
    if (r->p < r->end && *r->p == 0x99) return rd_pruned_tx(r, &pruned);
    return rd_tx(r, scratch);
}

static bool rd_block_txs(codec_reader *r, codec_block *b, uint32_t cap)
{
    static _Thread_local codec_tx scratch;
    if (!codec_rd_array(r, "block.txs", 0, cap, &b->tx_count)) return false;
    for (uint32_t i = 0; i < b->tx_count; i++) {
        const uint8_t *at = r->p;
        r->index = i;
        if (!rd_tx_entry(r, &scratch)) return false;
        if ((size_t)(r->p - at) > CODEC_TX_MAX) {
            return codec_rd_fail_at(r, at, CODEC_ERR_LENGTH, "tx");
        }
        if (b->txs) b->txs[i] = (codec_span){at, (size_t)(r->p - at)};
    }
    r->index = -1;
    return true;
}

static bool rd_block_receipts(codec_reader *r, codec_block *b, uint32_t cap)
{
    static _Thread_local codec_receipt scratch;
    if (!codec_rd_array(r, "block.receipts", 0, cap, &b->receipt_count)) return false;
    for (uint32_t i = 0; i < b->receipt_count; i++) {
        const uint8_t *at = r->p;
        r->index = i;
        if (!rd_receipt(r, &scratch)) return false;
        if ((size_t)(r->p - at) > CODEC_RECEIPT_MAX) {
            return codec_rd_fail_at(r, at, CODEC_ERR_LENGTH, "receipt");
        }
        if (b->receipts) b->receipts[i] = (codec_span){at, (size_t)(r->p - at)};
    }
    r->index = -1;
    return true;
}

static bool rd_block(codec_reader *r, codec_block *b, uint32_t tx_cap, uint32_t writes_cap)
{
    static _Thread_local codec_commit_cert scratch;
    uint32_t n;
    if (!codec_rd_array(r, "block", 5, 5, &n)) return false;
    if (!rd_block_header(r, &b->header)) return false;
    if (!rd_block_txs(r, b, tx_cap)) return false;
    if (!rd_block_receipts(r, b, tx_cap)) return false;
    if (!codec_rd_array(r, "block.writes", 0, writes_cap, &b->write_count)) return false;
    for (uint32_t i = 0; i < b->write_count; i++) {
        codec_write scratch_write;
        r->index = i;
        if (!rd_write(r, b->writes ? &b->writes[i] : &scratch_write)) return false;
    }
    r->index = -1;
    const uint8_t *at = r->p;
    if (!rd_commit_cert(r, &scratch)) return false;
    b->commit_cert = (codec_span){at, (size_t)(r->p - at)};
    return true;
}

codec_err codec_block_decode(const uint8_t *data, size_t len, codec_block *out,
                             uint32_t tx_cap, uint32_t writes_cap, codec_error *err)
{
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    if (len > CODEC_BLOCK_MAX) {
        return codec_rd_finish(&r, codec_rd_fail(&r, CODEC_ERR_LENGTH, "block"));
    }
    if (tx_cap > CODEC_BLOCK_TXS_MAX) tx_cap = CODEC_BLOCK_TXS_MAX;
    if (writes_cap > CODEC_WRITES_MAX) writes_cap = CODEC_WRITES_MAX;
    return codec_rd_finish(&r, rd_block(&r, out, tx_cap, writes_cap));
}

/* ==== genesis =========================================================== */

void codec_rules_default(codec_rules *out)
{
    *out = (codec_rules){
        .rules_version = CODEC_RULES_VERSION,
        .gas_schedule = CODEC_GAS_SCHEDULE,
        /* 33x the heaviest method of the example trial (29,652 gas); an access request
         * walking 100 participants' records (test_review) needs more than 400,000; a
         * batch of 250 txs at their limit stays within the block's gas */
        .tx_gas_limit = 1000000,
        /* a full block of the worst-case op: ~0.55 s on the reference machine
         * (docs/BENCHMARKS.md, `trialctl bench vm --worst`); the bound is 1 s */
        .block_gas_limit = 250000000,
        .vm_memory_bytes = 256u * 1024u,       /* cvm_limits_default() */
        .vm_call_depth = 64,
        .vm_writes_max = 256,
        .vm_events_max = 64,
        .max_batch_txs = 256,                  /* PBFT_BATCH_MAX */
        .block_bytes_max = 2u << 20,           /* 2 MiB of txs */
        .nonce_rule = CODEC_NONCE_RULE_VALID_UNTIL,
        .valid_for_max_ms = 3600000,           /* an hour */
        .anchor_window_ms = 7ull * 24 * 3600 * 1000,
        .clock_skew_ms = 2000,
        .rebind_delay_ms = CODEC_RULES_REBIND_DELAY_DEFAULT_MS,
    };
}

const char *codec_governance_kind_name(unsigned kind)
{
    static const char *names[] = {"?", "authorities", "validators", "deploy", "rules",
                                  "regulators"};
    return kind <= GOVERNANCE_KIND_MAX_ ? names[kind] : "?";
}

void codec_governance_default(codec_requirement out[GOVERNANCE_KIND_MAX_])
{
    for (unsigned k = 0; k < GOVERNANCE_KIND_MAX_; k++) {
        out[k] = (codec_requirement){
            .role_count = 2, .roles = {{ROLE_SPONSOR, 1}, {ROLE_REGULATOR, 1}}};
    }
    out[GOVERNANCE_REGULATORS - 1] =
        (codec_requirement){.role_count = 1, .roles = {{ROLE_REGULATOR, 1}}};
}

static void wr_rules(writer *w, const codec_rules *r)
{
    wr_array(w, 15);
    wr_uint(w, r->rules_version);
    wr_uint(w, r->gas_schedule);
    wr_uint(w, r->tx_gas_limit);
    wr_uint(w, r->block_gas_limit);
    wr_uint(w, r->vm_memory_bytes);
    wr_uint(w, r->vm_call_depth);
    wr_uint(w, r->vm_writes_max);
    wr_uint(w, r->vm_events_max);
    wr_uint(w, r->max_batch_txs);
    wr_uint(w, r->block_bytes_max);
    wr_uint(w, r->nonce_rule);
    wr_uint(w, r->valid_for_max_ms);
    wr_uint(w, r->anchor_window_ms);
    wr_uint(w, r->clock_skew_ms);
    wr_uint(w, r->rebind_delay_ms);
}

static void wr_governance(writer *w, const codec_requirement *gov)
{
    wr_array(w, GOVERNANCE_KIND_MAX_);
    for (uint32_t k = 0; k < GOVERNANCE_KIND_MAX_; k++) {
        wr_array(w, 2);
        wr_uint(w, k + 1);
        wr_array(w, gov[k].role_count);
        for (uint32_t i = 0; i < gov[k].role_count; i++) {
            wr_array(w, 2);
            wr_uint(w, gov[k].roles[i].role);
            wr_uint(w, gov[k].roles[i].count);
        }
    }
}

codec_err codec_genesis_encode(const codec_genesis *g, codec_buf *out)
{
    writer w;
    wr_init(&w, out);
    wr_array(&w, 8);
    wr_uint(&w, CODEC_GENESIS_VERSION);
    wr_str(&w, g->chain_name);
    wr_uint(&w, g->created_ms);
    wr_rules(&w, &g->rules);
    wr_array(&w, g->validator_count);
    for (uint32_t i = 0; i < g->validator_count; i++) {
        wr_array(&w, 2);
        wr_str(&w, g->validators[i].name.text);
        wr_bin(&w, g->validators[i].key.bytes, 32);
    }
    wr_array(&w, g->authority_count);
    for (uint32_t i = 0; i < g->authority_count; i++) {
        const codec_authority *a = &g->authorities[i];
        wr_array(&w, 4);
        wr_uint(&w, a->role);
        wr_str(&w, a->site.text);
        wr_str(&w, a->name.text);
        wr_bin(&w, a->key.bytes, 32);
    }
    wr_array(&w, g->contract_count);
    for (uint32_t i = 0; i < g->contract_count; i++) {
        wr_array(&w, 3);
        wr_str(&w, g->contracts[i].name.text);
        wr_uint(&w, g->contracts[i].version);
        wr_bin(&w, g->contracts[i].bytecode, g->contracts[i].bytecode_len);
    }
    wr_governance(&w, g->governance);
    return wr_done(&w);
}

/* A version number this build must know: anything else is CODEC_ERR_UNKNOWN. */
static bool rd_known(codec_reader *r, const char *field, uint32_t known, uint32_t *out)
{
    const uint8_t *at = r->p;
    if (!codec_rd_u32(r, field, UINT32_MAX, out)) return false;
    return *out == known || codec_rd_fail_at(r, at, CODEC_ERR_UNKNOWN, field);
}

static bool rd_u64_in(codec_reader *r, const char *field, uint64_t min, uint64_t max,
                      uint64_t *out)
{
    const uint8_t *at = r->p;
    if (!codec_rd_uint(r, field, max, out)) return false;
    return *out >= min || codec_rd_fail_at(r, at, CODEC_ERR_RANGE, field);
}

/* The VM part of the rules: non-zero, within the VM's own hard maxima (cvm.h). */
static bool rd_vm_rules(codec_reader *r, codec_rules *p)
{
    return codec_rd_u32_in(r, "genesis.rules.vm_memory_bytes", 1, CVM_LIMIT_ARENA_BYTES_MAX,
                           &p->vm_memory_bytes)
        && codec_rd_u32_in(r, "genesis.rules.vm_call_depth", 1, CVM_LIMIT_CALL_DEPTH_MAX,
                           &p->vm_call_depth)
        && codec_rd_u32_in(r, "genesis.rules.vm_writes_max", 1, CVM_LIMIT_WRITES_MAX,
                           &p->vm_writes_max)
        && codec_rd_u32_in(r, "genesis.rules.vm_events_max", 1, CVM_LIMIT_EVENTS_MAX,
                           &p->vm_events_max);
}

/* version 2's rules lack rebind_delay_ms (codec_genesis_decode_old gives the default) */
static bool rd_rules(codec_reader *r, uint32_t version, codec_rules *p)
{
    uint32_t fields = version >= 3 ? 15 : 14;
    uint32_t n;
    if (!(codec_rd_array(r, "genesis.rules", fields, fields, &n)
          && rd_known(r, "genesis.rules.rules_version", CODEC_RULES_VERSION, &p->rules_version)
          && rd_known(r, "genesis.rules.gas_schedule", CODEC_GAS_SCHEDULE, &p->gas_schedule))) {
        return false;
    }
    const uint8_t *tx_gas_at = r->p;
    if (!(rd_u64_in(r, "genesis.rules.tx_gas_limit", 1, CODEC_RULES_GAS_MAX, &p->tx_gas_limit)
          && rd_u64_in(r, "genesis.rules.block_gas_limit", 1, CODEC_RULES_GAS_MAX,
                       &p->block_gas_limit))) {
        return false;
    }
    if (p->tx_gas_limit > p->block_gas_limit) { /* one tx could never fit in a block */
        return codec_rd_fail_at(r, tx_gas_at, CODEC_ERR_RANGE,
                                "genesis.rules.tx_gas_limit (above block_gas_limit)");
    }
    return rd_vm_rules(r, p)
        && codec_rd_u32_in(r, "genesis.rules.max_batch_txs", 1, CODEC_BLOCK_TXS_MAX,
                           &p->max_batch_txs)
        && codec_rd_u32_in(r, "genesis.rules.block_bytes_max", CODEC_RULES_BLOCK_BYTES_MIN,
                           CODEC_RULES_BLOCK_BYTES_MAX, &p->block_bytes_max)
        && rd_known(r, "genesis.rules.nonce_rule", CODEC_NONCE_RULE_VALID_UNTIL, &p->nonce_rule)
        && rd_u64_in(r, "genesis.rules.valid_for_max_ms", CODEC_RULES_VALID_FOR_MIN_MS,
                     CODEC_RULES_VALID_FOR_MAX_MS, &p->valid_for_max_ms)
        && rd_u64_in(r, "genesis.rules.anchor_window_ms", 1, CODEC_RULES_ANCHOR_WINDOW_MAX_MS,
                     &p->anchor_window_ms)
        && rd_u64_in(r, "genesis.rules.clock_skew_ms", 1, CODEC_RULES_CLOCK_SKEW_MAX_MS,
                     &p->clock_skew_ms)
        && (version < 3
            || rd_u64_in(r, "genesis.rules.rebind_delay_ms", 1, CODEC_RULES_REBIND_DELAY_MAX_MS,
                         &p->rebind_delay_ms));
}

static bool rd_validators(codec_reader *r, codec_genesis *g)
{
    const uint8_t *at = r->p;
    if (!codec_rd_array(r, "genesis.validators", 4, CODEC_VALIDATORS_MAX, &g->validator_count)) {
        return false;
    }
    if ((g->validator_count - 1) % 3 != 0) {
        return codec_rd_fail_at(r, at, CODEC_ERR_COUNT, "genesis.validators");
    }
    for (uint32_t i = 0; i < g->validator_count; i++) {
        uint32_t n;
        r->index = i;
        if (!(codec_rd_array(r, "genesis.validators[]", 2, 2, &n)
              && rd_name(r, "genesis.validators[].name", &g->validators[i].name)
              && codec_rd_fixed(r, "genesis.validators[].key", g->validators[i].key.bytes, 32))) {
            return false;
        }
        for (uint32_t k = 0; k < i; k++) {
            if (memcmp(g->validators[k].key.bytes, g->validators[i].key.bytes, 32) == 0) {
                return codec_rd_fail_at(r, r->p - 34, CODEC_ERR_DUPLICATE,
                                        "genesis.validators[].key");
            }
        }
    }
    r->index = -1;
    return true;
}

/* max_role: ROLE_RESEARCHER in a version 1 genesis, ROLE_AUDITOR in version 2 (participants
 * are enrolled on the ledger, never named in a genesis). */
static bool rd_authority(codec_reader *r, codec_authority *a, uint32_t max_role)
{
    uint32_t n, role;
    const uint8_t *role_at;
    if (!codec_rd_array(r, "genesis.authorities[]", 4, 4, &n)) return false;
    role_at = r->p;
    if (!codec_rd_u32_in(r, "genesis.authorities[].role", 1, max_role, &role)) return false;
    if (role == ROLE_PARTICIPANT) {
        return codec_rd_fail_at(r, role_at, CODEC_ERR_RANGE, "genesis.authorities[].role");
    }
    a->role = (uint8_t)role;
    const uint8_t *site_at = r->p;
    if (!rd_name(r, "genesis.authorities[].site", &a->site)) return false;
    if ((role == ROLE_INVESTIGATOR) != (a->site.text[0] != '\0')) {
        /* investigators name their site; no other role has one */
        return codec_rd_fail_at(r, site_at, CODEC_ERR_LENGTH, "genesis.authorities[].site");
    }
    return rd_name(r, "genesis.authorities[].name", &a->name)
        && codec_rd_fixed(r, "genesis.authorities[].key", a->key.bytes, 32);
}

static bool rd_authorities(codec_reader *r, codec_genesis *g, uint32_t max_role)
{
    if (!codec_rd_array(r, "genesis.authorities", 0, CODEC_AUTHORITIES_MAX, &g->authority_count)) {
        return false;
    }
    for (uint32_t i = 0; i < g->authority_count; i++) {
        r->index = i;
        if (!rd_authority(r, &g->authorities[i], max_role)) return false;
        for (uint32_t k = 0; k < i; k++) {
            if (memcmp(g->authorities[k].key.bytes, g->authorities[i].key.bytes, 32) == 0) {
                return codec_rd_fail_at(r, r->p - 34, CODEC_ERR_DUPLICATE,
                                        "genesis.authorities[].key");
            }
        }
    }
    r->index = -1;
    return true;
}

static bool rd_contract(codec_reader *r, codec_contract *c)
{
    uint32_t n;
    return codec_rd_array(r, "genesis.contracts[]", 3, 3, &n)
        && rd_name(r, "genesis.contracts[].name", &c->name)
        && codec_rd_u32(r, "genesis.contracts[].version", UINT32_MAX, &c->version)
        && codec_rd_bin(r, "genesis.contracts[].bytecode", 1, CODEC_BYTECODE_MAX, &c->bytecode,
                  &c->bytecode_len);
}

static bool rd_contracts(codec_reader *r, codec_genesis *g)
{
    if (!codec_rd_array(r, "genesis.contracts", 0, CODEC_CONTRACTS_MAX, &g->contract_count)) {
        return false;
    }
    for (uint32_t i = 0; i < g->contract_count; i++) {
        r->index = i;
        if (!rd_contract(r, &g->contracts[i])) return false;
    }
    r->index = -1;
    return true;
}

static uint32_t authorities_of_role(const codec_genesis *g, uint32_t role)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < g->authority_count; i++) k += g->authorities[i].role == role;
    return k;
}

/* One [role, count] of a requirement: a role that signs txs (not a participant, not an
 * auditor), strictly after the previous one, held by at least count genesis authorities
 * (or the requirement could never be met). */
static bool rd_role_count(codec_reader *r, const codec_genesis *g, uint32_t kind,
                          uint32_t prev_role, codec_role_count *out)
{
    uint32_t n, role, count;
    if (!codec_rd_array(r, "genesis.governance[].roles[]", 2, 2, &n)) return false;
    const uint8_t *role_at = r->p;
    if (!codec_rd_u32_in(r, "genesis.governance[].roles[].role", 1, ROLE_RESEARCHER, &role)) {
        return false;
    }
    if (role <= prev_role) {
        return codec_rd_fail_at(r, role_at, CODEC_ERR_ORDER, "genesis.governance[].roles[].role");
    }
    if (kind == GOVERNANCE_REGULATORS && role != ROLE_REGULATOR) {
        return codec_rd_fail_at(r, role_at, CODEC_ERR_RANGE,
                                "genesis.governance[].roles[].role (a regulator's change is "
                                "signed by regulators only)");
    }
    const uint8_t *count_at = r->p;
    if (!codec_rd_u32_in(r, "genesis.governance[].roles[].count", 1, CODEC_REQUIREMENT_KEYS_MAX,
                         &count)) {
        return false;
    }
    if (authorities_of_role(g, role) < count) {
        return codec_rd_fail_at(r, count_at, CODEC_ERR_RANGE,
                                "genesis.governance[].roles[].count (above the authorities "
                                "of that role)");
    }
    *out = (codec_role_count){(uint8_t)role, (uint8_t)count};
    return true;
}

static bool rd_requirement(codec_reader *r, const codec_genesis *g, uint32_t kind,
                           codec_requirement *out)
{
    uint32_t n, got;
    const uint8_t *kind_at;
    if (!codec_rd_array(r, "genesis.governance[]", 2, 2, &n)) return false;
    kind_at = r->p;
    if (!codec_rd_u32(r, "genesis.governance[].kind", UINT32_MAX, &got)) return false;
    if (got != kind) { /* kinds 1..5, each once, in order */
        return codec_rd_fail_at(r, kind_at, got > GOVERNANCE_KIND_MAX_ ? CODEC_ERR_UNKNOWN
                                                                       : CODEC_ERR_ORDER,
                                "genesis.governance[].kind");
    }
    const uint8_t *roles_at = r->p;
    if (!codec_rd_array(r, "genesis.governance[].roles", 1, CODEC_REQUIREMENT_ROLES_MAX,
                        &out->role_count)) {
        return false;
    }
    uint32_t prev = 0, keys = 0;
    for (uint32_t i = 0; i < out->role_count; i++) {
        if (!rd_role_count(r, g, kind, prev, &out->roles[i])) return false;
        prev = out->roles[i].role;
        keys += out->roles[i].count;
    }
    if (keys > CODEC_REQUIREMENT_KEYS_MAX) { /* more keys than a requirement may name */
        return codec_rd_fail_at(r, roles_at, CODEC_ERR_COUNT, "genesis.governance[].roles");
    }
    return true;
}

/* version 2 has kinds 1..4 (codec_genesis_decode_old gives kind 5 the default) */
static bool rd_governance(codec_reader *r, uint32_t version, codec_genesis *g)
{
    uint32_t n, kinds = version >= 3 ? GOVERNANCE_KIND_MAX_ : GOVERNANCE_RULES;
    if (!codec_rd_array(r, "genesis.governance", kinds, kinds, &n)) return false;
    for (uint32_t k = 0; k < kinds; k++) {
        r->index = k;
        if (!rd_requirement(r, g, k + 1, &g->governance[k])) return false;
    }
    r->index = -1;
    return true;
}

/* The body of versions 2 and 3 (the array header and version already read). */
static bool rd_genesis_body(codec_reader *r, uint32_t version, codec_genesis *g)
{
    return rd_str(r, "genesis.chain_name", CODEC_CHAIN_NAME_MAX, g->chain_name)
        && codec_rd_uint(r, "genesis.created_ms", UINT64_MAX, &g->created_ms)
        && rd_rules(r, version, &g->rules) && rd_validators(r, g)
        && rd_authorities(r, g, ROLE_AUDITOR) && rd_contracts(r, g)
        && rd_governance(r, version, g);
}

static bool rd_genesis(codec_reader *r, codec_genesis *g)
{
    uint32_t n, version;
    const uint8_t *at = r->p;
    if (!codec_rd_array(r, "genesis", 7, 8, &n)) return false;
    const uint8_t *version_at = r->p;
    if (!codec_rd_u32(r, "genesis.version", UINT32_MAX, &version)) return false;
    if (version == 1 || version == 2) {
        return codec_rd_fail_at(r, version_at, CODEC_ERR_OLD_GENESIS, "genesis.version");
    }
    if (version != CODEC_GENESIS_VERSION) {
        return codec_rd_fail_at(r, version_at, CODEC_ERR_UNKNOWN, "genesis.version");
    }
    if (n != 8) return codec_rd_fail_at(r, at, CODEC_ERR_COUNT, "genesis");
    return rd_genesis_body(r, version, g);
}

codec_err codec_genesis_decode(const uint8_t *data, size_t len, codec_genesis *out,
                               codec_error *err)
{
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    return codec_rd_finish(&r, rd_genesis(&r, out));
}

/* Version 1: [1, chain_name, created_ms, params, validators, authorities, contracts] with
 * params = [max_batch_txs, nonce_window, anchor_window_ms, clock_skew_ms]. */
static bool rd_genesis_v1(codec_reader *r, codec_genesis *g)
{
    uint32_t n, version, nonce_window, max_batch;
    uint64_t anchor, skew;
    bool ok = codec_rd_array(r, "genesis", 7, 7, &n)
              && codec_rd_u32_in(r, "genesis.version", 1, 1, &version)
              && rd_str(r, "genesis.chain_name", CODEC_CHAIN_NAME_MAX, g->chain_name)
              && codec_rd_uint(r, "genesis.created_ms", UINT64_MAX, &g->created_ms)
              && codec_rd_array(r, "genesis.params", 4, 4, &n)
              && codec_rd_u32(r, "genesis.params.max_batch_txs", CODEC_BLOCK_TXS_MAX, &max_batch)
              && codec_rd_u32(r, "genesis.params.nonce_window", 4096, &nonce_window)
              && codec_rd_uint(r, "genesis.params.anchor_window_ms", UINT64_MAX, &anchor)
              && codec_rd_uint(r, "genesis.params.clock_skew_ms", UINT64_MAX, &skew)
              && rd_validators(r, g) && rd_authorities(r, g, ROLE_RESEARCHER)
              && rd_contracts(r, g);
    if (!ok) return false;
    codec_rules_default(&g->rules);
    g->rules.max_batch_txs = max_batch;
    g->rules.anchor_window_ms = anchor;
    g->rules.clock_skew_ms = skew;
    codec_governance_default(g->governance);
    return true;
}

/* Version 2: version 3 without rebind_delay_ms and governance kind 5. */
static bool rd_genesis_v2(codec_reader *r, codec_genesis *g)
{
    uint32_t n, version;
    if (!(codec_rd_array(r, "genesis", 8, 8, &n)
          && codec_rd_u32_in(r, "genesis.version", 2, 2, &version)
          && rd_genesis_body(r, version, g))) {
        return false;
    }
    g->rules.rebind_delay_ms = CODEC_RULES_REBIND_DELAY_DEFAULT_MS;
    codec_requirement defaults[GOVERNANCE_KIND_MAX_];
    codec_governance_default(defaults);
    g->governance[GOVERNANCE_REGULATORS - 1] = defaults[GOVERNANCE_REGULATORS - 1];
    return true;
}

codec_err codec_genesis_decode_old(const uint8_t *data, size_t len, codec_genesis *out,
                                   codec_error *err)
{
    codec_reader r;
    memset(out, 0, sizeof *out);
    /* the version is the second element of the outer array in both */
    bool v2 = len >= 2 && (data[0] & 0xf0) == 0x90 && data[1] == 2;
    codec_rd_init(&r, data, len, err);
    return codec_rd_finish(&r, v2 ? rd_genesis_v2(&r, out) : rd_genesis_v1(&r, out));
}

uint32_t codec_genesis_quorum(const codec_genesis *g)
{
    uint32_t f = (g->validator_count - 1) / 3;
    return 2 * f + 1;
}

/* ==== governance.authority event ========================================= */

codec_err codec_authority_change_encode(const codec_authority_change *c, codec_buf *out)
{
    writer w;
    wr_init(&w, out);
    wr_array(&w, 5);
    wr_uint(&w, c->action);
    wr_uint(&w, c->role);
    wr_str(&w, c->site.text);
    wr_str(&w, c->name.text);
    wr_bin(&w, c->key.bytes, 32);
    return wr_done(&w);
}

codec_err codec_authority_change_decode(const uint8_t *data, size_t len,
                                        codec_authority_change *out, codec_error *err)
{
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    memset(out, 0, sizeof *out);
    uint32_t n, action = 0, role = 0;
    const uint8_t *site_at = NULL;
    bool ok = codec_rd_array(&r, "authority_change", 5, 5, &n)
              && codec_rd_u32_in(&r, "authority_change.action", CODEC_AUTHORITY_ADDED,
                                 CODEC_AUTHORITY_REVOKED, &action)
              && codec_rd_u32_in(&r, "authority_change.role", ROLE_SPONSOR, ROLE_RESEARCHER, &role)
              && (site_at = r.p) != NULL
              && rd_name(&r, "authority_change.site", &out->site);
    if (ok && (role == ROLE_INVESTIGATOR) != (out->site.text[0] != '\0'))
        ok = codec_rd_fail_at(&r, site_at, CODEC_ERR_LENGTH, "authority_change.site");
    ok = ok && rd_name(&r, "authority_change.name", &out->name)
         && codec_rd_fixed(&r, "authority_change.key", out->key.bytes, 32);
    out->action = (uint8_t)action;
    out->role = (uint8_t)role;
    return codec_rd_finish(&r, ok);
}

/* ==== export file ======================================================= */

codec_err codec_export_header_encode(const codec_export_header *h, codec_buf *out)
{
    writer w;
    wr_init(&w, out);
    wr_array(&w, 4);
    wr_str(&w, CODEC_EXPORT_MAGIC);
    wr_uint(&w, 1);
    wr_hash(&w, &h->chain_id);
    wr_uint(&w, h->block_count);
    return wr_done(&w);
}

codec_err codec_export_header_decode(const uint8_t *data, size_t len, codec_export_header *out,
                                     size_t *used, codec_error *err)
{
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    uint32_t n, version;
    char magic[CODEC_NAME_MAX + 1];
    bool ok = codec_rd_array(&r, "export.header", 4, 4, &n);
    const uint8_t *magic_at = r.p;
    ok = ok && rd_str(&r, "export.header.magic", CODEC_NAME_MAX, magic);
    if (ok && strcmp(magic, CODEC_EXPORT_MAGIC) != 0) {
        ok = codec_rd_fail_at(&r, magic_at, CODEC_ERR_TYPE, "export.header.magic");
    }
    ok = ok && codec_rd_u32_in(&r, "export.header.version", 1, 1, &version)
         && codec_rd_hash(&r, "export.header.chain_id", &out->chain_id)
         && codec_rd_uint(&r, "export.header.block_count", UINT64_MAX, &out->block_count);
    *used = (size_t)(r.p - data);
    return ok ? CODEC_OK : r.err->code;
}

codec_err codec_export_entry_encode(const codec_span *block, const codec_span *result_cert,
                                    codec_buf *out)
{
    writer w;
    wr_init(&w, out);
    wr_array(&w, 2);
    wr_raw(&w, block->data, block->len);
    if (result_cert && result_cert->len > 0) wr_raw(&w, result_cert->data, result_cert->len);
    else wr_nil(&w);
    return wr_done(&w);
}

/* Skip one block record canonically (full check), returning its span. */
static bool rd_block_span(codec_reader *r, codec_span *out)
{
    codec_block b = {.txs = NULL, .receipts = NULL, .writes = NULL}; /* validate only */
    const uint8_t *at = r->p;
    if (!rd_block(r, &b, CODEC_BLOCK_TXS_MAX, CODEC_WRITES_MAX)) return false;
    *out = (codec_span){at, (size_t)(r->p - at)};
    return true;
}

codec_err codec_export_entry_decode(const uint8_t *data, size_t len, codec_span *block,
                                    codec_span *result_cert, size_t *used, codec_error *err)
{
    static _Thread_local codec_result_cert scratch;
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    uint32_t n;
    bool ok = codec_rd_array(&r, "export.entry", 2, 2, &n) && rd_block_span(&r, block);
    if (ok) {
        const uint8_t *at = r.p;
        if (codec_rd_nil(&r)) {
            *result_cert = (codec_span){NULL, 0};
        } else if ((ok = codec_rd_result_cert(&r, &scratch, 1))) {
            *result_cert = (codec_span){at, (size_t)(r.p - at)};
        }
    }
    *used = (size_t)(r.p - data);
    return ok ? CODEC_OK : r.err->code;
}

/* ==== proofs ============================================================ */

static void wr_certified(writer *w, const codec_certified_block *b)
{
    wr_raw(w, b->header.data, b->header.len);
    wr_raw(w, b->result_cert.data, b->result_cert.len);
}

/* Field 6 of a proof or receipt reply: the validator-set changes, only when there are some. */
static void wr_changes(writer *w, const codec_changes *c)
{
    if (c->count == 0) return;
    if (!c->list) { /* as decoded: the field's own canonical bytes */
        wr_raw(w, c->raw.data, c->raw.len);
        return;
    }
    wr_array(w, c->count);
    for (uint32_t i = 0; i < c->count; i++) wr_bin(w, c->list[i].data, c->list[i].len);
}

static bool rd_changes_into(codec_reader *r, const char *field, codec_span *out, uint32_t cap,
                            uint32_t *count)
{
    if (!codec_rd_array(r, field, 1, CODEC_CHANGES_MAX, count)) return false;
    int64_t outer = r->index;
    for (uint32_t i = 0; i < *count; i++) {
        codec_span s;
        r->index = i;
        if (!codec_rd_span(r, field, 1, CODEC_CLIENT_MESSAGE_MAX, &s)) return false;
        if (i < cap) out[i] = s;
    }
    r->index = outer;
    return true;
}

static bool rd_changes(codec_reader *r, const char *field, codec_changes *c)
{
    const uint8_t *at = r->p;
    if (!rd_changes_into(r, field, NULL, 0, &c->count)) return false;
    c->raw = (codec_span){at, (size_t)(r->p - at)};
    c->list = NULL;
    return true;
}

codec_err codec_changes_get(const codec_changes *c, codec_span *out, uint32_t cap)
{
    if (c->count == 0) return CODEC_OK;
    if (cap < c->count) return CODEC_ERR_COUNT;
    codec_reader r;
    uint32_t count;
    codec_rd_init(&r, c->raw.data, c->raw.len, NULL);
    return codec_rd_finish(&r, rd_changes_into(&r, "changes", out, cap, &count));
}

codec_err codec_proof_encode(const codec_proof *p, codec_buf *out)
{
    if (p->changes.count > CODEC_CHANGES_MAX) return CODEC_ERR_COUNT;
    writer w;
    wr_init(&w, out);
    wr_array(&w, p->changes.count ? 7 : 6);
    wr_uint(&w, p->kind);
    if (p->kind == PROOF_INCLUSION) {
        wr_raw(&w, p->tx.data, p->tx.len);
        wr_uint(&w, p->leaf_index);
        wr_certified(&w, &p->block);
    } else {
        wr_certified(&w, &p->old_block);
        wr_certified(&w, &p->block);
    }
    wr_array(&w, p->path_len);
    for (uint32_t i = 0; i < p->path_len; i++) wr_hash(&w, &p->path[i]);
    wr_changes(&w, &p->changes);
    return wr_done(&w);
}

static bool rd_certified(codec_reader *r, codec_certified_block *b)
{
    static _Thread_local codec_block_header h;
    static _Thread_local codec_result_cert c;
    const uint8_t *at = r->p;
    if (!rd_block_header(r, &h)) return false;
    b->header = (codec_span){at, (size_t)(r->p - at)};
    at = r->p;
    if (!codec_rd_result_cert(r, &c, 1)) return false;
    b->result_cert = (codec_span){at, (size_t)(r->p - at)};
    return true;
}

static bool rd_proof(codec_reader *r, codec_proof *p)
{
    static _Thread_local codec_tx scratch;
    uint32_t n, kind;
    if (!(codec_rd_array(r, "proof", 6, 7, &n)
          && codec_rd_u32_in(r, "proof.kind", PROOF_INCLUSION, PROOF_CONSISTENCY, &kind))) {
        return false;
    }
    p->kind = (uint8_t)kind;
    if (kind == PROOF_INCLUSION) {
        const uint8_t *at = r->p;
        if (!rd_tx_entry(r, &scratch)) return false;
        p->tx = (codec_span){at, (size_t)(r->p - at)};
        if (!codec_rd_uint(r, "proof.leaf_index", UINT64_MAX, &p->leaf_index)) return false;
        if (!rd_certified(r, &p->block)) return false;
    } else {
        if (!(rd_certified(r, &p->old_block) && rd_certified(r, &p->block))) return false;
    }
    if (!codec_rd_array(r, "proof.path", 0, CODEC_PROOF_PATH_MAX, &p->path_len)) return false;
    for (uint32_t i = 0; i < p->path_len; i++) {
        r->index = i;
        if (!codec_rd_hash(r, "proof.path[]", &p->path[i])) return false;
    }
    r->index = -1;
    p->changes = (codec_changes){0};
    return n == 6 || rd_changes(r, "proof.changes", &p->changes);
}

codec_err codec_proof_decode(const uint8_t *data, size_t len, codec_proof *out,
                             codec_error *err)
{
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    return codec_rd_finish(&r, rd_proof(&r, out));
}

/* ==== PBFT messages ==== */

codec_err codec_pbft_vote_body_encode(uint64_t view, uint64_t height, const hash32 *batch_hash,
                                      codec_buf *out)
{
    writer w;
    wr_init(&w, out);
    wr_array(&w, 3);
    wr_uint(&w, view);
    wr_uint(&w, height);
    wr_hash(&w, batch_hash);
    return wr_done(&w);
}

codec_err codec_pbft_view_change_body_encode(uint64_t new_view, uint64_t stable_height,
                                             const hash32 *stable_digest,
                                             const codec_pbft_entry *prepared, uint32_t count,
                                             codec_buf *out)
{
    writer w;
    wr_init(&w, out);
    wr_array(&w, 4);
    wr_uint(&w, new_view);
    wr_uint(&w, stable_height);
    wr_hash(&w, stable_digest);
    wr_array(&w, count);
    for (uint32_t i = 0; i < count; i++) {
        wr_array(&w, 3);
        wr_uint(&w, prepared[i].height);
        wr_uint(&w, prepared[i].view);
        wr_hash(&w, &prepared[i].batch_hash);
    }
    return wr_done(&w);
}

codec_err codec_pbft_new_view_body_encode(uint64_t view, const codec_pbft_entry *vcs,
                                          uint32_t vc_count, const codec_pbft_entry *reissued,
                                          uint32_t reissued_count, codec_buf *out)
{
    writer w;
    wr_init(&w, out);
    wr_array(&w, 3);
    wr_uint(&w, view);
    wr_array(&w, vc_count);
    for (uint32_t i = 0; i < vc_count; i++) {
        wr_array(&w, 2);
        wr_uint(&w, vcs[i].view);
        wr_hash(&w, &vcs[i].batch_hash);
    }
    wr_array(&w, reissued_count);
    for (uint32_t i = 0; i < reissued_count; i++) {
        wr_array(&w, 2);
        wr_uint(&w, reissued[i].height);
        wr_hash(&w, &reissued[i].batch_hash);
    }
    return wr_done(&w);
}

/* ==== client API ======================================================== */

bool codec_rd_span(codec_reader *r, const char *field, uint32_t min, uint32_t max, codec_span *out)
{
    const uint8_t *p;
    uint32_t len;
    if (!codec_rd_bin(r, field, min, max, &p, &len)) return false;
    out->data = p;
    out->len = len;
    return true;
}

/* A bin or nil (nil gives an empty span). */
bool codec_rd_span_or_nil(codec_reader *r, const char *field, uint32_t max, codec_span *out)
{
    if (codec_rd_nil(r)) {
        out->data = NULL;
        out->len = 0;
        return true;
    }
    return codec_rd_span(r, field, 1, max, out);
}

static void wr_span_or_nil(writer *w, const codec_span *s)
{
    if (s->len == 0) wr_nil(w);
    else wr_bin(w, s->data, s->len);
}

codec_err codec_client_request_encode(uint32_t kind, const void *body, size_t len, codec_buf *out)
{
    writer w;
    wr_init(&w, out);
    wr_array(&w, 2);
    wr_uint(&w, kind);
    wr_bin(&w, body, len);
    return wr_done(&w);
}

codec_err codec_client_request_decode(const uint8_t *data, size_t len, codec_client_request *out,
                                      codec_error *err)
{
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    uint32_t n;
    bool ok = codec_rd_array(&r, "request", 2, 2, &n)
              && codec_rd_u32_in(&r, "request.kind", 1, CLIENT_KIND_MAX_, &out->kind)
              && codec_rd_span(&r, "request.body", 0, CODEC_CLIENT_MESSAGE_MAX, &out->body);
    return codec_rd_finish(&r, ok);
}

codec_err codec_client_response_encode(uint32_t status, const char *reason, const void *body,
                                       size_t len, codec_buf *out)
{
    char text[CODEC_REASON_MAX + 1];
    snprintf(text, sizeof text, "%s", reason ? reason : "");
    writer w;
    wr_init(&w, out);
    wr_array(&w, 3);
    wr_uint(&w, status);
    wr_str(&w, text);
    wr_bin(&w, body, len);
    return wr_done(&w);
}

codec_err codec_client_response_decode(const uint8_t *data, size_t len,
                                       codec_client_response *out, codec_error *err)
{
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    uint32_t n;
    bool ok = codec_rd_array(&r, "response", 3, 3, &n)
              && codec_rd_u32(&r, "response.status", 255, &out->status)
              && rd_str(&r, "response.reason", CODEC_REASON_MAX, out->reason)
              && codec_rd_span(&r, "response.body", 0, CODEC_CLIENT_MESSAGE_MAX, &out->body);
    return codec_rd_finish(&r, ok);
}

static void wr_query_body(writer *w, const codec_query *q)
{
    wr_bin(w, q->asker.bytes, 32);
    wr_uint(w, q->time_ms);
    wr_uint(w, q->kind);
    wr_array(w, q->arg_count);
    for (uint32_t i = 0; i < q->arg_count; i++)
        wr_bin(w, q->args[i].data, q->args[i].len);
}

codec_err codec_query_body_encode(const codec_query *q, codec_buf *out)
{
    if (q->arg_count > CODEC_QUERY_ARGS_MAX) return CODEC_ERR_COUNT;
    writer w;
    wr_init(&w, out);
    wr_array(&w, 4);
    wr_query_body(&w, q);
    return wr_done(&w);
}

codec_err codec_query_encode(const codec_query *q, codec_buf *out)
{
    if (q->arg_count > CODEC_QUERY_ARGS_MAX) return CODEC_ERR_COUNT;
    writer w;
    wr_init(&w, out);
    wr_array(&w, 5);
    wr_query_body(&w, q);
    wr_bin(&w, q->sig.bytes, 64);
    return wr_done(&w);
}

codec_err codec_query_decode(const uint8_t *data, size_t len, codec_query *out, codec_error *err)
{
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    uint32_t n;
    bool ok = codec_rd_array(&r, "query", 5, 5, &n)
              && codec_rd_fixed(&r, "query.asker", out->asker.bytes, 32)
              && codec_rd_uint(&r, "query.time_ms", UINT64_MAX, &out->time_ms)
              && codec_rd_u32_in(&r, "query.kind", 1, QUERY_KIND_MAX_, &out->kind)
              && codec_rd_array(&r, "query.args", 0, CODEC_QUERY_ARGS_MAX, &out->arg_count);
    for (uint32_t i = 0; ok && i < out->arg_count; i++) {
        r.index = i;
        ok = codec_rd_span(&r, "query.args[]", 1, CODEC_QUERY_ARG_MAX, &out->args[i]);
    }
    r.index = -1;
    ok = ok && codec_rd_fixed(&r, "query.sig", out->sig.bytes, 64);
    return codec_rd_finish(&r, ok);
}

codec_err codec_receipt_reply_encode(const codec_receipt_reply *rr, codec_buf *out)
{
    if (rr->changes.count > CODEC_CHANGES_MAX) return CODEC_ERR_COUNT;
    writer w;
    wr_init(&w, out);
    wr_array(&w, rr->changes.count ? 7 : 6);
    wr_uint(&w, rr->height);
    wr_uint(&w, rr->index);
    wr_bin(&w, rr->receipt.data, rr->receipt.len);
    wr_span_or_nil(&w, &rr->proof);
    wr_span_or_nil(&w, &rr->commit_cert);
    wr_array(&w, rr->receipt_path_len);
    for (uint32_t i = 0; i < rr->receipt_path_len; i++) wr_hash(&w, &rr->receipt_path[i]);
    wr_changes(&w, &rr->changes);
    return wr_done(&w);
}

codec_err codec_receipt_reply_decode(const uint8_t *data, size_t len, codec_receipt_reply *out,
                                     codec_error *err)
{
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    uint32_t n;
    bool ok = codec_rd_array(&r, "receipt_reply", 6, 7, &n)
              && codec_rd_uint(&r, "receipt_reply.height", UINT64_MAX, &out->height)
              && codec_rd_u32(&r, "receipt_reply.index", CODEC_BLOCK_TXS_MAX - 1, &out->index)
              && codec_rd_span(&r, "receipt_reply.receipt", 1, CODEC_RECEIPT_MAX, &out->receipt)
              && codec_rd_span_or_nil(&r, "receipt_reply.proof", CODEC_CLIENT_MESSAGE_MAX,
                                      &out->proof)
              && codec_rd_span_or_nil(&r, "receipt_reply.commit_cert", CODEC_CLIENT_MESSAGE_MAX,
                                &out->commit_cert)
              && codec_rd_array(&r, "receipt_reply.receipt_path", 0, CODEC_PROOF_PATH_MAX,
                          &out->receipt_path_len);
    for (uint32_t i = 0; ok && i < out->receipt_path_len; i++) {
        r.index = i;
        ok = codec_rd_hash(&r, "receipt_reply.receipt_path[]", &out->receipt_path[i]);
    }
    r.index = -1;
    out->changes = (codec_changes){0};
    ok = ok && (n == 6 || rd_changes(&r, "receipt_reply.changes", &out->changes));
    return codec_rd_finish(&r, ok);
}

codec_err codec_submit_batch_encode(const codec_span *txs, uint32_t count, codec_buf *out)
{
    if (count == 0 || count > CODEC_SUBMIT_BATCH_MAX) return CODEC_ERR_COUNT;
    writer w;
    wr_init(&w, out);
    wr_array(&w, count);
    for (uint32_t i = 0; i < count; i++)
        wr_bin(&w, txs[i].data, txs[i].len);
    return wr_done(&w);
}

codec_err codec_submit_batch_decode(const uint8_t *data, size_t len, codec_span *txs,
                                    uint32_t cap, uint32_t *count, codec_error *err)
{
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    uint32_t max = cap < CODEC_SUBMIT_BATCH_MAX ? cap : CODEC_SUBMIT_BATCH_MAX;
    bool ok = codec_rd_array(&r, "submit_batch", 1, max, count);
    for (uint32_t i = 0; ok && i < *count; i++) {
        r.index = i;
        ok = codec_rd_span(&r, "submit_batch[]", 1, CODEC_TX_MAX, &txs[i]);
    }
    r.index = -1;
    return codec_rd_finish(&r, ok);
}

codec_err codec_submit_results_encode(const codec_submit_result *results, uint32_t count,
                                      codec_buf *out)
{
    writer w;
    wr_init(&w, out);
    wr_array(&w, count);
    for (uint32_t i = 0; i < count; i++) {
        char text[CODEC_REASON_MAX + 1];
        snprintf(text, sizeof text, "%s", results[i].reason);
        wr_array(&w, 2);
        wr_uint(&w, results[i].status);
        wr_str(&w, text);
    }
    return wr_done(&w);
}

codec_err codec_submit_results_decode(const uint8_t *data, size_t len,
                                      codec_submit_result *results, uint32_t cap,
                                      uint32_t *count, codec_error *err)
{
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    uint32_t max = cap < CODEC_SUBMIT_BATCH_MAX ? cap : CODEC_SUBMIT_BATCH_MAX, n;
    bool ok = codec_rd_array(&r, "submit_results", 0, max, count);
    for (uint32_t i = 0; ok && i < *count; i++) {
        r.index = i;
        ok = codec_rd_array(&r, "submit_results[]", 2, 2, &n)
             && codec_rd_u32(&r, "submit_results[].status", 255, &results[i].status)
             && rd_str(&r, "submit_results[].reason", CODEC_REASON_MAX, results[i].reason);
    }
    r.index = -1;
    return codec_rd_finish(&r, ok);
}

codec_err codec_blocks_request_encode(uint64_t from_height, uint32_t count, codec_buf *out)
{
    writer w;
    wr_init(&w, out);
    wr_array(&w, 2);
    wr_uint(&w, from_height);
    wr_uint(&w, count);
    return wr_done(&w);
}

codec_err codec_blocks_request_decode(const uint8_t *data, size_t len, uint64_t *from_height,
                                      uint32_t *count, codec_error *err)
{
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    uint32_t n;
    bool ok = codec_rd_array(&r, "blocks_request", 2, 2, &n)
              && codec_rd_uint(&r, "blocks_request.from", UINT64_MAX, from_height)
              && codec_rd_u32_in(&r, "blocks_request.count", 1, CODEC_BLOCKS_REPLY_MAX, count);
    return codec_rd_finish(&r, ok);
}

codec_err codec_blocks_reply_encode(const codec_block_entry *entries, uint32_t count,
                                    codec_buf *out)
{
    writer w;
    wr_init(&w, out);
    wr_array(&w, count);
    for (uint32_t i = 0; i < count; i++) {
        wr_array(&w, 2);
        wr_bin(&w, entries[i].block.data, entries[i].block.len);
        wr_span_or_nil(&w, &entries[i].result_cert);
    }
    return wr_done(&w);
}

codec_err codec_blocks_reply_decode(const uint8_t *data, size_t len, codec_block_entry *entries,
                                    uint32_t cap, uint32_t *count, codec_error *err)
{
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    uint32_t max = cap < CODEC_BLOCKS_REPLY_MAX ? cap : CODEC_BLOCKS_REPLY_MAX, n;
    bool ok = codec_rd_array(&r, "blocks_reply", 0, max, count);
    for (uint32_t i = 0; ok && i < *count; i++) {
        r.index = i;
        ok = codec_rd_array(&r, "blocks_reply[]", 2, 2, &n)
             && codec_rd_span(&r, "blocks_reply[].block", 1, CODEC_CLIENT_MESSAGE_MAX,
                              &entries[i].block)
             && codec_rd_span_or_nil(&r, "blocks_reply[].result_cert", CODEC_CLIENT_MESSAGE_MAX,
                               &entries[i].result_cert);
    }
    return codec_rd_finish(&r, ok);
}

codec_err codec_trial_reply_encode(const codec_trial_reply *t, codec_buf *out)
{
    writer w;
    wr_init(&w, out);
    wr_array(&w, 7);
    wr_uint(&w, t->version);
    wr_uint(&w, t->approved);
    wr_uint(&w, t->floor_version);
    wr_uint(&w, t->floor_time_ms);
    wr_uint(&w, t->planned);
    wr_uint(&w, t->registered_ms);
    wr_bin(&w, t->sponsor.bytes, 32);
    return wr_done(&w);
}

codec_err codec_trial_reply_decode(const uint8_t *data, size_t len, codec_trial_reply *out,
                                   codec_error *err)
{
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    uint32_t n;
    bool ok = codec_rd_array(&r, "trial_reply", 7, 7, &n)
              && codec_rd_uint(&r, "trial_reply.version", UINT64_MAX, &out->version)
              && codec_rd_uint(&r, "trial_reply.approved", UINT64_MAX, &out->approved)
              && codec_rd_uint(&r, "trial_reply.floor_version", UINT64_MAX, &out->floor_version)
              && codec_rd_uint(&r, "trial_reply.floor_time_ms", UINT64_MAX, &out->floor_time_ms)
              && codec_rd_uint(&r, "trial_reply.planned", UINT64_MAX, &out->planned)
              && codec_rd_uint(&r, "trial_reply.registered_ms", UINT64_MAX, &out->registered_ms)
              && codec_rd_fixed(&r, "trial_reply.sponsor", out->sponsor.bytes, 32);
    return codec_rd_finish(&r, ok);
}

codec_err codec_consent_reply_encode(const codec_consent_page *page,
                                     const codec_consent_reply_entry *entries, codec_buf *out)
{
    writer w;
    wr_init(&w, out);
    wr_array(&w, 3);
    wr_uint(&w, page->total);
    wr_uint(&w, page->from);
    wr_array(&w, page->count);
    for (uint32_t i = 0; i < page->count; i++) {
        const codec_consent_reply_entry *c = &entries[i];
        bool tail = c->kind > 2 || c->flags != 0; /* older entries keep their 7 fields */
        wr_array(&w, tail ? 9 : 7);
        wr_uint(&w, c->kind);
        wr_uint(&w, c->time_ms);
        wr_uint(&w, c->scopes);
        wr_uint(&w, c->version);
        wr_hash(&w, &c->form);
        wr_bin(&w, c->witness.bytes, 32);
        wr_uint(&w, c->meaning);
        if (tail) {
            wr_uint(&w, c->flags);
            wr_bin(&w, c->other.bytes, 32);
        }
    }
    return wr_done(&w);
}

codec_err codec_consent_reply_decode(const uint8_t *data, size_t len, codec_consent_page *page,
                                     codec_consent_reply_entry *entries, uint32_t cap,
                                     codec_error *err)
{
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    uint32_t max = cap < CODEC_CONSENT_REPLY_MAX ? cap : CODEC_CONSENT_REPLY_MAX, n, kind = 0, meaning = 0,
             flags = 0;
    page->count = 0;
    bool ok = codec_rd_array(&r, "consent_reply", 3, 3, &n)
              && codec_rd_uint(&r, "consent_reply.total", UINT64_MAX, &page->total)
              && codec_rd_uint(&r, "consent_reply.from", page->total, &page->from)
              && codec_rd_array(&r, "consent_reply.entries", 0, max, &page->count);
    if (ok && page->count > page->total - page->from)
        ok = codec_rd_fail(&r, CODEC_ERR_COUNT, "consent_reply.entries (past total)");
    for (uint32_t i = 0; ok && i < page->count; i++) {
        codec_consent_reply_entry *c = &entries[i];
        r.index = i;
        ok = codec_rd_array(&r, "consent_reply[]", 7, 9, &n)
             && (n != 8 || codec_rd_fail(&r, CODEC_ERR_COUNT, "consent_reply[] (7 or 9 fields)"))
             && codec_rd_u32(&r, "consent_reply[].kind", 255, &kind)
             && codec_rd_uint(&r, "consent_reply[].time_ms", UINT64_MAX, &c->time_ms)
             && codec_rd_uint(&r, "consent_reply[].scopes", UINT64_MAX, &c->scopes)
             && codec_rd_uint(&r, "consent_reply[].version", UINT64_MAX, &c->version)
             && codec_rd_hash(&r, "consent_reply[].form", &c->form)
             && codec_rd_fixed(&r, "consent_reply[].witness", c->witness.bytes, 32)
             && codec_rd_u32(&r, "consent_reply[].meaning", 255, &meaning);
        flags = 0;
        memset(c->other.bytes, 0, 32);
        if (ok && n == 9)
            ok = codec_rd_u32(&r, "consent_reply[].flags", 255, &flags)
                 && codec_rd_fixed(&r, "consent_reply[].other", c->other.bytes, 32);
        /* one encoding per entry: nine fields exactly when the encoder writes them */
        if (ok && (n == 9) != (kind > 2 || flags != 0))
            ok = codec_rd_fail(&r, CODEC_ERR_COUNT, n == 9 ? "consent_reply[] (nine fields for "
                               "kind 1 or 2 without flags: seven)" : "consent_reply[] (seven "
                               "fields for kind 3..5: nine)");
        c->kind = (uint8_t)kind;
        c->meaning = (uint8_t)meaning;
        c->flags = (uint8_t)flags;
    }
    return codec_rd_finish(&r, ok);
}

const char *capi_status_reason(uint32_t status)
{
    switch (status) {
#define CAPI_X_CASE(name, code, reason) case code: return reason;
        CAPI_STATUSES(CAPI_X_CASE)
#undef CAPI_X_CASE
    }
    return "unknown status";
}

const char *capi_status_name(uint32_t status)
{
    switch (status) {
#define CAPI_X_NAME(name, code, reason) case code: return #name;
        CAPI_STATUSES(CAPI_X_NAME)
#undef CAPI_X_NAME
    }
    return "UNKNOWN";
}

/* ==== reads through access grants, the read log, the public history (issue 19) ==== */

codec_err codec_grant_reply_encode(const codec_grant_page *p, const codec_grant_record *records,
                                   const codec_grant_removed *removed, codec_buf *out)
{
    writer w;
    wr_init(&w, out);
    wr_array(&w, 7);
    wr_uint(&w, p->grant);
    wr_uint(&w, p->scope);
    wr_hash(&w, &p->list_hash);
    wr_uint(&w, p->count);
    wr_uint(&w, p->from);
    wr_array(&w, p->record_count);
    for (uint32_t i = 0; i < p->record_count; i++) {
        const codec_grant_record *r = &records[i];
        wr_array(&w, 6);
        wr_uint(&w, r->index);
        wr_hash(&w, &r->anchor);
        wr_bin(&w, r->participant.bytes, 32);
        wr_uint(&w, r->scope);
        wr_uint(&w, r->collected_at);
        wr_uint(&w, r->size);
    }
    wr_array(&w, p->removed_count);
    for (uint32_t i = 0; i < p->removed_count; i++) {
        wr_array(&w, 3);
        wr_uint(&w, removed[i].index);
        wr_hash(&w, &removed[i].anchor);
        wr_uint(&w, removed[i].why);
    }
    return wr_done(&w);
}

/* index must lie in [from, end). */
static bool rd_grant_index(codec_reader *r, const char *field, uint64_t from, uint64_t end,
                           uint32_t *index)
{
    const uint8_t *at = r->p;
    if (!codec_rd_u32(r, field, UINT32_MAX, index)) return false;
    if (*index < from || *index >= end) return codec_rd_fail_at(r, at, CODEC_ERR_RANGE, field);
    return true;
}

codec_err codec_grant_reply_decode(const uint8_t *data, size_t len, codec_grant_page *p,
                                   codec_grant_record *records, codec_grant_removed *removed,
                                   uint32_t cap, codec_error *err)
{
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    uint32_t max = cap < CODEC_GRANT_PAGE_MAX ? cap : CODEC_GRANT_PAGE_MAX, n, why = 0;
    p->record_count = p->removed_count = 0;
    bool ok = codec_rd_array(&r, "grant_reply", 7, 7, &n)
              && codec_rd_uint(&r, "grant_reply.grant", UINT64_MAX, &p->grant)
              && codec_rd_uint(&r, "grant_reply.scope", UINT64_MAX, &p->scope)
              && codec_rd_hash(&r, "grant_reply.list_hash", &p->list_hash)
              && codec_rd_uint(&r, "grant_reply.count", UINT32_MAX, &p->count)
              && codec_rd_uint(&r, "grant_reply.from", p->count, &p->from)
              && codec_rd_array(&r, "grant_reply.records", 0, max, &p->record_count);
    uint64_t end = p->from + CODEC_GRANT_PAGE_MAX < p->count ? p->from + CODEC_GRANT_PAGE_MAX : p->count;
    for (uint32_t i = 0; ok && i < p->record_count; i++) {
        codec_grant_record *g = &records[i];
        r.index = i;
        ok = codec_rd_array(&r, "grant_reply.records[]", 6, 6, &n)
             && rd_grant_index(&r, "grant_reply.records[].index", p->from, end, &g->index)
             && codec_rd_hash(&r, "grant_reply.records[].anchor", &g->anchor)
             && codec_rd_fixed(&r, "grant_reply.records[].participant", g->participant.bytes, 32)
             && codec_rd_uint(&r, "grant_reply.records[].scope", UINT64_MAX, &g->scope)
             && codec_rd_uint(&r, "grant_reply.records[].collected_at", UINT64_MAX, &g->collected_at)
             && codec_rd_uint(&r, "grant_reply.records[].size", UINT64_MAX, &g->size);
    }
    r.index = -1;
    ok = ok && codec_rd_array(&r, "grant_reply.removed", 0, max, &p->removed_count);
    for (uint32_t i = 0; ok && i < p->removed_count; i++) {
        r.index = i;
        ok = codec_rd_array(&r, "grant_reply.removed[]", 3, 3, &n)
             && rd_grant_index(&r, "grant_reply.removed[].index", p->from, end, &removed[i].index)
             && codec_rd_hash(&r, "grant_reply.removed[].anchor", &removed[i].anchor)
             && codec_rd_u32_in(&r, "grant_reply.removed[].why", CODEC_GRANT_WITHDRAWN,
                                CODEC_GRANT_RECONSENT, &why);
        removed[i].why = (uint8_t)why;
    }
    r.index = -1;
    if (ok && (uint64_t)p->record_count + p->removed_count > end - p->from)
        ok = codec_rd_fail(&r, CODEC_ERR_COUNT, "grant_reply (more positions than the page)");
    return codec_rd_finish(&r, ok);
}

codec_err codec_read_log_entry_encode(const codec_read_log_entry *e, codec_buf *out)
{
    if ((e->query.len > 0) == (e->http.len > 0)) return CODEC_ERR_LENGTH; /* one form */
    writer w;
    wr_init(&w, out);
    wr_array(&w, e->http.len > 0 ? 7 : 6);
    wr_uint(&w, e->time_ms);
    wr_uint(&w, e->grant);
    wr_uint(&w, e->from);
    wr_uint(&w, e->served);
    wr_uint(&w, e->removed);
    if (e->http.len > 0) {
        wr_nil(&w);
        wr_bin(&w, e->http.data, e->http.len);
    } else {
        wr_bin(&w, e->query.data, e->query.len);
    }
    return wr_done(&w);
}

codec_err codec_read_log_entry_decode(const uint8_t *data, size_t len, codec_read_log_entry *out,
                                      codec_error *err)
{
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    uint32_t n;
    out->query = out->http = (codec_span){NULL, 0};
    bool ok = codec_rd_array(&r, "read_log_entry", 6, 7, &n)
              && codec_rd_uint(&r, "read_log_entry.time_ms", UINT64_MAX, &out->time_ms)
              && codec_rd_uint(&r, "read_log_entry.grant", UINT64_MAX, &out->grant)
              && codec_rd_uint(&r, "read_log_entry.from", UINT64_MAX, &out->from)
              && codec_rd_u32(&r, "read_log_entry.served", CODEC_GRANT_PAGE_MAX, &out->served)
              && codec_rd_u32(&r, "read_log_entry.removed", CODEC_GRANT_PAGE_MAX, &out->removed);
    if (ok && n == 6) {
        ok = codec_rd_span(&r, "read_log_entry.query", 1, CODEC_READ_LOG_ENTRY_MAX - 64, &out->query);
    } else if (ok) { /* form 2: nil, then the HTTP evidence */
        ok = codec_rd_nil(&r) ? codec_rd_span(&r, "read_log_entry.http", 1, CODEC_READ_LOG_ENTRY_MAX - 64, &out->http)
                              : codec_rd_fail(&r, CODEC_ERR_TYPE, "read_log_entry.query (nil in form 2)");
    }
    return codec_rd_finish(&r, ok);
}

codec_err codec_read_log_reply_encode(uint64_t total, uint64_t from, const codec_span *entries,
                                      uint32_t count, codec_buf *out)
{
    writer w;
    wr_init(&w, out);
    wr_array(&w, 3);
    wr_uint(&w, total);
    wr_uint(&w, from);
    wr_array(&w, count);
    for (uint32_t i = 0; i < count; i++) wr_bin(&w, entries[i].data, entries[i].len);
    return wr_done(&w);
}

codec_err codec_read_log_reply_decode(const uint8_t *data, size_t len, uint64_t *total,
                                      uint64_t *from, codec_span *entries, uint32_t cap,
                                      uint32_t *count, codec_error *err)
{
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    uint32_t max = cap < CODEC_READ_LOG_REPLY_MAX ? cap : CODEC_READ_LOG_REPLY_MAX, n;
    *count = 0;
    bool ok = codec_rd_array(&r, "read_log_reply", 3, 3, &n)
              && codec_rd_uint(&r, "read_log_reply.total", UINT64_MAX, total)
              && codec_rd_uint(&r, "read_log_reply.from", *total, from)
              && codec_rd_array(&r, "read_log_reply.entries", 0, max, count);
    if (ok && *count > *total - *from)
        ok = codec_rd_fail(&r, CODEC_ERR_COUNT, "read_log_reply.entries (past total)");
    for (uint32_t i = 0; ok && i < *count; i++) {
        r.index = i;
        ok = codec_rd_span(&r, "read_log_reply.entries[]", 1, CODEC_READ_LOG_ENTRY_MAX, &entries[i]);
    }
    return codec_rd_finish(&r, ok);
}

codec_err codec_public_request_encode(const uint8_t *trial, size_t trial_len, uint64_t from,
                                      codec_buf *out)
{
    writer w;
    wr_init(&w, out);
    wr_array(&w, 2);
    wr_bin(&w, trial, trial_len);
    wr_uint(&w, from);
    return wr_done(&w);
}

codec_err codec_public_request_decode(const uint8_t *data, size_t len, codec_span *trial,
                                      uint64_t *from, codec_error *err)
{
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    uint32_t n;
    bool ok = codec_rd_array(&r, "public_request", 2, 2, &n)
              && codec_rd_span(&r, "public_request.trial", 1, 32, trial)
              && codec_rd_uint(&r, "public_request.from", UINT64_MAX, from);
    return codec_rd_finish(&r, ok);
}

codec_err codec_public_reply_encode(const codec_public_page *p, const codec_public_entry *entries,
                                    codec_buf *out)
{
    writer w;
    wr_init(&w, out);
    wr_array(&w, 4);
    wr_uint(&w, p->total);
    wr_uint(&w, p->from);
    if (p->has_enrolled) wr_uint(&w, p->enrolled);
    else wr_nil(&w);
    wr_array(&w, p->count);
    for (uint32_t i = 0; i < p->count; i++) {
        wr_array(&w, 2);
        wr_str(&w, entries[i].method);
        wr_bin(&w, entries[i].receipt_reply.data, entries[i].receipt_reply.len);
    }
    return wr_done(&w);
}

codec_err codec_public_reply_decode(const uint8_t *data, size_t len, codec_public_page *p,
                                    codec_public_entry *entries, uint32_t cap, codec_error *err)
{
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    uint32_t max = cap < CODEC_PUBLIC_REPLY_MAX ? cap : CODEC_PUBLIC_REPLY_MAX, n;
    p->count = 0;
    bool ok = codec_rd_array(&r, "public_reply", 4, 4, &n)
              && codec_rd_uint(&r, "public_reply.total", UINT64_MAX, &p->total)
              && codec_rd_uint(&r, "public_reply.from", p->total, &p->from);
    if (ok) {
        p->has_enrolled = !codec_rd_nil(&r);
        p->enrolled = 0;
        if (p->has_enrolled) {
            const uint8_t *at = r.p;
            ok = codec_rd_uint(&r, "public_reply.enrolled", UINT64_MAX, &p->enrolled);
            if (ok && p->enrolled < CODEC_PUBLIC_COUNT_MIN)
                ok = codec_rd_fail_at(&r, at, CODEC_ERR_RANGE, "public_reply.enrolled (below the threshold)");
        }
    }
    ok = ok && codec_rd_array(&r, "public_reply.entries", 0, max, &p->count);
    if (ok && p->count > p->total - p->from)
        ok = codec_rd_fail(&r, CODEC_ERR_COUNT, "public_reply.entries (past total)");
    for (uint32_t i = 0; ok && i < p->count; i++) {
        r.index = i;
        ok = codec_rd_array(&r, "public_reply.entries[]", 2, 2, &n)
             && rd_str(&r, "public_reply.entries[].method", 2 * CODEC_NAME_MAX + 1,
                       entries[i].method)
             && codec_rd_span(&r, "public_reply.entries[].receipt", 1, CODEC_CLIENT_MESSAGE_MAX,
                              &entries[i].receipt_reply);
    }
    return codec_rd_finish(&r, ok);
}

/* ---- signed reads (issue 19) ------------------------------------------------------------ */

static void wr_signed_read_body(writer *w, const codec_signed_read *s)
{
    wr_bin(w, s->asker.bytes, 32);
    wr_uint(w, s->time_ms);
    wr_uint(w, s->kind);
    wr_bin(w, s->body.data, s->body.len);
}

codec_err codec_signed_read_body_encode(const codec_signed_read *s, codec_buf *out)
{
    if (s->body.len > CODEC_READ_BODY_MAX) return CODEC_ERR_LENGTH;
    writer w;
    wr_init(&w, out);
    wr_array(&w, 4);
    wr_signed_read_body(&w, s);
    return wr_done(&w);
}

codec_err codec_signed_read_encode(const codec_signed_read *s, codec_buf *out)
{
    if (s->body.len > CODEC_READ_BODY_MAX) return CODEC_ERR_LENGTH;
    writer w;
    wr_init(&w, out);
    wr_array(&w, 5);
    wr_signed_read_body(&w, s);
    wr_bin(&w, s->sig.bytes, 64);
    return wr_done(&w);
}

codec_err codec_signed_read_decode(const uint8_t *data, size_t len, codec_signed_read *out,
                                   codec_error *err)
{
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    uint32_t n;
    bool ok = codec_rd_array(&r, "signed_read", 5, 5, &n)
              && codec_rd_fixed(&r, "signed_read.asker", out->asker.bytes, 32)
              && codec_rd_uint(&r, "signed_read.time_ms", UINT64_MAX, &out->time_ms)
              && codec_rd_u32_in(&r, "signed_read.kind", 1, CLIENT_KIND_MAX_, &out->kind)
              && codec_rd_span(&r, "signed_read.body", 0, CODEC_READ_BODY_MAX, &out->body)
              && codec_rd_fixed(&r, "signed_read.sig", out->sig.bytes, 64);
    return codec_rd_finish(&r, ok);
}

codec_err codec_receipts_request_encode(const hash32 *ids, uint32_t count, codec_buf *out)
{
    if (count == 0 || count > CODEC_RECEIPTS_BATCH_MAX) return CODEC_ERR_COUNT;
    writer w;
    wr_init(&w, out);
    wr_array(&w, count);
    for (uint32_t i = 0; i < count; i++) wr_hash(&w, &ids[i]);
    return wr_done(&w);
}

codec_err codec_receipts_request_decode(const uint8_t *data, size_t len, hash32 *ids,
                                        uint32_t cap, uint32_t *count, codec_error *err)
{
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    uint32_t max = cap < CODEC_RECEIPTS_BATCH_MAX ? cap : CODEC_RECEIPTS_BATCH_MAX;
    bool ok = codec_rd_array(&r, "receipts_request", 1, max, count);
    for (uint32_t i = 0; ok && i < *count; i++) {
        r.index = i;
        ok = codec_rd_hash(&r, "receipts_request[]", &ids[i]);
    }
    r.index = -1;
    return codec_rd_finish(&r, ok);
}

codec_err codec_receipts_reply_encode(const codec_receipts_entry *entries, uint32_t count,
                                      codec_buf *out)
{
    if (count > CODEC_RECEIPTS_BATCH_MAX) return CODEC_ERR_COUNT;
    writer w;
    wr_init(&w, out);
    wr_array(&w, count);
    for (uint32_t i = 0; i < count; i++) {
        char text[CODEC_REASON_MAX + 1];
        snprintf(text, sizeof text, "%s", entries[i].reason);
        wr_array(&w, 3);
        wr_uint(&w, entries[i].status);
        wr_str(&w, text);
        wr_span_or_nil(&w, &entries[i].reply);
    }
    return wr_done(&w);
}

codec_err codec_receipts_reply_decode(const uint8_t *data, size_t len,
                                      codec_receipts_entry *entries, uint32_t cap,
                                      uint32_t *count, codec_error *err)
{
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    uint32_t max = cap < CODEC_RECEIPTS_BATCH_MAX ? cap : CODEC_RECEIPTS_BATCH_MAX, n;
    bool ok = codec_rd_array(&r, "receipts_reply", 0, max, count);
    for (uint32_t i = 0; ok && i < *count; i++) {
        r.index = i;
        ok = codec_rd_array(&r, "receipts_reply[]", 3, 3, &n)
             && codec_rd_u32(&r, "receipts_reply[].status", 255, &entries[i].status)
             && rd_str(&r, "receipts_reply[].reason", CODEC_REASON_MAX, entries[i].reason)
             && codec_rd_span_or_nil(&r, "receipts_reply[].receipt_reply",
                                     CODEC_CLIENT_MESSAGE_MAX, &entries[i].reply);
        /* an answer carries a receipt exactly when it is 0 */
        if (ok && (entries[i].status == CAPI_OK) != (entries[i].reply.len > 0))
            ok = codec_rd_fail_at(&r, r.p, CODEC_ERR_RANGE, "receipts_reply[].receipt_reply");
    }
    r.index = -1;
    return codec_rd_finish(&r, ok);
}

/* ---- events (issue 20) -------------------------------------------------------------------- */

codec_err codec_events_request_encode(uint64_t height, codec_buf *out)
{
    writer w;
    wr_init(&w, out);
    wr_array(&w, 1);
    wr_uint(&w, height);
    return wr_done(&w);
}

codec_err codec_events_request_decode(const uint8_t *data, size_t len, uint64_t *height,
                                      codec_error *err)
{
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    uint32_t n;
    bool ok = codec_rd_array(&r, "events_request", 1, 1, &n)
              && codec_rd_uint(&r, "events_request.height", UINT64_MAX, height);
    return codec_rd_finish(&r, ok);
}

codec_err codec_events_reply_encode(uint64_t height, bool certified, const codec_event_tx *txs,
                                    uint32_t count, uint64_t time_ms, codec_buf *out)
{
    writer w;
    wr_init(&w, out);
    wr_array(&w, 4);
    wr_uint(&w, height);
    wr_uint(&w, certified ? 1 : 0);
    wr_array(&w, count);
    for (uint32_t i = 0; i < count; i++) {
        wr_array(&w, 3);
        wr_uint(&w, txs[i].index);
        wr_bin(&w, txs[i].tx.data, txs[i].tx.len);
        wr_bin(&w, txs[i].receipt.data, txs[i].receipt.len);
    }
    wr_uint(&w, time_ms);
    return wr_done(&w);
}

codec_err codec_events_reply_decode(const uint8_t *data, size_t len, uint64_t *height,
                                    bool *certified, codec_event_tx *txs, uint32_t cap,
                                    uint32_t *count, uint64_t *time_ms, codec_error *err)
{
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    uint32_t n, cert = 0, max = cap < CODEC_BLOCK_TXS_MAX ? cap : CODEC_BLOCK_TXS_MAX;
    bool ok = codec_rd_array(&r, "events_reply", 4, 4, &n)
              && codec_rd_uint(&r, "events_reply.height", UINT64_MAX, height)
              && codec_rd_u32_in(&r, "events_reply.certified", 0, 1, &cert)
              && codec_rd_array(&r, "events_reply.txs", 0, max, count);
    for (uint32_t i = 0; ok && i < *count; i++) {
        r.index = i;
        ok = codec_rd_array(&r, "events_reply.txs[]", 3, 3, &n)
             && codec_rd_u32(&r, "events_reply.txs[].index", CODEC_BLOCK_TXS_MAX - 1, &txs[i].index)
             && codec_rd_span(&r, "events_reply.txs[].tx", 1, CODEC_TX_MAX, &txs[i].tx)
             && codec_rd_span(&r, "events_reply.txs[].receipt", 1, CODEC_CLIENT_MESSAGE_MAX, &txs[i].receipt);
    }
    r.index = -1;
    ok = ok && codec_rd_uint(&r, "events_reply.time_ms", UINT64_MAX, time_ms);
    *certified = cert == 1;
    return codec_rd_finish(&r, ok);
}

/* ---- the timeline in pages ------------------------------------------------------------- */

codec_err codec_timeline_page_encode(const codec_timeline_page *p,
                                     const codec_timeline_entry *entries, codec_buf *out)
{
    writer w;
    wr_init(&w, out);
    wr_array(&w, 3);
    wr_uint(&w, p->next_height);
    wr_uint(&w, p->head_height);
    wr_array(&w, p->count);
    for (uint32_t i = 0; i < p->count; i++) {
        const codec_timeline_entry *e = &entries[i];
        wr_array(&w, 6);
        wr_uint(&w, e->height);
        wr_uint(&w, e->index);
        wr_uint(&w, e->time_ms);
        wr_bin(&w, e->tx.data, e->tx.len);
        wr_bin(&w, e->receipt.data, e->receipt.len);
        wr_array(&w, e->name_count);
        for (uint32_t k = 0; k < e->name_count; k++) {
            if (!e->names[k].known) {
                wr_nil(&w);
                continue;
            }
            wr_array(&w, 2);
            wr_str(&w, e->names[k].name.text);
            wr_uint(&w, e->names[k].role);
        }
    }
    return wr_done(&w);
}

static bool rd_key_name(codec_reader *r, codec_key_name *k)
{
    uint32_t n, role = 0;
    memset(k, 0, sizeof *k);
    if (codec_rd_nil(r)) return true;
    k->known = true;
    bool ok = codec_rd_array(r, "timeline_page.entries[].names[]", 2, 2, &n)
              && rd_name(r, "timeline_page.entries[].names[].name", &k->name)
              && codec_rd_u32_in(r, "timeline_page.entries[].names[].role", 1, ROLE_MAX_, &role);
    k->role = (uint8_t)role;
    return ok;
}

static bool rd_timeline_entry(codec_reader *r, codec_timeline_entry *e)
{
    uint32_t n;
    bool ok = codec_rd_array(r, "timeline_page.entries[]", 6, 6, &n)
              && codec_rd_uint(r, "timeline_page.entries[].height", UINT64_MAX, &e->height)
              && codec_rd_u32(r, "timeline_page.entries[].index", CODEC_BLOCK_TXS_MAX - 1, &e->index)
              && codec_rd_uint(r, "timeline_page.entries[].time_ms", UINT64_MAX, &e->time_ms)
              && codec_rd_span(r, "timeline_page.entries[].tx", 1, CODEC_TX_MAX, &e->tx)
              && codec_rd_span(r, "timeline_page.entries[].receipt", 1, CODEC_CLIENT_MESSAGE_MAX, &e->receipt)
              && codec_rd_array(r, "timeline_page.entries[].names", 1, 1 + CODEC_COSIGS_MAX, &e->name_count);
    for (uint32_t k = 0; ok && k < e->name_count; k++) ok = rd_key_name(r, &e->names[k]);
    return ok;
}

codec_err codec_timeline_page_decode(const uint8_t *data, size_t len, codec_timeline_page *p,
                                     codec_timeline_entry *entries, uint32_t cap,
                                     codec_error *err)
{
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    uint32_t n, max = cap < CODEC_TIMELINE_PAGE_MAX ? cap : CODEC_TIMELINE_PAGE_MAX;
    p->count = 0;
    bool ok = codec_rd_array(&r, "timeline_page", 3, 3, &n)
              && codec_rd_uint(&r, "timeline_page.next_height", UINT64_MAX - 1, &p->next_height)
              && codec_rd_uint(&r, "timeline_page.head_height", UINT64_MAX - 1, &p->head_height)
              && codec_rd_array(&r, "timeline_page.entries", 0, max, &p->count);
    if (ok && p->next_height > p->head_height + 1)
        ok = codec_rd_fail(&r, CODEC_ERR_RANGE, "timeline_page.next_height (past head + 1)");
    for (uint32_t i = 0; ok && i < p->count; i++) {
        r.index = i;
        const uint8_t *at = r.p;
        ok = rd_timeline_entry(&r, &entries[i]);
        const codec_timeline_entry *e = &entries[i], *prev = i > 0 ? &entries[i - 1] : NULL;
        if (ok && (e->height == 0 || e->height >= p->next_height
                   || (prev && (e->height < prev->height
                                || (e->height == prev->height && e->index <= prev->index)))))
            ok = codec_rd_fail_at(&r, at, CODEC_ERR_ORDER, "timeline_page.entries[] (out of commit order)");
    }
    r.index = -1;
    return codec_rd_finish(&r, ok);
}

/* ---- HTTP evidence -------------------------------------------------------------------- */

codec_err codec_http_evidence_encode(const codec_http_evidence *e, codec_buf *out)
{
    if (strlen(e->signature_input) > CODEC_HTTP_FIELD_MAX || strlen(e->signature) > CODEC_HTTP_FIELD_MAX
        || strlen(e->target) > CODEC_HTTP_TARGET_MAX || strlen(e->authority) > CODEC_HTTP_TARGET_MAX
        || strlen(e->method) >= sizeof e->method)
        return CODEC_ERR_LENGTH;
    writer w;
    wr_init(&w, out);
    wr_array(&w, 5);
    wr_str(&w, e->signature_input);
    wr_str(&w, e->signature);
    wr_str(&w, e->method);
    wr_str(&w, e->target);
    wr_str(&w, e->authority);
    return wr_done(&w);
}

codec_err codec_http_evidence_decode(const uint8_t *data, size_t len, codec_http_evidence *out,
                                     codec_error *err)
{
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    uint32_t n;
    bool ok = codec_rd_array(&r, "http_evidence", 5, 5, &n)
              && rd_str(&r, "http_evidence.signature_input", CODEC_HTTP_FIELD_MAX, out->signature_input)
              && rd_str(&r, "http_evidence.signature", CODEC_HTTP_FIELD_MAX, out->signature)
              && rd_str(&r, "http_evidence.method", sizeof out->method - 1, out->method)
              && rd_str(&r, "http_evidence.target", CODEC_HTTP_TARGET_MAX, out->target)
              && rd_str(&r, "http_evidence.authority", CODEC_HTTP_TARGET_MAX, out->authority);
    return codec_rd_finish(&r, ok);
}

codec_err codec_http_query_encode(const codec_span *query, const codec_span *http, codec_buf *out)
{
    writer w;
    wr_init(&w, out);
    wr_array(&w, 2);
    wr_bin(&w, query->data, query->len);
    wr_bin(&w, http->data, http->len);
    return wr_done(&w);
}

codec_err codec_http_query_decode(const uint8_t *data, size_t len, codec_span *query,
                                  codec_span *http, codec_error *err)
{
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    uint32_t n;
    bool ok = codec_rd_array(&r, "http_query", 2, 2, &n)
              && codec_rd_span(&r, "http_query.query", 1, 512, query)
              && codec_rd_span(&r, "http_query.http", 1, CODEC_READ_LOG_ENTRY_MAX - 128, http);
    return codec_rd_finish(&r, ok);
}

bool codec_http_grant_target_matches(const char *target, const uint8_t *trial, size_t trial_len,
                                     uint64_t grant, uint64_t from)
{
    if (trial_len == 0 || trial_len > 32) return false;
    for (size_t i = 0; i < trial_len; i++) {
        uint8_t c = trial[i];
        bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                          || c == '-' || c == '.' || c == '_' || c == '~';
        if (!unreserved) return false;
    }
    char want[CODEC_HTTP_TARGET_MAX + 1];
    int n = snprintf(want, sizeof want, "/v1/trials/%.*s/grants/%" PRIu64 "/records?from=%" PRIu64,
                     (int)trial_len, (const char *)trial, grant, from);
    if (n < 0 || (size_t)n >= sizeof want) return false;
    if (strcmp(target, want) == 0) return true;
    *strchr(want, '?') = '\0';
    return from == 0 && strcmp(target, want) == 0;
}

/* ---- validator sets (codec.h) ---------------------------------------------------- */

static void wr_valset(writer *w, const codec_valset *s)
{
    wr_array(w, s->count);
    for (uint32_t i = 0; i < s->count; i++) {
        wr_array(w, 2);
        wr_str(w, s->validators[i].name.text);
        wr_bin(w, s->validators[i].key.bytes, 32);
    }
}

codec_err codec_valset_encode(const codec_valset *s, codec_buf *out)
{
    if (s->count > CODEC_VALIDATORS_MAX) return CODEC_ERR_COUNT;
    writer w;
    wr_init(&w, out);
    wr_valset(&w, s);
    return wr_done(&w);
}

static bool rd_valset(codec_reader *r, codec_valset *s)
{
    int64_t outer = r->index;
    if (!codec_rd_array(r, "valset", 1, CODEC_VALIDATORS_MAX, &s->count)) return false;
    for (uint32_t i = 0; i < s->count; i++) {
        uint32_t n;
        r->index = i;
        if (!(codec_rd_array(r, "valset[]", 2, 2, &n)
              && rd_name(r, "valset[].name", &s->validators[i].name)
              && codec_rd_fixed(r, "valset[].key", s->validators[i].key.bytes, 32))) {
            return false;
        }
    }
    r->index = outer;
    return true;
}

codec_err codec_valset_decode(const uint8_t *data, size_t len, codec_valset *out,
                              codec_error *err)
{
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    return codec_rd_finish(&r, rd_valset(&r, out));
}

codec_err codec_valset_event_encode(uint64_t boundary, const codec_valset *s, codec_buf *out)
{
    if (s->count > CODEC_VALIDATORS_MAX) return CODEC_ERR_COUNT;
    writer w;
    wr_init(&w, out);
    wr_array(&w, 2);
    wr_uint(&w, boundary);
    wr_valset(&w, s);
    return wr_done(&w);
}

codec_err codec_valset_event_decode(const uint8_t *data, size_t len, uint64_t *boundary,
                                    codec_valset *out, codec_error *err)
{
    codec_reader r;
    uint32_t n;
    codec_rd_init(&r, data, len, err);
    bool ok = codec_rd_array(&r, "valset_event", 2, 2, &n)
              && codec_rd_uint(&r, "valset_event.boundary", UINT64_MAX, boundary)
              && rd_valset(&r, out);
    return codec_rd_finish(&r, ok);
}
