/*
 * test_httpsig.c - RFC 9421 signatures and RFC 9530 digests: the RFC's own Ed25519 example
 * verifies byte for byte; our profile's signatures verify and every boundary refuses.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "httpsig.h"

typedef struct {
    const char *names[8];
    const char *values[8];
} fields;

static const char *lookup(void *ctx, const char *name)
{
    fields *f = ctx;
    for (int i = 0; i < 8 && f->names[i]; i++)
        if (strcmp(f->names[i], name) == 0) return f->values[i];
    return NULL;
}

static void setup(void) { cr_assert_eq(tcrypto_init(), TCRYPTO_OK); }

TestSuite(httpsig, .init = setup);

/* RFC 9421 Appendix B.2.6: the test-request, signed with test-key-ed25519 (B.1.4). */
static fields b26_fields = {{"date", "content-type", "content-length", "content-digest"},
                            {"Tue, 20 Apr 2021 02:07:55 GMT", "application/json", "18",
                             "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrI"
                             "iYllu7BNNyealdVLvRwEmTHWXvJwew==:"}};
static const httpsig_request b26_request = {"POST", "/foo", "param=Value&Pet=dog",
                                            "example.com", lookup, &b26_fields};
static const char B26_INPUT[] = "sig-b26=(\"date\" \"@method\" \"@path\" \"@authority\" "
                                "\"content-type\" \"content-length\");created=1618884473;"
                                "keyid=\"test-key-ed25519\"";
static const char B26_SIGNATURE[] = "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1"
                                    "u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:";
static const char B26_BASE[] =
    "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n"
    "\"@method\": POST\n"
    "\"@path\": /foo\n"
    "\"@authority\": example.com\n"
    "\"content-type\": application/json\n"
    "\"content-length\": 18\n"
    "\"@signature-params\": (\"date\" \"@method\" \"@path\" \"@authority\" \"content-type\" "
    "\"content-length\");created=1618884473;keyid=\"test-key-ed25519\"";

static pubkey b26_key(void)
{
    pubkey k;
    cr_assert(tcrypto_from_hex("26b40b8f93fff3d897112f7ebc582b232dbd72517d082fe83cfb30ddce43d1bb",
                               64, k.bytes, 32));
    return k;
}

Test(httpsig, the_rfc_9421_ed25519_example_builds_its_base_and_verifies)
{
    httpsig_input in;
    char why[200], base[2048];
    cr_assert(httpsig_parse(B26_INPUT, B26_SIGNATURE, &in, why, sizeof why), "%s", why);
    cr_expect_str_eq(in.label, "sig-b26");
    cr_expect_eq(in.created, 1618884473);
    cr_expect_str_eq(in.keyid, "test-key-ed25519");
    size_t len = httpsig_base(&in, &b26_request, base, sizeof base, why, sizeof why);
    cr_assert_gt(len, 0, "%s", why);
    cr_expect_str_eq(base, B26_BASE);
    pubkey k = b26_key();
    cr_expect(httpsig_verify(&in, &b26_request, &k, why, sizeof why), "%s", why);
    /* the same signature over a changed request does not verify */
    httpsig_request other = b26_request;
    other.path = "/fop";
    cr_expect_not(httpsig_verify(&in, &other, &k, why, sizeof why));
    cr_expect(strstr(why, "does not verify") != NULL, "%s", why);
}

Test(httpsig, the_signature_params_are_reserialized_canonically)
{
    httpsig_input in;
    char why[200];
    /* extra spaces inside the list and after ';' are not part of the canonical form */
    static const char loose[] = "sig-b26=(  \"date\" \"@method\" \"@path\" \"@authority\" "
                                "\"content-type\" \"content-length\" );created=1618884473; "
                                "keyid=\"test-key-ed25519\"";
    cr_assert(httpsig_parse(loose, B26_SIGNATURE, &in, why, sizeof why), "%s", why);
    pubkey k = b26_key();
    cr_expect(httpsig_verify(&in, &b26_request, &k, why, sizeof why), "%s", why);
}

Test(httpsig, rfc_9530_content_digest)
{
    static const char body[] = "{\"hello\": \"world\"}\n";
    char d[80];
    httpsig_content_digest(body, strlen(body), d, sizeof d);
    cr_expect_str_eq(d, "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:");
    cr_expect(httpsig_content_digest_matches(
        "sha-512=:YMAam51Jz/jOATT6/zvHrLVgOYTGFy1d6GJiOHTohq4yP+pgk4vf2aCsyRZOtw8MjkM7iw7yZ/WkppmM44T3qg==:, "
        "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:", body, strlen(body)));
    cr_expect_not(httpsig_content_digest_matches(d, "{}", 2));
    cr_expect_not(httpsig_content_digest_matches("sha-256=:AAAA:", body, strlen(body)));
}

/* ---- the project's profile ---------------------------------------------------------------- */

static keypair alice;
static hash32 chain;
static fields body_fields = {{"content-digest"}, {NULL}};
static char digest[80];

