/*
 * cmd_cluster.c - `trialctl init`: the keys, genesis and node configs of a
 * local consortium; with --tls also its TLS CA and one certificate per node.
 *
 * The certificates are made by the `openssl` command (Debian package openssl), run
 * without a shell through posix_spawnp. Deliberately simple: nng offers no certificate
 * generation, and linking a TLS library into trialctl for a one-off key ceremony would put
 * a second crypto library into the tools. The files are ordinary PEM, so certificates of
 * an existing PKI can replace them (config.h: tls_cert_key_file, tls_ca_file).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "config.h"
#include "contracts.h"
#include "crypto.h"

static const char INIT_USAGE[] =
    "usage: trialctl init [--validators N] [--base-port P] [--chain-name NAME]\n"
    "                     [--tls [--host NAME]... [--http-bind ADDR]]\n"
    "                     [--auditor FILE.pub]... [rule options] DIR\n"
    "  Writes a local consortium into DIR (which must not exist or be empty):\n"
    "    keys/         validator-I, sponsor, investigator-site-a, investigator-site-b,\n"
    "                  regulator, researcher (NAME.key 0600 + NAME.pub)\n"
    "    genesis.bin   validators, authorities by role and site, the built-in contracts\n"
    "    node-I/config.json  listen tcp://127.0.0.1:P+I, client API P+100+I, HTTP API\n"
    "                        127.0.0.1:P+164+I, data in node-I/data\n"
    "  N = 4 (default), 7, 10, 13 or 16 (3f+1). P defaults to 7100.\n"
    "  --tls  also a consortium CA and one certificate per node, made by the openssl command:\n"
    "    tls/ca.pem (CA certificate), tls/ca.key (CA key, 0600), tls/validator-I.pem\n"
    "    (certificate + key, 0600). The configs then use tls+tcp:// URLs (mutual TLS between\n"
    "    validators); trialctl reaches a client API with TRIALREG_TLS_CA=DIR/tls/ca.pem.\n"
    "    Every certificate names localhost and 127.0.0.1 (subjectAltName).\n"
    "  --host NAME  with --tls: also put NAME (a DNS name or an IPv4/IPv6 address) into\n"
    "    every node certificate's subjectAltName; repeatable (at most 16). Browsers and\n"
    "    clients on other machines check that the certificate names the host they reach\n"
    "    (curl, a web page, an EDC): give every name and address they will use.\n"
    "  --http-bind ADDR  the IPv4 address the HTTP API listens on (port P+164+I), instead\n"
    "    of 127.0.0.1: another address needs --tls (plain HTTP is for this machine only);\n"
    "    0.0.0.0 is every address. Or edit \"http\" in node-I/config.json later.\n"
    "  --auditor FILE.pub  an auditor's public key (role 6: reads blocks and exports, signs\n"
    "    no tx; the auditor keeps its secret key), named after the file; repeatable\n"
    GENESIS_RULE_OPTIONS_USAGE
    "       trialctl init --join [--host NAME]... DIR\n"
    "  One more validator for the consortium in DIR (issue 23): keys/validator-K and\n"
    "  node-K/config.json (K the next node; listen P+K, client P+100+K, HTTP P+164+K, the\n"
    "  genesis validators' addresses, no \"node\" index) and, when DIR has a CA, its\n"
    "  certificate tls/validator-K.pem signed by it. Every node's config gets its address\n"
    "  (\"validators\": key -> URL). It starts from the genesis and follows; it votes from\n"
    "  the boundary of a committed change that adds its key (trialctl governance\n"
    "  validators).\n"
    "  governance (every kind: sponsor x1 + regulator x1) is printed by\n"
    "  `trialctl genesis show DIR/genesis.bin`.\n";

/* What init puts in the genesis beyond its keys. */
#define INIT_HOSTS_MAX 16

typedef struct {
    codec_rules rules;   /* options given (zero = the default) */
    uint32_t host_count; /* --host: extra subjectAltName entries, "DNS:x" or "IP:x" */
    char hosts[INIT_HOSTS_MAX][260];
    char http_bind[INET_ADDRSTRLEN]; /* --http-bind, or "" = 127.0.0.1 */
    uint32_t auditor_count;
    pubkey auditors[8];
    codec_name auditor_names[8];
} init_options;

