/*
 * config.c - node configuration files (the only jansson user).
 */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

void config_defaults(config_node *c)
{
    memset(c, 0, sizeof *c);
    c->batch_max_txs = 256; /* PBFT_BATCH_MAX */
    c->batch_timeout_ms = 20;
    c->view_timeout_ms = 1000;
    c->max_message_bytes = CODEC_MESSAGE_BYTES_DEFAULT;
    c->node = CONFIG_NODE_NONE;
    snprintf(c->log_level, sizeof c->log_level, "info");
}

typedef struct {
    const char *file;
    char *why;
    size_t cap;
} reader;

static void key_hex(const pubkey *key, char hex[65]);

static bool fail(reader *r, const char *field, const char *problem)
{
    snprintf(r->why, r->cap, "%s: field \"%s\": %s", r->file, field, problem);
    return false;
}

static bool get_string(reader *r, json_t *root, const char *field, bool required, char *out,
                       size_t cap)
{
    json_t *v = json_object_get(root, field);
    if (!v) return required ? fail(r, field, "is missing") : true;
    if (!json_is_string(v)) return fail(r, field, "must be a string");
    const char *s = json_string_value(v);
    if (s[0] == '\0' || strlen(s) >= cap) return fail(r, field, "is empty or too long");
    memcpy(out, s, strlen(s) + 1);
    return true;
}

static bool get_u32(reader *r, json_t *root, const char *field, bool required, uint32_t min,
                    uint32_t max, uint32_t *out)
{
    json_t *v = json_object_get(root, field);
    if (!v) return required ? fail(r, field, "is missing") : true;
    if (!json_is_integer(v)) return fail(r, field, "must be a whole number");
    json_int_t n = json_integer_value(v);
    if (n < (json_int_t)min || n > (json_int_t)max) return fail(r, field, "is out of range");
    *out = (uint32_t)n;
    return true;
}

static bool get_bool(reader *r, json_t *root, const char *field, bool *out)
{
    json_t *v = json_object_get(root, field);
    if (!v) return true;
    if (!json_is_boolean(v)) return fail(r, field, "must be true or false");
    *out = json_is_true(v);
    return true;
}

/* Resolve a path field against the folder of the config file. An optional field that is
 * absent leaves out as it is. */
static bool get_path(reader *r, json_t *root, const char *field, bool required, char *out)
{
    char raw[CONFIG_PATH_MAX];
    if (!required && !json_object_get(root, field)) return true;
    if (!get_string(r, root, field, required, raw, sizeof raw)) return false;
    if (raw[0] == '/') {
        memcpy(out, raw, strlen(raw) + 1);
        return true;
    }
    const char *slash = strrchr(r->file, '/');
    int dir_len = slash ? (int)(slash - r->file) : 1;
    const char *dir = slash ? r->file : ".";
    if (snprintf(out, CONFIG_PATH_MAX, "%.*s/%s", dir_len, dir, raw) >= CONFIG_PATH_MAX) {
        return fail(r, field, "is too long");
    }
    return true;
}

static bool get_peers(reader *r, json_t *root, config_node *c)
{
    json_t *peers = json_object_get(root, "peers");
    if (!peers) return fail(r, "peers", "is missing");
    size_t n = json_is_array(peers) ? json_array_size(peers) : 0;
    if (n < 4 || n > CODEC_VALIDATORS_MAX) {
        return fail(r, "peers", "must be an array of 4 to 16 URLs, one per validator");
    }
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(peers, i);
        if (!json_is_string(v) || strlen(json_string_value(v)) >= CONFIG_URL_MAX) {
            return fail(r, "peers", "every entry must be a URL string");
        }
        memcpy(c->peers[i], json_string_value(v), strlen(json_string_value(v)) + 1);
    }
    c->peer_count = (uint32_t)n;
    return true;
}

