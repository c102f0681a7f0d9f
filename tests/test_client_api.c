/*
 * test_client_api.c - the validator's client API over nng req/rep on loopback, against an
 * in-process executor that ran the example trial: every role's allowed and refused reads,
 * replayed/skewed queries, bad and foreign-chain signatures, receipts with proofs that
 * verify, blocks, submit, garbage and oversized requests, concurrent clients.
 */
#define _GNU_SOURCE /* memmem */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client_api.h"
#include "httpsig.h"
#include "trialreg_client.h"
#include "proof.h"
#include "sample.h"
#include "transport.h"
#include "world.h"

#define MAX_BYTES (256 * 1024)
#define SKEW_MS 30000
#define TIMEOUT_MS 5000

static uint64_t server_now;
static atomic_int submitted;

static uint64_t test_clock(void *ctx)
{
    (void)ctx;
    return server_now;
}

static void test_submit(void *ctx, const codec_span *txs, uint32_t count,
                        codec_submit_result *results)
{
    (void)ctx;
    for (uint32_t i = 0; i < count; i++) {
        results[i].status = txs[i].len < 8;
        snprintf(results[i].reason, sizeof results[i].reason, "%s",
                 txs[i].len < 8 ? "too short" : "");
        if (txs[i].len >= 8)
            atomic_fetch_add(&submitted, 1);
    }
}

typedef struct {
    world w;
    char dir[256];
    char url[64];
    char *timeline;
    size_t timeline_len;
    capi *api;
    tp_server *server;
    tp_client *client;
} fixture;

static fixture f;
static keypair auditor; /* the genesis' auditor role (issue 19: reads blocks and receipts) */
static const codec_span trial = {(const uint8_t *)SCENARIO_TRIAL, sizeof SCENARIO_TRIAL - 1};

static void start_server(int contexts)
{
    capi_config cfg = {.executor = f.w.e, .submit = test_submit, .clock = test_clock,
                       .skew_ms = SKEW_MS, .blocks_max = 8};
    f.api = capi_open(&cfg);
    cr_assert_not_null(f.api);
    char why[300] = "";
    tp_err rc = TP_ERR_LISTEN;
    for (int tries = 0; tries < 50 && rc == TP_ERR_LISTEN; tries++) {
        int port = 20000 + (int)(((unsigned)getpid() * 53u + (unsigned)tries * 7919u) % 20000u);
        snprintf(f.url, sizeof f.url, "tcp://127.0.0.1:%d", port);
        rc = tp_server_open(f.url, capi_handle, f.api, contexts, MAX_BYTES, &f.server, why, sizeof why);
    }
    cr_assert_eq(rc, TP_OK, "server: %s", why);
    cr_assert_eq(tp_client_open(f.url, MAX_BYTES, &f.client, why, sizeof why), TP_OK, "%s", why);
}

static void add_auditor(codec_genesis *g, void *ctx)
{
    (void)ctx;
    sample_add_authority(g, ROLE_AUDITOR, "", "auditor", &auditor);
}

static void setup(void)
{
    snprintf(f.dir, sizeof f.dir, "/tmp/trialreg-capi-XXXXXX");
    cr_assert_not_null(mkdtemp(f.dir));
    uint8_t seed[32] = {0xa0, 0xd1};
    tcrypto_keypair_from_seed(seed, &auditor);
    cr_assert_eq(world_init_edit(&f.w, "client-api-test", add_auditor, NULL), 0);
    cr_assert_eq(world_open(&f.w, f.dir, true), 0);
    FILE *mem = open_memstream(&f.timeline, &f.timeline_len);
    cr_assert_eq(scenario_run(&f.w, mem), 0);
    fclose(mem);
    /* drop scenario_run's "# timeline of" title: the node sends exec_timeline_write's text */
    char *nl = strchr(f.timeline, '\n');
    cr_assert_not_null(nl);
    f.timeline_len -= (size_t)(nl + 1 - f.timeline);
    memmove(f.timeline, nl + 1, f.timeline_len + 1);
    server_now = f.w.now_ms;
    start_server(4);
}

static void teardown(void)
{
    tp_client_close(f.client);
    tp_server_close(f.server);
    capi_close(f.api);
    world_close(&f.w);
    free(f.timeline);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f.dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(client_api, .init = setup, .fini = teardown, .timeout = 120);

/* Send raw bytes on client c; decode the response into *r (body copied to body). */
static uint32_t call_on(tp_client *c, const void *req, size_t len, codec_client_response *r,
                        uint8_t *body, size_t body_cap)
{
    uint8_t *reply = NULL;
    size_t reply_len = 0;
    tp_err rc = tp_client_request(c, req, len, TIMEOUT_MS, &reply, &reply_len);
    cr_assert_eq(rc, TP_OK, "request: %s", tp_strerror(rc));
    cr_assert_eq(codec_client_response_decode(reply, reply_len, r, NULL), CODEC_OK);
    cr_assert_leq(r->body.len, body_cap);
    if (r->body.len) memcpy(body, r->body.data, r->body.len);
    r->body.data = body;
    tp_free(reply, reply_len);
    return r->status;
}

static uint8_t body[MAX_BYTES];

static uint32_t call(const void *req, size_t len, codec_client_response *r)
{
    return call_on(f.client, req, len, r, body, sizeof body);
}

static uint32_t query_as(const keypair *k, uint64_t t, codec_query_kind kind,
                         const pubkey *participant, codec_client_response *r)
{
    codec_span args[2] = {trial, {participant ? participant->bytes : NULL, 32}};
    uint8_t req[1024];
    size_t len = client_query_request(k, ledger_chain_id(f.w.l), t, kind, args,
                                      kind == QUERY_CONSENT ? 2 : 1, req, sizeof req);
    cr_assert_gt(len, 0);
    return call(req, len, r);
}

static uint32_t query(const keypair *k, codec_query_kind kind, const pubkey *participant)
{
    codec_client_response r;
    return query_as(k, server_now, kind, participant, &r);
}

Test(client_api, regulator_reads_the_timeline_the_scenario_wrote)
{
    codec_client_response r;
    cr_assert_eq(query_as(&f.w.regulator, server_now, QUERY_TIMELINE, NULL, &r), CAPI_OK, "%s", r.reason);
    cr_assert_eq(r.body.len, f.timeline_len);
    cr_assert_eq(memcmp(r.body.data, f.timeline, f.timeline_len), 0);
}

Test(client_api, trial_reads_by_role)
{
    codec_client_response r;
    cr_assert_eq(query_as(&f.w.sponsor, server_now, QUERY_TRIAL, NULL, &r), CAPI_OK, "%s", r.reason);
    codec_trial_reply t;
    cr_assert_eq(codec_trial_reply_decode(r.body.data, r.body.len, &t, NULL), CODEC_OK);
    cr_assert_eq(memcmp(t.sponsor.bytes, f.w.sponsor.public_key.bytes, 32), 0);
    cr_assert_geq(t.version, 2, "the scenario amends to v2");
    cr_assert_eq(query(&f.w.regulator, QUERY_TRIAL, NULL), CAPI_OK);
    cr_assert_eq(query(&f.w.inv_a, QUERY_TIMELINE, NULL), CAPI_OK, "a listed site reads");
    cr_assert_eq(query(&f.w.inv_b, QUERY_TRIAL, NULL), CAPI_OK);
    /* refused: a researcher (no grant read here), a participant, a validator, a stranger */
    cr_assert_eq(query_as(&f.w.researcher, server_now, QUERY_TRIAL, NULL, &r), CAPI_DENIED);
    cr_assert_not_null(strstr(r.reason, "may not read this trial"), "clear refusal: %s", r.reason);
    cr_assert_eq(query(&f.w.participants[0], QUERY_TRIAL, NULL), CAPI_DENIED);
    cr_assert_eq(query(&f.w.validators[0], QUERY_TRIAL, NULL), CAPI_DENIED);
    cr_assert_eq(query(&f.w.validators[0], QUERY_TIMELINE, NULL), CAPI_DENIED);
    keypair stranger;
    tcrypto_keypair_generate(&stranger);
    cr_assert_eq(query(&stranger, QUERY_TIMELINE, NULL), CAPI_DENIED);
}

Test(client_api, consent_reads_by_role)
{
    const pubkey *p0 = &f.w.participants[0].public_key, *p1 = &f.w.participants[1].public_key,
                 *p3 = &f.w.participants[3].public_key;
    codec_client_response r;
    cr_assert_eq(query_as(&f.w.participants[0], server_now, QUERY_CONSENT, p0, &r), CAPI_OK, "%s", r.reason);
    codec_consent_reply_entry e[CODEC_CONSENT_REPLY_MAX];
    codec_consent_page page;
    cr_assert_eq(codec_consent_reply_decode(r.body.data, r.body.len, &page, e, CODEC_CONSENT_REPLY_MAX, NULL), CODEC_OK);
    cr_assert_geq(page.count, 1);
    cr_assert_eq(page.count, page.total, "a short history comes whole in one page");
    cr_assert_eq(e[0].kind, 1, "the first record is a grant");
    /* a participant reads only their own records */
    cr_assert_eq(query_as(&f.w.participants[0], server_now, QUERY_CONSENT, p1, &r), CAPI_DENIED);
    cr_assert_not_null(strstr(r.reason, "consent record"), "%s", r.reason);
    /* a site its own participants (p0 site-a, p3 site-b) */
    cr_assert_eq(query(&f.w.inv_a, QUERY_CONSENT, p0), CAPI_OK);
    cr_assert_eq(query(&f.w.inv_b, QUERY_CONSENT, p0), CAPI_DENIED);
    cr_assert_eq(query(&f.w.inv_b, QUERY_CONSENT, p3), CAPI_OK);
    cr_assert_eq(query(&f.w.inv_a, QUERY_CONSENT, p3), CAPI_DENIED);
    /* sponsor and regulator their trial; researcher nothing without a grant */
    cr_assert_eq(query(&f.w.sponsor, QUERY_CONSENT, p3), CAPI_OK);
    cr_assert_eq(query(&f.w.regulator, QUERY_CONSENT, p1), CAPI_OK);
    cr_assert_eq(query(&f.w.researcher, QUERY_CONSENT, p1), CAPI_DENIED);
    /* a key with no consent record: the regulator gets NOT_FOUND */
    keypair stranger;
    tcrypto_keypair_generate(&stranger);
    cr_assert_eq(query(&f.w.regulator, QUERY_CONSENT, &stranger.public_key), CAPI_NOT_FOUND);
}

Test(client_api, old_and_future_queries_are_refused)
{
    codec_client_response r;
    cr_assert_eq(query_as(&f.w.regulator, server_now - SKEW_MS, QUERY_TRIAL, NULL, &r), CAPI_OK);
    cr_assert_eq(query_as(&f.w.regulator, server_now - SKEW_MS - 1, QUERY_TRIAL, NULL, &r), CAPI_STALE);
    cr_assert_not_null(strstr(r.reason, "behind"), "%s", r.reason);
    cr_assert_eq(query_as(&f.w.regulator, server_now + SKEW_MS + 1, QUERY_TRIAL, NULL, &r), CAPI_STALE);
    /* a captured query replayed an hour later */
    uint8_t req[1024];
    size_t len = client_query_request(&f.w.regulator, ledger_chain_id(f.w.l), server_now,
                                      QUERY_TIMELINE, &trial, 1, req, sizeof req);
    cr_assert_eq(call(req, len, &r), CAPI_OK);
    server_now += 3600 * 1000;
    cr_assert_eq(call(req, len, &r), CAPI_STALE);
}

Test(client_api, bad_and_foreign_signatures_are_refused)
{
    codec_client_response r;
    uint8_t req[1024];
    size_t len = client_query_request(&f.w.regulator, ledger_chain_id(f.w.l), server_now,
                                      QUERY_TRIAL, &trial, 1, req, sizeof req);
    req[len - 1] ^= 1; /* the signature is the request's last field */
    cr_assert_eq(call(req, len, &r), CAPI_BAD_SIGNATURE);
    cr_assert_not_null(strstr(r.reason, "signature"), "%s", r.reason);
    /* signed for another chain */
    world other;
    cr_assert_eq(world_init(&other, "another-chain"), 0);
    hash32 other_chain;
    tcrypto_sha256(other.genesis, other.genesis_len, &other_chain);
    free(other.genesis);
    len = client_query_request(&f.w.regulator, &other_chain, server_now, QUERY_TRIAL, &trial, 1,
                               req, sizeof req);
    cr_assert_eq(call(req, len, &r), CAPI_BAD_SIGNATURE);
    /* another key's signature under the regulator's name: asker swapped after signing */
    len = client_query_request(&f.w.researcher, ledger_chain_id(f.w.l), server_now, QUERY_TRIAL,
                               &trial, 1, req, sizeof req);
    uint8_t *asker = memmem(req, len, f.w.researcher.public_key.bytes, 32);
    cr_assert_not_null(asker);
    memcpy(asker, f.w.regulator.public_key.bytes, 32);
    cr_assert_eq(call(req, len, &r), CAPI_BAD_SIGNATURE);
}

/* A client request of kind carrying body as a signed read by k for chain at time t. */
static size_t signed_request(const keypair *k, const hash32 *chain, uint64_t t, uint32_t kind,
                             const void *body_, size_t len, uint8_t *out, size_t cap)
{
    static uint8_t sr[CODEC_READ_BODY_MAX + 160];
    size_t slen = client_signed_read(k, chain, t, kind, body_, len, sr, sizeof sr);
    cr_assert_gt(slen, 0);
    codec_buf o = codec_buf_make(out, cap);
    cr_assert_eq(codec_client_request_encode(kind, sr, slen, &o), CODEC_OK);
    return o.len;
}

/* Fetch blocks [from, from+count) as k at time t into entries (body kept in body). */
static uint32_t fetch_blocks_as(const keypair *k, uint64_t t, uint64_t from, uint32_t count,
                                codec_block_entry *e, uint32_t *n, codec_client_response *r)
{
    uint8_t inner[32], req[256];
    codec_buf b = codec_buf_make(inner, sizeof inner);
    cr_assert_eq(codec_blocks_request_encode(from, count, &b), CODEC_OK);
    size_t len = signed_request(k, ledger_chain_id(f.w.l), t, CLIENT_BLOCKS, b.data, b.len, req,
                                sizeof req);
    uint32_t st = call(req, len, r);
    if (st == CAPI_OK)
        cr_assert_eq(codec_blocks_reply_decode(r->body.data, r->body.len, e, CODEC_BLOCKS_REPLY_MAX, n, NULL), CODEC_OK);
    return st;
}

static uint32_t fetch_blocks(uint64_t from, uint32_t count, codec_block_entry *e, uint32_t *n)
{
    codec_client_response r;
    return fetch_blocks_as(&f.w.regulator, server_now, from, count, e, n, &r);
}

/* The receipt of tx id as k at time t. */
static uint32_t receipt_as(const keypair *k, uint64_t t, const hash32 *id, codec_client_response *r)
{
    uint8_t req[512];
    size_t len = signed_request(k, ledger_chain_id(f.w.l), t, CLIENT_RECEIPT, id->bytes, 32, req,
                                sizeof req);
    return call(req, len, r);
}

static uint32_t receipt_of(const keypair *k, const hash32 *id)
{
    codec_client_response r;
    return receipt_as(k, server_now, id, &r);
}

Test(client_api, blocks_are_fetched_by_bounded_ranges)
{
    codec_block_entry e[CODEC_BLOCKS_REPLY_MAX];
    uint32_t n = 0;
    ledger_summary head;
    ledger_head(f.w.l, &head);
    cr_assert_gt(head.height, 8);
    cr_assert_eq(fetch_blocks(1, 64, e, &n), CAPI_OK);
    cr_assert_eq(n, 8, "bounded by blocks_max");
    cr_assert_not_null(e[0].result_cert.data, "local commits are certified");
    cr_assert_eq(fetch_blocks(head.height, 5, e, &n), CAPI_OK);
    cr_assert_eq(n, 1, "stops at the head");
    cr_assert_eq(fetch_blocks(head.height + 1, 1, e, &n), CAPI_NOT_FOUND);
    cr_assert_eq(fetch_blocks(0, 1, e, &n), CAPI_NOT_FOUND);
}

Test(client_api, receipt_comes_with_a_proof_that_verifies)
{
    codec_block_entry e[CODEC_BLOCKS_REPLY_MAX];
    uint32_t n = 0;
    cr_assert_eq(fetch_blocks(1, 1, e, &n), CAPI_OK);
    static codec_span txs[CODEC_BLOCK_TXS_MAX], receipts[CODEC_BLOCK_TXS_MAX];
    static codec_write writes[CODEC_WRITES_MAX];
    codec_block blk = {.txs = txs, .receipts = receipts, .writes = writes};
    static uint8_t copy[MAX_BYTES];
    memcpy(copy, e[0].block.data, e[0].block.len);
    cr_assert_eq(codec_block_decode(copy, e[0].block.len, &blk, CODEC_BLOCK_TXS_MAX, CODEC_WRITES_MAX, NULL), CODEC_OK);
    hash32 id;
    tcrypto_sha256(blk.txs[0].data, blk.txs[0].len, &id);
    codec_client_response r;
    cr_assert_eq(receipt_as(&f.w.regulator, server_now, &id, &r), CAPI_OK, "%s", r.reason);
    codec_receipt_reply rr;
    cr_assert_eq(codec_receipt_reply_decode(r.body.data, r.body.len, &rr, NULL), CODEC_OK);
    cr_assert_eq(rr.height, 1);
    cr_assert_eq(rr.index, 0);
    cr_assert_eq(rr.receipt.len, blk.receipts[0].len);
    cr_assert_eq(memcmp(rr.receipt.data, blk.receipts[0].data, rr.receipt.len), 0);
    cr_assert_gt(rr.proof.len, 0, "an inclusion proof for a certified block");
    char why[300] = "";
    cr_assert(proof_verify(f.w.genesis, f.w.genesis_len, rr.proof.data, rr.proof.len, why, sizeof why), "%s", why);
    /* unknown tx, malformed id (signed: a 31-byte read body) */
    id.bytes[0] ^= 0xff;
    cr_assert_eq(receipt_as(&f.w.regulator, server_now, &id, &r), CAPI_NOT_FOUND);
    uint8_t req[512];
    size_t len = signed_request(&f.w.regulator, ledger_chain_id(f.w.l), server_now,
                                CLIENT_RECEIPT, id.bytes, 31, req, sizeof req);
    cr_assert_eq(call(req, len, &r), CAPI_BAD_BODY);
}

/* The enrolment block of the example (height 8) holds 5 txs: a receipt of its 4th carries
 * the commit certificate and a receipt path of 3 hashes, and verifies as a receipt file;
 * a flipped byte in the receipt path or in the commit certificate is caught and named. */
Test(client_api, receipt_of_a_multi_tx_block_verifies_as_a_receipt_file)
{
    codec_block_entry e[CODEC_BLOCKS_REPLY_MAX];
    uint32_t n = 0;
    cr_assert_eq(fetch_blocks(8, 1, e, &n), CAPI_OK);
    static codec_span txs[CODEC_BLOCK_TXS_MAX], receipts[CODEC_BLOCK_TXS_MAX];
    static codec_write writes[CODEC_WRITES_MAX];
    codec_block blk = {.txs = txs, .receipts = receipts, .writes = writes};
    static uint8_t copy[MAX_BYTES], file[MAX_BYTES];
    memcpy(copy, e[0].block.data, e[0].block.len);
    cr_assert_eq(codec_block_decode(copy, e[0].block.len, &blk, CODEC_BLOCK_TXS_MAX, CODEC_WRITES_MAX, NULL), CODEC_OK);
    cr_assert_eq(blk.tx_count, 5);
    hash32 id;
    tcrypto_sha256(blk.txs[3].data, blk.txs[3].len, &id);
    codec_client_response r;
    cr_assert_eq(receipt_as(&f.w.regulator, server_now, &id, &r), CAPI_OK, "%s", r.reason);
    size_t len = r.body.len;
    memcpy(file, r.body.data, len);
    static codec_receipt_reply rr;
    cr_assert_eq(codec_receipt_reply_decode(file, len, &rr, NULL), CODEC_OK);
    cr_assert_eq(rr.index, 3);
    cr_assert_eq(rr.receipt_path_len, 3, "5 leaves: a path of 3");
    cr_assert_eq(rr.commit_cert.len, blk.commit_cert.len);
    cr_assert_eq(memcmp(rr.commit_cert.data, blk.commit_cert.data, rr.commit_cert.len), 0);
    char why[300] = "";
    cr_assert(proof_verify_receipt(f.w.genesis, f.w.genesis_len, file, len, why, sizeof why), "%s", why);
    /* the decoded path is a copy: find its bytes in the file */
    const uint8_t *hit = memmem(file, len, rr.receipt_path[1].bytes, 32);
    cr_assert_not_null(hit);
    file[hit - file + 4] ^= 1;
    cr_assert_not(proof_verify_receipt(f.w.genesis, f.w.genesis_len, file, len, why, sizeof why));
    cr_assert(strstr(why, "receipt inclusion proof") != NULL, "%s", why);
    file[hit - file + 4] ^= 1;
    file[rr.commit_cert.data - file + rr.commit_cert.len - 3] ^= 1;
    cr_assert_not(proof_verify_receipt(f.w.genesis, f.w.genesis_len, file, len, why, sizeof why));
    cr_assert(strstr(why, "commit certificate signature") != NULL, "%s", why);
}

/* A receipt the node serves after a validator-set change carries the change (FORMATS.md
 * 6.4): validator-3's key is rotated, blocks go on under the new set past the boundary, and
 * a tx committed then has a receipt that verifies with the genesis alone. */
Test(client_api, a_receipt_after_a_validator_change_carries_it_and_verifies)
{
    keypair fresh, keys[4];
    uint8_t seed[32] = {0x5e, 0x70};
    tcrypto_keypair_from_seed(seed, &fresh);
    memcpy(keys, f.w.validators, sizeof keys);
    codec_valset s = {.count = 4};
    const codec_genesis *g = ledger_genesis(f.w.l);
    memcpy(s.validators, g->validators, 4 * sizeof g->validators[0]);
    s.validators[3].key = fresh.public_key;
    static uint8_t arg[1200], tx[CODEC_TX_MAX];
    codec_buf ab = codec_buf_make(arg, sizeof arg);
    cr_assert_eq(codec_valset_encode(&s, &ab), CODEC_OK);
    codec_value a = world_bytes(arg, (uint32_t)ab.len);
    world_cosig cos[] = {{&f.w.regulator, MEANING_APPROVAL}, {&keys[0], MEANING_APPROVAL},
                         {&keys[1], MEANING_APPROVAL}, {&keys[2], MEANING_APPROVAL},
                         {&fresh, MEANING_AUTHOR}};
    size_t len = world_sign(&f.w, &f.w.sponsor, WORLD_NEXT_NONCE, NULL, "governance",
                            "validators", &a, 1, cos, 5, tx, sizeof tx);
    codec_receipt rc;
    cr_assert_eq(world_commit(&f.w, 1, &(codec_span){tx, len}, 1, &rc), 0);
    cr_assert_eq(rc.status, RECEIPT_OK, "%s", rc.reason);
    ledger_summary head;
    ledger_head(f.w.l, &head);
    uint64_t boundary = consortium_boundary(head.height);
    exec_error err;
    while (head.height + 1 < boundary) {
        f.w.now_ms += 1000;
        cr_assert_eq(exec_commit_local(f.w.e, keys, 4, f.w.now_ms, NULL, 0, &head, &err), EXEC_OK,
                     "%s", err.message);
    }
    keys[3] = fresh;
    codec_value args[] = {world_text(SCENARIO_TRIAL), world_int(1)};
    f.w.now_ms += 1000;
    len = world_sign(&f.w, &f.w.regulator, WORLD_NEXT_NONCE, NULL, "protocol", "approve", args, 2,
                     NULL, 0, tx, sizeof tx);
    cr_assert_eq(exec_commit_local(f.w.e, keys, 4, f.w.now_ms, &(codec_span){tx, len}, 1, &head,
                                   &err), EXEC_OK, "%s", err.message);
    cr_assert_eq(head.height, boundary);
    hash32 id;
    tcrypto_sha256(tx, len, &id);
    server_now = f.w.now_ms;
    codec_client_response r;
    cr_assert_eq(receipt_as(&f.w.regulator, server_now, &id, &r), CAPI_OK, "%s", r.reason);
    static uint8_t file[MAX_BYTES];
    size_t flen = r.body.len;
    memcpy(file, r.body.data, flen);
    static codec_receipt_reply rr;
    cr_assert_eq(codec_receipt_reply_decode(file, flen, &rr, NULL), CODEC_OK);
    cr_assert_eq(rr.changes.count, 1, "the rotation");
    char why[300] = "";
    cr_assert(proof_verify_receipt(f.w.genesis, f.w.genesis_len, file, flen, why, sizeof why),
              "%s", why);
}

/* ---- signed reads (issue 19): blocks, receipts, batches of receipts -------------------- */

/* The id of the first committed tx of contract.method signed by signer (NULL: anyone). */
static hash32 find_tx(const char *contract, const char *method, const keypair *signer)
{
    static codec_span txs[CODEC_BLOCK_TXS_MAX], receipts[CODEC_BLOCK_TXS_MAX];
    static codec_write writes[CODEC_WRITES_MAX];
    static codec_tx tx;
    ledger_summary head;
    ledger_head(f.w.l, &head);
    for (uint64_t h = 1; h <= head.height; h++) {
        uint8_t *data = NULL;
        size_t len = 0;
        cr_assert_eq(ledger_get_block(f.w.l, h, &data, &len), LEDGER_OK);
        codec_block b = {.txs = txs, .receipts = receipts, .writes = writes};
        cr_assert_eq(codec_block_decode(data, len, &b, CODEC_BLOCK_TXS_MAX, CODEC_WRITES_MAX, NULL), CODEC_OK);
        for (uint32_t i = 0; i < b.tx_count; i++) {
            if (codec_entry_is_pruned(&b.txs[i]) || codec_tx_decode(b.txs[i].data, b.txs[i].len, &tx, NULL) != CODEC_OK)
                continue;
            if (strcmp(tx.contract.text, contract) || strcmp(tx.method.text, method)
                || (signer && memcmp(tx.signer.bytes, signer->public_key.bytes, 32)))
                continue;
            hash32 id;
            codec_entry_tx_id(&b.txs[i], &id);
            free(data);
            return id;
        }
        free(data);
    }
    cr_assert_fail("no %s.%s in the ledger", contract, method);
    return (hash32){{0}};
}

Test(client_api, blocks_are_read_by_validators_regulators_and_the_auditor_only)
{
    codec_block_entry e[CODEC_BLOCKS_REPLY_MAX];
    uint32_t n = 0;
    codec_client_response r;
    cr_assert_eq(fetch_blocks_as(&f.w.validators[2], server_now, 1, 2, e, &n, &r), CAPI_OK, "%s", r.reason);
    cr_assert_eq(n, 2);
    cr_assert_eq(fetch_blocks_as(&f.w.regulator, server_now, 1, 2, e, &n, &r), CAPI_OK, "%s", r.reason);
    cr_assert_eq(fetch_blocks_as(&auditor, server_now, 1, 2, e, &n, &r), CAPI_OK, "%s", r.reason);
    /* everyone else: DENIED, saying who may */
    const keypair *others[] = {&f.w.sponsor, &f.w.inv_a, &f.w.researcher, &f.w.participants[0]};
    for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
        cr_assert_eq(fetch_blocks_as(others[i], server_now, 1, 2, e, &n, &r), CAPI_DENIED, "key %zu", i);
        cr_assert_not_null(strstr(r.reason, "only a validator, a regulator or the auditor"), "%s", r.reason);
    }
    keypair stranger;
    tcrypto_keypair_generate(&stranger);
    cr_assert_eq(fetch_blocks_as(&stranger, server_now, 1, 2, e, &n, &r), CAPI_DENIED);
}