typedef struct {
    const char *name;
    unsigned role;
    const char *site;
} authority_spec;

static const authority_spec AUTHORITIES[] = {
    {"sponsor", ROLE_SPONSOR, ""},
    {"investigator-site-a", ROLE_INVESTIGATOR, "site-a"},
    {"investigator-site-b", ROLE_INVESTIGATOR, "site-b"},
    {"regulator", ROLE_REGULATOR, ""},
    {"researcher", ROLE_RESEARCHER, ""},
};

/* Generate NAME.key/.pub under dir/keys; returns the public key. */
static int make_key(const char *dir, const char *name, pubkey *out)
{
    char path[4096];
    keypair kp;
    tcrypto_keypair_generate(&kp);
    snprintf(path, sizeof path, "%s/keys/%s.key", dir, name);
    tcrypto_err rc = tcrypto_write_secret_key(path, &kp);
    snprintf(path, sizeof path, "%s/keys/%s.pub", dir, name);
    if (rc == TCRYPTO_OK) rc = tcrypto_write_public_key(path, &kp.public_key);
    if (rc != TCRYPTO_OK) {
        fprintf(stderr, "error: %s: %s\n", path, tcrypto_strerror(rc));
        return -1;
    }
    *out = kp.public_key;
    return 0;
}

static int make_dir(const char *path)
{
    if (mkdir(path, 0755) == 0 || errno == EEXIST) return 0;
    fprintf(stderr, "error: cannot create %s: %s\n", path, strerror(errno));
    return -1;
}

/* ---- TLS: a consortium CA and one certificate per node, by the openssl command ----------- */

/* Run openssl with args (args[0] = "openssl", NULL-terminated), its output appended to log;
 * made names the file it makes, for the message. Returns 0 when openssl exited 0. */
static int run_openssl(char *const args[], const char *log, const char *made)
{
    extern char **environ;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid;
    int rc = posix_spawnp(&pid, "openssl", &fa, NULL, args, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, "error: cannot run openssl (Debian package openssl): %s\n", strerror(rc));
        return -1;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
    fprintf(stderr, "error: openssl %s failed making %s (its output: %s)\n", args[1], made, log);
    return -1;
}

/* Append the file at from to out; at most 64 KiB (a PEM certificate or key is ~1 KiB). */
static int append_file(FILE *out, const char *from)
{
    static char buf[65536];
    FILE *in = fopen(from, "rb");
    size_t n = in ? fread(buf, 1, sizeof buf, in) : 0;
    bool ok = in && !ferror(in) && feof(in) && fwrite(buf, 1, n, out) == n;
    if (in) fclose(in);
    if (!ok) fprintf(stderr, "error: cannot copy %s\n", from);
    return ok ? 0 : -1;
}

/* pem (created, mode 0600) = crt + key; crt and key are removed. */
static int join_cert_and_key(const char *pem, const char *crt, const char *key)
{
    int fd = open(pem, O_WRONLY | O_CREAT | O_EXCL, 0600);
    FILE *out = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!out) {
        if (fd >= 0) close(fd);
        fprintf(stderr, "error: cannot create %s: %s\n", pem, strerror(errno));
        return -1;
    }
    int rc = append_file(out, crt) == 0 && append_file(out, key) == 0 ? 0 : -1;
    if (fclose(out) != 0) rc = -1;
    unlink(crt);
    unlink(key);
    return rc;
}

/* The paths of one TLS ceremony in DIR/tls. */
typedef struct {
    char dir[4096], log[4200], ext[4200], ca[4200], ca_key[4200], serial[4200];
} tls_paths;

/* tls/NAME.pem: an EC P-256 key and its certificate signed by the CA, 10 years, for TLS
 * server and client use (a validator listens and dials), subject CN=NAME. */