static bool hex_key(const char *text, pubkey *out)
{
    static const char digits[] = "0123456789abcdef";
    if (strlen(text) != 64) return false;
    for (size_t i = 0; i < 32; i++) {
        const char *hi = strchr(digits, text[2 * i]), *lo = strchr(digits, text[2 * i + 1]);
        if (!hi || !lo || !*hi || !*lo) return false;
        out->bytes[i] = (uint8_t)((hi - digits) << 4 | (lo - digits));
    }
    return true;
}

/* "validators": {"<64 lower-case hex digits>": URL}, optional. */
static bool get_addresses(reader *r, json_t *root, config_node *c)
{
    json_t *map = json_object_get(root, "validators");
    if (!map) return true;
    if (!json_is_object(map)) return fail(r, "validators", "must be an object: key hex -> URL");
    if (json_object_size(map) > CONFIG_ADDRESSES_MAX) {
        return fail(r, "validators", "has more than 48 entries");
    }
    const char *k;
    json_t *v;
    json_object_foreach(map, k, v) {
        config_address *a = &c->addresses[c->address_count];
        if (!hex_key(k, &a->key)) {
            return fail(r, "validators", "every name must be a public key: 64 lower-case hex digits");
        }
        if (!json_is_string(v) || json_string_value(v)[0] == '\0'
            || strlen(json_string_value(v)) >= CONFIG_URL_MAX) {
            return fail(r, "validators", "every entry must be a URL string");
        }
        memcpy(a->url, json_string_value(v), strlen(json_string_value(v)) + 1);
        c->address_count++;
    }
    return true;
}

const char *config_address_of(const config_node *c, const pubkey *key,
                              const codec_validator *genesis_validators, uint32_t count)
{
    for (uint32_t i = 0; i < c->address_count; i++) {
        if (memcmp(c->addresses[i].key.bytes, key->bytes, 32) == 0) return c->addresses[i].url;
    }
    for (uint32_t i = 0; i < count && i < c->peer_count; i++) {
        if (memcmp(genesis_validators[i].key.bytes, key->bytes, 32) == 0) return c->peers[i];
    }
    return NULL;
}

bool config_uses_tls(const config_node *c)
{
    return c->tls_cert_key_file[0] != '\0' && c->tls_ca_file[0] != '\0';
}

/* One URL's scheme against the TLS settings; entry >= 0 names an entry of an array. */
static bool check_scheme(reader *r, const char *field, int entry, const char *url, bool tls)
{
    bool is_tls = strncmp(url, CONFIG_TLS_SCHEME, strlen(CONFIG_TLS_SCHEME)) == 0;
    if (is_tls == tls && (tls || strncmp(url, "tls+", 4) != 0)) return true;
    char problem[200], which[32] = "";
    if (entry >= 0) snprintf(which, sizeof which, "entry %d ", entry);
    snprintf(problem, sizeof problem,
             tls ? "%smust be a tls+tcp:// URL, since tls_cert_key_file and tls_ca_file are set"
                 : "%sis a TLS URL, but tls_cert_key_file and tls_ca_file are not set",
             which);
    return fail(r, field, problem);
}

/* Both TLS files or neither; then every URL's scheme agrees. */
static bool check_tls(reader *r, const config_node *c)
{
    bool cert = c->tls_cert_key_file[0] != '\0', ca = c->tls_ca_file[0] != '\0';
    if (cert && !ca) return fail(r, "tls_ca_file", "is missing (tls_cert_key_file is set)");
    if (ca && !cert) return fail(r, "tls_cert_key_file", "is missing (tls_ca_file is set)");
    if (!check_scheme(r, "listen", -1, c->listen, cert)
        || !check_scheme(r, "client", -1, c->client, cert)) {
        return false;
    }
    for (uint32_t i = 0; i < c->peer_count; i++) {
        if (!check_scheme(r, "peers", (int)i, c->peers[i], cert)) return false;
    }
    for (uint32_t i = 0; i < c->address_count; i++) {
        if (!check_scheme(r, "validators", (int)i, c->addresses[i].url, cert)) return false;
    }
    return true;
}

