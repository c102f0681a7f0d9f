/*
 * test_config.c - node configuration files: round trip, path resolution and
 * a clear error naming the field (or the JSON line) for every bad file.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "testutil.h"

static char dir[256];

static void setup(void) { tu_tempdir(dir, "config"); }
static void teardown(void) { tu_rmdir(dir); }
TestSuite(config, .init = setup, .fini = teardown);

static void write_file(const char *name, const char *text, char *path)
{
    snprintf(path, 512, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static const char GOOD[] =
    "{\"node\": 2, \"listen\": \"tcp://127.0.0.1:7102\", \"client\": \"tcp://127.0.0.1:7202\",\n"
    " \"peers\": [\"tcp://a:1\", \"tcp://b:1\", \"tcp://c:1\", \"tcp://d:1\"],\n"
    " \"data_dir\": \"data\", \"key_file\": \"../keys/v.key\", \"genesis_file\": \"/abs/genesis.bin\"}\n";

Test(config, a_good_file_loads_with_defaults_and_resolved_paths)
{
    char path[512], why[300];
    write_file("good.json", GOOD, path);
    config_node c;
    cr_assert_eq(config_load(path, &c, why, sizeof why), 0, "%s", why);
    cr_assert_eq(c.node, 2);
    cr_assert_eq(c.peer_count, 4);
    cr_assert_str_eq(c.peers[3], "tcp://d:1");
    char want[600];
    snprintf(want, sizeof want, "%s/data", dir);
    cr_assert_str_eq(c.data_dir, want);
    snprintf(want, sizeof want, "%s/../keys/v.key", dir);
    cr_assert_str_eq(c.key_file, want);
    cr_assert_str_eq(c.genesis_file, "/abs/genesis.bin");
    cr_assert_eq(c.batch_max_txs, 256);
    cr_assert_str_eq(c.log_level, "info");
}

Test(config, save_then_load_round_trips)
{
    config_node c, back;
    config_defaults(&c);
    c.node = 1;
    c.peer_count = 4;
    for (int i = 0; i < 4; i++) snprintf(c.peers[i], sizeof c.peers[i], "tcp://127.0.0.1:%d", 7100 + i);
    snprintf(c.listen, sizeof c.listen, "%s", c.peers[1]);
    snprintf(c.client, sizeof c.client, "tcp://127.0.0.1:7201");
    snprintf(c.data_dir, sizeof c.data_dir, "/d");
    snprintf(c.key_file, sizeof c.key_file, "/k");
    snprintf(c.next_key_file, sizeof c.next_key_file, "/k2"); /* a rotation's key */
    snprintf(c.genesis_file, sizeof c.genesis_file, "/g");
    c.view_timeout_ms = 777;
    snprintf(c.http, sizeof c.http, "127.0.0.1:7265");
    c.envelope_ttl_max_ms = 120000;
    c.envelopes_max = 32;
    c.envelope_bytes_max = 65536;
    char path[512], why[300];
    snprintf(path, sizeof path, "%s/saved.json", dir);
    cr_assert_eq(config_save(path, &c, why, sizeof why), 0, "%s", why);
    cr_assert_eq(config_save(path, &c, why, sizeof why), -1, "never overwrites");
    cr_assert_eq(config_load(path, &back, why, sizeof why), 0, "%s", why);
    cr_assert_str_eq(back.path, path, "the config knows the file it came from (re-read)");
    snprintf(c.path, sizeof c.path, "%s", path);
    cr_assert_eq(memcmp(&c, &back, sizeof c), 0);
    cr_assert(!config_uses_tls(&back));
    /* with TLS: the two files round trip too */
    for (int i = 0; i < 4; i++) snprintf(c.peers[i], sizeof c.peers[i], "tls+tcp://127.0.0.1:%d", 7100 + i);
    snprintf(c.listen, sizeof c.listen, "%s", c.peers[1]);
    snprintf(c.client, sizeof c.client, "tls+tcp://127.0.0.1:7201");
    snprintf(c.tls_cert_key_file, sizeof c.tls_cert_key_file, "/tls/validator-1.pem");
    snprintf(c.tls_ca_file, sizeof c.tls_ca_file, "/tls/ca.pem");
    snprintf(path, sizeof path, "%s/saved-tls.json", dir);
    cr_assert_eq(config_save(path, &c, why, sizeof why), 0, "%s", why);
    cr_assert_eq(config_load(path, &back, why, sizeof why), 0, "%s", why);
    cr_assert_str_eq(back.path, path, "the config knows the file it came from (re-read)");
    snprintf(c.path, sizeof c.path, "%s", path);
    cr_assert_eq(memcmp(&c, &back, sizeof c), 0);
    cr_assert(config_uses_tls(&back));
}

static void expect_refusal(const char *text, const char *needle)
{
    char path[512], why[300];
    write_file("bad.json", text, path);
    config_node c;
    memset(&c, 0x5a, sizeof c);
    cr_assert_eq(config_load(path, &c, why, sizeof why), -1, "accepted: %s", text);
    cr_assert(strstr(why, needle) != NULL, "message '%s' lacks '%s'", why, needle);
    cr_assert(strstr(why, "bad.json") != NULL, "the file is named: %s", why);
    cr_assert_eq(((unsigned char *)&c)[0], 0x5a, "output untouched on failure");
}