static int make_node_cert(const tls_paths *t, const char *name)
{
    char key[4400], csr[4400], crt[4400], pem[4400], subject[128];
    snprintf(key, sizeof key, "%s/%s.key", t->dir, name);
    snprintf(csr, sizeof csr, "%s/%s.csr", t->dir, name);
    snprintf(crt, sizeof crt, "%s/%s.crt", t->dir, name);
    snprintf(pem, sizeof pem, "%s/%s.pem", t->dir, name);
    snprintf(subject, sizeof subject, "/CN=%s", name);
    char *request[] = {"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                       "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", csr,
                       "-subj", subject, NULL};
    char *sign[] = {"openssl", "x509", "-req", "-in", csr, "-CA", (char *)t->ca, "-CAkey",
                    (char *)t->ca_key, "-CAserial", (char *)t->serial, "-CAcreateserial",
                    "-days", "3650", "-extfile", (char *)t->ext, "-out", crt, NULL};
    int rc = run_openssl(request, t->log, key);
    if (rc == 0) rc = run_openssl(sign, t->log, crt);
    unlink(csr);
    if (rc == 0) rc = join_cert_and_key(pem, crt, key);
    return rc;
}

/* The files of DIR/tls. */
static void tls_paths_fill(tls_paths *t, const char *dir)
{
    snprintf(t->dir, sizeof t->dir, "%s/tls", dir);
    snprintf(t->log, sizeof t->log, "%s/openssl.log", t->dir);
    snprintf(t->ext, sizeof t->ext, "%s/node.ext", t->dir);
    snprintf(t->ca, sizeof t->ca, "%s/ca.pem", t->dir);
    snprintf(t->ca_key, sizeof t->ca_key, "%s/ca.key", t->dir);
    snprintf(t->serial, sizeof t->serial, "%s/ca.srl", t->dir);
}

/* tls/node.ext: what every node certificate is for, naming localhost, 127.0.0.1 and io's
 * --host names. */
static int write_node_ext(const tls_paths *t, const init_options *io)
{
    FILE *ext = fopen(t->ext, "w");
    if (!ext || fputs("basicConstraints = CA:FALSE\n"
                      "keyUsage = digitalSignature, keyAgreement\n"
                      "extendedKeyUsage = serverAuth, clientAuth\n"
                      "subjectAltName = DNS:localhost, IP:127.0.0.1", ext) < 0) {
        if (ext) fclose(ext);
        return fprintf(stderr, "error: cannot write %s\n", t->ext), -1;
    }
    for (uint32_t i = 0; i < io->host_count; i++) fprintf(ext, ", %s", io->hosts[i]);
    if (fputc('\n', ext) == EOF || fclose(ext) != 0)
        return fprintf(stderr, "error: cannot write %s\n", t->ext), -1;
    return 0;
}

/* DIR/tls: ca.pem + ca.key (the consortium CA, EC P-256, 10 years) and validator-I.pem for
 * each node. The openssl output goes to tls/openssl.log, removed on success. */
static int make_tls(const char *dir, uint32_t n, const init_options *io)
{
    static tls_paths t;
    tls_paths_fill(&t, dir);
    if (make_dir(t.dir) != 0 || write_node_ext(&t, io) != 0) return -1;
    char *ca[] = {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", t.ca_key, "-out", t.ca,
                  "-days", "3650", "-subj", "/CN=trialreg consortium CA", NULL};
    int rc = run_openssl(ca, t.log, t.ca);
    if (rc == 0) rc = chmod(t.ca_key, 0600);
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "validator-%u", i);
        rc = make_node_cert(&t, name);
    }
    unlink(t.ext);
    if (rc == 0) unlink(t.log);
    return rc;
}

/* tls/NAME.pem for a validator joining later, signed by the consortium CA in DIR/tls. */
static int join_cert(const char *dir, const char *name, const init_options *io)
{
    static tls_paths t;
    tls_paths_fill(&t, dir);
    if (access(t.ca_key, R_OK) != 0) {
        fprintf(stderr, "error: %s: the consortium CA's key is needed to certify %s\n", t.ca_key,
                name);
        return -1;
    }
    int rc = write_node_ext(&t, io) == 0 ? make_node_cert(&t, name) : -1;
    unlink(t.ext);
    if (rc == 0) unlink(t.log);
    return rc;
}

/* ---- node configs ---------------------------------------------------------------------- */