static bool read_fields(reader *r, json_t *root, config_node *c)
{
    if (!json_is_object(root)) return fail(r, "(top)", "must be a JSON object");
    if (!(get_u32(r, root, "node", false, 0, CODEC_VALIDATORS_MAX - 1, &c->node)
          && get_string(r, root, "listen", true, c->listen, sizeof c->listen)
          && get_string(r, root, "client", true, c->client, sizeof c->client)
          && get_peers(r, root, c) && get_addresses(r, root, c)
          && get_path(r, root, "data_dir", true, c->data_dir)
          && get_path(r, root, "key_file", true, c->key_file)
          && get_path(r, root, "next_key_file", false, c->next_key_file)
          && get_path(r, root, "genesis_file", true, c->genesis_file)
          && get_u32(r, root, "batch_max_txs", false, 1, CODEC_BLOCK_TXS_MAX, &c->batch_max_txs)
          && get_u32(r, root, "batch_timeout_ms", false, 1, 60000, &c->batch_timeout_ms)
          && get_u32(r, root, "view_timeout_ms", false, 10, 600000, &c->view_timeout_ms)
          && get_u32(r, root, "max_message_bytes", false, 65536, 1u << 30, &c->max_message_bytes)
          && get_string(r, root, "log_level", false, c->log_level, sizeof c->log_level)
          && get_path(r, root, "tls_cert_key_file", false, c->tls_cert_key_file)
          && get_path(r, root, "tls_ca_file", false, c->tls_ca_file)
          && get_string(r, root, "http", false, c->http, sizeof c->http) && check_tls(r, c)
          && get_u32(r, root, "envelope_ttl_max_ms", false, 1000, 3600000, &c->envelope_ttl_max_ms)
          && get_u32(r, root, "envelopes_max", false, 1, 65536, &c->envelopes_max)
          && get_u32(r, root, "envelope_bytes_max", false, 4096, 1u << 28, &c->envelope_bytes_max)
          && get_bool(r, root, "bench_unsigned_reads", &c->bench_unsigned_reads))) {
        return false;
    }
    if (c->node != CONFIG_NODE_NONE && c->node >= c->peer_count) {
        return fail(r, "node", "is not an index into peers");
    }
    const char *levels[] = {"debug", "info", "warn", "error"};
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(c->log_level, levels[i]) == 0) return true;
    }
    return fail(r, "log_level", "must be debug, info, warn or error");
}

int config_load(const char *path, config_node *out, char *why, size_t why_cap)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(why, why_cap, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
        return -1;
    }
    config_node c;
    config_defaults(&c);
    reader r = {path, why, why_cap};
    bool ok = read_fields(&r, root, &c);
    json_decref(root);
    if (!ok) return -1;
    snprintf(c.path, sizeof c.path, "%s", path);
    *out = c;
    return 0;
}

