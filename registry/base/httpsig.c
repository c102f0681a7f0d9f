/*
 * httpsig.c - RFC 9421 signatures and RFC 9530 digests (httpsig.h).
 *
 * Structured fields (RFC 8941) are parsed only as far as these two header fields need: a
 * dictionary whose member is an inner list of strings with parameters (integers, strings,
 * tokens), or a byte sequence.
 */
#include "httpsig.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    const char *p;
    const char *end;
} cursor;

static bool fail(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return false;
}

static void skip_sp(cursor *c)
{
    while (c->p < c->end && *c->p == ' ') c->p++;
}

static void skip_ows(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t')) c->p++;
}

static bool is_key_start(char ch) { return (ch >= 'a' && ch <= 'z') || ch == '*'; }

static bool is_key_char(char ch)
{
    return is_key_start(ch) || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.';
}

/* sf-key into out (cap bytes). */
static bool parse_key(cursor *c, char *out, size_t cap)
{
    size_t n = 0;
    if (c->p >= c->end || !is_key_start(*c->p)) return false;
    while (c->p < c->end && is_key_char(*c->p)) {
        if (n + 1 >= cap) return false;
        out[n++] = *c->p++;
    }
    out[n] = '\0';
    return true;
}

/* sf-string (printable ASCII; \" and \\ escapes) into out. */
static bool parse_string(cursor *c, char *out, size_t cap)
{
    size_t n = 0;
    if (c->p >= c->end || *c->p != '"') return false;
    c->p++;
    while (c->p < c->end) {
        char ch = *c->p++;
        if (ch == '"') {
            out[n] = '\0';
            return true;
        }
        if (ch == '\\') {
            if (c->p >= c->end || (*c->p != '"' && *c->p != '\\')) return false;
            ch = *c->p++;
        } else if (ch < 0x20 || ch > 0x7e) {
            return false;
        }
        if (n + 1 >= cap) return false;
        out[n++] = ch;
    }
    return false;
}

static bool parse_integer(cursor *c, int64_t *out)
{
    bool neg = c->p < c->end && *c->p == '-';
    if (neg) c->p++;
    int digits = 0;
    int64_t v = 0;
    while (c->p < c->end && isdigit((unsigned char)*c->p)) {
        if (++digits > 15) return false; /* sf-integer: at most 15 digits */
        v = v * 10 + (*c->p++ - '0');
    }
    *out = neg ? -v : v;
    return digits > 0;
}

static bool parse_token(cursor *c, char *out, size_t cap)
{
    size_t n = 0;
    if (c->p >= c->end || !(isalpha((unsigned char)*c->p) || *c->p == '*')) return false;
    while (c->p < c->end && (isalnum((unsigned char)*c->p) || strchr("!#$%&'*+-.^_`|~:/", *c->p))) {
        if (n + 1 >= cap) return false;
        out[n++] = *c->p++;
    }
    out[n] = '\0';
    return true;
}

/* Append to the canonical serialization. */
typedef struct {
    char *buf;
    size_t cap;
    size_t len;
    bool overflow;
} text;

static void put(text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= t->cap - t->len) {
        t->overflow = true;
        return;
    }
    t->len += (size_t)n;
}

static void put_string(text *t, const char *s)
{
    put(t, "\"");
    for (; *s; s++) put(t, *s == '"' || *s == '\\' ? "\\%c" : "%c", *s);
    put(t, "\"");
}

/* One parameter of the signature: known ones are kept; every one is re-serialized. */
static bool parse_param(cursor *c, httpsig_input *in, text *t, char *why, size_t cap)
{
    char key[32], sval[96];
    if (!parse_key(c, key, sizeof key)) return fail(why, cap, "a signature parameter name is malformed");
    if (c->p >= c->end || *c->p != '=') { /* boolean true */
        put(t, ";%s", key);
        return true;
    }
    c->p++;
    int64_t ival;
    if (c->p < c->end && *c->p == '"') {
        if (!parse_string(c, sval, sizeof sval)) return fail(why, cap, "parameter %s: malformed string", key);
        put(t, ";%s=", key);
        put_string(t, sval);
        if (strcmp(key, "keyid") == 0) snprintf(in->keyid, sizeof in->keyid, "%s", sval);
        else if (strcmp(key, "alg") == 0) snprintf(in->alg, sizeof in->alg, "%.23s", sval);
        else if (strcmp(key, "tag") == 0) snprintf(in->tag, sizeof in->tag, "%s", sval);
    } else if (c->p < c->end && (*c->p == '-' || isdigit((unsigned char)*c->p))) {
        if (!parse_integer(c, &ival)) return fail(why, cap, "parameter %s: malformed integer", key);
        put(t, ";%s=%" PRId64, key, ival);
        if (strcmp(key, "created") == 0) {
            in->created = ival;
            in->has_created = true;
        }
    } else {
        if (!parse_token(c, sval, sizeof sval)) return fail(why, cap, "parameter %s: unsupported value", key);
        put(t, ";%s=%s", key, sval);
    }
    return true;
}