Test(client_api, unsigned_stale_foreign_and_forged_block_reads_are_refused)
{
    codec_block_entry e[CODEC_BLOCKS_REPLY_MAX];
    uint32_t n = 0;
    codec_client_response r;
    /* no key: the bare blocks request of before issue 19 */
    uint8_t inner[32], req[256];
    codec_buf b = codec_buf_make(inner, sizeof inner);
    cr_assert_eq(codec_blocks_request_encode(1, 4, &b), CODEC_OK);
    codec_buf o = codec_buf_make(req, sizeof req);
    cr_assert_eq(codec_client_request_encode(CLIENT_BLOCKS, b.data, b.len, &o), CODEC_OK);
    cr_assert_eq(call(req, o.len, &r), CAPI_DENIED);
    cr_assert_not_null(strstr(r.reason, "unsigned BLOCKS request"), "%s", r.reason);
    /* stale: outside the skew either way, and a captured request replayed an hour later */
    cr_assert_eq(fetch_blocks_as(&f.w.regulator, server_now - SKEW_MS - 1, 1, 2, e, &n, &r), CAPI_STALE);
    cr_assert_not_null(strstr(r.reason, "behind"), "%s", r.reason);
    cr_assert_eq(fetch_blocks_as(&f.w.regulator, server_now + SKEW_MS + 1, 1, 2, e, &n, &r), CAPI_STALE);
    size_t len = signed_request(&f.w.regulator, ledger_chain_id(f.w.l), server_now, CLIENT_BLOCKS,
                                b.data, b.len, req, sizeof req);
    cr_assert_eq(call(req, len, &r), CAPI_OK, "%s", r.reason);
    server_now += 3600 * 1000;
    cr_assert_eq(call(req, len, &r), CAPI_STALE);
    server_now -= 3600 * 1000;
    /* another chain's signature (a validator of a chain with the same keys, another name) */
    world other;
    cr_assert_eq(world_init(&other, "another-chain"), 0);
    hash32 other_chain;
    tcrypto_sha256(other.genesis, other.genesis_len, &other_chain);
    free(other.genesis);
    len = signed_request(&f.w.regulator, &other_chain, server_now, CLIENT_BLOCKS, b.data, b.len,
                         req, sizeof req);
    cr_assert_eq(call(req, len, &r), CAPI_BAD_SIGNATURE);
    cr_assert_not_null(strstr(r.reason, "signature"), "%s", r.reason);
    /* a flipped signature bit; another key's signature under the regulator's name */
    len = signed_request(&f.w.regulator, ledger_chain_id(f.w.l), server_now, CLIENT_BLOCKS,
                         b.data, b.len, req, sizeof req);
    req[len - 1] ^= 1;
    cr_assert_eq(call(req, len, &r), CAPI_BAD_SIGNATURE);
    len = signed_request(&f.w.sponsor, ledger_chain_id(f.w.l), server_now, CLIENT_BLOCKS, b.data,
                         b.len, req, sizeof req);
    uint8_t *asker = memmem(req, len, f.w.sponsor.public_key.bytes, 32);
    cr_assert_not_null(asker);
    memcpy(asker, f.w.regulator.public_key.bytes, 32);
    cr_assert_eq(call(req, len, &r), CAPI_BAD_SIGNATURE);
    /* the regulator's signature replayed over another request: blocks 1..4 -> 5..8 */
    len = signed_request(&f.w.regulator, ledger_chain_id(f.w.l), server_now, CLIENT_BLOCKS,
                         b.data, b.len, req, sizeof req);
    uint8_t *range = memmem(req, len, b.data, b.len);
    cr_assert_not_null(range);
    range[1] = 5;
    cr_assert_eq(call(req, len, &r), CAPI_BAD_SIGNATURE);
    /* a signed read for RECEIPT sent as BLOCKS */
    uint8_t sr[256];
    size_t slen = client_signed_read(&f.w.regulator, ledger_chain_id(f.w.l), server_now,
                                     CLIENT_RECEIPT, b.data, b.len, sr, sizeof sr);
    o = codec_buf_make(req, sizeof req);
    cr_assert_eq(codec_client_request_encode(CLIENT_BLOCKS, sr, slen, &o), CODEC_OK);
    cr_assert_eq(call(req, o.len, &r), CAPI_BAD_BODY);
}

/* Who reads a receipt: its signer and co-signers, its trial's sponsor, an investigator of
 * its participant's site, a regulator, the auditor, a validator; nobody else. */
