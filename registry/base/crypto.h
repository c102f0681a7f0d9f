/*
 * crypto.h - hashing, Ed25519 keys and domain-separated signatures.
 *
 * This module is the only user of libsodium in trialreg. Functions use the
 * `tcrypto_` prefix (libsodium owns `crypto_`).
 *
 * Signed message layout (every signature in the system):
 *
 *   offset  size  field
 *   0       n     domain tag, ASCII, no terminator (see TCRYPTO_TAG_*)
 *   n       32    chain id = SHA-256 of the canonical genesis bytes
 *   n+32    m     canonical msgpack body of the signed structure
 *
 * A signature is valid only for the one tag, chain and body it was made for:
 * moving it to another structure, another field or another chain fails.
 *
 * Key files (text, written 0600, refused if group or others can read):
 *
 *   trialreg-ed25519-secret-v1
 *   seed <64 hex chars>
 *   public <64 hex chars>
 *
 * Public key files hold one line: `trialreg-ed25519-public-v1 <64 hex>`.
 */
#ifndef TRIALREG_CRYPTO_H
#define TRIALREG_CRYPTO_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define TCRYPTO_HASH_BYTES 32
#define TCRYPTO_PUBKEY_BYTES 32
#define TCRYPTO_SEED_BYTES 32
#define TCRYPTO_SIG_BYTES 64

/* Domain tags: one per signed structure. Never reuse a tag. */
#define TCRYPTO_TAG_TX "trialreg/v1/tx"
#define TCRYPTO_TAG_COSIG "trialreg/v1/cosig"
#define TCRYPTO_TAG_COMMIT "trialreg/v1/commit"
#define TCRYPTO_TAG_CHECKPOINT "trialreg/v1/checkpoint"
#define TCRYPTO_TAG_PREPREPARE "trialreg/v1/pre-prepare"
#define TCRYPTO_TAG_PREPARE "trialreg/v1/prepare"
#define TCRYPTO_TAG_VIEWCHANGE "trialreg/v1/view-change"
#define TCRYPTO_TAG_NEWVIEW "trialreg/v1/new-view"
#define TCRYPTO_TAG_QUERY "trialreg/v1/query"
#define TCRYPTO_TAG_READ "trialreg/v1/read"   /* signed reads: BLOCKS, RECEIPT, RECEIPTS */
#define TCRYPTO_TAG_FETCH "trialreg/v1/fetch" /* a validator's FETCH on the peer port */

typedef struct { uint8_t bytes[TCRYPTO_HASH_BYTES]; } hash32;
typedef struct { uint8_t bytes[TCRYPTO_PUBKEY_BYTES]; } pubkey;
typedef struct { uint8_t bytes[TCRYPTO_SIG_BYTES]; } signature;

/* A secret key: the 32-byte seed and the expanded libsodium form. */
typedef struct {
    uint8_t seed[TCRYPTO_SEED_BYTES];
    uint8_t expanded[64];
    pubkey public_key;
} keypair;

typedef enum {
    TCRYPTO_OK = 0,
    TCRYPTO_ERR_INIT,        /* libsodium failed to initialise */
    TCRYPTO_ERR_IO,          /* open/read/write failed (errno kept) */
    TCRYPTO_ERR_PERMISSIONS, /* secret key file readable by group/others */
    TCRYPTO_ERR_FORMAT,      /* key file is not in the documented format */
    TCRYPTO_ERR_MISMATCH,    /* public key does not match the seed */
    TCRYPTO_ERR_EXISTS,      /* refusing to overwrite an existing key file */
    TCRYPTO_ERR_TOO_LONG,    /* tag + chain + body larger than the limit */
} tcrypto_err;

/* Largest body a signature may cover (bounds the stack message buffer). */
#define TCRYPTO_SIGNED_BODY_MAX (64 * 1024)

