/*
 * crypto.c - the only file of trialreg that includes libsodium or OpenSSL.
 *
 * Ed25519, randomness and key files: libsodium. SHA-256: OpenSSL's libcrypto,
 * whose SHA-256 uses the CPU's SHA extensions (or AVX2) where libsodium's is
 * portable C: 0.40 us against 1.56 us for a 300-byte tx (docs/BENCHMARKS.md).
 */
#include "crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pthread.h>

#include <openssl/evp.h>
#include <sodium.h>

/* The incremental state: an OpenSSL context, or libsodium's state when the
 * context cannot be allocated (hashing never fails). */
typedef struct {
    EVP_MD_CTX *ctx;
    crypto_hash_sha256_state fallback;
} sha256_state;
_Static_assert(sizeof(tcrypto_sha256_state) >= sizeof(sha256_state),
               "tcrypto_sha256_state too small");
_Static_assert(crypto_sign_SECRETKEYBYTES == 64, "unexpected Ed25519 secret key size");

#define SECRET_HEADER "trialreg-ed25519-secret-v1"
#define PUBLIC_HEADER "trialreg-ed25519-public-v1"

tcrypto_err tcrypto_init(void)
{
    return sodium_init() < 0 ? TCRYPTO_ERR_INIT : TCRYPTO_OK;
}

const char *tcrypto_strerror(tcrypto_err err)
{
    switch (err) {
    case TCRYPTO_OK: return "ok";
    case TCRYPTO_ERR_INIT: return "libsodium failed to initialise";
    case TCRYPTO_ERR_IO: return "cannot read or write the key file";
    case TCRYPTO_ERR_PERMISSIONS:
        return "secret key file is readable by group or others (chmod 600 it)";
    case TCRYPTO_ERR_FORMAT: return "key file is not in the trialreg key format";
    case TCRYPTO_ERR_MISMATCH: return "public key in the key file does not match its seed";
    case TCRYPTO_ERR_EXISTS: return "key file already exists (refusing to overwrite)";
    case TCRYPTO_ERR_TOO_LONG: return "signed body is too long";
    }
    return "unknown crypto error";
}

static EVP_MD *sha256_md; /* fetched once; NULL if OpenSSL has none: libsodium hashes */
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void) { sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL); }

static const EVP_MD *sha256(void)
{
    pthread_once(&sha256_once, sha256_fetch);
    return sha256_md;
}

void tcrypto_sha256(const void *data, size_t len, hash32 *out)
{
    const EVP_MD *md = sha256();
    if (!md || EVP_Digest(data, len, out->bytes, NULL, md, NULL) != 1)
        crypto_hash_sha256(out->bytes, data, len);
}

void tcrypto_sha256_init(tcrypto_sha256_state *st)
{
    sha256_state *s = (sha256_state *)st->opaque;
    const EVP_MD *md = sha256();
    s->ctx = md ? EVP_MD_CTX_new() : NULL;
    if (s->ctx && EVP_DigestInit_ex2(s->ctx, md, NULL) != 1) {
        EVP_MD_CTX_free(s->ctx);
        s->ctx = NULL;
    }
    if (!s->ctx)
        crypto_hash_sha256_init(&s->fallback);
}

void tcrypto_sha256_update(tcrypto_sha256_state *st, const void *data, size_t len)
{
    sha256_state *s = (sha256_state *)st->opaque;
    if (s->ctx)
        EVP_DigestUpdate(s->ctx, data, len); /* cannot fail for an initialised SHA-256 */
    else
        crypto_hash_sha256_update(&s->fallback, data, len);
}

void tcrypto_sha256_final(tcrypto_sha256_state *st, hash32 *out)
{
    sha256_state *s = (sha256_state *)st->opaque;
    if (!s->ctx) {
        crypto_hash_sha256_final(&s->fallback, out->bytes);
        return;
    }
    EVP_DigestFinal_ex(s->ctx, out->bytes, NULL);
    EVP_MD_CTX_free(s->ctx);
    s->ctx = NULL;
}

void tcrypto_random(void *buf, size_t len)
{
    randombytes_buf(buf, len);
}

void tcrypto_keypair_from_seed(const uint8_t seed[TCRYPTO_SEED_BYTES], keypair *out)
{
    memcpy(out->seed, seed, TCRYPTO_SEED_BYTES);
    crypto_sign_seed_keypair(out->public_key.bytes, out->expanded, seed);
}