static httpsig_request signed_post(void)
{
    static const char body[] = "{\"txs\":[]}";
    httpsig_content_digest(body, strlen(body), digest, sizeof digest);
    body_fields.values[0] = digest;
    return (httpsig_request){"POST", "/v1/txs", NULL, "localhost:8080", lookup, &body_fields};
}

static void sign(const httpsig_request *rq, bool body, int64_t created, const hash32 *on,
                 httpsig_input *in)
{
    char input[600], sig[200], why[200];
    cr_assert(httpsig_sign(rq, body, &alice, on, created, input, sizeof input, sig, sizeof sig));
    cr_assert(httpsig_parse(input, sig, in, why, sizeof why), "%s", why);
}

static void keys(void)
{
    uint8_t seed[32] = {7};
    tcrypto_keypair_from_seed(seed, &alice);
    tcrypto_sha256("chain", 5, &chain);
}

Test(httpsig, a_profile_signature_verifies_and_names_its_key)
{
    keys();
    httpsig_request rq = signed_post();
    httpsig_input in;
    sign(&rq, true, 1764000000, &chain, &in);
    pubkey k;
    char why[200];
    cr_assert(httpsig_check_profile(&in, &chain, 1764000010, 30, true, &k, why, sizeof why), "%s", why);
    cr_expect_arr_eq(k.bytes, alice.public_key.bytes, 32);
    cr_expect(httpsig_verify(&in, &rq, &k, why, sizeof why), "%s", why);
    /* a GET with a query signs @query */
    httpsig_request get = {"GET", "/v1/blocks", "from=3&count=10", "localhost", lookup, &body_fields};
    sign(&get, false, 1764000000, &chain, &in);
    cr_expect(httpsig_verify(&in, &get, &k, why, sizeof why), "%s", why);
    get.query = "from=4&count=10";
    cr_expect_not(httpsig_verify(&in, &get, &k, why, sizeof why), "the query is covered");
}

Test(httpsig, the_profile_refuses_another_chain_a_stale_time_and_an_unsigned_body)
{
    keys();
    httpsig_request rq = signed_post();
    httpsig_input in;
    pubkey k;
    char why[200];
    hash32 other;
    tcrypto_sha256("other chain", 11, &other);
    sign(&rq, true, 1764000000, &other, &in);
    cr_expect_not(httpsig_check_profile(&in, &chain, 1764000000, 30, true, &k, why, sizeof why));
    cr_expect(strstr(why, "not this chain's") != NULL, "%s", why);
    sign(&rq, true, 1764000000, &chain, &in);
    cr_expect_not(httpsig_check_profile(&in, &chain, 1764000031, 30, true, &k, why, sizeof why));
    cr_expect(strstr(why, "stale") != NULL, "%s", why);
    sign(&rq, false, 1764000000, &chain, &in); /* a body, but content-digest not covered */
    cr_expect_not(httpsig_check_profile(&in, &chain, 1764000000, 30, true, &k, why, sizeof why));
    cr_expect(strstr(why, "content-digest") != NULL, "%s", why);
    cr_expect_not(httpsig_parse(NULL, NULL, &in, why, sizeof why));
    cr_expect(strstr(why, "not signed") != NULL, "%s", why);
}

Test(httpsig, another_key_a_missing_field_and_malformed_fields_are_refused)
{
    keys();
    httpsig_request rq = signed_post();
    httpsig_input in;
    char why[200];
    sign(&rq, true, 1764000000, &chain, &in);
    keypair bob;
    uint8_t seed[32] = {9};
    tcrypto_keypair_from_seed(seed, &bob);
    cr_expect_not(httpsig_verify(&in, &rq, &bob.public_key, why, sizeof why));
    fields none = {{NULL}, {NULL}};
    httpsig_request bare = rq;
    bare.ctx = &none;
    cr_expect_not(httpsig_verify(&in, &bare, &alice.public_key, why, sizeof why));
    cr_expect(strstr(why, "lacks") != NULL, "%s", why);
    static const char *bad_inputs[] = {
        "sig1=\"@method\"", "sig1=(\"@method\" \"@method\")", "sig1=(\"@method\";req)",
        "=(\"@method\")", "sig1=(\"@method\");created=12x", "sig1=(\"@met\\hod\")"};
    for (size_t i = 0; i < sizeof bad_inputs / sizeof *bad_inputs; i++)
        cr_expect_not(httpsig_parse(bad_inputs[i], "sig1=:AAAA:", &in, why, sizeof why), "%s", bad_inputs[i]);
    cr_expect_not(httpsig_parse("sig1=(\"@method\")", "sig1=:AAAA:", &in, why, sizeof why));
    cr_expect(strstr(why, "64 bytes") != NULL, "%s", why);
    cr_expect_not(httpsig_parse("sig1=(\"@method\")", "sig2=:AAAA:", &in, why, sizeof why));
}