/* label=("c1" "c2" ...);params */
static bool parse_input(const char *field, httpsig_input *in, char *why, size_t cap)
{
    cursor c = {field, field + strlen(field)};
    skip_sp(&c);
    if (!parse_key(&c, in->label, sizeof in->label) || c.p >= c.end || *c.p++ != '=')
        return fail(why, cap, "Signature-Input: expected label=(...)");
    if (c.p >= c.end || *c.p++ != '(') return fail(why, cap, "Signature-Input: expected an inner list");
    text t = {in->params, sizeof in->params, 0, false};
    put(&t, "(");
    for (;;) {
        skip_sp(&c);
        if (c.p < c.end && *c.p == ')') {
            c.p++;
            break;
        }
        if (in->component_count == HTTPSIG_COMPONENTS_MAX)
            return fail(why, cap, "Signature-Input: more than %d components", HTTPSIG_COMPONENTS_MAX);
        char *name = in->components[in->component_count];
        if (!parse_string(&c, name, HTTPSIG_NAME_MAX))
            return fail(why, cap, "Signature-Input: a component name is malformed");
        if (c.p < c.end && *c.p == ';')
            return fail(why, cap, "Signature-Input: component parameters (\"%s\";...) are not supported", name);
        for (uint32_t k = 0; k < in->component_count; k++)
            if (strcmp(in->components[k], name) == 0)
                return fail(why, cap, "Signature-Input: component \"%s\" is listed twice", name);
        put(&t, "%s", in->component_count ? " " : "");
        put_string(&t, name);
        in->component_count++;
        if (c.p < c.end && *c.p != ' ' && *c.p != ')')
            return fail(why, cap, "Signature-Input: components must be separated by spaces");
    }
    put(&t, ")");
    while (c.p < c.end && *c.p == ';') {
        c.p++;
        skip_sp(&c);
        if (!parse_param(&c, in, &t, why, cap)) return false;
    }
    if (t.overflow) return fail(why, cap, "Signature-Input is too long");
    return true; /* further labels after a comma are ignored: the first one is verified */
}

/* The byte sequence of `label` in the Signature dictionary. */
static bool parse_signature(const char *field, const char *label, signature *out, char *why,
                            size_t cap)
{
    cursor c = {field, field + strlen(field)};
    while (c.p < c.end) {
        skip_ows(&c);
        char key[HTTPSIG_NAME_MAX];
        if (!parse_key(&c, key, sizeof key) || c.p >= c.end || *c.p++ != '=' || c.p >= c.end
            || *c.p++ != ':') {
            return fail(why, cap, "Signature: expected label=:base64:");
        }
        const char *start = c.p;
        while (c.p < c.end && *c.p != ':') c.p++;
        if (c.p >= c.end) return fail(why, cap, "Signature: unterminated byte sequence");
        size_t len = 0;
        uint8_t raw[80];
        bool ok = tcrypto_base64_decode(start, (size_t)(c.p - start), raw, sizeof raw, &len);
        c.p++;
        if (strcmp(key, label) == 0) {
            if (!ok || len != 64) return fail(why, cap, "Signature: %s is not 64 bytes of base64", label);
            memcpy(out->bytes, raw, 64);
            return true;
        }
        skip_ows(&c);
        if (c.p < c.end && *c.p++ != ',') return fail(why, cap, "Signature: malformed dictionary");
    }
    return fail(why, cap, "Signature has no member \"%s\" (the label of Signature-Input)", label);
}