Test(client_api, receipts_are_read_by_the_roles_of_their_tx)
{
    const keypair *p0 = &f.w.participants[0], *p1 = &f.w.participants[1];
    hash32 grant = find_tx("consent", "grant", p0);  /* p0, co-signed by site-a */
    hash32 withdraw = find_tx("consent", "withdraw", p1); /* p1 alone (site-a's participant) */
    hash32 anchor = find_tx("data", "anchor", &f.w.inv_b); /* site-b, about its participant */
    hash32 reg = find_tx("protocol", "register", &f.w.sponsor);
    codec_client_response r;
    /* signer, co-signer, sponsor, regulator, auditor, validator */
    cr_assert_eq(receipt_as(p0, server_now, &grant, &r), CAPI_OK, "%s", r.reason);
    cr_assert_eq(receipt_of(&f.w.inv_a, &grant), CAPI_OK, "co-signer");
    cr_assert_eq(receipt_of(&f.w.sponsor, &grant), CAPI_OK, "the trial's sponsor");
    cr_assert_eq(receipt_of(&f.w.regulator, &grant), CAPI_OK);
    cr_assert_eq(receipt_of(&auditor, &grant), CAPI_OK);
    cr_assert_eq(receipt_of(&f.w.validators[1], &grant), CAPI_OK);
    /* the participant's site reads a tx it did not sign; the other site does not */
    cr_assert_eq(receipt_of(&f.w.inv_a, &withdraw), CAPI_OK, "site-a's participant");
    cr_assert_eq(receipt_as(&f.w.inv_b, server_now, &withdraw, &r), CAPI_DENIED);
    cr_assert_not_null(strstr(r.reason, "may not read this receipt"), "%s", r.reason);
    cr_assert_eq(receipt_of(&f.w.inv_b, &anchor), CAPI_OK, "its signer");
    cr_assert_eq(receipt_of(&f.w.inv_a, &anchor), CAPI_DENIED, "another site's anchor");
    /* others: another participant, the researcher, a stranger */
    cr_assert_eq(receipt_of(p1, &grant), CAPI_DENIED);
    cr_assert_eq(receipt_of(&f.w.researcher, &grant), CAPI_DENIED);
    cr_assert_eq(receipt_of(&f.w.researcher, &reg), CAPI_DENIED);
    cr_assert_eq(receipt_of(p0, &reg), CAPI_DENIED);
    cr_assert_eq(receipt_of(&f.w.inv_a, &reg), CAPI_DENIED, "not a participant's tx");
    keypair stranger;
    tcrypto_keypair_generate(&stranger);
    cr_assert_eq(receipt_of(&stranger, &grant), CAPI_DENIED);
    /* no key, a stale time, another chain, a signature lifted onto another id */
    uint8_t req[512];
    codec_buf o = codec_buf_make(req, sizeof req);
    cr_assert_eq(codec_client_request_encode(CLIENT_RECEIPT, grant.bytes, 32, &o), CODEC_OK);
    cr_assert_eq(call(req, o.len, &r), CAPI_DENIED);
    cr_assert_not_null(strstr(r.reason, "unsigned RECEIPT request"), "%s", r.reason);
    cr_assert_eq(receipt_as(p0, server_now - SKEW_MS - 1, &grant, &r), CAPI_STALE);
    world other;
    cr_assert_eq(world_init(&other, "another-chain"), 0);
    hash32 other_chain;
    tcrypto_sha256(other.genesis, other.genesis_len, &other_chain);
    free(other.genesis);
    size_t len = signed_request(p0, &other_chain, server_now, CLIENT_RECEIPT, grant.bytes, 32,
                                req, sizeof req);
    cr_assert_eq(call(req, len, &r), CAPI_BAD_SIGNATURE);
    len = signed_request(p0, ledger_chain_id(f.w.l), server_now, CLIENT_RECEIPT, grant.bytes, 32,
                         req, sizeof req);
    uint8_t *id = memmem(req, len, grant.bytes, 32);
    cr_assert_not_null(id);
    memcpy(id, withdraw.bytes, 32);
    cr_assert_eq(call(req, len, &r), CAPI_BAD_SIGNATURE, "p0's signature over another tx id");
}

/* A pruned tx (a signer with no role) keeps no arguments and no co-signatures: its signer,
 * the regulators, the auditor and the validators read its receipt, its "trial's" sponsor
 * does not (it named a trial in an argument the ledger no longer holds). */
Test(client_api, a_pruned_txs_receipt_is_read_by_its_signer_and_the_ledger_readers)
{
    keypair stranger;
    tcrypto_keypair_generate(&stranger);
    codec_value args[] = {world_text(SCENARIO_TRIAL), world_int(1), world_bytes("x", 1), world_int(1)};
    codec_receipt rc;
    capi_exec_lock(f.api);
    int run = world_run(&f.w, 1000, &stranger, "consent", "grant", args, 4, NULL, 0, &rc);
    capi_exec_unlock(f.api);
    cr_assert_eq(run, 0);
    cr_assert_eq(rc.status, RECEIPT_INVALID, "no role: pruned");
    server_now = f.w.now_ms;
    cr_assert_eq(receipt_of(&stranger, &rc.tx_id), CAPI_OK);
    cr_assert_eq(receipt_of(&f.w.regulator, &rc.tx_id), CAPI_OK);
    cr_assert_eq(receipt_of(&auditor, &rc.tx_id), CAPI_OK);
    cr_assert_eq(receipt_of(&f.w.validators[0], &rc.tx_id), CAPI_OK);
    cr_assert_eq(receipt_of(&f.w.sponsor, &rc.tx_id), CAPI_DENIED);
    cr_assert_eq(receipt_of(&f.w.participants[0], &rc.tx_id), CAPI_DENIED);
}

/* A co-signer reads the receipt of the tx it co-signed, even with no other claim to it (a
 * researcher witnessing a site's anchor: the contract may refuse the tx, its receipt is
 * still the co-signer's to read); the tx's trial's other site does not. */
Test(client_api, a_co_signer_reads_the_receipt_of_what_it_signed)
{
    hash32 h = world_hash("a record");
    codec_value args[] = {world_text(SCENARIO_TRIAL), world_bytes(f.w.participants[3].public_key.bytes, 32),
                          world_int(1), world_int((int64_t)f.w.now_ms), world_bytes(h.bytes, 32),
                          world_int(4096)};
    world_cosig cos = {&f.w.researcher, MEANING_WITNESS};
    codec_receipt rc;
    capi_exec_lock(f.api);
    int run = world_run(&f.w, 1000, &f.w.inv_b, "data", "anchor", args, 6, &cos, 1, &rc);
    capi_exec_unlock(f.api);
    cr_assert_eq(run, 0);
    cr_assert_neq(rc.status, RECEIPT_INVALID, "kept whole (code %u: %s)", rc.error_code, rc.reason);
    server_now = f.w.now_ms;
    cr_assert_eq(receipt_of(&f.w.researcher, &rc.tx_id), CAPI_OK, "the co-signer");
    cr_assert_eq(receipt_of(&f.w.inv_b, &rc.tx_id), CAPI_OK, "the signer");
    cr_assert_eq(receipt_of(&f.w.inv_a, &rc.tx_id), CAPI_DENIED, "the other site");
    cr_assert_eq(receipt_of(&f.w.participants[0], &rc.tx_id), CAPI_DENIED);
}

/* A batch under one signature: an answer per id, in order (found and readable with its
 * receipt reply / not found / denied); the whole request refused when unsigned, stale,
 * forged or for another chain. */
static uint32_t receipts_as(const keypair *k, uint64_t t, const hash32 *chain, const hash32 *ids,
                            uint32_t count, codec_receipts_entry *e, codec_client_response *r)
{
    static uint8_t inner[CODEC_READ_BODY_MAX], req[CODEC_READ_BODY_MAX + 256];
    codec_buf b = codec_buf_make(inner, sizeof inner);
    cr_assert_eq(codec_receipts_request_encode(ids, count, &b), CODEC_OK);
    size_t len = signed_request(k, chain, t, CLIENT_RECEIPTS, b.data, b.len, req, sizeof req);
    uint32_t st = call(req, len, r);
    uint32_t n = 0;
    if (st == CAPI_OK) {
        cr_assert_eq(codec_receipts_reply_decode(r->body.data, r->body.len, e, CODEC_RECEIPTS_BATCH_MAX, &n, NULL), CODEC_OK);
        cr_assert_eq(n, count, "one answer per id");
    }
    return st;
}

Test(client_api, a_batch_of_receipts_answers_each_id_under_one_signature)
{
    const keypair *p0 = &f.w.participants[0];
    hash32 ids[4];
    ids[0] = find_tx("consent", "grant", p0);
    ids[1] = find_tx("protocol", "register", &f.w.sponsor);
    ids[2] = ids[0];
    ids[2].bytes[5] ^= 0x55; /* no such tx */
    ids[3] = find_tx("consent", "withdraw", &f.w.participants[1]);
    static codec_receipts_entry e[CODEC_RECEIPTS_BATCH_MAX];
    codec_client_response r;
    const hash32 *chain = ledger_chain_id(f.w.l);
    cr_assert_eq(receipts_as(&f.w.regulator, server_now, chain, ids, 4, e, &r), CAPI_OK, "%s", r.reason);
    uint32_t want_reg[4] = {CAPI_OK, CAPI_OK, CAPI_NOT_FOUND, CAPI_OK};
    for (int i = 0; i < 4; i++) cr_assert_eq(e[i].status, want_reg[i], "id %d: %s", i, e[i].reason);
    /* each receipt is the receipt file a single RECEIPT gives, and verifies */
    char why[300] = "";
    static uint8_t file[MAX_BYTES];
    memcpy(file, e[0].reply.data, e[0].reply.len);
    cr_assert(proof_verify_receipt(f.w.genesis, f.w.genesis_len, file, e[0].reply.len, why, sizeof why), "%s", why);
    /* p0: its own grant, not the sponsor's registration nor p1's withdrawal */
    cr_assert_eq(receipts_as(p0, server_now, chain, ids, 4, e, &r), CAPI_OK, "%s", r.reason);
    uint32_t want_p0[4] = {CAPI_OK, CAPI_DENIED, CAPI_NOT_FOUND, CAPI_DENIED};
    for (int i = 0; i < 4; i++) cr_assert_eq(e[i].status, want_p0[i], "id %d: %s", i, e[i].reason);
    cr_assert_eq(e[1].reply.len, 0, "a denied id carries no receipt");
    cr_assert_not_null(strstr(e[1].reason, "may not read this receipt"), "%s", e[1].reason);
    /* a full batch of CODEC_RECEIPTS_BATCH_MAX ids: more receipts than this server's reply
     * bound (256 KiB) holds; those that do not fit are answered TOO_LARGE (ask again),
     * in order after those that did, and the reply itself stays within the bound */
    static hash32 many[CODEC_RECEIPTS_BATCH_MAX];
    for (uint32_t i = 0; i < CODEC_RECEIPTS_BATCH_MAX; i++) many[i] = ids[i % 4];
    cr_assert_eq(receipts_as(&auditor, server_now, chain, many, CODEC_RECEIPTS_BATCH_MAX, e, &r), CAPI_OK, "%s", r.reason);
    uint32_t fit = 0, too_large = 0;
    for (uint32_t i = 0; i < CODEC_RECEIPTS_BATCH_MAX; i++) {
        if (i % 4 == 2) {
            cr_assert_eq(e[i].status, CAPI_NOT_FOUND);
        } else if (e[i].status == CAPI_OK) {
            cr_assert_eq(too_large, 0, "id %u fitted after one that did not", i);
            fit++;
        } else {
            cr_assert_eq(e[i].status, CAPI_TOO_LARGE, "id %u: %s", i, e[i].reason);
            too_large++;
        }
    }
    cr_assert_gt(fit, 8, "%u fitted", fit);
    cr_assert_gt(too_large, 0, "%u receipts fitted in 256 KiB?", fit);
    /* refused as a whole: stale, another chain, no key */
    cr_assert_eq(receipts_as(&f.w.regulator, server_now + SKEW_MS + 1, chain, ids, 4, e, &r), CAPI_STALE);
    world other;
    cr_assert_eq(world_init(&other, "another-chain"), 0);
    hash32 other_chain;
    tcrypto_sha256(other.genesis, other.genesis_len, &other_chain);
    free(other.genesis);
    cr_assert_eq(receipts_as(&f.w.regulator, server_now, &other_chain, ids, 4, e, &r), CAPI_BAD_SIGNATURE);
    uint8_t inner[256], req[512];
    codec_buf b = codec_buf_make(inner, sizeof inner), o = codec_buf_make(req, sizeof req);
    cr_assert_eq(codec_receipts_request_encode(ids, 4, &b), CODEC_OK);
    cr_assert_eq(codec_client_request_encode(CLIENT_RECEIPTS, b.data, b.len, &o), CODEC_OK);
    cr_assert_eq(call(req, o.len, &r), CAPI_DENIED);
    cr_assert_not_null(strstr(r.reason, "unsigned RECEIPTS request"), "%s", r.reason);
    /* one id too many is a bad body, not a crash */
    static hash32 too_many[CODEC_RECEIPTS_BATCH_MAX + 1];
    cr_assert_eq(codec_receipts_request_encode(too_many, CODEC_RECEIPTS_BATCH_MAX + 1, &b), CODEC_ERR_COUNT);
}

/* The benchmark's A side only: a node with unsigned_reads answers the bare requests (and
 * still checks a signature when one is there). */
Test(client_api, unsigned_reads_are_answered_only_when_the_node_is_told_to)
{
    capi_config cfg = {.executor = f.w.e, .clock = test_clock, .skew_ms = SKEW_MS,
                       .blocks_max = 8, .unsigned_reads = true};
    capi *open_api = capi_open(&cfg);
    cr_assert_not_null(open_api);
    hash32 id = find_tx("protocol", "register", &f.w.sponsor);
    uint8_t inner[64], req[256];
    codec_buf b = codec_buf_make(inner, sizeof inner), o = codec_buf_make(req, sizeof req);
    cr_assert_eq(codec_receipts_request_encode(&id, 1, &b), CODEC_OK);
    cr_assert_eq(codec_client_request_encode(CLIENT_RECEIPTS, b.data, b.len, &o), CODEC_OK);
    static uint8_t reply[MAX_BYTES];
    size_t len = capi_handle(open_api, req, o.len, reply, sizeof reply);
    codec_client_response r;
    cr_assert_eq(codec_client_response_decode(reply, len, &r, NULL), CODEC_OK);
    cr_assert_eq(r.status, CAPI_OK, "%s", r.reason);
    len = capi_handle(f.api, req, o.len, reply, sizeof reply);
    cr_assert_eq(codec_client_response_decode(reply, len, &r, NULL), CODEC_OK);
    cr_assert_eq(r.status, CAPI_DENIED, "the default node refuses it");
    len = signed_request(&f.w.sponsor, ledger_chain_id(f.w.l), server_now, CLIENT_RECEIPTS, b.data,
                         b.len, req, sizeof req);
    req[len - 1] ^= 1;
    size_t rlen = capi_handle(open_api, req, len, reply, sizeof reply);
    cr_assert_eq(codec_client_response_decode(reply, rlen, &r, NULL), CODEC_OK);
    cr_assert_eq(r.status, CAPI_BAD_SIGNATURE);
    capi_close(open_api);
}

Test(client_api, submit_hands_canonical_txs_to_consensus)
{
    uint8_t tx[CODEC_TX_MAX], req[CODEC_TX_MAX + 64];
    codec_value args[] = {world_text(SCENARIO_TRIAL), world_int(1)};
    size_t len = world_sign(&f.w, &f.w.regulator, WORLD_NEXT_NONCE, NULL, "protocol",
                            "approve", args, 2, NULL, 0, tx, sizeof tx);
    cr_assert_gt(len, 0);
    codec_buf o = codec_buf_make(req, sizeof req);
    cr_assert_eq(codec_client_request_encode(CLIENT_SUBMIT, tx, len, &o), CODEC_OK);
    codec_client_response r;
    cr_assert_eq(call(req, o.len, &r), CAPI_OK, "%s", r.reason);
    cr_assert_eq(atomic_load(&submitted), 1);
    tx[len - 1] ^= 1; /* still canonical (signature bytes): consensus sorts it out */
    o = codec_buf_make(req, sizeof req);
    codec_client_request_encode(CLIENT_SUBMIT, tx, len - 1, &o); /* truncated: not a tx */
    cr_assert_eq(call(req, o.len, &r), CAPI_BAD_BODY);
    cr_assert_not_null(strstr(r.reason, "tx"), "%s", r.reason);
    cr_assert_eq(atomic_load(&submitted), 1);
}

/* Submit one tx signed by the regulator with valid_until (0: the world's default);
 * returns the status, the reason in r. */
static uint32_t submit_valid_until(uint64_t valid_until, uint64_t nonce, codec_client_response *r)
{
    static uint8_t tx[CODEC_TX_MAX], req[CODEC_TX_MAX + 64];
    codec_value args[] = {world_text(SCENARIO_TRIAL), world_int(1)};
    f.w.valid_until = valid_until;
    size_t len = world_sign(&f.w, &f.w.regulator, nonce, NULL, "protocol", "approve", args, 2,
                            NULL, 0, tx, sizeof tx);
    f.w.valid_until = 0;
    cr_assert_gt(len, 0);
    codec_buf o = codec_buf_make(req, sizeof req);
    cr_assert_eq(codec_client_request_encode(CLIENT_SUBMIT, tx, len, &o), CODEC_OK);
    return call(req, o.len, r);
}

