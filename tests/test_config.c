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
    snprintf(c.genesis_file, sizeof c.genesis_file, "/g");
    c.view_timeout_ms = 777;
    char path[512], why[300];
    snprintf(path, sizeof path, "%s/saved.json", dir);
    cr_assert_eq(config_save(path, &c, why, sizeof why), 0, "%s", why);
    cr_assert_eq(config_save(path, &c, why, sizeof why), -1, "never overwrites");
    cr_assert_eq(config_load(path, &back, why, sizeof why), 0, "%s", why);
    cr_assert_eq(memcmp(&c, &back, sizeof c), 0);
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

Test(config, every_bad_file_is_refused_naming_the_field)
{
    expect_refusal("{\"node\": 1,,}", "bad.json:1:");
    expect_refusal("[1, 2]", "must be a JSON object");
    expect_refusal("{}", "\"node\": is missing");
    expect_refusal("{\"node\": \"one\"}", "\"node\": must be a whole number");
    expect_refusal("{\"node\": 99}", "\"node\": is out of range");
    char text[1024];
    snprintf(text, sizeof text, "%s", GOOD);
    char *p = strstr(text, "\"peers\"");
    memcpy(p, "\"peerz\"", 7);
    expect_refusal(text, "\"peers\": is missing");
    expect_refusal("{\"node\": 0, \"listen\": \"x\", \"client\": \"y\", \"peers\": [\"a\"]}",
                   "\"peers\": must be an array of 4 to 64");
    snprintf(text, sizeof text, "%.*s, \"log_level\": \"loud\"}", (int)(strrchr(GOOD, '}') - GOOD), GOOD);
    expect_refusal(text, "\"log_level\": must be");
    snprintf(text, sizeof text, "%.*s, \"node\": 3}", (int)(strrchr(GOOD, '}') - GOOD), GOOD);
    expect_refusal(text, "bad.json:");
    snprintf(text, sizeof text, "%.*s, \"batch_max_txs\": 0}", (int)(strrchr(GOOD, '}') - GOOD), GOOD);
    expect_refusal(text, "\"batch_max_txs\": is out of range");
    char path[512], why[300];
    config_node c;
    snprintf(path, sizeof path, "%s/missing.json", dir);
    cr_assert_eq(config_load(path, &c, why, sizeof why), -1);
}