/* Issue 23: a validator added by governance has no "node" (it is found by its key) and
 * every node learns the added validators' addresses from "validators" (key hex -> URL). */
Test(config, validators_added_by_governance_have_addresses_by_key_and_no_node_index)
{
    static const char JOINED[] =
        "{\"listen\": \"tcp://127.0.0.1:7104\", \"client\": \"tcp://127.0.0.1:7204\",\n"
        " \"peers\": [\"tcp://a:1\", \"tcp://b:1\", \"tcp://c:1\", \"tcp://d:1\"],\n"
        " \"validators\": {\"" "0101010101010101010101010101010101010101010101010101010101010101"
        "\": \"tcp://e:1\", \"" "0202020202020202020202020202020202020202020202020202020202020202"
        "\": \"tcp://b:2\"},\n"
        " \"data_dir\": \"data\", \"key_file\": \"v.key\", \"genesis_file\": \"g.bin\"}\n";
    char path[512], why[300];
    write_file("joined.json", JOINED, path);
    config_node c, back;
    cr_assert_eq(config_load(path, &c, why, sizeof why), 0, "%s", why);
    cr_expect_eq(c.node, CONFIG_NODE_NONE);
    cr_assert_eq(c.address_count, 2);
    codec_validator genesis[4];
    memset(genesis, 0, sizeof genesis);
    for (int i = 0; i < 4; i++) memset(genesis[i].key.bytes, 0x10 + i, 32);
    pubkey k;
    memset(k.bytes, 1, 32);
    cr_expect_str_eq(config_address_of(&c, &k, genesis, 4), "tcp://e:1");
    memset(k.bytes, 0x12, 32); /* genesis validator 2: by index in peers */
    cr_expect_str_eq(config_address_of(&c, &k, genesis, 4), "tcp://c:1");
    memset(k.bytes, 0x7f, 32);
    cr_expect_null(config_address_of(&c, &k, genesis, 4));
    snprintf(path, sizeof path, "%s/joined-saved.json", dir);
    cr_assert_eq(config_save(path, &c, why, sizeof why), 0, "%s", why);
    cr_assert_eq(config_load(path, &back, why, sizeof why), 0, "%s", why);
    snprintf(c.path, sizeof c.path, "%s", path);
    cr_assert_eq(memcmp(&c, &back, sizeof c), 0, "round trip");
    char text[2048];
    snprintf(text, sizeof text, "%.*s, \"validators\": {\"01\": \"tcp://e:1\"}}",
             (int)(strrchr(GOOD, '}') - GOOD), GOOD);
    expect_refusal(text, "\"validators\": every name must be a public key");
    snprintf(text, sizeof text, "%.*s, \"validators\": {\"%064d\": 7}}",
             (int)(strrchr(GOOD, '}') - GOOD), GOOD, 0);
    expect_refusal(text, "\"validators\": every entry must be a URL string");
    snprintf(text, sizeof text, "%.*s, \"validators\": [\"tcp://e:1\"]}",
             (int)(strrchr(GOOD, '}') - GOOD), GOOD);
    expect_refusal(text, "\"validators\": must be an object");
    snprintf(text, sizeof text, "%.*s, \"validators\": {\"%064d\": \"tls+tcp://e:1\"}}",
             (int)(strrchr(GOOD, '}') - GOOD), GOOD, 0);
    expect_refusal(text, "\"validators\": entry 0 is a TLS URL");
}

Test(config, every_bad_file_is_refused_naming_the_field)
{
    expect_refusal("{\"node\": 1,,}", "bad.json:1:");
    expect_refusal("[1, 2]", "must be a JSON object");
    expect_refusal("{}", "\"listen\": is missing"); /* "node" is optional (issue 23) */
    expect_refusal("{\"node\": \"one\"}", "\"node\": must be a whole number");
    expect_refusal("{\"node\": 99}", "\"node\": is out of range");
    char text[1024];
    snprintf(text, sizeof text, "%s", GOOD);
    char *p = strstr(text, "\"peers\"");
    memcpy(p, "\"peerz\"", 7);
    expect_refusal(text, "\"peers\": is missing");
    expect_refusal("{\"node\": 0, \"listen\": \"x\", \"client\": \"y\", \"peers\": [\"a\"]}",
                   "\"peers\": must be an array of 4 to 16");
    snprintf(text, sizeof text, "%.*s, \"log_level\": \"loud\"}", (int)(strrchr(GOOD, '}') - GOOD), GOOD);
    expect_refusal(text, "\"log_level\": must be");
    snprintf(text, sizeof text, "%.*s, \"node\": 3}", (int)(strrchr(GOOD, '}') - GOOD), GOOD);
    expect_refusal(text, "bad.json:");
    snprintf(text, sizeof text, "%.*s, \"batch_max_txs\": 0}", (int)(strrchr(GOOD, '}') - GOOD), GOOD);
    expect_refusal(text, "\"batch_max_txs\": is out of range");
    snprintf(text, sizeof text, "%.*s, \"envelope_ttl_max_ms\": 3600001}", (int)(strrchr(GOOD, '}') - GOOD), GOOD);
    expect_refusal(text, "\"envelope_ttl_max_ms\": is out of range");
    snprintf(text, sizeof text, "%.*s, \"envelopes_max\": 0}", (int)(strrchr(GOOD, '}') - GOOD), GOOD);
    expect_refusal(text, "\"envelopes_max\": is out of range");
    char path[512], why[300];
    config_node c;
    snprintf(path, sizeof path, "%s/missing.json", dir);
    cr_assert_eq(config_load(path, &c, why, sizeof why), -1);
}