/* Issue 16: the node refuses at submit a valid_until in the past or beyond its clock +
 * valid_for_max_ms (1 h) + the genesis clock skew (2 s here), naming the field, and a
 * (signer, nonce) already committed; at the bound itself it accepts. */
Test(client_api, submit_refuses_valid_until_out_of_bounds_and_a_committed_nonce)
{
    codec_client_response r;
    cr_assert_eq(submit_valid_until(server_now, 1000, &r), CAPI_SUBMIT_REFUSED);
    cr_expect_not_null(strstr(r.reason, "tx.valid_until"), "%s", r.reason);
    cr_expect_not_null(strstr(r.reason, "expired"), "%s", r.reason);
    cr_assert_eq(submit_valid_until(server_now - 5000, 1001, &r), CAPI_SUBMIT_REFUSED);
    cr_expect_not_null(strstr(r.reason, "tx.valid_until"), "%s", r.reason);
    codec_rules rules;
    codec_rules_default(&rules);
    uint64_t bound = server_now + rules.valid_for_max_ms + rules.clock_skew_ms;
    cr_assert_eq(submit_valid_until(bound + 1, 1002, &r), CAPI_SUBMIT_REFUSED);
    cr_expect_not_null(strstr(r.reason, "tx.valid_until"), "%s", r.reason);
    cr_expect_not_null(strstr(r.reason, "too far ahead"), "%s", r.reason);
    cr_assert_eq(atomic_load(&submitted), 0, "nothing refused reached consensus");
    cr_assert_eq(submit_valid_until(bound, 1003, &r), CAPI_OK, "%s", r.reason);
    cr_assert_eq(atomic_load(&submitted), 1);
    /* a tx that committed: its (signer, nonce) is refused as a replay, before consensus */
    static uint8_t tx[CODEC_TX_MAX];
    codec_value args[] = {world_text(SCENARIO_TRIAL), world_int(1)};
    size_t len = world_sign(&f.w, &f.w.regulator, 77, NULL, "protocol", "approve", args, 2, NULL,
                            0, tx, sizeof tx);
    codec_receipt rc;
    cr_assert_eq(world_commit(&f.w, 1, &(codec_span){tx, len}, 1, &rc), 0);
    cr_assert_neq(rc.status, RECEIPT_INVALID, "%s", rc.reason);
    server_now = f.w.now_ms;
    cr_assert_eq(submit_valid_until(0, 77, &r), CAPI_SUBMIT_REFUSED);
    cr_expect_not_null(strstr(r.reason, "replay"), "%s", r.reason);
    cr_assert_eq(atomic_load(&submitted), 1);
}

Test(client_api, submit_batch_answers_each_tx_in_order)
{
    static uint8_t tx[2][CODEC_TX_MAX], body[3 * CODEC_TX_MAX], req[3 * CODEC_TX_MAX + 64];
    codec_value a1[] = {world_text(SCENARIO_TRIAL), world_int(1)};
    codec_value a2[] = {world_text(SCENARIO_TRIAL), world_int(2)};
    size_t l1 = world_sign(&f.w, &f.w.regulator, WORLD_NEXT_NONCE, NULL, "protocol", "approve",
                           a1, 2, NULL, 0, tx[0], sizeof tx[0]);
    size_t l2 = world_sign(&f.w, &f.w.regulator, WORLD_NEXT_NONCE, NULL, "protocol", "approve",
                           a2, 2, NULL, 0, tx[1], sizeof tx[1]);
    cr_assert(l1 > 0 && l2 > 0);
    /* good, truncated (not a tx), good */
    codec_span txs[3] = {{tx[0], l1}, {tx[1], l2 - 1}, {tx[1], l2}};
    codec_buf b = codec_buf_make(body, sizeof body);
    cr_assert_eq(codec_submit_batch_encode(txs, 3, &b), CODEC_OK);
    codec_buf o = codec_buf_make(req, sizeof req);
    cr_assert_eq(codec_client_request_encode(CLIENT_SUBMIT_BATCH, b.data, b.len, &o), CODEC_OK);
    codec_client_response r;
    cr_assert_eq(call(req, o.len, &r), CAPI_OK, "%s", r.reason);
    codec_submit_result res[CODEC_SUBMIT_BATCH_MAX];
    uint32_t n = 0;
    cr_assert_eq(codec_submit_results_decode(r.body.data, r.body.len, res, CODEC_SUBMIT_BATCH_MAX,
                                             &n, NULL), CODEC_OK);
    cr_assert_eq(n, 3);
    cr_assert_eq(res[0].status, CAPI_OK);
    cr_assert_eq(res[1].status, CAPI_BAD_BODY);
    cr_assert_not_null(strstr(res[1].reason, "tx"), "%s", res[1].reason);
    cr_assert_eq(res[2].status, CAPI_OK);
    cr_assert_eq(atomic_load(&submitted), 2);
    /* an empty batch, and one that is not an array of bin, are refused as a whole */
    uint8_t empty[] = {0x92, 0x05, 0xc4, 0x01, 0x90};
    cr_assert_eq(call(empty, sizeof empty, &r), CAPI_BAD_BODY);
    cr_assert_not_null(strstr(r.reason, "submit_batch"), "%s", r.reason);
    uint8_t not_bin[] = {0x92, 0x05, 0xc4, 0x02, 0x91, 0x01};
    cr_assert_eq(call(not_bin, sizeof not_bin, &r), CAPI_BAD_BODY);
    cr_assert_eq(atomic_load(&submitted), 2);
}

Test(client_api, submit_batch_and_results_round_trip_within_bounds)
{
    static uint8_t buf[64 * 1024];
    static codec_span txs[CODEC_SUBMIT_BATCH_MAX + 1], back[CODEC_SUBMIT_BATCH_MAX];
    static codec_submit_result res[2], got[2];
    for (uint32_t i = 0; i <= CODEC_SUBMIT_BATCH_MAX; i++)
        txs[i] = (codec_span){(const uint8_t *)"tx", 2};
    codec_buf b = codec_buf_make(buf, sizeof buf);
    cr_assert_eq(codec_submit_batch_encode(txs, CODEC_SUBMIT_BATCH_MAX + 1, &b), CODEC_ERR_COUNT);
    b = codec_buf_make(buf, sizeof buf);
    cr_assert_eq(codec_submit_batch_encode(txs, CODEC_SUBMIT_BATCH_MAX, &b), CODEC_OK);
    uint32_t n = 0;
    codec_error err;
    cr_assert_eq(codec_submit_batch_decode(b.data, b.len, back, 8, &n, &err), CODEC_ERR_COUNT);
    cr_assert_eq(codec_submit_batch_decode(b.data, b.len, back, CODEC_SUBMIT_BATCH_MAX, &n, &err),
                 CODEC_OK);
    cr_assert_eq(n, CODEC_SUBMIT_BATCH_MAX);
    cr_assert(back[7].len == 2 && memcmp(back[7].data, "tx", 2) == 0);
    res[0] = (codec_submit_result){CAPI_OK, ""};
    res[1] = (codec_submit_result){CAPI_SUBMIT_REFUSED, "tx not accepted: nonce"};
    b = codec_buf_make(buf, sizeof buf);
    cr_assert_eq(codec_submit_results_encode(res, 2, &b), CODEC_OK);
    cr_assert_eq(codec_submit_results_decode(b.data, b.len, got, 2, &n, &err), CODEC_OK);
    cr_assert(n == 2 && got[0].status == CAPI_OK && got[0].reason[0] == 0);
    cr_assert(got[1].status == CAPI_SUBMIT_REFUSED && strcmp(got[1].reason, res[1].reason) == 0);
    cr_assert_eq(codec_submit_results_decode(b.data, b.len - 1, got, 2, &n, &err), CODEC_ERR_TRUNCATED);
}

Test(client_api, garbage_and_oversized_requests_do_not_disturb_the_server)
{
    codec_client_response r;
    cr_assert_eq(call("hello", 5, &r), CAPI_BAD_REQUEST);
    cr_assert_not_null(strstr(r.reason, "request"), "%s", r.reason);
    uint8_t unknown_kind[] = {0x92, 0x0a, 0xc4, 0x00};
    cr_assert_eq(call(unknown_kind, sizeof unknown_kind, &r), CAPI_BAD_REQUEST);
    uint8_t truncated[] = {0x92, 0x02, 0xc4, 0x10, 0x01};
    cr_assert_eq(call(truncated, sizeof truncated, &r), CAPI_BAD_REQUEST);
    uint8_t bad_query[] = {0x92, 0x02, 0xc4, 0x01, 0x90};
    cr_assert_eq(call(bad_query, sizeof bad_query, &r), CAPI_BAD_BODY);
    /* oversized: a client that speaks SP over TCP by hand (the handshake of a req peer,
     * then a 1 GiB message header) is cut off by the server's bound, without an answer */
    int port0 = atoi(strrchr(f.url, ':') + 1);
    int sp = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a0 = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port0)};
    a0.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(sp, (struct sockaddr *)&a0, sizeof a0), 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(sp, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const uint8_t hello[8] = {0, 'S', 'P', 0, 0, 0x30, 0, 0}; /* req0 = 48 */
    cr_assert_eq(write(sp, hello, 8), 8);
    uint8_t peer[8];
    cr_assert_eq(read(sp, peer, 8), 8, "the server completes the SP handshake");
    cr_assert_eq(peer[5], 0x31, "it is a rep0 peer");
    const uint8_t huge[16] = {0, 0, 0, 0, 0x40, 0, 0, 0, 0x80, 0, 0, 1, 1, 2, 3, 4};
    cr_assert_eq(write(sp, huge, sizeof huge), (ssize_t)sizeof huge);
    uint8_t junk[64];
    ssize_t got = read(sp, junk, sizeof junk);
    cr_assert(got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK),
              "the server closes the oversized sender (read gave %zd)", got);
    close(sp);
    /* a stranger speaking raw bytes to the port */
    int port = atoi(strrchr(f.url, ':') + 1);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(s, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_gt(write(s, "GET / HTTP/1.0\r\n\r\n\xff\xff\xff\xff", 22), 0);
    close(s);
    /* still serving */
    cr_assert_eq(query(&f.w.regulator, QUERY_TRIAL, NULL), CAPI_OK);
}

#define CLIENTS 8
#define ROUNDS 40

static void *client_thread(void *arg)
{
    intptr_t id = (intptr_t)arg;
    tp_client *c = NULL;
    char why[300];
    if (tp_client_open(f.url, MAX_BYTES, &c, why, sizeof why) != TP_OK) return (void *)1;
    intptr_t failures = 0;
    for (int i = 0; i < ROUNDS; i++) {
        bool allowed = (i + id) % 2 == 0;
        const keypair *k = allowed ? &f.w.regulator : &f.w.researcher;
        uint8_t req[1024];
        size_t len = client_query_request(k, ledger_chain_id(f.w.l), server_now, QUERY_TIMELINE,
                                          &trial, 1, req, sizeof req);
        uint8_t *reply = NULL;
        size_t reply_len = 0;
        if (tp_client_request(c, req, len, TIMEOUT_MS, &reply, &reply_len) != TP_OK) {
            failures++;
            continue;
        }
        codec_client_response r;
        bool ok = codec_client_response_decode(reply, reply_len, &r, NULL) == CODEC_OK
                  && r.status == (allowed ? CAPI_OK : CAPI_DENIED)
                  && (!allowed || (r.body.len == f.timeline_len
                                   && memcmp(r.body.data, f.timeline, r.body.len) == 0));
        failures += !ok;
        tp_free(reply, reply_len);
    }
    tp_client_close(c);
    return (void *)failures;
}

Test(client_api, concurrent_clients_get_their_own_answers)
{
    pthread_t t[CLIENTS];
    for (intptr_t i = 0; i < CLIENTS; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, client_thread, (void *)i), 0);
    intptr_t failures = 0;
    for (int i = 0; i < CLIENTS; i++) {
        void *res;
        pthread_join(t[i], &res);
        failures += (intptr_t)res;
    }
    cr_assert_eq(failures, 0, "%ld wrong or missing answers", (long)failures);
}

/* Run trialctl timeline as key against the server; returns the exit status, output in out. */
static int run_trialctl_timeline(const char *dir, const char *key_name, const char *extra,
                                 char *out, size_t cap)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "'%s/tools/trialctl' timeline --url %s --key %s/%s.key --genesis %s/genesis.bin "
             "--trial %s %s 2>&1",
             TRIALREG_BINARY_DIR, f.url, dir, key_name, dir, SCENARIO_TRIAL, extra);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(client_api, trialctl_timeline_asks_the_node)
{
    char dir[300];
    snprintf(dir, sizeof dir, "%s/keys", f.dir);
    cr_assert_eq(mkdir(dir, 0700), 0);
    char path[400];
    snprintf(path, sizeof path, "%s/regulator.key", dir);
    cr_assert_eq(tcrypto_write_secret_key(path, &f.w.regulator), TCRYPTO_OK);
    snprintf(path, sizeof path, "%s/researcher.key", dir);
    cr_assert_eq(tcrypto_write_secret_key(path, &f.w.researcher), TCRYPTO_OK);
    snprintf(path, sizeof path, "%s/genesis.bin", dir);
    FILE *g = fopen(path, "wb");
    cr_assert_eq(fwrite(f.w.genesis, 1, f.w.genesis_len, g), f.w.genesis_len);
    fclose(g);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    server_now = (uint64_t)ts.tv_sec * 1000u; /* trialctl signs with the real clock */
    static char out[1 << 20];
    cr_assert_eq(run_trialctl_timeline(dir, "regulator", "", out, sizeof out), 0, "%s", out);
    cr_assert_eq(strlen(out), f.timeline_len);
    cr_assert_eq(memcmp(out, f.timeline, f.timeline_len), 0);
    cr_assert_eq(run_trialctl_timeline(dir, "regulator", "--json", out, sizeof out), 0, "%s", out);
    cr_assert_not_null(strstr(out, "\"trial\": \"" SCENARIO_TRIAL "\""), "%s", out);
    cr_assert_not_null(strstr(out, "\"lines\": ["), "%s", out);
    cr_assert_eq(run_trialctl_timeline(dir, "researcher", "", out, sizeof out), 1, "%s", out);
    cr_assert_not_null(strstr(out, "refused (5)"), "a clear refusal: %s", out);
}

Test(client_api, query_codec_is_canonical_and_bounded)
{
    codec_query q = {.asker = f.w.regulator.public_key, .time_ms = 300, .kind = QUERY_TRIAL,
                     .arg_count = 1, .args = {trial}};
    uint8_t buf[512];
    codec_buf b = codec_buf_make(buf, sizeof buf);
    cr_assert_eq(codec_query_encode(&q, &b), CODEC_OK);
    codec_query back;
    cr_assert_eq(codec_query_decode(buf, b.len, &back, NULL), CODEC_OK);
    cr_assert_eq(back.time_ms, 300);
    cr_assert_eq(back.args[0].len, trial.len);
    codec_error err;
    /* trailing byte */
    buf[b.len] = 0;
    cr_assert_eq(codec_query_decode(buf, b.len + 1, &back, &err), CODEC_ERR_TRAILING);
    /* time 300 as uint16 instead of the shortest form: find 0xcd 0x01 0x2c */
    uint8_t *t = memmem(buf, b.len, "\xcd\x01\x2c", 3);
    cr_assert_not_null(t);
    uint8_t wide[520];
    size_t pre = (size_t)(t - buf);
    memcpy(wide, buf, pre);
    memcpy(wide + pre, "\xce\x00\x00\x01\x2c", 5);
    memcpy(wide + pre + 5, t + 3, b.len - pre - 3);
    cr_assert_eq(codec_query_decode(wide, b.len + 2, &back, &err), CODEC_ERR_NONCANONICAL);
    /* too many arguments, empty argument, unknown kind */
    q.arg_count = CODEC_QUERY_ARGS_MAX + 1;
    b = codec_buf_make(buf, sizeof buf);
    cr_assert_eq(codec_query_encode(&q, &b), CODEC_ERR_COUNT);
    q.arg_count = 1;
    q.args[0].len = 0;
    b = codec_buf_make(buf, sizeof buf);
    cr_assert_eq(codec_query_encode(&q, &b), CODEC_OK);
    cr_assert_eq(codec_query_decode(buf, b.len, &back, &err), CODEC_ERR_LENGTH);
    cr_assert_str_eq(err.field, "query.args[]");
    q.args[0] = trial;
    q.kind = 9;
    b = codec_buf_make(buf, sizeof buf);
    cr_assert_eq(codec_query_encode(&q, &b), CODEC_OK);
    cr_assert_eq(codec_query_decode(buf, b.len, &back, &err), CODEC_ERR_RANGE);
}