static json_t *to_json(const config_node *c)
{
    json_t *peers = json_array();
    for (uint32_t i = 0; i < c->peer_count; i++) json_array_append_new(peers, json_string(c->peers[i]));
    json_t *fields = json_pack("{s:s, s:s, s:o, s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:s}",
                     "listen", c->listen, "client", c->client,
                     "peers", peers, "data_dir", c->data_dir, "key_file", c->key_file,
                     "genesis_file", c->genesis_file, "batch_max_txs",
                     (json_int_t)c->batch_max_txs, "batch_timeout_ms",
                     (json_int_t)c->batch_timeout_ms, "view_timeout_ms",
                     (json_int_t)c->view_timeout_ms, "max_message_bytes",
                     (json_int_t)c->max_message_bytes, "log_level", c->log_level);
    json_t *root = fields ? json_object() : NULL; /* "node" first, when there is one */
    if (root && c->node != CONFIG_NODE_NONE) json_object_set_new(root, "node", json_integer(c->node));
    if (root) json_object_update(root, fields);
    json_decref(fields);
    json_t *map = c->address_count ? json_object() : NULL;
    for (uint32_t i = 0; map && i < c->address_count; i++) {
        char hex[65];
        key_hex(&c->addresses[i].key, hex);
        json_object_set_new(map, hex, json_string(c->addresses[i].url));
    }
    if (root && map) json_object_set_new(root, "validators", map);
    if (root && c->tls_cert_key_file[0]) {
        json_object_set_new(root, "tls_cert_key_file", json_string(c->tls_cert_key_file));
    }
    if (root && c->tls_ca_file[0]) json_object_set_new(root, "tls_ca_file", json_string(c->tls_ca_file));
    if (root && c->http[0]) json_object_set_new(root, "http", json_string(c->http));
    if (root && c->next_key_file[0])
        json_object_set_new(root, "next_key_file", json_string(c->next_key_file));
    if (root && c->bench_unsigned_reads) json_object_set_new(root, "bench_unsigned_reads", json_true());
    if (root && c->envelope_ttl_max_ms)
        json_object_set_new(root, "envelope_ttl_max_ms", json_integer(c->envelope_ttl_max_ms));
    if (root && c->envelopes_max) json_object_set_new(root, "envelopes_max", json_integer(c->envelopes_max));
    if (root && c->envelope_bytes_max)
        json_object_set_new(root, "envelope_bytes_max", json_integer(c->envelope_bytes_max));
    return root;
}

static void key_hex(const pubkey *key, char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    for (int b = 0; b < 32; b++) {
        hex[2 * b] = digits[key->bytes[b] >> 4];
        hex[2 * b + 1] = digits[key->bytes[b] & 15];
    }
    hex[64] = '\0';
}

/* Write text to path through path.new and a rename (the old file stays whole until then). */
static int replace_file(const char *path, const char *text, char *why, size_t why_cap)
{
    char tmp[CONFIG_PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.new", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    size_t len = strlen(text);
    bool ok = fd >= 0 && write(fd, text, len) == (ssize_t)len && write(fd, "\n", 1) == 1
              && fsync(fd) == 0;
    if (fd >= 0 && close(fd) != 0) ok = false;
    if (ok && rename(tmp, path) == 0) return 0;
    unlink(tmp);
    snprintf(why, why_cap, "%s: cannot rewrite", path);
    return -1;
}

int config_add_address(const char *path, const pubkey *key, const char *url, char *why,
                       size_t why_cap)
{
    config_node check;
    if (config_load(path, &check, why, why_cap) != 0) return -1;
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    json_t *map = root ? json_object_get(root, "validators") : NULL;
    if (root && !map) json_object_set_new(root, "validators", map = json_object());
    char hex[65];
    key_hex(key, hex);
    char *text = NULL;
    if (map && json_object_set_new(map, hex, json_string(url)) == 0) {
        text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    }
    json_decref(root);
    int rc = text ? replace_file(path, text, why, why_cap) : -1;
    if (!text) snprintf(why, why_cap, "%s: cannot add the address", path);
    free(text);
    return rc == 0 && config_load(path, &check, why, why_cap) == 0 ? 0 : -1;
}

int config_save(const char *path, const config_node *c, char *why, size_t why_cap)
{
    json_t *root = to_json(c);
    if (!root) return snprintf(why, why_cap, "%s: cannot build the JSON", path), -1;
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    int fd = text ? open(path, O_WRONLY | O_CREAT | O_EXCL, 0644) : -1;
    int rc = -1;
    if (fd < 0) {
        snprintf(why, why_cap, "%s: cannot create (exists already?)", path);
    } else {
        size_t len = strlen(text);
        bool ok = write(fd, text, len) == (ssize_t)len && write(fd, "\n", 1) == 1;
        ok = fsync(fd) == 0 && ok;
        rc = close(fd) == 0 && ok ? 0 : -1;
        if (rc != 0) snprintf(why, why_cap, "%s: write failed", path);
    }
    free(text);
    return rc;
}
