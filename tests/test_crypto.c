/*
 * test_crypto.c - hashing, domain-separated signatures and key files.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"

static char dir[256];

static void setup(void)
{
    cr_assert_eq(tcrypto_init(), TCRYPTO_OK);
    snprintf(dir, sizeof dir, "/tmp/trialreg-test-crypto-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(crypto, .init = setup, .fini = teardown);

static void path_of(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

Test(crypto, sha256_matches_the_fips_vector)
{
    hash32 h;
    tcrypto_sha256("abc", 3, &h);
    char hex[65];
    tcrypto_to_hex(h.bytes, 32, hex);
    cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    tcrypto_sha256_state st;
    tcrypto_sha256_init(&st);
    tcrypto_sha256_update(&st, "a", 1);
    tcrypto_sha256_update(&st, "bc", 2);
    hash32 h2;
    tcrypto_sha256_final(&st, &h2);
    cr_assert_arr_eq(h.bytes, h2.bytes, 32);
}

Test(crypto, signature_binds_tag_chain_and_body)
{
    keypair k, other;
    uint8_t seed[32] = {1};
    tcrypto_keypair_from_seed(seed, &k);
    tcrypto_keypair_generate(&other);
    hash32 chain = {{1, 2, 3}}, chain2 = {{1, 2, 4}};
    const char body[] = "canonical body";
    signature sig;
    cr_assert_eq(tcrypto_sign(&k, TCRYPTO_TAG_TX, &chain, body, sizeof body, &sig), TCRYPTO_OK);
    cr_assert(tcrypto_verify(&k.public_key, TCRYPTO_TAG_TX, &chain, body, sizeof body, &sig));
    cr_assert_not(tcrypto_verify(&k.public_key, TCRYPTO_TAG_COSIG, &chain, body, sizeof body, &sig));
    cr_assert_not(tcrypto_verify(&k.public_key, TCRYPTO_TAG_TX, &chain2, body, sizeof body, &sig));
    cr_assert_not(tcrypto_verify(&k.public_key, TCRYPTO_TAG_TX, &chain, body, sizeof body - 1, &sig));
    cr_assert_not(tcrypto_verify(&other.public_key, TCRYPTO_TAG_TX, &chain, body, sizeof body, &sig));
    sig.bytes[10] ^= 1;
    cr_assert_not(tcrypto_verify(&k.public_key, TCRYPTO_TAG_TX, &chain, body, sizeof body, &sig));
}

Test(crypto, same_seed_gives_same_key_and_signature)
{
    uint8_t seed[32] = {9, 9, 9};
    keypair a, b;
    tcrypto_keypair_from_seed(seed, &a);
    tcrypto_keypair_from_seed(seed, &b);
    cr_assert_arr_eq(a.public_key.bytes, b.public_key.bytes, 32);
    hash32 chain = {{0}};
    signature s1, s2;
    tcrypto_sign(&a, TCRYPTO_TAG_COMMIT, &chain, "x", 1, &s1);
    tcrypto_sign(&b, TCRYPTO_TAG_COMMIT, &chain, "x", 1, &s2);
    cr_assert_arr_eq(s1.bytes, s2.bytes, 64);
}

Test(crypto, oversized_body_is_refused)
{
    keypair k;
    tcrypto_keypair_generate(&k);
    hash32 chain = {{0}};
    size_t len = TCRYPTO_SIGNED_BODY_MAX + 1;
    uint8_t *big = calloc(1, len);
    signature sig;
    cr_assert_eq(tcrypto_sign(&k, TCRYPTO_TAG_TX, &chain, big, len, &sig), TCRYPTO_ERR_TOO_LONG);
    cr_assert_not(tcrypto_verify(&k.public_key, TCRYPTO_TAG_TX, &chain, big, len, &sig));
    free(big);
}

Test(crypto, key_files_round_trip_with_mode_0600)
{
    char sec[300], pub[300];
    path_of(sec, sizeof sec, "k.key");
    path_of(pub, sizeof pub, "k.pub");
    keypair k, back;
    pubkey pk;
    tcrypto_keypair_generate(&k);
    cr_assert_eq(tcrypto_write_secret_key(sec, &k), TCRYPTO_OK);
    cr_assert_eq(tcrypto_write_public_key(pub, &k.public_key), TCRYPTO_OK);
    struct stat st;
    cr_assert_eq(stat(sec, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    cr_assert_eq(tcrypto_read_secret_key(sec, &back), TCRYPTO_OK);
    cr_assert_arr_eq(back.seed, k.seed, 32);
    cr_assert_eq(tcrypto_read_public_key(pub, &pk), TCRYPTO_OK);
    cr_assert_arr_eq(pk.bytes, k.public_key.bytes, 32);
    cr_assert_eq(tcrypto_write_secret_key(sec, &k), TCRYPTO_ERR_EXISTS);
}

Test(crypto, secret_key_readable_by_others_is_refused)
{
    char sec[300];
    path_of(sec, sizeof sec, "open.key");
    keypair k, back;
    tcrypto_keypair_generate(&k);
    cr_assert_eq(tcrypto_write_secret_key(sec, &k), TCRYPTO_OK);
    cr_assert_eq(chmod(sec, 0644), 0);
    memset(&back, 0xaa, sizeof back);
    cr_assert_eq(tcrypto_read_secret_key(sec, &back), TCRYPTO_ERR_PERMISSIONS);
    cr_assert_eq(back.seed[0], 0xaa, "output must be untouched on failure");
    cr_assert_eq(chmod(sec, 0640), 0);
    cr_assert_eq(tcrypto_read_secret_key(sec, &back), TCRYPTO_ERR_PERMISSIONS);
}

static void write_text(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

Test(crypto, malformed_key_files_are_refused)
{
    char p[300];
    keypair k;
    pubkey pk;
    path_of(p, sizeof p, "bad.key");
    write_text(p, "not a key\n", 0600);
    cr_assert_eq(tcrypto_read_secret_key(p, &k), TCRYPTO_ERR_FORMAT);
    write_text(p, "trialreg-ed25519-secret-v1\nseed zz\npublic 00\n", 0600);
    cr_assert_eq(tcrypto_read_secret_key(p, &k), TCRYPTO_ERR_FORMAT);
    /* a seed whose public key line belongs to another key */
    keypair a, b;
    tcrypto_keypair_generate(&a);
    tcrypto_keypair_generate(&b);
    char sh[65], ph[65], text[256];
    tcrypto_to_hex(a.seed, 32, sh);
    tcrypto_to_hex(b.public_key.bytes, 32, ph);
    snprintf(text, sizeof text, "trialreg-ed25519-secret-v1\nseed %s\npublic %s\n", sh, ph);
    write_text(p, text, 0600);
    cr_assert_eq(tcrypto_read_secret_key(p, &k), TCRYPTO_ERR_MISMATCH);
    path_of(p, sizeof p, "bad.pub");
    write_text(p, "trialreg-ed25519-public-v1 abcd\n", 0644);
    cr_assert_eq(tcrypto_read_public_key(p, &pk), TCRYPTO_ERR_FORMAT);
    write_text(p, "trialreg-ed25519-public-v1 " "00112233445566778899aabbccddeeff"
                  "00112233445566778899aabbccddeeff trailing\n", 0644);
    cr_assert_eq(tcrypto_read_public_key(p, &pk), TCRYPTO_ERR_FORMAT);
    path_of(p, sizeof p, "missing.pub");
    cr_assert_eq(tcrypto_read_public_key(p, &pk), TCRYPTO_ERR_IO);
    cr_assert_eq(tcrypto_read_public_key(dir, &pk), TCRYPTO_ERR_FORMAT, "a directory is no key");
}

Test(crypto, hex_parsing_is_strict)
{
    uint8_t out[2];
    cr_assert(tcrypto_from_hex("aBc1", 4, out, 2));
    cr_assert_eq(out[0], 0xab);
    cr_assert_not(tcrypto_from_hex("abc", 3, out, 2));
    cr_assert_not(tcrypto_from_hex("abcg", 4, out, 2));
}