/* ==== issue 19 items 3-5: timelines by role, reads through grants, the public history ==== */

/* The 16 hex digits the timeline names a participant by ("participant-<hex>"), which also
 * open the participant's key wherever event data carries it. */
static void pseudonym(const keypair *k, char hex[17]) { tcrypto_to_hex(k->public_key.bytes, 8, hex); }

static char timeline_text[MAX_BYTES + 1];

/* The timeline as k reads it (NUL-terminated in timeline_text); returns the status. */
static uint32_t timeline_as(const keypair *k, codec_client_response *r)
{
    uint32_t st = query_as(k, server_now, QUERY_TIMELINE, NULL, r);
    memcpy(timeline_text, r->body.data, r->body.len);
    timeline_text[r->body.len] = '\0';
    return st;
}

/* Participants 0, 1, 2 enrol at site-a and 3, 4, 5 at site-b in the example. */
Test(client_api, timeline_is_filtered_by_role)
{
    codec_client_response r;
    char hex[17];
    /* sponsor and regulator: everything */
    cr_assert_eq(timeline_as(&f.w.sponsor, &r), CAPI_OK, "%s", r.reason);
    cr_assert_eq(r.body.len, f.timeline_len);
    cr_assert_eq(memcmp(r.body.data, f.timeline, f.timeline_len), 0);
    /* site-b: protocol-level events and its own participants only */
    cr_assert_eq(timeline_as(&f.w.inv_b, &r), CAPI_OK, "%s", r.reason);
    cr_assert_lt(r.body.len, f.timeline_len);
    cr_expect_not_null(strstr(timeline_text, "protocol.register by sponsor: OK"));
    cr_expect_not_null(strstr(timeline_text, "protocol.flag.outcomes_changed"));
    cr_expect_not_null(strstr(timeline_text, "outcome.flag.primary_switched"));
    for (int p = 0; p < 6; p++) {
        pseudonym(&f.w.participants[p], hex);
        if (p < 2) cr_expect_null(strstr(timeline_text, hex), "site-b reads site-a's participant %d:\n%s", p, timeline_text);
        else if (p > 2) cr_expect_not_null(strstr(timeline_text, hex), "site-b misses its participant %d", p);
    }
    /* participant 2 (site-a) appears once: in the grant site-b's investigator co-signed
     * (h14, refused WRONG_SITE), a step of site-b's own */
    pseudonym(&f.w.participants[2], hex);
    const char *own = strstr(timeline_text, hex);
    cr_expect_not_null(own);
    cr_expect_not_null(strstr(timeline_text, "+investigator-b(witness): REFUSED 122"));
    cr_expect_null(own ? strstr(own + 16, hex) : NULL, "participant 2 only in site-b's own step");
    cr_expect_null(strstr(timeline_text, "access.request"), "a site does not read the grants");
    cr_expect_null(strstr(timeline_text, "data.anchor by investigator-a"), "nor site-a's records");
    cr_expect_null(strstr(timeline_text, "consent.enrol by investigator-a"), "nor site-a's enrolments");
    /* site-a: the reverse */
    cr_assert_eq(timeline_as(&f.w.inv_a, &r), CAPI_OK, "%s", r.reason);
    for (int p = 0; p < 6; p++) {
        pseudonym(&f.w.participants[p], hex);
        if (p < 3) cr_expect_not_null(strstr(timeline_text, hex), "site-a misses its participant %d", p);
        else cr_expect_null(strstr(timeline_text, hex), "site-a reads site-b's participant %d", p);
    }
    cr_expect_null(strstr(timeline_text, "data.anchor by investigator-b"), "nor site-b's records");
    /* a participant: the protocol-level events and its own records */
    cr_assert_eq(timeline_as(&f.w.participants[1], &r), CAPI_OK, "%s", r.reason);
    cr_expect_not_null(strstr(timeline_text, "protocol.approve by regulator: OK"));
    cr_expect_not_null(strstr(timeline_text, "consent.withdraw by participant-"), "its own withdrawal");
    for (int p = 0; p < 6; p++) {
        pseudonym(&f.w.participants[p], hex);
        if (p == 1) cr_expect_not_null(strstr(timeline_text, hex));
        else cr_expect_null(strstr(timeline_text, hex), "participant 1 reads participant %d:\n%s", p, timeline_text);
    }
    cr_expect_null(strstr(timeline_text, "access.request"));
    cr_expect_null(strstr(timeline_text, "by investigator-b"));
    /* no role in the trial: refused, with the reason */
    cr_assert_eq(timeline_as(&f.w.researcher, &r), CAPI_DENIED);
    cr_expect_not_null(strstr(r.reason, "may not read this timeline"), "%s", r.reason);
    keypair stranger;
    tcrypto_keypair_generate(&stranger);
    cr_assert_eq(timeline_as(&stranger, &r), CAPI_DENIED);
    /* a participant (site-a's p0) tries a protocol step: refused, and about p0, so site-b
     * and another participant do not see it, p0 and site-a do */
    codec_value ap[] = {world_text(SCENARIO_TRIAL), world_int(3)};
    codec_receipt rc;
    cr_assert_eq(world_run(&f.w, 60000, &f.w.participants[0], "protocol", "approve", ap, 2, NULL, 0, &rc), 0);
    cr_assert_eq(rc.status, RECEIPT_REFUSED);
    server_now = f.w.now_ms;
    pseudonym(&f.w.participants[0], hex);
    cr_assert_eq(timeline_as(&f.w.inv_b, &r), CAPI_OK, "%s", r.reason);
    cr_expect_null(strstr(timeline_text, hex), "site-b reads p0's refused protocol step:\n%s", timeline_text);
    cr_assert_eq(timeline_as(&f.w.participants[1], &r), CAPI_OK, "%s", r.reason);
    cr_expect_null(strstr(timeline_text, hex), "participant 1 reads p0's refused protocol step");
    cr_assert_eq(timeline_as(&f.w.participants[0], &r), CAPI_OK, "%s", r.reason);
    cr_expect_not_null(strstr(timeline_text, "protocol.approve by participant-"), "p0 reads its own step");
    cr_assert_eq(timeline_as(&f.w.inv_a, &r), CAPI_OK, "%s", r.reason);
    cr_expect_not_null(strstr(timeline_text, "protocol.approve by participant-"), "site-a reads its participant's step");
}

/* Issue 23: an authority change shows in every trial's timeline, in words, to every
 * reader with a role in it; a revoked key's reads are refused with the height. */
Test(client_api, authority_changes_show_in_the_timeline_and_a_revoked_key_reads_nothing)
{
    hash32 anchored = find_tx("data", "anchor", &f.w.inv_b);
    cr_assert_eq(receipt_of(&f.w.inv_b, &anchored), CAPI_OK, "site-b reads its anchor's receipt");
    codec_value args[] = {world_int(2), world_int(ROLE_INVESTIGATOR), world_bytes("", 0),
                          world_bytes("", 0), world_bytes(f.w.inv_b.public_key.bytes, 32),
                          world_bytes("", 0)};
    world_cosig reg = {&f.w.regulator, MEANING_APPROVAL};
    codec_receipt rc;
    cr_assert_eq(world_run(&f.w, 60000, &f.w.sponsor, "governance", "authority", args, 6, &reg, 1,
                           &rc), 0);
    cr_assert_eq(rc.status, RECEIPT_OK, "%s", rc.reason);
    ledger_summary head;
    ledger_head(f.w.l, &head);
    server_now = f.w.now_ms;
    codec_client_response r;
    const char *words = "event governance.authority: revoked investigator investigator-b at "
                        "site-b key ";
    cr_assert_eq(timeline_as(&f.w.regulator, &r), CAPI_OK, "%s", r.reason);
    cr_expect_not_null(strstr(timeline_text, "governance.authority by sponsor +regulator(approval): OK"),
                       "%s", timeline_text);
    cr_expect_not_null(strstr(timeline_text, words), "%s", timeline_text);
    cr_assert_eq(timeline_as(&f.w.inv_a, &r), CAPI_OK, "%s", r.reason);
    cr_expect_not_null(strstr(timeline_text, words), "a site reads the change");
    cr_assert_eq(timeline_as(&f.w.participants[1], &r), CAPI_OK, "%s", r.reason);
    cr_expect_not_null(strstr(timeline_text, words), "a participant reads the change");
    /* the revoked key: its timeline, receipts and blocks, refused with the height */
    char want[64];
    snprintf(want, sizeof want, "revoked at height %llu", (unsigned long long)head.height);
    cr_assert_eq(timeline_as(&f.w.inv_b, &r), CAPI_DENIED);
    cr_expect_not_null(strstr(r.reason, want), "%s", r.reason);
    cr_assert_eq(receipt_as(&f.w.inv_b, server_now, &anchored, &r), CAPI_DENIED);
    cr_expect_not_null(strstr(r.reason, want), "%s", r.reason);
    /* what it signed before still has its receipt, for those who may read it */
    cr_assert_eq(receipt_of(&f.w.regulator, &anchored), CAPI_OK);
    /* the events read of the change's block: a participant (a key with standing) gets the
     * change; the revoked key is refused */
    uint8_t inner[16], req[512];
    codec_buf b = codec_buf_make(inner, sizeof inner);
    cr_assert_eq(codec_events_request_encode(head.height, &b), CODEC_OK);
    size_t len = signed_request(&f.w.participants[1], ledger_chain_id(f.w.l), server_now,
                                CLIENT_EVENTS, b.data, b.len, req, sizeof req);
    cr_assert_eq(call(req, len, &r), CAPI_OK, "%s", r.reason);
    uint64_t height, time_ms;
    bool certified;
    codec_event_tx txs[2];
    uint32_t n = 0;
    cr_assert_eq(codec_events_reply_decode(r.body.data, r.body.len, &height, &certified, txs, 2,
                                           &n, &time_ms, NULL), CODEC_OK);
    cr_expect_eq(n, 1, "the participant sees the authority change in the events read");
    len = signed_request(&f.w.inv_b, ledger_chain_id(f.w.l), server_now, CLIENT_EVENTS, b.data,
                         b.len, req, sizeof req);
    cr_assert_eq(call(req, len, &r), CAPI_DENIED);
    cr_expect_not_null(strstr(r.reason, want), "%s", r.reason);
}

/* ---- reads through an access grant ---- */

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* The grant page from `from` as k, at time t; decoded into page/rec/rm on CAPI_OK. */
static codec_grant_record grec[CODEC_GRANT_PAGE_MAX];
static codec_grant_removed grm[CODEC_GRANT_PAGE_MAX];

static uint32_t grant_page_as(const keypair *k, const hash32 *chain, uint64_t t, uint64_t grant,
                              uint64_t from, codec_grant_page *page, codec_client_response *r)
{
    uint8_t g[8], c[8], req[1024];
    put_be64(g, grant);
    put_be64(c, from);
    codec_span args[3] = {trial, {g, 8}, {c, 8}};
    size_t len = client_query_request(k, chain, t, QUERY_GRANT, args, 3, req, sizeof req);
    cr_assert_gt(len, 0);
    uint32_t st = call(req, len, r);
    if (st == CAPI_OK)
        cr_assert_eq(codec_grant_reply_decode(r->body.data, r->body.len, page, grec, grm,
                                              CODEC_GRANT_PAGE_MAX, NULL), CODEC_OK);
    return st;
}

/* n main-study records of participant p (labels "bulk p i"), anchored by site in one block. */
static void anchor_many(uint32_t p, const keypair *site, int n)
{
    static uint8_t bufs[200][512];
    static codec_span spans[200];
    static codec_receipt rs[200];
    cr_assert_leq(n, 200);
    uint64_t at = f.w.now_ms + 60000 - 1;
    for (int i = 0; i < n; i++) {
        char label[48];
        snprintf(label, sizeof label, "bulk %u %d", p, i);
        hash32 h = world_hash(label);
        codec_value a[] = {world_text(SCENARIO_TRIAL), world_bytes(f.w.participants[p].public_key.bytes, 32),
                           world_int(SCOPE_MAIN), world_int((int64_t)at), world_bytes(h.bytes, 32),
                           world_int(1000 + i)};
        spans[i].len = world_sign(&f.w, site, WORLD_NEXT_NONCE, NULL, "data", "anchor", a, 6, NULL,
                                  0, bufs[i], sizeof bufs[i]);
        spans[i].data = bufs[i];
    }
    cr_assert_eq(world_commit(&f.w, 60000, spans, (uint32_t)n, rs), 0);
    for (int i = 0; i < n; i++) cr_assert_eq(rs[i].status, RECEIPT_OK, "%s", rs[i].reason);
}

typedef struct {
    uint64_t grant, count;
    uint8_t list_hash[32];
} grant_made;

/* The researcher asks for the main study's records; the access.granted event's fields. */
static grant_made request_main(void)
{
    codec_value a[] = {world_text(SCENARIO_TRIAL), world_int(SCOPE_MAIN), world_text("issue 19")};
    codec_receipt rc;
    cr_assert_eq(world_run(&f.w, 60000, &f.w.researcher, "access", "request", a, 3, NULL, 0, &rc), 0);
    cr_assert_eq(rc.status, RECEIPT_OK, "%s", rc.reason);
    cr_assert_eq(rc.event_count, 1);
    const uint8_t *d = rc.events[0].data + 1 + strlen(SCENARIO_TRIAL);
    grant_made g = {0, 0, {0}};
    for (int i = 0; i < 8; i++) {
        g.grant = g.grant << 8 | d[i];
        g.count = g.count << 8 | d[16 + i];
    }
    memcpy(g.list_hash, d + 24, 32);
    return g;
}

/* Read the whole grant, page by page, as the researcher: the anchors of every position in
 * index order (served and removed) into all; counts of each. Returns the pages read. */
static int read_grant(const grant_made *g, uint8_t *all, uint32_t *served, uint32_t *removed,
                      uint32_t *removed_of_p1)
{
    *served = *removed = *removed_of_p1 = 0;
    uint64_t from = 0;
    int pages = 0;
    static bool seen[512];
    memset(seen, 0, sizeof seen);
    while (from < g->count) {
        codec_grant_page page;
        codec_client_response r;
        cr_assert_eq(grant_page_as(&f.w.researcher, ledger_chain_id(f.w.l), server_now, g->grant,
                                   from, &page, &r), CAPI_OK, "%s", r.reason);
        cr_assert_eq(page.count, g->count);
        cr_assert_arr_eq(page.list_hash.bytes, g->list_hash, 32, "the reply names the committed list hash");
        uint32_t n = page.record_count + page.removed_count;
        cr_assert_eq(n, g->count - from < 64 ? g->count - from : 64, "full pages but the last");
        for (uint32_t i = 0; i < page.record_count; i++) {
            cr_assert(!seen[grec[i].index]);
            seen[grec[i].index] = true;
            memcpy(all + 32 * grec[i].index, grec[i].anchor.bytes, 32);
            cr_assert_eq(grec[i].scope, SCOPE_MAIN);
            bool known = false;
            for (int p = 0; p < 6; p++)
                known |= memcmp(grec[i].participant.bytes, f.w.participants[p].public_key.bytes, 32) == 0;
            cr_assert(known, "a record names its participant's pseudonymous key");
        }
        for (uint32_t i = 0; i < page.removed_count; i++) {
            cr_assert(!seen[grm[i].index]);
            seen[grm[i].index] = true;
            memcpy(all + 32 * grm[i].index, grm[i].anchor.bytes, 32);
            cr_assert_eq(grm[i].why, CODEC_GRANT_WITHDRAWN);
        }
        *served += page.record_count;
        *removed += page.removed_count;
        from += n;
        pages++;
    }
    (void)removed_of_p1;
    return pages;
}

/* Issue 19 item 3: a grant of more than 250 records reads in pages of 64; the list hash of
 * all positions is the committed one; after participant 1 withdraws the main study its
 * records are removed AT ONCE (the next read), named as removed, and the list hash still
 * holds; every answered read is in the read log, which only a regulator reads. */