void tcrypto_keypair_generate(keypair *out)
{
    uint8_t seed[TCRYPTO_SEED_BYTES];
    randombytes_buf(seed, sizeof seed);
    tcrypto_keypair_from_seed(seed, out);
    sodium_memzero(seed, sizeof seed);
}

size_t tcrypto_signed_message(const char *tag, const hash32 *chain_id, const void *body,
                              size_t body_len, uint8_t *out, size_t out_cap)
{
    size_t tag_len = strlen(tag);
    size_t total = tag_len + TCRYPTO_HASH_BYTES + body_len;
    if (total > out_cap) return 0;
    memcpy(out, tag, tag_len);
    memcpy(out + tag_len, chain_id->bytes, TCRYPTO_HASH_BYTES);
    if (body_len > 0) memcpy(out + tag_len + TCRYPTO_HASH_BYTES, body, body_len);
    return total;
}

enum { MESSAGE_MAX = 64 + TCRYPTO_HASH_BYTES + TCRYPTO_SIGNED_BODY_MAX };

tcrypto_err tcrypto_sign(const keypair *key, const char *tag, const hash32 *chain_id,
                         const void *body, size_t body_len, signature *out)
{
    static _Thread_local uint8_t msg[MESSAGE_MAX];
    if (body_len > TCRYPTO_SIGNED_BODY_MAX) return TCRYPTO_ERR_TOO_LONG;
    size_t len = tcrypto_signed_message(tag, chain_id, body, body_len, msg, sizeof msg);
    if (len == 0) return TCRYPTO_ERR_TOO_LONG;
    crypto_sign_detached(out->bytes, NULL, msg, len, key->expanded);
    return TCRYPTO_OK;
}

bool tcrypto_verify_raw(const pubkey *key, const void *msg, size_t msg_len,
                        const signature *sig)
{
    return crypto_sign_verify_detached(sig->bytes, msg, msg_len, key->bytes) == 0;
}

void tcrypto_sign_raw(const keypair *key, const void *msg, size_t msg_len, signature *out)
{
    crypto_sign_detached(out->bytes, NULL, msg, msg_len, key->expanded);
}

void tcrypto_base64_encode(const uint8_t *bytes, size_t len, char *out)
{
    sodium_bin2base64(out, TCRYPTO_BASE64_LEN(len), bytes, len, sodium_base64_VARIANT_ORIGINAL);
}