/* Initialise libsodium; idempotent and thread safe. Returns TCRYPTO_OK. */
tcrypto_err tcrypto_init(void);
const char *tcrypto_strerror(tcrypto_err err);

/* SHA-256 of data. */
void tcrypto_sha256(const void *data, size_t len, hash32 *out);

/* Incremental SHA-256 over several parts. Opaque, caller-owned storage; every
 * init must be followed by a final (which releases what init allocated). */
typedef struct { _Alignas(16) uint8_t opaque[144]; } tcrypto_sha256_state;
void tcrypto_sha256_init(tcrypto_sha256_state *st);
void tcrypto_sha256_update(tcrypto_sha256_state *st, const void *data, size_t len);
void tcrypto_sha256_final(tcrypto_sha256_state *st, hash32 *out);

/* Fill buf with len bytes from the OS random generator. */
void tcrypto_random(void *buf, size_t len);

/* Derive a key pair from a 32-byte seed (deterministic). */
void tcrypto_keypair_from_seed(const uint8_t seed[TCRYPTO_SEED_BYTES], keypair *out);
/* Generate a fresh random key pair. */
void tcrypto_keypair_generate(keypair *out);

/*
 * Sign tag || chain_id || body. The body may be at most
 * TCRYPTO_SIGNED_BODY_MAX bytes; returns TCRYPTO_ERR_TOO_LONG otherwise.
 */
tcrypto_err tcrypto_sign(const keypair *key, const char *tag, const hash32 *chain_id,
                         const void *body, size_t body_len, signature *out);

/* Verify a signature made by tcrypto_sign. True only if valid. */
bool tcrypto_verify(const pubkey *key, const char *tag, const hash32 *chain_id,
                    const void *body, size_t body_len, const signature *sig);

/*
 * Verify a signature over an already-assembled message
 * (tag || chain id || body). Used by parallel verifiers that build the
 * messages once.
 */
bool tcrypto_verify_raw(const pubkey *key, const void *msg, size_t msg_len,
                        const signature *sig);
/* Sign msg as given, with no tag or chain prefix: for formats that define their own
 * signed bytes and bind the chain inside them (RFC 9421's signature base, httpsig.h). */
void tcrypto_sign_raw(const keypair *key, const void *msg, size_t msg_len, signature *out);
/* Assemble tag || chain id || body into out (capacity out_cap). Returns the
 * length, or 0 if it does not fit. */
size_t tcrypto_signed_message(const char *tag, const hash32 *chain_id, const void *body,
                              size_t body_len, uint8_t *out, size_t out_cap);

/* Key files. Writing refuses to overwrite; reading refuses group/other-readable
 * secret files. On failure *out is untouched. */
tcrypto_err tcrypto_write_secret_key(const char *path, const keypair *key);
tcrypto_err tcrypto_read_secret_key(const char *path, keypair *out);
tcrypto_err tcrypto_write_public_key(const char *path, const pubkey *key);
tcrypto_err tcrypto_read_public_key(const char *path, pubkey *out);

/* Base64 (RFC 4648 section 4, padded: what HTTP structured fields' byte sequences use).
 * encode: out must hold TCRYPTO_BASE64_LEN(len) bytes (NUL included). decode: true only if
 * text is exactly canonical padded base64 of at most cap bytes; *len gets the size. */
#define TCRYPTO_BASE64_LEN(n) ((((n) + 2) / 3) * 4 + 1)
void tcrypto_base64_encode(const uint8_t *bytes, size_t len, char *out);
bool tcrypto_base64_decode(const char *text, size_t text_len, uint8_t *out, size_t cap,
                           size_t *len);

/* Lower-case hex helpers. hex_out must hold 2*len+1 bytes. */
void tcrypto_to_hex(const uint8_t *bytes, size_t len, char *hex_out);
/* Parse exactly 2*len hex chars; returns false on any bad char or length. */
bool tcrypto_from_hex(const char *hex, size_t hex_len, uint8_t *bytes_out, size_t len);

#endif