bool httpsig_parse(const char *signature_input, const char *signature, httpsig_input *out,
                   char *why, size_t why_cap)
{
    memset(out, 0, sizeof *out);
    if (!signature_input || !signature)
        return fail(why, why_cap, "the request is not signed (Signature-Input and Signature header fields, RFC 9421)");
    return parse_input(signature_input, out, why, why_cap)
           && parse_signature(signature, out->label, &out->sig, why, why_cap);
}

/* The value of one covered component, or NULL with why set. */
static const char *component_value(const char *name, const httpsig_request *rq, char *scratch,
                                   size_t cap, char *why, size_t why_cap)
{
    if (strcmp(name, "@method") == 0) return rq->method;
    if (strcmp(name, "@path") == 0) return rq->path && *rq->path ? rq->path : "/";
    if (strcmp(name, "@query") == 0) {
        snprintf(scratch, cap, "?%s", rq->query ? rq->query : "");
        return scratch;
    }
    if (strcmp(name, "@authority") == 0) {
        if (!rq->authority) return fail(why, why_cap, "@authority: the request has no Host"), NULL;
        size_t n = 0;
        for (; rq->authority[n] && n + 1 < cap; n++)
            scratch[n] = (char)tolower((unsigned char)rq->authority[n]);
        scratch[n] = '\0';
        return scratch;
    }
    if (name[0] == '@') return fail(why, why_cap, "component %s is not supported", name), NULL;
    for (const char *p = name; *p; p++)
        if (isupper((unsigned char)*p)) return fail(why, why_cap, "field names are lower case: %s", name), NULL;
    const char *v = rq->header ? rq->header(rq->ctx, name) : NULL;
    if (!v) return fail(why, why_cap, "the signature covers %s, which the request lacks", name), NULL;
    while (*v == ' ' || *v == '\t') v++;
    size_t n = strlen(v);
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t')) n--;
    snprintf(scratch, cap, "%.*s", (int)n, v);
    return scratch;
}

size_t httpsig_base(const httpsig_input *in, const httpsig_request *rq, char *out, size_t cap,
                    char *why, size_t why_cap)
{
    text t = {out, cap, 0, false};
    char scratch[2048];
    for (uint32_t i = 0; i < in->component_count; i++) {
        const char *v = component_value(in->components[i], rq, scratch, sizeof scratch, why, why_cap);
        if (!v) return 0;
        if (strchr(v, '\n') || strchr(v, '\r')) return fail(why, why_cap, "%s holds a line break", in->components[i]), 0;
        put(&t, "\"%s\": %s\n", in->components[i], v);
    }
    put(&t, "\"@signature-params\": %s", in->params);
    if (t.overflow) return fail(why, why_cap, "the signature base is too long"), 0;
    return t.len;
}

bool httpsig_verify(const httpsig_input *in, const httpsig_request *rq, const pubkey *key,
                    char *why, size_t why_cap)
{
    static _Thread_local char base[8192];
    size_t len = httpsig_base(in, rq, base, sizeof base, why, why_cap);
    if (len == 0) return false;
    if (!tcrypto_verify_raw(key, base, len, &in->sig))
        return fail(why, why_cap, "the signature does not verify (RFC 9421 base over %u components)", in->component_count);
    return true;
}

static bool covers(const httpsig_input *in, const char *name)
{
    for (uint32_t i = 0; i < in->component_count; i++)
        if (strcmp(in->components[i], name) == 0) return true;
    return false;
}

bool httpsig_check_profile(const httpsig_input *in, const hash32 *chain, int64_t now_s,
                           int64_t skew_s, bool has_body, pubkey *key, char *why,
                           size_t why_cap)
{
    static const char *required[] = {"@method", "@path", "@query"};
    for (size_t i = 0; i < 3; i++)
        if (!covers(in, required[i])) return fail(why, why_cap, "the signature must cover %s", required[i]);
    if (has_body && !covers(in, "content-digest"))
        return fail(why, why_cap, "a request with a body must sign its content-digest");
    if (strcmp(in->alg, "ed25519") != 0) return fail(why, why_cap, "alg must be \"ed25519\"");
    char want[sizeof HTTPSIG_TAG_PREFIX + 64];
    memcpy(want, HTTPSIG_TAG_PREFIX, sizeof HTTPSIG_TAG_PREFIX - 1);
    tcrypto_to_hex(chain->bytes, 32, want + sizeof HTTPSIG_TAG_PREFIX - 1);
    if (strcmp(in->tag, want) != 0)
        return fail(why, why_cap, "the signature's tag is not this chain's (%s<chain id in hex>)", HTTPSIG_TAG_PREFIX);
    if (!in->has_created) return fail(why, why_cap, "the signature has no created time");
    if (in->created < now_s - skew_s || in->created > now_s + skew_s)
        return fail(why, why_cap, "created %" PRId64 " is more than %" PRId64 " s from the node's clock: stale or skewed", in->created, skew_s);
    if (strlen(in->keyid) != 64 || !tcrypto_from_hex(in->keyid, 64, key->bytes, 32))
        return fail(why, why_cap, "keyid must be the signer's public key, 64 hex digits");
    return true;
}

