/*
 * config.h - a validator node's configuration file (JSON, via jansson).
 *
 * Network addresses live here, never in the genesis (moving a host must not
 * change the chain id). Example (every field required unless marked):
 *
 *   {
 *     "node": 0,                              optional: validator index in the genesis
 *                                             (absent: a validator a governance change
 *                                             added, found by its key)
 *     "listen": "tcp://127.0.0.1:7100",       peer messages (transport)
 *     "client": "tcp://127.0.0.1:7200",       client API
 *     "peers": ["tcp://127.0.0.1:7100", ...], one per GENESIS validator, by index
 *     "validators": {"<key hex>": "tcp://...", ...}, optional: the addresses of validators
 *                                             governance added or re-keyed (by public
 *                                             key; it wins over "peers"); re-read by the
 *                                             node when a change names a key it has no
 *                                             address for (docs/NODE.md)
 *     "data_dir": "node0/data",               relative to the config file
 *     "key_file": "keys/validator-0.key",     relative to the config file
 *     "next_key_file": "keys/validator-0b.key", optional, relative: the key this validator
 *                                             signs with from the boundary of a change that
 *                                             rotates its key to this one (read at start and
 *                                             again when a change commits; docs/NODE.md)
 *     "genesis_file": "genesis.bin",          relative to the config file
 *     "batch_max_txs": 256,                   optional (default 256 = PBFT_BATCH_MAX)
 *     "batch_timeout_ms": 20,                 optional (default 20: how long a partial batch waits to fill while others are in flight)
 *     "view_timeout_ms": 1000,                optional (default 1000)
 *     "max_message_bytes": 4194304,           optional (default 4 MiB)
 *     "log_level": "info",                    optional: debug|info|warn|error
 *     "tls_cert_key_file": "../tls/validator-0.pem",  optional, relative to the config file
 *     "tls_ca_file": "../tls/ca.pem",                 optional, relative to the config file
 *     "envelope_ttl_max_ms": 900000,          optional: the e-consent envelopes' longest life
 *     "envelopes_max": 256,                   optional: envelopes held at once (HTTP API)
 *     "envelope_bytes_max": 2097152,          optional: their bytes (docs/HTTP.md "Envelopes")
 *     "bench_unsigned_reads": false           optional, BENCHMARK ONLY: the client API answers
 *                                             BLOCKS and receipt reads sent without a
 *                                             signature to anyone (issue 19's A/B bench);
 *                                             the node logs a warning at start
 *   }
 *
 * TLS: tls_cert_key_file (PEM: this node's certificate and its private key) and tls_ca_file
 * (PEM: the consortium CA) are both given or both absent. With them every URL (listen,
 * client, peers) must be tls+tcp://, without them none may be: a mismatch is refused at load.
 * The files themselves are read when the node opens its network (transport.h).
 */
#ifndef TRIALREG_CONFIG_H
#define TRIALREG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"

#define CONFIG_PATH_MAX 1024
#define CONFIG_URL_MAX 256
#define CONFIG_ADDRESSES_MAX 48   /* "validators" entries (the transport dials <= 64 peers) */
#define CONFIG_NODE_NONE UINT32_MAX /* no "node": not a genesis validator */

typedef struct {
    pubkey key;
    char url[CONFIG_URL_MAX];
} config_address;

typedef struct {
    uint32_t node;            /* CONFIG_NODE_NONE when absent */
    char listen[CONFIG_URL_MAX];
    char client[CONFIG_URL_MAX];
    uint32_t peer_count;
    char peers[CODEC_VALIDATORS_MAX][CONFIG_URL_MAX];
    uint32_t address_count;
    config_address addresses[CONFIG_ADDRESSES_MAX]; /* "validators", keys distinct */
    char data_dir[CONFIG_PATH_MAX];     /* resolved against the file's folder */
    char key_file[CONFIG_PATH_MAX];     /* resolved */
    char next_key_file[CONFIG_PATH_MAX]; /* resolved; "" = none */
    char path[CONFIG_PATH_MAX];         /* the file config_load read (the node re-reads it) */
    char genesis_file[CONFIG_PATH_MAX]; /* resolved */
    uint32_t batch_max_txs;
    uint32_t batch_timeout_ms;
    uint32_t view_timeout_ms;
    uint32_t max_message_bytes;
    char log_level[8];
    char tls_cert_key_file[CONFIG_PATH_MAX]; /* resolved; "" = no TLS */
    char tls_ca_file[CONFIG_PATH_MAX];       /* resolved; "" = no TLS */
    char http[CONFIG_URL_MAX];  /* the HTTP API's "HOST:PORT"; "" = none. Plain HTTP on a
                                 * loopback address only; with TLS settings it is HTTPS with
                                 * the node's certificate (docs/HTTP.md) */
    bool bench_unsigned_reads; /* BENCHMARK ONLY: answer unsigned BLOCKS/RECEIPT(S) */
    /* The HTTP API's e-consent envelope store (docs/HTTP.md "Envelopes"); 0 = its default */
    uint32_t envelope_ttl_max_ms;  /* 1000..3600000 (default 900000, 15 min) */
    uint32_t envelopes_max;        /* 1..65536 (default 256) */
    uint32_t envelope_bytes_max;   /* 4096..268435456 (default 2 MiB) */
} config_node;

#define CONFIG_TLS_SCHEME "tls+tcp://"

/* True when the config has TLS settings (both TLS fields). */
bool config_uses_tls(const config_node *c);

/* Fill defaults for the optional fields. */
void config_defaults(config_node *c);

/*
 * Read and check a node config. Relative paths are resolved against the
 * config file's folder. On failure why names the file and the field (or the
 * JSON line and column) and the function returns -1; *out is untouched.
 */
int config_load(const char *path, config_node *out, char *why, size_t why_cap);

/* The address of the validator with this key: "validators" first, then "peers" at the
 * index of a genesis validator holding the key (genesis_keys[i], count of them); NULL if
 * neither names it. */
const char *config_address_of(const config_node *c, const pubkey *key,
                              const codec_validator *genesis_validators, uint32_t count);

/* Add (or replace) one "validators" entry of the config file at path, keeping every other
 * field as it is (written beside it, then renamed; the result must load). 0 or -1 with why. */
int config_add_address(const char *path, const pubkey *key, const char *url, char *why,
                       size_t why_cap);

/* Write a config (paths written as given, relative to the file). Returns 0
 * or -1 with why. Refuses to overwrite an existing file. */
int config_save(const char *path, const config_node *c, char *why, size_t why_cap);

#endif