static const char GOOD_TLS[] =
    "{\"node\": 1, \"listen\": \"tls+tcp://127.0.0.1:7101\", \"client\": \"tls+tcp://127.0.0.1:7201\",\n"
    " \"peers\": [\"tls+tcp://a:1\", \"tls+tcp://b:1\", \"tls+tcp://c:1\", \"tls+tcp://d:1\"],\n"
    " \"data_dir\": \"data\", \"key_file\": \"k\", \"genesis_file\": \"g\",\n"
    " \"tls_cert_key_file\": \"../tls/validator-1.pem\", \"tls_ca_file\": \"/etc/consortium/ca.pem\"}\n";

Test(config, tls_files_load_resolved_against_the_config_folder)
{
    char path[512], why[300];
    write_file("tls.json", GOOD_TLS, path);
    config_node c;
    cr_assert_eq(config_load(path, &c, why, sizeof why), 0, "%s", why);
    cr_assert(config_uses_tls(&c));
    char want[600];
    snprintf(want, sizeof want, "%s/../tls/validator-1.pem", dir);
    cr_assert_str_eq(c.tls_cert_key_file, want);
    cr_assert_str_eq(c.tls_ca_file, "/etc/consortium/ca.pem");
    write_file("plain.json", GOOD, path);
    cr_assert_eq(config_load(path, &c, why, sizeof why), 0, "%s", why);
    cr_assert(!config_uses_tls(&c), "no TLS fields: plain TCP");
    cr_assert_str_eq(c.tls_cert_key_file, "");
}

/* text with every occurrence of from replaced by to (one level, enough for these tests) */
static void replace_all(char *text, size_t cap, const char *from, const char *to)
{
    char out[2048] = "";
    const char *p = text;
    for (const char *hit; (hit = strstr(p, from)) != NULL; p = hit + strlen(from)) {
        strncat(out, p, (size_t)(hit - p));
        strcat(out, to);
    }
    strcat(out, p);
    snprintf(text, cap, "%s", out);
}

Test(config, tls_settings_and_url_schemes_must_agree)
{
    char text[2048];
    snprintf(text, sizeof text, "%s", GOOD_TLS);
    replace_all(text, sizeof text, ", \"tls_ca_file\": \"/etc/consortium/ca.pem\"", "");
    expect_refusal(text, "\"tls_ca_file\": is missing (tls_cert_key_file is set)");
    snprintf(text, sizeof text, "%s", GOOD_TLS);
    replace_all(text, sizeof text, "\"tls_cert_key_file\": \"../tls/validator-1.pem\", ", "");
    expect_refusal(text, "\"tls_cert_key_file\": is missing (tls_ca_file is set)");
    snprintf(text, sizeof text, "%s", GOOD_TLS);
    replace_all(text, sizeof text, "\"tls_ca_file\": \"/etc/consortium/ca.pem\"", "\"tls_ca_file\": 7");
    expect_refusal(text, "\"tls_ca_file\": must be a string");
    /* TLS set, a tcp:// URL */
    snprintf(text, sizeof text, "%s", GOOD_TLS);
    replace_all(text, sizeof text, "tls+tcp://127.0.0.1:7101", "tcp://127.0.0.1:7101");
    expect_refusal(text, "\"listen\": must be a tls+tcp:// URL");
    snprintf(text, sizeof text, "%s", GOOD_TLS);
    replace_all(text, sizeof text, "tls+tcp://127.0.0.1:7201", "tcp://127.0.0.1:7201");
    expect_refusal(text, "\"client\": must be a tls+tcp:// URL");
    snprintf(text, sizeof text, "%s", GOOD_TLS);
    replace_all(text, sizeof text, "tls+tcp://c:1", "tcp://c:1");
    expect_refusal(text, "\"peers\": entry 2 must be a tls+tcp:// URL");
    /* no TLS, a tls+tcp:// URL */
    snprintf(text, sizeof text, "%s", GOOD);
    replace_all(text, sizeof text, "tcp://127.0.0.1:7202", "tls+tcp://127.0.0.1:7202");
    expect_refusal(text, "\"client\": is a TLS URL, but tls_cert_key_file and tls_ca_file are not set");
    snprintf(text, sizeof text, "%s", GOOD);
    replace_all(text, sizeof text, "tcp://a:1", "tls+tcp://a:1");
    expect_refusal(text, "\"peers\": entry 0 is a TLS URL");
}