Test(client_api, researcher_reads_a_grant_in_pages_rechecked_against_consent)
{
    anchor_many(0, &f.w.inv_a, 130);
    anchor_many(1, &f.w.inv_a, 125);
    grant_made g = request_main();
    cr_assert_geq(g.count, 255, "the grant names %llu records", (unsigned long long)g.count);
    server_now = f.w.now_ms;
    static uint8_t all[512 * 32];
    uint32_t served, removed, unused;
    cr_assert_eq(read_grant(&g, all, &served, &removed, &unused), 5);
    cr_assert_eq(served, g.count);
    cr_assert_eq(removed, 0);
    hash32 h;
    tcrypto_sha256(all, g.count * 32, &h);
    cr_assert_arr_eq(h.bytes, g.list_hash, 32, "the served records are exactly the committed list");
    /* participant 1 withdraws the main study: its records leave the grant at once */
    codec_value w[] = {world_text(SCENARIO_TRIAL), world_int(SCOPE_MAIN)};
    codec_receipt rc;
    cr_assert_eq(world_run(&f.w, 60000, &f.w.participants[1], "consent", "withdraw", w, 2, NULL, 0, &rc), 0);
    cr_assert_eq(rc.status, RECEIPT_OK, "%s", rc.reason);
    server_now = f.w.now_ms;
    memset(all, 0, sizeof all);
    cr_assert_eq(read_grant(&g, all, &served, &removed, &unused), 5);
    cr_assert_geq(removed, 125, "participant 1's records are removed");
    cr_assert_eq(served + removed, g.count);
    for (uint64_t from = 0; from < g.count; from += 64) { /* no served record is participant 1's */
        codec_grant_page page;
        codec_client_response r;
        cr_assert_eq(grant_page_as(&f.w.researcher, ledger_chain_id(f.w.l), server_now, g.grant, from, &page, &r), CAPI_OK);
        for (uint32_t i = 0; i < page.record_count; i++)
            cr_assert_neq(memcmp(grec[i].participant.bytes, f.w.participants[1].public_key.bytes, 32), 0);
    }
    tcrypto_sha256(all, g.count * 32, &h);
    cr_assert_arr_eq(h.bytes, g.list_hash, 32, "served + removed still hash to the committed list");
    /* the read log: 15 answered reads so far (5 + 5 + 5), each with the researcher's
     * signed query, which verifies */
    uint8_t req[1024];
    codec_client_response r;
    size_t len = client_query_request(&f.w.regulator, ledger_chain_id(f.w.l), server_now,
                                      QUERY_READ_LOG, &trial, 1, req, sizeof req);
    cr_assert_eq(call(req, len, &r), CAPI_OK, "%s", r.reason);
    uint64_t total = 0, from = 0;
    codec_span entries[CODEC_READ_LOG_REPLY_MAX];
    uint32_t n = 0;
    cr_assert_eq(codec_read_log_reply_decode(r.body.data, r.body.len, &total, &from, entries,
                                             CODEC_READ_LOG_REPLY_MAX, &n, NULL), CODEC_OK);
    cr_assert_eq(total, 15);
    cr_assert_eq(n, 15);
    uint32_t logged_removed = 0;
    for (uint32_t i = 0; i < n; i++) {
        codec_read_log_entry e;
        cr_assert_eq(codec_read_log_entry_decode(entries[i].data, entries[i].len, &e, NULL), CODEC_OK);
        cr_assert_eq(e.grant, g.grant);
        cr_assert_eq(e.from, (i % 5) * 64);
        logged_removed += e.removed;
        codec_query q;
        cr_assert_eq(codec_query_decode(e.query.data, e.query.len, &q, NULL), CODEC_OK);
        cr_assert_eq(memcmp(q.asker.bytes, f.w.researcher.public_key.bytes, 32), 0);
        uint8_t qb[512];
        codec_buf b = codec_buf_make(qb, sizeof qb);
        cr_assert_eq(codec_query_body_encode(&q, &b), CODEC_OK);
        cr_assert(tcrypto_verify(&q.asker, TCRYPTO_TAG_QUERY, ledger_chain_id(f.w.l), b.data, b.len, &q.sig),
                  "the logged query is the researcher's signed request");
    }
    cr_assert_eq(logged_removed, 2 * removed, "the second and third reads logged the removals");
    /* only a regulator reads the log */
    const keypair *not_regulators[] = {&f.w.researcher, &f.w.sponsor, &f.w.inv_a, &f.w.participants[0]};
    for (int i = 0; i < 4; i++) {
        len = client_query_request(not_regulators[i], ledger_chain_id(f.w.l), server_now,
                                   QUERY_READ_LOG, &trial, 1, req, sizeof req);
        cr_assert_eq(call(req, len, &r), CAPI_DENIED, "key %d", i);
        cr_expect_not_null(strstr(r.reason, "read log"), "%s", r.reason);
    }
}

/* Every boundary of the grant read: the right key answered; the wrong keys, a stale or
 * replayed signature, another chain's key refused, each with its reason; refusals are not
 * logged as reads. The example's grant 1 (main study). */
Test(client_api, grant_reads_refuse_every_other_key)
{
    codec_grant_page page;
    codec_client_response r;
    const hash32 *chain = ledger_chain_id(f.w.l);
    cr_assert_eq(grant_page_as(&f.w.researcher, chain, server_now, 1, 0, &page, &r), CAPI_OK, "%s", r.reason);
    cr_assert_eq(page.grant, 1);
    cr_assert_eq(page.scope, SCOPE_MAIN);
    const keypair *others[] = {&f.w.regulator, &f.w.sponsor, &f.w.inv_a, &f.w.participants[0],
                               &f.w.validators[0]};
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(grant_page_as(others[i], chain, server_now, 1, 0, &page, &r), CAPI_DENIED, "key %d", i);
        cr_expect_not_null(strstr(r.reason, "grant's records"), "%s", r.reason);
    }
    keypair stranger;
    tcrypto_keypair_generate(&stranger);
    cr_assert_eq(grant_page_as(&stranger, chain, server_now, 1, 0, &page, &r), CAPI_DENIED);
    /* stale and future */
    cr_assert_eq(grant_page_as(&f.w.researcher, chain, server_now - SKEW_MS - 1, 1, 0, &page, &r), CAPI_STALE);
    cr_expect_not_null(strstr(r.reason, "replayed"), "%s", r.reason);
    cr_assert_eq(grant_page_as(&f.w.researcher, chain, server_now + SKEW_MS + 1, 1, 0, &page, &r), CAPI_STALE);
    /* a captured read replayed an hour later */
    uint8_t g[8], req[1024];
    put_be64(g, 1);
    codec_span args[2] = {trial, {g, 8}};
    size_t len = client_query_request(&f.w.researcher, chain, server_now, QUERY_GRANT, args, 2, req, sizeof req);
    cr_assert_eq(call(req, len, &r), CAPI_OK, "%s", r.reason);
    server_now += 3600 * 1000;
    cr_assert_eq(call(req, len, &r), CAPI_STALE);
    server_now -= 3600 * 1000;
    /* another chain's signature; a flipped signature byte */
    world other;
    cr_assert_eq(world_init(&other, "another-chain"), 0);
    hash32 other_chain;
    tcrypto_sha256(other.genesis, other.genesis_len, &other_chain);
    free(other.genesis);
    cr_assert_eq(grant_page_as(&f.w.researcher, &other_chain, server_now, 1, 0, &page, &r), CAPI_BAD_SIGNATURE);
    cr_expect_not_null(strstr(r.reason, "signature"), "%s", r.reason);
    req[len - 1] ^= 1;
    cr_assert_eq(call(req, len, &r), CAPI_BAD_SIGNATURE);
    /* no such grant, a cursor past the list, a malformed grant number */
    cr_assert_eq(grant_page_as(&f.w.researcher, chain, server_now, 9, 0, &page, &r), CAPI_NOT_FOUND);
    cr_assert_eq(grant_page_as(&f.w.researcher, chain, server_now, 1, 99, &page, &r), CAPI_NOT_FOUND);
    args[1].len = 4;
    len = client_query_request(&f.w.researcher, chain, server_now, QUERY_GRANT, args, 2, req, sizeof req);
    cr_assert_eq(call(req, len, &r), CAPI_BAD_BODY);
    /* the read log holds the two answered reads only */
    len = client_query_request(&f.w.regulator, chain, server_now, QUERY_READ_LOG, &trial, 1, req, sizeof req);
    cr_assert_eq(call(req, len, &r), CAPI_OK, "%s", r.reason);
    uint64_t total = 0, from = 0;
    codec_span entries[CODEC_READ_LOG_REPLY_MAX];
    uint32_t n = 0;
    cr_assert_eq(codec_read_log_reply_decode(r.body.data, r.body.len, &total, &from, entries,
                                             CODEC_READ_LOG_REPLY_MAX, &n, NULL), CODEC_OK);
    cr_assert_eq(total, 2, "answered reads are logged, refusals are not");
}

/* ---- the public history: no key ---- */

static uint8_t public_raw[8][MAX_BYTES];
static size_t public_raw_len[8];

static uint32_t public_page(const char *trial_id, uint64_t from, codec_client_response *r)
{
    uint8_t inner[128], req[160];
    codec_buf b = codec_buf_make(inner, sizeof inner);
    cr_assert_eq(codec_public_request_encode((const uint8_t *)trial_id, strlen(trial_id), from, &b), CODEC_OK);
    codec_buf o = codec_buf_make(req, sizeof req);
    cr_assert_eq(codec_client_request_encode(CLIENT_PUBLIC, b.data, b.len, &o), CODEC_OK);
    return call(req, o.len, r);
}

/* Issue 19 item 5: the protocol-level events of the example (register, 2 amendments with
 * their flag, 3 approvals, 2 activations, the outcome report with its switch flags), each
 * with a receipt that verifies, read with no key; and nothing participant-level in the
 * bytes: no participant's key, key prefix or pseudonym, and no enrolment count (6 < 10). */
Test(client_api, public_history_needs_no_key_and_holds_nothing_participant_level)
{
    static const char *const want[] = {"protocol.register", "protocol.approve", "protocol.activate",
                                       "protocol.activate", "protocol.amend", "protocol.approve",
                                       "protocol.amend", "protocol.approve", "outcomes.report"};
    codec_public_entry e[CODEC_PUBLIC_REPLY_MAX];
    uint64_t from = 0, total = 1;
    uint32_t got = 0, pages = 0;
    while (from < total) {
        codec_client_response r;
        cr_assert_eq(public_page(SCENARIO_TRIAL, from, &r), CAPI_OK, "%s", r.reason);
        cr_assert_lt(pages, 8);
        memcpy(public_raw[pages], r.body.data, r.body.len);
        public_raw_len[pages++] = r.body.len;
        codec_public_page p;
        cr_assert_eq(codec_public_reply_decode(r.body.data, r.body.len, &p, e, CODEC_PUBLIC_REPLY_MAX, NULL), CODEC_OK);
        cr_assert(!p.has_enrolled, "6 enrolled: under the threshold, not published");
        total = p.total;
        cr_assert_gt(p.count, 0);
        for (uint32_t i = 0; i < p.count; i++, got++) {
            cr_assert_lt(got, 9);
            cr_expect_str_eq(e[i].method, want[got]);
            codec_receipt_reply rr;
            cr_assert_eq(codec_receipt_reply_decode(e[i].receipt_reply.data, e[i].receipt_reply.len, &rr, NULL), CODEC_OK);
            char why[300] = "";
            cr_assert(proof_verify_receipt(f.w.genesis, f.w.genesis_len, e[i].receipt_reply.data,
                                           e[i].receipt_reply.len, why, sizeof why),
                      "entry %u: %s", got, why);
            codec_receipt rc;
            cr_assert_eq(codec_receipt_decode(rr.receipt.data, rr.receipt.len, &rc, NULL), CODEC_OK);
            cr_assert_eq(rc.status, RECEIPT_OK);
        }
        from += p.count;
    }
    cr_assert_eq(got, 9, "the example's 9 protocol-level events");
    for (uint32_t pg = 0; pg < pages; pg++) {
        for (int p = 0; p < WORLD_PARTICIPANTS; p++) {
            const uint8_t *k = f.w.participants[p].public_key.bytes;
            char hex[65];
            tcrypto_to_hex(k, 32, hex);
            cr_assert_null(memmem(public_raw[pg], public_raw_len[pg], k, 8), "participant %d's key in page %u", p, pg);
            cr_assert_null(memmem(public_raw[pg], public_raw_len[pg], hex, 16), "participant %d's pseudonym in page %u", p, pg);
        }
        cr_assert_null(memmem(public_raw[pg], public_raw_len[pg], "consent", 7), "no consent tx or event");
        cr_assert_null(memmem(public_raw[pg], public_raw_len[pg], "access", 6), "no grant");
    }
    codec_client_response r;
    /* a new protocol-level event is in the next reply (the index grows with the chain); a
     * refused one and a participant's are not */
    hash32 p2 = world_hash("primary 2");
    codec_value rep[] = {world_text(SCENARIO_TRIAL), world_bytes(p2.bytes, 32), world_bytes("", 0)};
    codec_receipt rc;
    cr_assert_eq(world_run(&f.w, 60000, &f.w.sponsor, "outcomes", "report", rep, 3, NULL, 0, &rc), 0);
    cr_assert_eq(rc.status, RECEIPT_OK, "%s", rc.reason);
    cr_assert_eq(world_run(&f.w, 60000, &f.w.inv_a, "outcomes", "report", rep, 3, NULL, 0, &rc), 0);
    cr_assert_eq(rc.status, RECEIPT_REFUSED);
    codec_value wd[] = {world_text(SCENARIO_TRIAL), world_int(SCOPE_MAIN)};
    cr_assert_eq(world_run(&f.w, 60000, &f.w.participants[0], "consent", "withdraw", wd, 2, NULL, 0, &rc), 0);
    cr_assert_eq(public_page(SCENARIO_TRIAL, 9, &r), CAPI_OK, "%s", r.reason);
    codec_public_page p;
    cr_assert_eq(codec_public_reply_decode(r.body.data, r.body.len, &p, e, CODEC_PUBLIC_REPLY_MAX, NULL), CODEC_OK);
    cr_assert_eq(p.total, 10);
    cr_assert_eq(p.count, 1);
    cr_expect_str_eq(e[0].method, "outcomes.report");
    cr_assert_eq(public_page("NO-SUCH-TRIAL", 0, &r), CAPI_NOT_FOUND);
    cr_assert_eq(public_page(SCENARIO_TRIAL, 11, &r), CAPI_NOT_FOUND);
    uint8_t garbage[] = {0x92, 0x07, 0xc4, 0x01, 0x90};
    cr_assert_eq(call(garbage, sizeof garbage, &r), CAPI_BAD_BODY);
    cr_expect_not_null(strstr(r.reason, "public_request"), "%s", r.reason);
}

/* Run trialctl with args (%s replaced in order: binary dir, url, key dir) and return the
 * exit status; output (stdout and stderr) in out. */