bool tcrypto_base64_decode(const char *text, size_t text_len, uint8_t *out, size_t cap,
                           size_t *len)
{
    const char *end = NULL;
    if (text_len % 4 != 0) return false;
    if (sodium_base642bin(out, cap, text, text_len, NULL, len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0) {
        return false;
    }
    return end == text + text_len;
}

bool tcrypto_verify(const pubkey *key, const char *tag, const hash32 *chain_id,
                    const void *body, size_t body_len, const signature *sig)
{
    static _Thread_local uint8_t msg[MESSAGE_MAX];
    if (body_len > TCRYPTO_SIGNED_BODY_MAX) return false;
    size_t len = tcrypto_signed_message(tag, chain_id, body, body_len, msg, sizeof msg);
    if (len == 0) return false;
    return tcrypto_verify_raw(key, msg, len, sig);
}

/* ---- hex -------------------------------------------------------------- */

void tcrypto_to_hex(const uint8_t *bytes, size_t len, char *hex_out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        hex_out[2 * i] = digits[bytes[i] >> 4];
        hex_out[2 * i + 1] = digits[bytes[i] & 15];
    }
    hex_out[2 * len] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool tcrypto_from_hex(const char *hex, size_t hex_len, uint8_t *bytes_out, size_t len)
{
    if (hex_len != 2 * len) return false;
    for (size_t i = 0; i < len; i++) {
        int hi = hex_value(hex[2 * i]);
        int lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return false;
        bytes_out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

/* ---- key files -------------------------------------------------------- */

/* Write text to a new file with the given mode; refuses to overwrite. */
static tcrypto_err write_new_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    if (fd < 0) return errno == EEXIST ? TCRYPTO_ERR_EXISTS : TCRYPTO_ERR_IO;
    if (fchmod(fd, mode) != 0) goto err;
    size_t len = strlen(text);
    if (write(fd, text, len) != (ssize_t)len) goto err;
    if (fsync(fd) != 0) goto err;
    close(fd);
    return TCRYPTO_OK;
err:
    close(fd);
    unlink(path);
    return TCRYPTO_ERR_IO;
}

/* Read a small text file (at most cap-1 bytes) into buf, NUL-terminated. */
static tcrypto_err read_small_file(const char *path, bool secret, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) return TCRYPTO_ERR_IO;
    struct stat st;
    tcrypto_err rc = TCRYPTO_OK;
    if (fstat(fd, &st) != 0) rc = TCRYPTO_ERR_IO;
    else if (!S_ISREG(st.st_mode)) rc = TCRYPTO_ERR_FORMAT;
    else if (secret && (st.st_mode & 077) != 0) rc = TCRYPTO_ERR_PERMISSIONS;
    else if ((size_t)st.st_size >= cap) rc = TCRYPTO_ERR_FORMAT;
    if (rc == TCRYPTO_OK) {
        ssize_t n = read(fd, buf, cap - 1);
        if (n < 0) rc = TCRYPTO_ERR_IO;
        else buf[n] = '\0';
    }
    close(fd);
    return rc;
}

tcrypto_err tcrypto_write_secret_key(const char *path, const keypair *key)
{
    char seed_hex[65], pub_hex[65], text[256];
    tcrypto_to_hex(key->seed, 32, seed_hex);
    tcrypto_to_hex(key->public_key.bytes, 32, pub_hex);
    snprintf(text, sizeof text, SECRET_HEADER "\nseed %s\npublic %s\n", seed_hex, pub_hex);
    tcrypto_err rc = write_new_file(path, text, 0600);
    sodium_memzero(text, sizeof text);
    sodium_memzero(seed_hex, sizeof seed_hex);
    return rc;
}

tcrypto_err tcrypto_read_secret_key(const char *path, keypair *out)
{
    char text[256];
    tcrypto_err rc = read_small_file(path, true, text, sizeof text);
    if (rc != TCRYPTO_OK) return rc;
    char seed_hex[65] = {0}, pub_hex[65] = {0};
    int n = 0;
    if (sscanf(text, SECRET_HEADER "\nseed %64s\npublic %64s\n%n", seed_hex, pub_hex, &n) != 2
        || (size_t)n != strlen(text)) {
        rc = TCRYPTO_ERR_FORMAT;
        goto out;
    }
    uint8_t seed[32];
    pubkey pub;
    if (!tcrypto_from_hex(seed_hex, strlen(seed_hex), seed, 32)
        || !tcrypto_from_hex(pub_hex, strlen(pub_hex), pub.bytes, 32)) {
        rc = TCRYPTO_ERR_FORMAT;
        goto out;
    }
    keypair kp;
    tcrypto_keypair_from_seed(seed, &kp);
    sodium_memzero(seed, sizeof seed);
    if (memcmp(kp.public_key.bytes, pub.bytes, 32) != 0) rc = TCRYPTO_ERR_MISMATCH;
    else *out = kp;
    sodium_memzero(&kp, sizeof kp);
out:
    sodium_memzero(text, sizeof text);
    sodium_memzero(seed_hex, sizeof seed_hex);
    return rc;
}

tcrypto_err tcrypto_write_public_key(const char *path, const pubkey *key)
{
    char hex[65], text[128];
    tcrypto_to_hex(key->bytes, 32, hex);
    snprintf(text, sizeof text, PUBLIC_HEADER " %s\n", hex);
    return write_new_file(path, text, 0644);
}

tcrypto_err tcrypto_read_public_key(const char *path, pubkey *out)
{
    char text[128];
    tcrypto_err rc = read_small_file(path, false, text, sizeof text);
    if (rc != TCRYPTO_OK) return rc;
    char hex[65] = {0};
    int n = 0;
    if (sscanf(text, PUBLIC_HEADER " %64s%n", hex, &n) != 1) return TCRYPTO_ERR_FORMAT;
    const char *rest = text + n;
    if (strcmp(rest, "\n") != 0 && strcmp(rest, "") != 0) return TCRYPTO_ERR_FORMAT;
    pubkey pub;
    if (!tcrypto_from_hex(hex, strlen(hex), pub.bytes, 32)) return TCRYPTO_ERR_FORMAT;
    *out = pub;
    return TCRYPTO_OK;
}