static int write_configs(const char *dir, uint32_t n, unsigned base_port, bool tls,
                         const char *http_bind)
{
    const char *scheme = tls ? CONFIG_TLS_SCHEME : "tcp://";
    for (uint32_t i = 0; i < n; i++) {
        config_node c;
        config_defaults(&c);
        c.node = i;
        c.peer_count = n;
        for (uint32_t p = 0; p < n; p++) {
            snprintf(c.peers[p], sizeof c.peers[p], "%s127.0.0.1:%u", scheme, base_port + p);
        }
        snprintf(c.listen, sizeof c.listen, "%s", c.peers[i]);
        snprintf(c.client, sizeof c.client, "%s127.0.0.1:%u", scheme, base_port + 100 + i);
        /* the HTTP API: its client API port + 64 (clear of the client ports: n <= 16) */
        snprintf(c.http, sizeof c.http, "%s:%u", http_bind[0] ? http_bind : "127.0.0.1",
                 base_port + 164 + i);
        snprintf(c.data_dir, sizeof c.data_dir, "data");
        snprintf(c.key_file, sizeof c.key_file, "../keys/validator-%u.key", i);
        snprintf(c.genesis_file, sizeof c.genesis_file, "../genesis.bin");
        if (tls) {
            snprintf(c.tls_cert_key_file, sizeof c.tls_cert_key_file, "../tls/validator-%u.pem", i);
            snprintf(c.tls_ca_file, sizeof c.tls_ca_file, "../tls/ca.pem");
        }
        char path[4096], why[300];
        snprintf(path, sizeof path, "%s/node-%u", dir, i);
        if (make_dir(path) != 0) return -1;
        snprintf(path, sizeof path, "%s/node-%u/config.json", dir, i);
        if (config_save(path, &c, why, sizeof why) != 0) {
            fprintf(stderr, "error: %s\n", why);
            return -1;
        }
    }
    return 0;
}