static int run_trialctl(const char *args, char *out, size_t cap)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s/tools/trialctl' %s 2>&1", TRIALREG_BINARY_DIR, args);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* trialctl history (no key), access records (the researcher), access log (a regulator). */
Test(client_api, trialctl_history_access_records_and_access_log)
{
    char dir[300], path[400], args[1500];
    snprintf(dir, sizeof dir, "%s/keys", f.dir);
    cr_assert_eq(mkdir(dir, 0700), 0);
    const keypair *keys[] = {&f.w.regulator, &f.w.researcher};
    const char *names[] = {"regulator", "researcher"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s.key", dir, names[i]);
        cr_assert_eq(tcrypto_write_secret_key(path, keys[i]), TCRYPTO_OK);
    }
    snprintf(path, sizeof path, "%s/genesis.bin", dir);
    FILE *g = fopen(path, "wb");
    cr_assert_eq(fwrite(f.w.genesis, 1, f.w.genesis_len, g), f.w.genesis_len);
    fclose(g);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    server_now = (uint64_t)ts.tv_sec * 1000u; /* trialctl signs with the real clock */
    static char out[1 << 20];
    snprintf(args, sizeof args, "history --url %s --genesis %s/genesis.bin --trial %s --receipts-dir %s",
             f.url, dir, SCENARIO_TRIAL, dir);
    cr_assert_eq(run_trialctl(args, out, sizeof out), 0, "%s", out);
    cr_expect_not_null(strstr(out, "protocol.register tx "), "%s", out);
    cr_expect_not_null(strstr(out, "FLAG  outcome.flag.primary_switched"), "%s", out);
    cr_expect_not_null(strstr(out, "# 9 events, every receipt verified"), "%s", out);
    const char *amend = strstr(out, "protocol.amend tx ");
    cr_assert_not_null(amend, "%s", out);
    cr_expect_not_null(strstr(amend, "\n    FLAG  protocol.flag.outcomes_changed"), "%s", out);
    cr_expect_not_null(strstr(amend, "\n    primary   "), "the amended outcomes are shown: %s", out);
    cr_expect_not_null(strstr(out, "# enrolled: not published (fewer than 10)"), "%s", out);
    char hex[17];
    for (int p = 0; p < WORLD_PARTICIPANTS; p++) {
        pseudonym(&f.w.participants[p], hex);
        cr_expect_null(strstr(out, hex), "participant %d in the public history", p);
    }
    snprintf(args, sizeof args, "verify-receipt --genesis %s/genesis.bin %s/h1.0.receipt", dir, dir);
    cr_assert_eq(run_trialctl(args, out, sizeof out), 0, "a written receipt verifies: %s", out);
    snprintf(args, sizeof args, "history --url %s --genesis %s/genesis.bin --trial NOPE", f.url, dir);
    cr_assert_eq(run_trialctl(args, out, sizeof out), 1, "%s", out);
    cr_expect_not_null(strstr(out, "refused (6)"), "%s", out);
    /* the researcher reads grant 1; a regulator may not */
    snprintf(args, sizeof args, "access records --url %s --key %s/researcher.key --genesis %s/genesis.bin --trial %s --grant 1",
             f.url, dir, dir, SCENARIO_TRIAL);
    cr_assert_eq(run_trialctl(args, out, sizeof out), 0, "%s", out);
    cr_expect_not_null(strstr(out, "matches the grant's"), "%s", out);
    snprintf(args, sizeof args, "access records --url %s --key %s/researcher.key --genesis %s/genesis.bin --trial %s --grant 1 --json",
             f.url, dir, dir, SCENARIO_TRIAL);
    cr_assert_eq(run_trialctl(args, out, sizeof out), 0, "%s", out);
    cr_expect_not_null(strstr(out, "\"list_hash_matches\": true"), "%s", out);
    cr_expect_not_null(strstr(out, "\"records\": ["), "%s", out);
    snprintf(args, sizeof args, "history --url %s --genesis %s/genesis.bin --trial %s --json", f.url, dir, SCENARIO_TRIAL);
    cr_assert_eq(run_trialctl(args, out, sizeof out), 0, "%s", out);
    cr_expect_not_null(strstr(out, "\"enrolled\": null"), "%s", out);
    cr_expect_not_null(strstr(out, "\"method\": \"protocol.amend\""), "%s", out);
    cr_expect_not_null(strstr(out, "\"primary\": ["), "%s", out);
    snprintf(args, sizeof args, "access records --url %s --key %s/regulator.key --genesis %s/genesis.bin --trial %s --grant 1",
             f.url, dir, dir, SCENARIO_TRIAL);
    cr_assert_eq(run_trialctl(args, out, sizeof out), 1, "%s", out);
    cr_expect_not_null(strstr(out, "refused (5)"), "%s", out);
    /* the regulator reads the log: the two answered reads, their signatures checked */
    snprintf(args, sizeof args, "access log --url %s --key %s/regulator.key --genesis %s/genesis.bin --trial %s",
             f.url, dir, dir, SCENARIO_TRIAL);
    cr_assert_eq(run_trialctl(args, out, sizeof out), 0, "%s", out);
    cr_expect_not_null(strstr(out, "2 reads through access grants"), "%s", out);
    cr_expect_not_null(strstr(out, "grant 1"), "%s", out);
    cr_expect_not_null(strstr(out, " signed"), "%s", out);
    snprintf(args, sizeof args, "access log --url %s --key %s/researcher.key --genesis %s/genesis.bin --trial %s",
             f.url, dir, dir, SCENARIO_TRIAL);
    cr_assert_eq(run_trialctl(args, out, sizeof out), 1, "%s", out);
    cr_expect_not_null(strstr(out, "refused (5)"), "%s", out);
    snprintf(args, sizeof args, "access records --url %s --genesis %s/genesis.bin --trial %s --grant 1",
             f.url, dir, SCENARIO_TRIAL);
    cr_assert_eq(run_trialctl(args, out, sizeof out), 2, "no key: usage: %s", out);
}

/* The boundaries every signed read of issue 19 shares (GRANT, READ_LOG, the filtered
 * TIMELINE), each with its reason: the right key answered; a stale and a future time, a
 * query replayed an hour later, another chain's signature, a flipped signature byte, and a
 * query with no key (the all-zero asker and signature) refused. */
Test(client_api, issue_19_signed_reads_refuse_stale_foreign_and_keyless_queries)
{
    uint8_t g[8];
    put_be64(g, 1);
    const struct {
        codec_query_kind kind;
        const keypair *key;
        uint32_t nargs;
    } reads[] = {{QUERY_GRANT, &f.w.researcher, 2}, {QUERY_READ_LOG, &f.w.regulator, 1},
                 {QUERY_TIMELINE, &f.w.inv_b, 1}, {QUERY_TIMELINE, &f.w.participants[3], 1}};
    world other;
    cr_assert_eq(world_init(&other, "another-chain"), 0);
    hash32 other_chain;
    tcrypto_sha256(other.genesis, other.genesis_len, &other_chain);
    free(other.genesis);
    const hash32 *chain = ledger_chain_id(f.w.l);
    for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
        codec_span args[2] = {trial, {g, 8}};
        uint8_t req[1024];
        codec_client_response r;
        size_t len = client_query_request(reads[i].key, chain, server_now, reads[i].kind, args,
                                          reads[i].nargs, req, sizeof req);
        cr_assert_eq(call(req, len, &r), CAPI_OK, "read %zu: %s", i, r.reason);
        server_now += 3600 * 1000; /* replayed an hour later */
        cr_assert_eq(call(req, len, &r), CAPI_STALE, "read %zu", i);
        cr_expect_not_null(strstr(r.reason, "replayed or skewed"), "%s", r.reason);
        server_now -= 3600 * 1000;
        len = client_query_request(reads[i].key, chain, server_now - SKEW_MS - 1, reads[i].kind,
                                   args, reads[i].nargs, req, sizeof req);
        cr_assert_eq(call(req, len, &r), CAPI_STALE, "read %zu", i);
        len = client_query_request(reads[i].key, chain, server_now + SKEW_MS + 1, reads[i].kind,
                                   args, reads[i].nargs, req, sizeof req);
        cr_assert_eq(call(req, len, &r), CAPI_STALE, "read %zu", i);
        len = client_query_request(reads[i].key, &other_chain, server_now, reads[i].kind, args,
                                   reads[i].nargs, req, sizeof req);
        cr_assert_eq(call(req, len, &r), CAPI_BAD_SIGNATURE, "read %zu", i);
        cr_expect_not_null(strstr(r.reason, "signature does not verify on this chain"), "%s", r.reason);
        len = client_query_request(reads[i].key, chain, server_now, reads[i].kind, args,
                                   reads[i].nargs, req, sizeof req);
        req[len - 1] ^= 1;
        cr_assert_eq(call(req, len, &r), CAPI_BAD_SIGNATURE, "read %zu", i);
        /* no key: a query whose asker and signature are zero */
        codec_query q = {.time_ms = server_now, .kind = reads[i].kind, .arg_count = reads[i].nargs,
                         .args = {trial, {g, 8}}};
        uint8_t inner[512];
        codec_buf b = codec_buf_make(inner, sizeof inner);
        cr_assert_eq(codec_query_encode(&q, &b), CODEC_OK);
        codec_buf o = codec_buf_make(req, sizeof req);
        cr_assert_eq(codec_client_request_encode(CLIENT_QUERY, b.data, b.len, &o), CODEC_OK);
        cr_assert_eq(call(req, o.len, &r), CAPI_BAD_SIGNATURE, "read %zu without a key", i);
    }
}

/* The issue 19 structures decode what they encode and refuse what their bounds exclude,
 * naming the field: an index outside its page, more positions than the page, an unknown
 * removal reason, a published enrolment under the threshold, entries past the total. */
Test(client_api, issue_19_codecs_round_trip_and_enforce_their_bounds)
{
    static uint8_t buf[64 * 1024];
    static codec_grant_record rec[CODEC_GRANT_PAGE_MAX], rec2[CODEC_GRANT_PAGE_MAX];
    static codec_grant_removed rm[CODEC_GRANT_PAGE_MAX], rm2[CODEC_GRANT_PAGE_MAX];
    codec_grant_page p = {.grant = 3, .scope = 1, .count = 100, .from = 64, .record_count = 2,
                          .removed_count = 1};
    rec[0] = (codec_grant_record){.index = 64, .scope = 1, .collected_at = 5, .size = 9};
    rec[1] = (codec_grant_record){.index = 99, .scope = 1};
    rm[0] = (codec_grant_removed){.index = 70, .why = CODEC_GRANT_RECONSENT};
    codec_buf b = codec_buf_make(buf, sizeof buf);
    cr_assert_eq(codec_grant_reply_encode(&p, rec, rm, &b), CODEC_OK);
    codec_grant_page back;
    codec_error err;
    cr_assert_eq(codec_grant_reply_decode(buf, b.len, &back, rec2, rm2, CODEC_GRANT_PAGE_MAX, &err), CODEC_OK);
    cr_assert(back.record_count == 2 && back.removed_count == 1 && rec2[1].index == 99 && rm2[0].why == 2);
    rec[1].index = 100; /* past the list */
    b = codec_buf_make(buf, sizeof buf);
    cr_assert_eq(codec_grant_reply_encode(&p, rec, rm, &b), CODEC_OK);
    cr_assert_eq(codec_grant_reply_decode(buf, b.len, &back, rec2, rm2, CODEC_GRANT_PAGE_MAX, &err), CODEC_ERR_RANGE);
    cr_assert_str_eq(err.field, "grant_reply.records[].index");
    rec[1].index = 99;
    rm[0].why = 3;
    b = codec_buf_make(buf, sizeof buf);
    cr_assert_eq(codec_grant_reply_encode(&p, rec, rm, &b), CODEC_OK);
    cr_assert_eq(codec_grant_reply_decode(buf, b.len, &back, rec2, rm2, CODEC_GRANT_PAGE_MAX, &err), CODEC_ERR_RANGE);
    rm[0].why = 1;
    p.count = 66; /* a page of 2 positions carrying 3 */
    b = codec_buf_make(buf, sizeof buf);
    rec[1].index = 65;
    cr_assert_eq(codec_grant_reply_encode(&p, rec, rm, &b), CODEC_OK);
    cr_assert_eq(codec_grant_reply_decode(buf, b.len, &back, rec2, rm2, CODEC_GRANT_PAGE_MAX, &err), CODEC_ERR_RANGE,
                 "index 70 lies outside the page 64..65");
    rm[0].index = 65;
    b = codec_buf_make(buf, sizeof buf);
    cr_assert_eq(codec_grant_reply_encode(&p, rec, rm, &b), CODEC_OK);
    cr_assert_eq(codec_grant_reply_decode(buf, b.len, &back, rec2, rm2, CODEC_GRANT_PAGE_MAX, &err), CODEC_ERR_COUNT);
    /* public reply: an enrolment under the threshold is refused, entries past the total too */
    codec_public_entry e[1] = {{"protocol.register", {buf, 3}}};
    codec_public_page pp = {.total = 1, .from = 0, .has_enrolled = true, .enrolled = CODEC_PUBLIC_COUNT_MIN - 1, .count = 1};
    static uint8_t pb[1024];
    codec_public_entry eb[CODEC_PUBLIC_REPLY_MAX];
    codec_public_page pback;
    b = codec_buf_make(pb, sizeof pb);
    cr_assert_eq(codec_public_reply_encode(&pp, e, &b), CODEC_OK);
    cr_assert_eq(codec_public_reply_decode(pb, b.len, &pback, eb, CODEC_PUBLIC_REPLY_MAX, &err), CODEC_ERR_RANGE);
    pp.enrolled = CODEC_PUBLIC_COUNT_MIN;
    b = codec_buf_make(pb, sizeof pb);
    cr_assert_eq(codec_public_reply_encode(&pp, e, &b), CODEC_OK);
    cr_assert_eq(codec_public_reply_decode(pb, b.len, &pback, eb, CODEC_PUBLIC_REPLY_MAX, &err), CODEC_OK);
    cr_assert(pback.has_enrolled && pback.enrolled == CODEC_PUBLIC_COUNT_MIN);
    cr_assert_str_eq(eb[0].method, "protocol.register");
    pp.total = 0;
    pp.from = 0;
    b = codec_buf_make(pb, sizeof pb);
    cr_assert_eq(codec_public_reply_encode(&pp, e, &b), CODEC_OK);
    cr_assert_eq(codec_public_reply_decode(pb, b.len, &pback, eb, CODEC_PUBLIC_REPLY_MAX, &err), CODEC_ERR_COUNT);
    /* read log reply: entries past the total */
    codec_span le[2] = {{buf, 4}, {buf, 4}};
    b = codec_buf_make(pb, sizeof pb);
    cr_assert_eq(codec_read_log_reply_encode(1, 0, le, 2, &b), CODEC_OK);
    uint64_t total, from;
    uint32_t n;
    codec_span lb[CODEC_READ_LOG_REPLY_MAX];
    cr_assert_eq(codec_read_log_reply_decode(pb, b.len, &total, &from, lb, CODEC_READ_LOG_REPLY_MAX, &n, &err), CODEC_ERR_COUNT);
}

/* ==== issue 20: the timeline in pages, a grant read over HTTP (its RFC 9421 evidence) ==== */

static codec_timeline_entry tl_entries[CODEC_TIMELINE_PAGE_MAX];

/* One timeline page from height `from` as k (decoded into page and tl_entries on OK). */
static uint32_t timeline_page_as(const keypair *k, uint64_t from, codec_timeline_page *page,
                                 codec_client_response *r)
{
    uint8_t c[8], req[1024];
    put_be64(c, from);
    codec_span args[2] = {trial, {c, 8}};
    size_t len = client_query_request(k, ledger_chain_id(f.w.l), server_now, QUERY_TIMELINE_PAGE,
                                      args, 2, req, sizeof req);
    cr_assert_gt(len, 0);
    uint32_t st = call(req, len, r);
    if (st == CAPI_OK)
        cr_assert_eq(codec_timeline_page_decode(r->body.data, r->body.len, page, tl_entries,
                                                CODEC_TIMELINE_PAGE_MAX, NULL), CODEC_OK);
    return st;
}

/* Lines of a text timeline that are txs ("h<height>.<index> ..."). */
static uint32_t text_txs(const char *text)
{
    uint32_t n = 0;
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        n += p[0] == 'h';
    return n;
}

/* Every page of the timeline as k from height 1: the (height, index) of each entry into
 * at (strictly in commit order across pages, each page's entries below its next height and
 * at or above its from); returns the entries, *pages the pages. */
static uint32_t timeline_pages_as(const keypair *k, uint64_t *at, uint32_t cap, int *pages)
{
    uint32_t n = 0;
    uint64_t from = 1;
    codec_timeline_page page = {.next_height = 1, .head_height = 0};
    codec_client_response r;
    for (*pages = 0; *pages == 0 || page.next_height <= page.head_height; (*pages)++) {
        cr_assert_lt(*pages, 100);
        cr_assert_eq(timeline_page_as(k, from, &page, &r), CAPI_OK, "%s", r.reason);
        cr_assert_gt(page.next_height, from, "every page moves on");
        for (uint32_t i = 0; i < page.count; i++) {
            uint64_t key = tl_entries[i].height << 16 | tl_entries[i].index;
            cr_assert_geq(tl_entries[i].height, from);
            cr_assert(n == 0 || key > at[n - 1], "entries in commit order, no block twice");
            cr_assert_lt(n, cap);
            at[n++] = key;
            codec_tx tx;
            cr_assert_eq(codec_tx_decode(tl_entries[i].tx.data, tl_entries[i].tx.len, &tx, NULL), CODEC_OK);
            cr_assert_eq(tl_entries[i].name_count, 1 + tx.cosig_count);
        }
        from = page.next_height;
    }
    return n;
}

/* Issue 20 item 1: the timeline's txs in pages, structured: a page ends between blocks
 * (here at the reply's byte bound: the nng reply holds 256 KiB), the pages together hold
 * exactly the txs the text timeline shows each role (the same exec_tx_visible filter), and
 * the signer is named with its role. */