void httpsig_content_digest(const void *body, size_t len, char *out, size_t cap)
{
    hash32 h;
    char b64[TCRYPTO_BASE64_LEN(32)];
    tcrypto_sha256(body, len, &h);
    tcrypto_base64_encode(h.bytes, 32, b64);
    snprintf(out, cap, "sha-256=:%s:", b64);
}

bool httpsig_content_digest_matches(const char *field, const void *body, size_t len)
{
    char want[80];
    httpsig_content_digest(body, len, want, sizeof want);
    /* a dictionary: find the sha-256 member (others, e.g. sha-512, are allowed beside it) */
    for (const char *p = field; p && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        size_t n = strcspn(p, ",");
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
        if (n == strlen(want) && memcmp(p, want, n) == 0) return true;
        p = strchr(p, ',');
    }
    return false;
}

bool httpsig_sign(const httpsig_request *rq, bool has_body, const keypair *key,
                  const hash32 *chain, int64_t created, char *signature_input,
                  size_t input_cap, char *signature_out, size_t sig_cap)
{
    char keyid[65], chain_hex[65], nonce_hex[33];
    uint8_t nonce[16];
    tcrypto_random(nonce, sizeof nonce);
    tcrypto_to_hex(key->public_key.bytes, 32, keyid);
    tcrypto_to_hex(chain->bytes, 32, chain_hex);
    tcrypto_to_hex(nonce, sizeof nonce, nonce_hex);
    int n = snprintf(signature_input, input_cap,
                     "sig1=(\"@method\" \"@path\" \"@query\"%s);created=%" PRId64
                     ";keyid=\"%s\";alg=\"ed25519\";tag=\"%s%s\";nonce=\"%s\"",
                     has_body ? " \"content-digest\"" : "", created, keyid, HTTPSIG_TAG_PREFIX,
                     chain_hex, nonce_hex);
    if (n < 0 || (size_t)n >= input_cap) return false;
    httpsig_input in;
    char why[160], b64[TCRYPTO_BASE64_LEN(64)];
    static _Thread_local char base[8192];
    if (!parse_input(signature_input, (memset(&in, 0, sizeof in), &in), why, sizeof why)) return false;
    size_t len = httpsig_base(&in, rq, base, sizeof base, why, sizeof why);
    if (len == 0) return false;
    tcrypto_sign_raw(key, base, len, &in.sig);
    tcrypto_base64_encode(in.sig.bytes, 64, b64);
    n = snprintf(signature_out, sig_cap, "sig1=:%s:", b64);
    return n > 0 && (size_t)n < sig_cap;
}

bool httpsig_verify_recorded(const char *signature_input, const char *signature,
                             const char *method, const char *target, const char *authority,
                             const hash32 *chain, const int64_t *now_s, int64_t skew_s,
                             pubkey *key, char *why, size_t why_cap)
{
    static _Thread_local httpsig_input in;
    char path[2048];
    if (strlen(target) >= sizeof path) return fail(why, why_cap, "the target is too long");
    snprintf(path, sizeof path, "%s", target);
    char *query = strchr(path, '?');
    if (query) *query++ = '\0';
    httpsig_request rq = {.method = method, .path = path, .query = query,
                          .authority = authority[0] ? authority : NULL, .header = NULL};
    if (!httpsig_parse(signature_input, signature, &in, why, why_cap)) return false;
    int64_t at = now_s ? *now_s : in.created;
    return httpsig_check_profile(&in, chain, at, now_s ? skew_s : 0, false, key, why, why_cap)
           && httpsig_verify(&in, &rq, key, why, why_cap);
}