static int build_consortium(const char *dir, uint32_t n, unsigned base_port, const char *name,
                            bool tls, const init_options *io)
{
    codec_genesis *g = calloc(1, sizeof *g);
    char path[4096];
    int rc = TC_EXIT_INTERNAL;
    snprintf(path, sizeof path, "%s/keys", dir);
    if (!g || make_dir(dir) != 0 || make_dir(path) != 0) goto out;
    snprintf(g->chain_name, sizeof g->chain_name, "%s", name);
    g->created_ms = 0; /* set below from the clock */
    codec_rules_default(&g->rules);
    genesis_rules_merge(&g->rules, &io->rules);
    codec_governance_default(g->governance);
    for (uint32_t i = 0; i < n; i++) {
        snprintf(g->validators[i].name.text, sizeof g->validators[i].name.text, "validator-%u", i);
        if (make_key(dir, g->validators[i].name.text, &g->validators[i].key) != 0) goto out;
    }
    g->validator_count = n;
    for (size_t i = 0; i < sizeof AUTHORITIES / sizeof AUTHORITIES[0]; i++) {
        codec_authority *a = &g->authorities[g->authority_count++];
        a->role = (uint8_t)AUTHORITIES[i].role;
        snprintf(a->site.text, sizeof a->site.text, "%s", AUTHORITIES[i].site);
        snprintf(a->name.text, sizeof a->name.text, "%s", AUTHORITIES[i].name);
        if (make_key(dir, AUTHORITIES[i].name, &a->key) != 0) goto out;
    }
    for (uint32_t i = 0; i < io->auditor_count; i++) {
        codec_authority *a = &g->authorities[g->authority_count++];
        a->role = ROLE_AUDITOR;
        a->name = io->auditor_names[i];
        a->key = io->auditors[i];
    }
    for (uint32_t i = 0; i < contracts_builtin_count; i++) { /* the built-in contracts, v1 */
        codec_contract *c = &g->contracts[g->contract_count++];
        snprintf(c->name.text, sizeof c->name.text, "%s", contracts_builtin[i].name);
        c->version = 1;
        c->bytecode = contracts_builtin[i].bytecode;
        c->bytecode_len = contracts_builtin[i].len;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    g->created_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    snprintf(path, sizeof path, "%s/genesis.bin", dir);
    if ((rc = genesis_write_file(g, path)) != TC_EXIT_OK) goto out;
    if (tls && make_tls(dir, n, io) != 0) {
        rc = TC_EXIT_INTERNAL;
        goto out;
    }
    rc = write_configs(dir, n, base_port, tls, io->http_bind) == 0 ? TC_EXIT_OK : TC_EXIT_INTERNAL;
    if (rc == TC_EXIT_OK) printf("consortium of %u validators in %s\n", n, dir);
    if (rc == TC_EXIT_OK && tls) {
        printf("TLS: CA and node certificates in %s/tls; for trialctl: "
               "export TRIALREG_TLS_CA=%s/tls/ca.pem\n", dir, dir);
    }
out:
    free(g);
    return rc;
}

/* --auditor FILE.pub: the key, named after the file (dir/acme-audit.pub -> acme-audit). */
static int add_auditor(init_options *io, const char *path)
{
    if (io->auditor_count == sizeof io->auditors / sizeof io->auditors[0]) {
        fprintf(stderr, "error: at most 8 --auditor keys\n");
        return TC_EXIT_USAGE;
    }
    tcrypto_err rc = tcrypto_read_public_key(path, &io->auditors[io->auditor_count]);
    if (rc != TCRYPTO_OK) {
        fprintf(stderr, "error: --auditor %s: %s\n", path, tcrypto_strerror(rc));
        return TC_EXIT_INPUT;
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t len = strcspn(base, ".");
    if (len > CODEC_NAME_MAX) len = CODEC_NAME_MAX;
    codec_name *name = &io->auditor_names[io->auditor_count++];
    memcpy(name->text, base, len);
    name->text[len] = '\0';
    return TC_EXIT_OK;
}

/* --host NAME: an IPv4 or IPv6 address (IP:) or a DNS name (DNS:): labels of letters,
 * digits and hyphens, 1..63 bytes, not starting or ending with a hyphen, 253 bytes at most.
 * openssl's extension syntax separates entries by commas, so nothing else may pass. */
static int add_host(init_options *io, const char *name)
{
    uint8_t addr[16];
    if (io->host_count == INIT_HOSTS_MAX)
        return fprintf(stderr, "error: at most %d --host names\n", INIT_HOSTS_MAX), TC_EXIT_USAGE;
    char *out = io->hosts[io->host_count];
    if (inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1) {
        snprintf(out, sizeof io->hosts[0], "IP:%s", name);
        io->host_count++;
        return TC_EXIT_OK;
    }
    size_t len = strlen(name), label = 0;
    const char *why = len == 0 ? "is empty" : len > 253 ? "is longer than 253 bytes" : NULL;
    for (size_t i = 0; !why && i <= len; i++) {
        char ch = name[i];
        if (ch == '.' || ch == '\0') {
            if (label == 0) why = "has an empty label (two dots, or a dot at an end)";
            else if (label > 63) why = "has a label longer than 63 bytes";
            else if (name[i - 1] == '-') why = "has a label ending in a hyphen";
            label = 0;
        } else if (isalnum((unsigned char)ch) || (ch == '-' && label > 0)) {
            label++;
        } else {
            why = ch == '-' ? "has a label starting with a hyphen"
                            : "holds a character other than letters, digits, '-' and '.'";
        }
    }
    if (why) {
        fprintf(stderr, "error: --host \"%s\" %s: give a DNS name (trial.example.org) or an "
                "IP address, one per --host\n", name, why);
        return TC_EXIT_USAGE;
    }
    snprintf(out, sizeof io->hosts[0], "DNS:%s", name);
    io->host_count++;
    return TC_EXIT_OK;
}

/* --http-bind ADDR: an IPv4 address (the HTTP server's, http_api.h); not loopback needs TLS. */
static int set_http_bind(init_options *io, const char *address)
{
    struct in_addr a;
    if (inet_pton(AF_INET, address, &a) != 1) {
        fprintf(stderr, "error: --http-bind \"%s\" is not an IPv4 address (0.0.0.0 for every "
                "address)\n", address);
        return TC_EXIT_USAGE;
    }
    snprintf(io->http_bind, sizeof io->http_bind, "%s", address);
    return TC_EXIT_OK;
}

static bool loopback(const char *ipv4)
{
    struct in_addr a;
    return inet_pton(AF_INET, ipv4, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

/* DIR must not exist, or be an empty directory. */
/* ---- init --join: one more validator for a local consortium (issue 23) ---------------- */

/* The port of a URL "scheme://host:PORT", or 0. */
static unsigned url_port(const char *url)
{
    const char *colon = strrchr(url, ':');
    unsigned long port = colon ? strtoul(colon + 1, NULL, 10) : 0;
    return port < 65536 ? (unsigned)port : 0;
}

/* Add (key, url) to a config's address book (if it is not there yet). */
static void add_address(config_node *c, const pubkey *key, const char *url)
{
    for (uint32_t i = 0; i < c->address_count; i++) {
        if (memcmp(c->addresses[i].key.bytes, key->bytes, 32) == 0) return;
    }
    if (c->address_count == CONFIG_ADDRESSES_MAX) return;
    config_address *a = &c->addresses[c->address_count++];
    a->key = *key;
    snprintf(a->url, sizeof a->url, "%s", url);
}

/* DIR/keys/validator-K, DIR/node-K/config.json (K = the next node) and, if DIR has a CA, its
 * certificate; every existing node's config learns the new address. */
static int join_consortium(const char *dir, const init_options *io)
{
    char path[4200], why[300];
    static config_node first, c;
    snprintf(path, sizeof path, "%s/node-0/config.json", dir);
    if (config_load(path, &first, why, sizeof why) != 0) {
        fprintf(stderr, "error: %s is not a consortium trialctl init wrote: %s\n", dir, why);
        return TC_EXIT_INPUT;
    }
    uint32_t k = 0;
    for (struct stat st;; k++) {
        snprintf(path, sizeof path, "%s/node-%u", dir, k);
        if (stat(path, &st) != 0) break;
    }
    unsigned base = url_port(first.listen);
    if (base == 0 || k >= 64 || base + 164 + k > 65535) {
        fprintf(stderr, "error: %s: no room for node-%u (base port %u)\n", dir, k, base);
        return TC_EXIT_INPUT;
    }
    char name[32];
    snprintf(name, sizeof name, "validator-%u", k);
    pubkey key;
    bool tls = config_uses_tls(&first);
    const char *scheme = tls ? CONFIG_TLS_SCHEME : "tcp://";
    c = first; /* the shared settings; everything of node 0's own is replaced below */
    c.node = CONFIG_NODE_NONE;
    c.next_key_file[0] = '\0'; /* node 0's rotated key: the newcomer would sign as node 0 */
    snprintf(c.listen, sizeof c.listen, "%s127.0.0.1:%u", scheme, base + k);
    snprintf(c.client, sizeof c.client, "%s127.0.0.1:%u", scheme, base + 100 + k);
    const char *colon = strrchr(first.http, ':');
    if (first.http[0] && colon)
        snprintf(c.http, sizeof c.http, "%.*s:%u", (int)(colon - first.http), first.http,
                 base + 164 + k);
    snprintf(c.data_dir, sizeof c.data_dir, "data");
    snprintf(c.key_file, sizeof c.key_file, "../keys/%s.key", name);
    snprintf(c.genesis_file, sizeof c.genesis_file, "../genesis.bin");
    if (tls) {
        snprintf(c.tls_cert_key_file, sizeof c.tls_cert_key_file, "../tls/%s.pem", name);
        snprintf(c.tls_ca_file, sizeof c.tls_ca_file, "../tls/ca.pem");
    }
    if (make_key(dir, name, &key) != 0) return TC_EXIT_INTERNAL;
    if (tls && join_cert(dir, name, io) != 0) return TC_EXIT_INTERNAL;
    /* every node's address book gets the newcomer; the newcomer gets everyone's */
    for (uint32_t i = 0; i < k; i++) {
        static config_node other;
        snprintf(path, sizeof path, "%s/node-%u/config.json", dir, i);
        if (config_load(path, &other, why, sizeof why) != 0) {
            fprintf(stderr, "error: %s\n", why);
            return TC_EXIT_INPUT;
        }
        for (uint32_t a = 0; a < other.address_count; a++)
            add_address(&c, &other.addresses[a].key, other.addresses[a].url);
        if (config_add_address(path, &key, c.listen, why, sizeof why) != 0) {
            fprintf(stderr, "error: %s\n", why);
            return TC_EXIT_INTERNAL;
        }
    }
    add_address(&c, &key, c.listen);
    snprintf(path, sizeof path, "%s/node-%u", dir, k);
    if (make_dir(path) != 0) return TC_EXIT_INTERNAL;
    snprintf(path, sizeof path, "%s/node-%u/config.json", dir, k);
    if (config_save(path, &c, why, sizeof why) != 0) {
        fprintf(stderr, "error: %s\n", why);
        return TC_EXIT_INTERNAL;
    }
    char hex[65];
    tcrypto_to_hex(key.bytes, 32, hex);
    printf("%s: key %s\n  keys/%s.key, node-%u/config.json (listen %s)\n"
           "  every node's config now has its address (\"validators\"). It starts as a follower\n"
           "  (trialctl cluster up starts it too) and votes from the boundary of a committed\n"
           "  governance.validators change that adds this key (docs/NODE.md).\n",
           name, hex, name, k, c.listen);
    if (tls) printf("  certificate tls/%s.pem signed by the consortium CA\n", name);
    return TC_EXIT_OK;
}

static bool usable_dir(const char *dir)
{
    char cmd[4200];
    struct stat st;
    if (stat(dir, &st) != 0) return true;
    if (!S_ISDIR(st.st_mode)) return false;
    snprintf(cmd, sizeof cmd, "%s/genesis.bin", dir);
    return stat(cmd, &st) != 0;
}

int cmd_init(int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, 0, 'h'},        {"validators", required_argument, 0, 'n'},
        {"base-port", required_argument, 0, 'p'}, {"chain-name", required_argument, 0, 'c'},
        {"tls", no_argument, 0, 't'},          {"auditor", required_argument, 0, 'A'},
        {"host", required_argument, 0, 'H'},   {"http-bind", required_argument, 0, 'B'},
        {"join", no_argument, 0, 'j'},         GENESIS_RULE_OPTIONS,
        {0, 0, 0, 0}};
    static init_options io;
    memset(&io, 0, sizeof io);
    bool tls = false, join = false;
    uint64_t n = 4, port = 7100;
    const char *name = "local consortium";
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        if (c == 'h') return printf("%s", INIT_USAGE), TC_EXIT_OK;
        if (c == 'n' && !util_parse_u64("--validators", optarg, 4, CODEC_VALIDATORS_MAX, &n))
            continue;
        if (c == 'p' && !util_parse_u64("--base-port", optarg, 1024, 65000, &port)) continue;
        if (c == 'c' && optarg[0] == '\0')
            return fprintf(stderr, "init: --chain-name must not be empty\n"), TC_EXIT_USAGE;
        if (c == 'c') {
            name = optarg;
            continue;
        }
        if (c == 't' || c == 'j') {
            *(c == 't' ? &tls : &join) = true;
            continue;
        }
        if (c == 'A' || c == 'H' || c == 'B') {
            int rc = c == 'A'   ? add_auditor(&io, optarg)
                     : c == 'H' ? add_host(&io, optarg)
                                : set_http_bind(&io, optarg);
            if (rc != TC_EXIT_OK) return rc;
            continue;
        }
        if (c >= GENESIS_RULE_OPTION_BASE) {
            if (genesis_rule_option(&io.rules, c, optarg) != TC_EXIT_OK) return TC_EXIT_USAGE;
            continue;
        }
        return fprintf(stderr, "%s", INIT_USAGE), TC_EXIT_USAGE;
    }
    if (optind != argc - 1) return fprintf(stderr, "%s", INIT_USAGE), TC_EXIT_USAGE;
    if (join) {
        if (argc - 1 != 2 + 2 * (int)io.host_count)
            return fprintf(stderr, "error: --join takes only --host options and DIR\n"),
                   TC_EXIT_USAGE;
        return join_consortium(argv[optind], &io);
    }
    if ((n - 1) % 3 != 0) {
        fprintf(stderr, "error: --validators must be 3f+1 (4, 7, 10, 13 or 16), got %llu\n",
                (unsigned long long)n);
        return TC_EXIT_USAGE;
    }
    if (port + 164 + n > 65535) return fprintf(stderr, "error: --base-port too high\n"), 2;
    if (io.host_count > 0 && !tls) {
        fprintf(stderr, "error: --host names go into the TLS certificates: give --tls too\n");
        return TC_EXIT_USAGE;
    }
    if (io.http_bind[0] && !tls && !loopback(io.http_bind)) {
        fprintf(stderr, "error: --http-bind %s is not a loopback address: plain HTTP is for this "
                "machine only; give --tls too\n", io.http_bind);
        return TC_EXIT_USAGE;
    }
    if (!usable_dir(argv[optind])) {
        fprintf(stderr, "error: %s already holds a consortium (or is not a directory)\n",
                argv[optind]);
        return TC_EXIT_INPUT;
    }
    return build_consortium(argv[optind], (uint32_t)n, (unsigned)port, name, tls, &io);
}