Test(client_api, the_timeline_in_pages_holds_what_each_role_may_see_in_whole_blocks)
{
    anchor_many(0, &f.w.inv_a, 200);
    anchor_many(1, &f.w.inv_a, 200);
    server_now = f.w.now_ms;
    static uint64_t reg[2048], site_b[2048], p1[2048];
    int pages;
    codec_client_response r;
    uint32_t n = timeline_pages_as(&f.w.regulator, reg, 2048, &pages);
    cr_assert_eq(timeline_as(&f.w.regulator, &r), CAPI_OK);
    cr_assert_eq(n, text_txs(timeline_text), "the regulator's pages hold the whole timeline");
    cr_assert_geq(pages, 2, "400 anchors do not fit one 256 KiB reply: %d pages", pages);
    uint32_t nb = timeline_pages_as(&f.w.inv_b, site_b, 2048, &pages);
    cr_assert_eq(timeline_as(&f.w.inv_b, &r), CAPI_OK);
    cr_assert_eq(nb, text_txs(timeline_text), "site-b's pages hold what its text timeline shows");
    cr_assert_lt(nb, n - 400, "site-b does not see site-a's 400 anchors");
    uint32_t np = timeline_pages_as(&f.w.participants[1], p1, 2048, &pages);
    cr_assert_eq(timeline_as(&f.w.participants[1], &r), CAPI_OK);
    cr_assert_eq(np, text_txs(timeline_text), "participant 1's pages hold what its text shows");
    /* the first page starts with the registration, signed by the sponsor, named */
    codec_timeline_page page;
    cr_assert_eq(timeline_page_as(&f.w.regulator, 1, &page, &r), CAPI_OK, "%s", r.reason);
    cr_assert_gt(page.count, 0);
    cr_assert_eq(tl_entries[0].height, 1);
    cr_assert(tl_entries[0].names[0].known);
    cr_assert_eq(tl_entries[0].names[0].role, ROLE_SPONSOR);
    cr_assert_leq(page.next_height, page.head_height, "the first page is not the whole timeline");
    uint64_t boundary = page.next_height;
    cr_assert_eq(tl_entries[page.count - 1].height < boundary, true);
    cr_assert_eq(timeline_page_as(&f.w.regulator, boundary, &page, &r), CAPI_OK);
    cr_assert_eq(tl_entries[0].height, boundary, "the next page starts with the block the last one left");
    cr_assert_eq(tl_entries[0].index, 0, "and with the block's first tx");
    /* the head + 1 is an empty, complete page; past it, 0 and a short cursor are refused */
    cr_assert_eq(timeline_page_as(&f.w.regulator, page.head_height + 1, &page, &r), CAPI_OK);
    cr_assert_eq(page.count, 0);
    cr_assert_eq(timeline_page_as(&f.w.regulator, page.head_height + 2, &page, &r), CAPI_NOT_FOUND);
    cr_assert_eq(timeline_page_as(&f.w.regulator, 0, &page, &r), CAPI_NOT_FOUND);
    uint8_t req[1024], c[4] = {0};
    codec_span args[2] = {trial, {c, 4}};
    size_t len = client_query_request(&f.w.regulator, ledger_chain_id(f.w.l), server_now,
                                      QUERY_TIMELINE_PAGE, args, 2, req, sizeof req);
    cr_assert_eq(call(req, len, &r), CAPI_BAD_BODY);
    cr_expect_not_null(strstr(r.reason, "timeline page"), "%s", r.reason);
    /* no role in the trial */
    cr_assert_eq(timeline_page_as(&f.w.researcher, 1, &page, &r), CAPI_DENIED);
}

/* The timeline page's decoder is strict: entries in commit order, below next_height, and
 * next_height at most head + 1. */
Test(client_api, the_timeline_page_codec_is_strict)
{
    uint8_t tx[] = {1, 2, 3}, rc[] = {4, 5};
    static codec_timeline_entry e[3], back[3];
    for (int i = 0; i < 3; i++)
        e[i] = (codec_timeline_entry){.height = 2, .index = (uint32_t)i, .time_ms = 7, .tx = {tx, 3},
                                      .receipt = {rc, 2}, .name_count = 1};
    e[1].name_count = 2;
    e[1].names[1] = (codec_key_name){.known = true, .role = ROLE_REGULATOR};
    snprintf(e[1].names[1].name.text, sizeof e[1].names[1].name.text, "reg");
    codec_timeline_page p = {.next_height = 3, .head_height = 5, .count = 3}, q;
    uint8_t buf[512];
    codec_buf b = codec_buf_make(buf, sizeof buf);
    cr_assert_eq(codec_timeline_page_encode(&p, e, &b), CODEC_OK);
    cr_assert_eq(codec_timeline_page_decode(buf, b.len, &q, back, 3, NULL), CODEC_OK);
    cr_assert_eq(q.count, 3);
    cr_assert_str_eq(back[1].names[1].name.text, "reg");
    cr_assert(!back[1].names[0].known);
    cr_assert_eq(codec_timeline_page_decode(buf, b.len, &q, back, 2, NULL), CODEC_ERR_COUNT);
    codec_error err;
    e[2].index = 1; /* twice the same tx */
    b = codec_buf_make(buf, sizeof buf);
    cr_assert_eq(codec_timeline_page_encode(&p, e, &b), CODEC_OK);
    cr_assert_eq(codec_timeline_page_decode(buf, b.len, &q, back, 3, &err), CODEC_ERR_ORDER);
    e[2].index = 2;
    p.next_height = 2; /* entries at height 2 are not below it */
    b = codec_buf_make(buf, sizeof buf);
    cr_assert_eq(codec_timeline_page_encode(&p, e, &b), CODEC_OK);
    cr_assert_eq(codec_timeline_page_decode(buf, b.len, &q, back, 3, &err), CODEC_ERR_ORDER);
    p.next_height = 7; /* past head + 1 */
    b = codec_buf_make(buf, sizeof buf);
    cr_assert_eq(codec_timeline_page_encode(&p, e, &b), CODEC_OK);
    cr_assert_eq(codec_timeline_page_decode(buf, b.len, &q, back, 3, &err), CODEC_ERR_RANGE);
}

/* An HTTP query (CLIENT_HTTP_QUERY) for grant 1's page `from`: the researcher's zero-signed
 * GRANT query with, as its evidence, signer's RFC 9421 signature of `target` at created_s. */
static uint32_t http_grant_read(const keypair *asker, const keypair *signer, const char *target,
                                int64_t created_s, uint64_t from, codec_client_response *r,
                                bool flip_signature)
{
    uint8_t g[8], c[8], qb[512], eb[2048], hb[4096], req[4400];
    put_be64(g, 1);
    put_be64(c, from);
    codec_query q = {.asker = asker->public_key, .time_ms = server_now, .kind = QUERY_GRANT,
                     .arg_count = 3, .args = {trial, {g, 8}, {c, 8}}};
    codec_buf b = codec_buf_make(qb, sizeof qb);
    cr_assert_eq(codec_query_encode(&q, &b), CODEC_OK);
    codec_span query = {qb, b.len};
    static codec_http_evidence ev;
    memset(&ev, 0, sizeof ev);
    char path[300];
    snprintf(path, sizeof path, "%s", target);
    char *qs = strchr(path, '?');
    if (qs) *qs++ = '\0';
    httpsig_request rq = {"GET", path, qs, "localhost", NULL, NULL};
    cr_assert(httpsig_sign(&rq, false, signer, ledger_chain_id(f.w.l), created_s, ev.signature_input,
                           sizeof ev.signature_input, ev.signature, sizeof ev.signature));
    if (flip_signature) ev.signature[8] = ev.signature[8] == 'A' ? 'B' : 'A';
    snprintf(ev.method, sizeof ev.method, "GET");
    snprintf(ev.target, sizeof ev.target, "%s", target);
    snprintf(ev.authority, sizeof ev.authority, "localhost");
    b = codec_buf_make(eb, sizeof eb);
    cr_assert_eq(codec_http_evidence_encode(&ev, &b), CODEC_OK);
    codec_span http = {eb, b.len};
    b = codec_buf_make(hb, sizeof hb);
    cr_assert_eq(codec_http_query_encode(&query, &http, &b), CODEC_OK);
    codec_buf o = codec_buf_make(req, sizeof req);
    cr_assert_eq(codec_client_request_encode(CLIENT_HTTP_QUERY, b.data, b.len, &o), CODEC_OK);
    return call(req, o.len, r);
}

static uint64_t read_log_total(codec_span *entries, uint32_t *n)
{
    uint8_t req[1024];
    codec_client_response r;
    size_t len = client_query_request(&f.w.regulator, ledger_chain_id(f.w.l), server_now,
                                      QUERY_READ_LOG, &trial, 1, req, sizeof req);
    cr_assert_eq(call(req, len, &r), CAPI_OK, "%s", r.reason);
    uint64_t total = 0, from = 0;
    cr_assert_eq(codec_read_log_reply_decode(r.body.data, r.body.len, &total, &from, entries,
                                             CODEC_READ_LOG_REPLY_MAX, n, NULL), CODEC_OK);
    return total;
}

#define GRANT_1 "/v1/trials/" SCENARIO_TRIAL "/grants/1/records"

/* Issue 20 item 2: a grant read whose signature is the researcher's RFC 9421 HTTP request:
 * the node verifies that evidence itself (key, chain tag, time, the target naming exactly
 * this page), answers the page and logs the evidence (read log form 2), which verifies
 * later with nothing but the researcher's key and the chain id; every other evidence is
 * refused and not logged. */
Test(client_api, a_grant_read_signed_over_http_is_verified_and_logged_as_evidence)
{
    codec_client_response r;
    int64_t now_s = (int64_t)(server_now / 1000);
    cr_assert_eq(http_grant_read(&f.w.researcher, &f.w.researcher, GRANT_1 "?from=0", now_s, 0, &r, false),
                 CAPI_OK, "%s", r.reason);
    codec_grant_page page;
    cr_assert_eq(codec_grant_reply_decode(r.body.data, r.body.len, &page, grec, grm, CODEC_GRANT_PAGE_MAX, NULL), CODEC_OK);
    cr_assert_eq(page.grant, 1);
    cr_assert_eq(http_grant_read(&f.w.researcher, &f.w.researcher, GRANT_1, now_s, 0, &r, false),
                 CAPI_OK, "no ?from is page 0: %s", r.reason);
    /* refused: a flipped signature, another key's signature, another page's target, another
     * trial's, a stale one; the sponsor signing for itself has no grant */
    cr_assert_eq(http_grant_read(&f.w.researcher, &f.w.researcher, GRANT_1 "?from=0", now_s, 0, &r, true),
                 CAPI_BAD_SIGNATURE);
    cr_expect_not_null(strstr(r.reason, "does not verify"), "%s", r.reason);
    cr_assert_eq(http_grant_read(&f.w.researcher, &f.w.sponsor, GRANT_1 "?from=0", now_s, 0, &r, false),
                 CAPI_BAD_SIGNATURE);
    cr_assert_eq(http_grant_read(&f.w.researcher, &f.w.researcher, GRANT_1 "?from=1", now_s, 0, &r, false),
                 CAPI_BAD_SIGNATURE);
    cr_expect_not_null(strstr(r.reason, "not this page"), "%s", r.reason);
    cr_assert_eq(http_grant_read(&f.w.researcher, &f.w.researcher, "/v1/trials/OTHER/grants/1/records", now_s, 0, &r, false),
                 CAPI_BAD_SIGNATURE);
    cr_assert_eq(http_grant_read(&f.w.researcher, &f.w.researcher, GRANT_1, now_s - 120, 0, &r, false), CAPI_STALE);
    cr_assert_eq(http_grant_read(&f.w.sponsor, &f.w.sponsor, GRANT_1, now_s, 0, &r, false), CAPI_DENIED);
    /* the log: the two answered reads, form 2, each verifying offline */
    codec_span entries[CODEC_READ_LOG_REPLY_MAX];
    uint32_t n = 0;
    cr_assert_eq(read_log_total(entries, &n), 2, "answered reads are logged, refusals are not");
    for (uint32_t i = 0; i < n; i++) {
        codec_read_log_entry e;
        cr_assert_eq(codec_read_log_entry_decode(entries[i].data, entries[i].len, &e, NULL), CODEC_OK);
        cr_assert_eq(e.query.len, 0);
        cr_assert_gt(e.http.len, 0, "form 2: the HTTP evidence");
        static codec_http_evidence ev;
        cr_assert_eq(codec_http_evidence_decode(e.http.data, e.http.len, &ev, NULL), CODEC_OK);
        pubkey key;
        char why[256];
        cr_assert(httpsig_verify_recorded(ev.signature_input, ev.signature, ev.method, ev.target, ev.authority,
                                          ledger_chain_id(f.w.l), NULL, 0, &key, why, sizeof why), "%s", why);
        cr_assert_eq(memcmp(key.bytes, f.w.researcher.public_key.bytes, 32), 0);
        cr_assert(codec_http_grant_target_matches(ev.target, trial.data, trial.len, e.grant, e.from));
        ev.target[strlen(ev.target) - 1] ^= 1; /* an edited log entry no longer verifies */
        cr_assert(!httpsig_verify_recorded(ev.signature_input, ev.signature, ev.method, ev.target, ev.authority,
                                           ledger_chain_id(f.w.l), NULL, 0, &key, why, sizeof why));
    }
    /* the read log entry codec: exactly one form */
    codec_read_log_entry both = {1, 1, 0, 0, 0, {(const uint8_t *)"q", 1}, {(const uint8_t *)"h", 1}};
    uint8_t buf[64];
    codec_buf b = codec_buf_make(buf, sizeof buf);
    cr_assert_neq(codec_read_log_entry_encode(&both, &b), CODEC_OK);
}

/* trialctl access log shows and verifies both forms, and fails on an entry whose HTTP
 * evidence does not verify. */
Test(client_api, trialctl_access_log_verifies_both_forms_of_evidence)
{
    char dir[300], path[400], args[1500];
    snprintf(dir, sizeof dir, "%s/keys", f.dir);
    cr_assert_eq(mkdir(dir, 0700), 0);
    snprintf(path, sizeof path, "%s/regulator.key", dir);
    cr_assert_eq(tcrypto_write_secret_key(path, &f.w.regulator), TCRYPTO_OK);
    snprintf(path, sizeof path, "%s/genesis.bin", dir);
    FILE *g = fopen(path, "wb");
    cr_assert_eq(fwrite(f.w.genesis, 1, f.w.genesis_len, g), f.w.genesis_len);
    fclose(g);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    server_now = (uint64_t)ts.tv_sec * 1000u; /* trialctl signs with the real clock */
    codec_grant_page page;
    codec_client_response r;
    cr_assert_eq(grant_page_as(&f.w.researcher, ledger_chain_id(f.w.l), server_now, 1, 0, &page, &r), CAPI_OK, "%s", r.reason);
    cr_assert_eq(http_grant_read(&f.w.researcher, &f.w.researcher, GRANT_1 "?from=0", (int64_t)(server_now / 1000), 0, &r, false),
                 CAPI_OK, "%s", r.reason);
    static char out[1 << 16];
    snprintf(args, sizeof args, "access log --url %s --key %s/regulator.key --genesis %s/genesis.bin --trial %s",
             f.url, dir, dir, SCENARIO_TRIAL);
    cr_assert_eq(run_trialctl(args, out, sizeof out), 0, "%s", out);
    cr_expect_not_null(strstr(out, "2 reads through access grants"), "%s", out);
    cr_expect_not_null(strstr(out, " signed query"), "form 1: %s", out);
    cr_expect_not_null(strstr(out, " signed over HTTP (RFC 9421) GET " GRANT_1 "?from=0"), "form 2: %s", out);
    snprintf(args, sizeof args, "access log --url %s --key %s/regulator.key --genesis %s/genesis.bin --trial %s --json",
             f.url, dir, dir, SCENARIO_TRIAL);
    cr_assert_eq(run_trialctl(args, out, sizeof out), 0, "%s", out);
    cr_expect_not_null(strstr(out, "\"form\": \"http\""), "%s", out);
    /* a form 2 entry whose evidence names another page than the entry: not verified */
    codec_span entries[CODEC_READ_LOG_REPLY_MAX];
    uint32_t n = 0;
    cr_assert_eq(read_log_total(entries, &n), 2);
    codec_read_log_entry e;
    cr_assert_eq(codec_read_log_entry_decode(entries[1].data, entries[1].len, &e, NULL), CODEC_OK);
    e.from = 64;
    uint8_t buf[CODEC_READ_LOG_ENTRY_MAX];
    codec_buf b = codec_buf_make(buf, sizeof buf);
    cr_assert_eq(codec_read_log_entry_encode(&e, &b), CODEC_OK);
    uint64_t seq;
    ledger_error lerr = {0};
    capi_exec_lock(f.api);
    cr_assert_eq(ledger_read_log_append(exec_ledger(f.w.e), trial.data, trial.len, b.data, b.len, &seq, &lerr), LEDGER_OK);
    capi_exec_unlock(f.api);
    snprintf(args, sizeof args, "access log --url %s --key %s/regulator.key --genesis %s/genesis.bin --trial %s",
             f.url, dir, dir, SCENARIO_TRIAL);
    cr_assert_eq(run_trialctl(args, out, sizeof out), 1, "%s", out);
    cr_expect_not_null(strstr(out, "does NOT verify"), "%s", out);
}
