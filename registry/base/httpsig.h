/*
 * httpsig.h - HTTP Message Signatures (RFC 9421) with Ed25519, and Content-Digest (RFC 9530),
 * for the HTTP API's signed requests. Pure: text in, verdict out; no I/O.
 *
 * A signed request carries two header fields (RFC 9421 section 4):
 *   Signature-Input: sig1=("@method" "@path" "@query" "content-digest");created=1764000000;
 *                    keyid="<64 hex: the signer's public key>";alg="ed25519";
 *                    tag="trialreg-v1-<64 hex: the chain id>"
 *   Signature: sig1=:<base64 of the 64-byte Ed25519 signature>:
 * The signature is over the signature base (section 2.5): one line per covered component,
 * `"name": value`, then `"@signature-params": ` and the serialized inner list with its
 * parameters. This module builds that base exactly as the RFC says (its own example,
 * Appendix B.2.6, is a test), so any RFC 9421 library can sign for us.
 *
 * The project's profile (httpsig_check_profile, docs/FORMATS.md "HTTP signatures") adds,
 * without leaving the RFC: covered components must include @method, @path and @query, and
 * content-digest when the request has a body; alg is "ed25519"; keyid is the signer's key in
 * hex; tag is "trialreg-v1-" + the chain id in hex, so a signature never verifies on another
 * chain; created is within the node's clock skew (a replay within the skew is the server's
 * cache's job).
 */
#ifndef TRIALREG_HTTPSIG_H
#define TRIALREG_HTTPSIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

#define HTTPSIG_COMPONENTS_MAX 12
#define HTTPSIG_NAME_MAX 48
#define HTTPSIG_PARAMS_MAX 1024 /* the serialized "@signature-params" value */
#define HTTPSIG_TAG_PREFIX "trialreg-v1-"

/* What the verifier needs of the request. query: the text after '?', NULL if there is none.
 * header(ctx, name) returns the value of the (lower-case) field, several lines of it
 * combined with ", ", or NULL if absent. */
typedef struct {
    const char *method;
    const char *path;
    const char *query;
    const char *authority;
    const char *(*header)(void *ctx, const char *name);
    void *ctx;
} httpsig_request;

/* One parsed signature (the first label of Signature-Input, and the same label's value in
 * Signature). */
typedef struct {
    char label[HTTPSIG_NAME_MAX];
    char components[HTTPSIG_COMPONENTS_MAX][HTTPSIG_NAME_MAX];
    uint32_t component_count;
    bool has_created;
    int64_t created;
    char keyid[96];
    char alg[24];
    char tag[96];
    char params[HTTPSIG_PARAMS_MAX]; /* the canonical serialization (section 2.3) */
    signature sig;
} httpsig_input;

/* Parse the two fields. Returns true, or false with the reason in why. */
bool httpsig_parse(const char *signature_input, const char *signature, httpsig_input *out,
                   char *why, size_t why_cap);

/* The signature base of in for rq into out (cap bytes, NUL-terminated); its length, or 0
 * with the reason in why (a covered component the request lacks or we do not support). */
size_t httpsig_base(const httpsig_input *in, const httpsig_request *rq, char *out, size_t cap,
                    char *why, size_t why_cap);

/* Build the base and check the Ed25519 signature with key. */
bool httpsig_verify(const httpsig_input *in, const httpsig_request *rq, const pubkey *key,
                    char *why, size_t why_cap);

/* The project's profile (above): chain binds the tag; now_s and skew_s bound created;
 * has_body requires content-digest. On success *key is keyid's key. */
bool httpsig_check_profile(const httpsig_input *in, const hash32 *chain, int64_t now_s,
                           int64_t skew_s, bool has_body, pubkey *key, char *why,
                           size_t why_cap);

/* A recorded GET request (docs/FORMATS.md 13.12, an HTTP evidence) checked again: its
 * Signature-Input and Signature field values, method, target (path and ?query as sent) and
 * authority ("" for none) rebuild the signature base; the profile is checked (chain's tag,
 * no body) with created within skew_s of *now_s, or at any time when now_s is NULL (a
 * verifier reading the log later); then the signature by the keyid's key. The signature
 * may cover only derived components (no header field is recorded). On success *key is the
 * signer. */
bool httpsig_verify_recorded(const char *signature_input, const char *signature,
                             const char *method, const char *target, const char *authority,
                             const hash32 *chain, const int64_t *now_s, int64_t skew_s,
                             pubkey *key, char *why, size_t why_cap);

/* Content-Digest (RFC 9530) of body: "sha-256=:<base64>:" into out (at least 64 bytes). */
void httpsig_content_digest(const void *body, size_t len, char *out, size_t cap);
/* True if field (a Content-Digest value) holds a sha-256 member equal to body's digest. */
bool httpsig_content_digest_matches(const char *field, const void *body, size_t len);

/* Sign rq for a client: covers @method, @path, @query and, when has_body, content-digest
 * (the caller sends that header: httpsig_content_digest), with a random `nonce` parameter
 * (16 bytes, hex), so the same request signed twice in one second is two signatures, not
 * one the node's replay cache refuses the second time. Writes the two field values. */
bool httpsig_sign(const httpsig_request *rq, bool has_body, const keypair *key,
                  const hash32 *chain, int64_t created, char *signature_input,
                  size_t input_cap, char *signature_out, size_t sig_cap);

#endif
