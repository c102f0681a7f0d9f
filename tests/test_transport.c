/*
 * test_transport.c - validator messaging over nng on loopback: delivery in a
 * full mesh, peers that come up late, the count of connected peers, size bounds, garbage
 * from a stranger; and over TLS (certificates made with the openssl command at set-up): a
 * mutual-TLS mesh, a peer with a certificate of another CA, bad certificate files, the
 * client API over TLS.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "transport.h"

static int base_port;
static char urls[4][64];

static void pick_ports(void)
{
    /* below the cluster tests' fixed ports (17100-20203) and the ephemeral range (32768-) */
    base_port = 10000 + (int)((unsigned)getpid() * 37u % 7000u);
    for (int i = 0; i < 4; i++) snprintf(urls[i], sizeof urls[i], "tcp://127.0.0.1:%d", base_port + i);
}

TestSuite(transport, .init = pick_ports);

static tp_config config_for(int self, int n, size_t max_bytes)
{
    tp_config cfg = {.listen_url = urls[self], .peer_count = (uint32_t)n,
                     .max_message_bytes = max_bytes, .send_queue_messages = 256,
                     .recv_queue_messages = 1024, .reconnect_min_ms = 10,
                     .reconnect_max_ms = 100};
    for (int p = 0; p < n; p++) cfg.peer_urls[p] = p == self ? NULL : urls[p];
    return cfg;
}

static tp_net *open_node(int self, int n, size_t max_bytes)
{
    tp_config cfg = config_for(self, n, max_bytes);
    tp_net *net = NULL;
    char why[300];
    tp_err rc = tp_open(&cfg, &net, why, sizeof why);
    cr_assert_eq(rc, TP_OK, "node %d: %s", self, why);
    return net;
}

/* Send until accepted (the dialer may still be connecting). */
static void send_eventually(tp_net *net, uint32_t peer, const void *data, size_t len)
{
    for (int tries = 0; tries < 500; tries++) {
        tp_err rc = tp_send(net, peer, data, len);
        if (rc == TP_OK) return;
        cr_assert_eq(rc, TP_ERR_FULL, "send: %s", tp_strerror(rc));
        usleep(10000);
    }
    cr_assert_fail("peer %u never accepted a message", peer);
}

/* Receive one message within 5 s; returns its length, copies up to cap bytes. */
static size_t recv_one(tp_net *net, uint8_t *out, size_t cap)
{
    uint8_t *data;
    size_t len;
    tp_err rc = tp_recv(net, 5000, &data, &len);
    cr_assert_eq(rc, TP_OK, "recv: %s", tp_strerror(rc));
    memcpy(out, data, len < cap ? len : cap);
    tp_free(data, len);
    return len;
}

Test(transport, every_node_receives_every_message_of_a_full_mesh)
{
    enum { N = 3, PER_PEER = 50 };
    tp_net *nodes[N];
    for (int i = 0; i < N; i++) nodes[i] = open_node(i, N, 4096);
    for (int from = 0; from < N; from++) {
        for (int to = 0; to < N; to++) {
            if (to == from) continue;
            for (int k = 0; k < PER_PEER; k++) {
                uint8_t msg[3] = {(uint8_t)from, (uint8_t)to, (uint8_t)k};
                send_eventually(nodes[from], (uint32_t)to, msg, sizeof msg);
            }
        }
    }
    for (int to = 0; to < N; to++) {
        int seen[N][PER_PEER] = {{0}};
        for (int m = 0; m < (N - 1) * PER_PEER; m++) {
            uint8_t msg[3];
            cr_assert_eq(recv_one(nodes[to], msg, sizeof msg), 3);
            cr_assert_eq(msg[1], to);
            cr_assert_lt(msg[0], N);
            cr_assert_lt(msg[2], PER_PEER);
            seen[msg[0]][msg[2]]++;
        }
        for (int from = 0; from < N; from++) {
            for (int k = 0; from != to && k < PER_PEER; k++) cr_assert_eq(seen[from][k], 1);
        }
        uint8_t *data;
        size_t len;
        cr_assert_eq(tp_recv(nodes[to], 0, &data, &len), TP_ERR_TIMEOUT, "nothing extra");
    }
    for (int i = 0; i < N; i++) tp_close(nodes[i]);
}

Test(transport, a_peer_that_comes_up_late_is_reached_by_reconnect)
{
    tp_net *a = open_node(0, 2, 4096);
    usleep(100000); /* a's dialer fails and backs off meanwhile */
    tp_net *b = open_node(1, 2, 4096);
    send_eventually(a, 1, "late", 4);
    uint8_t msg[8];
    cr_assert_eq(recv_one(b, msg, sizeof msg), 4);
    cr_assert_arr_eq(msg, "late", 4);
    /* b restarts: a's dialer reconnects to the new listener */
    tp_close(b);
    b = open_node(1, 2, 4096);
    bool delivered = false;
    for (int tries = 0; tries < 300 && !delivered; tries++) {
        tp_send(a, 1, "again", 5);
        uint8_t *data;
        size_t len;
        if (tp_recv(b, 20, &data, &len) == TP_OK) {
            delivered = len == 5 && memcmp(data, "again", 5) == 0;
            tp_free(data, len);
        }
    }
    cr_assert(delivered, "a message reaches the restarted peer");
    tp_close(a);
    tp_close(b);
}

/* Wait until net counts want connected peers (nng connects in the background). */
static bool connections_become(tp_net *net, uint32_t want)
{
    for (int tries = 0; tries < 300; tries++) {
        if (tp_peer_connections(net) == want) return true;
        usleep(10000);
    }
    return false;
}

Test(transport, peer_connections_count_the_peers_that_are_up)
{
    enum { N = 3 };
    tp_net *nodes[N];
    nodes[0] = open_node(0, N, 4096);
    cr_expect(connections_become(nodes[0], 0), "alone: %u", tp_peer_connections(nodes[0]));
    for (int i = 1; i < N; i++) nodes[i] = open_node(i, N, 4096);
    for (int i = 0; i < N; i++)
        cr_expect(connections_become(nodes[i], N - 1), "node %d counts %u of %d", i,
                  tp_peer_connections(nodes[i]), N - 1);
    tp_close(nodes[2]);
    for (int i = 0; i < 2; i++)
        cr_expect(connections_become(nodes[i], N - 2), "node %d still counts %u after a peer went",
                  i, tp_peer_connections(nodes[i]));
    nodes[2] = open_node(2, N, 4096);
    cr_expect(connections_become(nodes[0], N - 1), "the peer is back: %u",
              tp_peer_connections(nodes[0]));
    for (int i = 0; i < N; i++) tp_close(nodes[i]);
}

/* A validator added by governance (issue 23): a node of a mesh of 2 starts dialing a third
 * that joined later; messages reach it, and the peer count includes it. */
Test(transport, a_peer_added_after_open_is_dialed_and_reached)
{
    tp_net *a = open_node(0, 2, 4096), *b = open_node(1, 2, 4096);
    tp_net *c = open_node(2, 3, 4096); /* the newcomer knows everyone */
    cr_expect(connections_become(a, 1));
    uint32_t peer = 0;
    char why[300];
    cr_assert_eq(tp_add_peer(a, urls[2], &peer, why, sizeof why), TP_OK, "%s", why);
    cr_expect_eq(peer, 2, "the next index after the last");
    send_eventually(a, peer, "joined", 6);
    uint8_t msg[8];
    cr_assert_eq(recv_one(c, msg, sizeof msg), 6);
    cr_assert_arr_eq(msg, "joined", 6);
    cr_expect(connections_become(a, 2), "a counts the newcomer: %u", tp_peer_connections(a));
    /* a TLS URL on a plain mesh is refused, naming it, and takes no index */
    cr_expect_eq(tp_add_peer(a, "tls+tcp://127.0.0.1:1", &peer, why, sizeof why), TP_ERR_CONFIG);
    cr_expect(strstr(why, "tls+tcp://127.0.0.1:1") != NULL, "%s", why);
    cr_expect_eq(tp_send(a, 3, "x", 1), TP_ERR_CONFIG, "no peer 3");
    tp_close(a);
    tp_close(b);
    tp_close(c);
}

Test(transport, oversized_messages_are_refused_and_the_link_recovers)
{
    tp_net *a = open_node(0, 2, 100000);
    tp_net *b = open_node(1, 2, 1000);
    static uint8_t big[200000];
    cr_assert_eq(tp_send(a, 1, big, sizeof big), TP_ERR_TOO_BIG, "the sender's own bound");
    send_eventually(a, 1, big, 5000); /* within a's bound, over b's: b drops it */
    uint8_t msg[16];
    bool small_arrived = false;
    for (int tries = 0; tries < 300 && !small_arrived; tries++) {
        tp_send(a, 1, "small", 5);
        uint8_t *data;
        size_t len;
        if (tp_recv(b, 20, &data, &len) == TP_OK) {
            cr_assert_leq(len, 1000, "b never delivers more than its bound");
            small_arrived = len == 5;
            tp_free(data, len);
        }
    }
    cr_assert(small_arrived, "after the oversized message the link works again");
    (void)msg;
    cr_assert_eq(tp_send(a, 7, "x", 1), TP_ERR_CONFIG, "unknown peer");
    cr_assert_eq(tp_send(a, 0, "x", 1), TP_ERR_CONFIG, "no link to self");
    tp_close(a);
    tp_close(b);
}

Test(transport, garbage_from_a_stranger_does_not_disturb_the_node)
{
    tp_net *a = open_node(0, 2, 4096);
    tp_net *b = open_node(1, 2, 4096);
    for (int round = 0; round < 5; round++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)(base_port + 1))};
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        cr_assert_eq(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
        uint8_t junk[2048];
        for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 131 + (size_t)round);
        ssize_t sent = write(fd, junk, sizeof junk);
        (void)sent;
        close(fd);
    }
    send_eventually(a, 1, "still here", 10);
    uint8_t msg[16];
    cr_assert_eq(recv_one(b, msg, sizeof msg), 10);
    cr_assert_arr_eq(msg, "still here", 10);
    tp_close(a);
    tp_close(b);
}

Test(transport, bad_configuration_is_refused_with_the_address)
{
    tp_net *a = open_node(0, 2, 4096);
    tp_config cfg = config_for(0, 2, 4096); /* same listen URL: in use */
    tp_net *b = NULL;
    char why[300];
    cr_assert_eq(tp_open(&cfg, &b, why, sizeof why), TP_ERR_LISTEN);
    cr_assert(strstr(why, urls[0]) != NULL, "%s", why);
    cfg.listen_url = "bogus://nowhere";
    cr_assert_eq(tp_open(&cfg, &b, why, sizeof why), TP_ERR_LISTEN);
    cfg = config_for(2, 2, 0);
    cr_assert_eq(tp_open(&cfg, &b, why, sizeof why), TP_ERR_CONFIG);
    tp_close(a);
}

/* ==== TLS =============================================================================== */

static char tls_dir[256];
static char tls_urls[5][64];

/* Run a shell command in tls_dir; it must succeed. */
static void shell(const char *command)
{
    char line[2048];
    snprintf(line, sizeof line, "cd '%s' && (%s) >/dev/null 2>&1", tls_dir, command);
    cr_assert_eq(system(line), 0, "failed: %s", line);
}

/* NAME.pem (self-signed CA certificate) and NAME.key. */
static void make_ca(const char *name)
{
    char command[512];
    snprintf(command, sizeof command,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
             " -keyout %s.key -out %s.pem -days 30 -subj /CN=test-%s",
             name, name, name);
    shell(command);
}

/* NAME.pem: a certificate of CA (CA.pem, CA.key) followed by its private key; NAME.crt is
 * the certificate alone. */
static void make_cert(const char *ca, const char *name)
{
    char command[1024];
    snprintf(command, sizeof command,
             "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
             " -keyout %s.key -out %s.csr -subj /CN=%s"
             " && openssl x509 -req -in %s.csr -CA %s.pem -CAkey %s.key -CAcreateserial"
             " -days 30 -out %s.crt -extfile ext.cnf && cat %s.crt %s.key > %s.pem",
             name, name, name, name, ca, ca, name, name, name, name);
    shell(command);
}

static void tls_setup(void)
{
    pick_ports();
    for (int i = 0; i < 5; i++) {
        snprintf(tls_urls[i], sizeof tls_urls[i], "tls+tcp://127.0.0.1:%d", base_port + 10 + i);
    }
    tu_tempdir(tls_dir, "tls");
    shell("printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\n"
          "extendedKeyUsage=serverAuth,clientAuth\\n' > ext.cnf");
    make_ca("ca");
    make_ca("other-ca");
    for (int i = 0; i < 4; i++) {
        char name[16];
        snprintf(name, sizeof name, "node%d", i);
        make_cert("ca", name);
    }
    make_cert("other-ca", "rogue");
    shell("printf 'not a certificate\\n' > garbage.pem");
}

static void tls_teardown(void) { tu_rmdir(tls_dir); }

TestSuite(transport_tls, .init = tls_setup, .fini = tls_teardown);

typedef struct {
    char cert_key[300], ca[300];
    tp_tls tls;
} tls_files;

static tls_files files_of(const char *cert_key, const char *ca)
{
    tls_files f;
    snprintf(f.cert_key, sizeof f.cert_key, "%s/%s.pem", tls_dir, cert_key);
    snprintf(f.ca, sizeof f.ca, "%s/%s.pem", tls_dir, ca);
    return f;
}

/* Open node self of an n-node TLS mesh with the given files. */
static tp_err open_tls_node(int self, int n, tls_files *f, tp_net **out, char *why, size_t cap)
{
    f->tls = (tp_tls){.cert_key_file = f->cert_key, .ca_file = f->ca};
    tp_config cfg = config_for(self, n, 4096);
    cfg.listen_url = tls_urls[self];
    for (int p = 0; p < n; p++) cfg.peer_urls[p] = p == self ? NULL : tls_urls[p];
    cfg.tls = &f->tls;
    return tp_open(&cfg, out, why, cap);
}

static tp_net *tls_node(int self, int n, const char *cert_key, const char *ca)
{
    tls_files f = files_of(cert_key, ca);
    tp_net *net = NULL;
    char why[600];
    cr_assert_eq(open_tls_node(self, n, &f, &net, why, sizeof why), TP_OK, "node %d: %s", self,
                 why);
    return net;
}

Test(transport_tls, a_mesh_of_four_over_mutual_tls_delivers_every_message)
{
    enum { N = 4, PER_PEER = 20 };
    tp_net *nodes[N];
    for (int i = 0; i < N; i++) {
        char name[16];
        snprintf(name, sizeof name, "node%d", i);
        nodes[i] = tls_node(i, N, name, "ca");
    }
    for (int from = 0; from < N; from++) {
        for (int to = 0; to < N; to++) {
            for (int k = 0; to != from && k < PER_PEER; k++) {
                uint8_t msg[3] = {(uint8_t)from, (uint8_t)to, (uint8_t)k};
                send_eventually(nodes[from], (uint32_t)to, msg, sizeof msg);
            }
        }
    }
    for (int to = 0; to < N; to++) {
        int seen[N][PER_PEER] = {{0}};
        for (int m = 0; m < (N - 1) * PER_PEER; m++) {
            uint8_t msg[3];
            cr_assert_eq(recv_one(nodes[to], msg, sizeof msg), 3);
            cr_assert_eq(msg[1], to);
            cr_assert(msg[0] < N && msg[2] < PER_PEER);
            seen[msg[0]][msg[2]]++;
        }
        for (int from = 0; from < N; from++) {
            for (int k = 0; from != to && k < PER_PEER; k++) cr_assert_eq(seen[from][k], 1);
        }
    }
    for (int i = 0; i < N; i++) tp_close(nodes[i]);
}

/* Send data to peer every 20 ms for about ms milliseconds while receiving on net; returns
 * how many messages net received. */
static int received_while_sending(tp_net *from, uint32_t peer, tp_net *net, int ms)
{
    int got = 0;
    for (int t = 0; t < ms / 20; t++) {
        tp_send(from, peer, "hello", 5);
        uint8_t *data;
        size_t len;
        if (tp_recv(net, 20, &data, &len) == TP_OK) {
            got++;
            tp_free(data, len);
        }
    }
    return got;
}

Test(transport_tls, a_peer_with_a_certificate_of_another_ca_delivers_nothing)
{
    /* nodes 0 and 1 hold certificates of the consortium CA; node 2 holds one of another CA
     * but trusts the consortium CA, so only the listener's demand for a client certificate
     * of its CA keeps it out (and node 0 refuses node 2's listener certificate). */
    tp_net *good0 = tls_node(0, 3, "node0", "ca");
    tp_net *good1 = tls_node(1, 3, "node1", "ca");
    tp_net *rogue = tls_node(2, 3, "rogue", "ca");
    cr_assert_eq(received_while_sending(rogue, 0, good0, 1500), 0, "the rogue reached node 0");
    cr_assert_eq(received_while_sending(good0, 2, rogue, 600), 0, "node 0 reached the rogue");
    cr_assert_gt(received_while_sending(good1, 0, good0, 1500), 0, "control: node 1 reaches 0");
    tp_close(rogue);
    tp_close(good1);
    tp_close(good0);
}

static void expect_config_error(tls_files f, const char *needle)
{
    tp_net *net = NULL;
    char why[600];
    cr_assert_eq(open_tls_node(0, 2, &f, &net, why, sizeof why), TP_ERR_CONFIG, "%s", needle);
    cr_assert(strstr(why, needle) != NULL, "'%s' does not name '%s'", why, needle);
}

Test(transport_tls, bad_certificate_files_are_refused_naming_the_file)
{
    tls_files f = files_of("missing", "ca");
    expect_config_error(f, f.cert_key);
    f = files_of("node0", "garbage");
    expect_config_error(f, f.ca);
    f = files_of("garbage", "ca");
    expect_config_error(f, f.cert_key);
    f = files_of("node0", "ca");
    snprintf(f.cert_key, sizeof f.cert_key, "%s/node0.crt", tls_dir); /* no private key */
    expect_config_error(f, f.cert_key);
    /* the scheme must agree with the settings */
    f = files_of("node0", "ca");
    f.tls = (tp_tls){.cert_key_file = f.cert_key, .ca_file = f.ca};
    tp_config cfg = config_for(0, 2, 4096); /* tcp:// URLs */
    cfg.tls = &f.tls;
    tp_net *net = NULL;
    char why[600];
    cr_assert_eq(tp_open(&cfg, &net, why, sizeof why), TP_ERR_CONFIG);
    cr_assert(strstr(why, "tls+tcp://") != NULL, "%s", why);
    cfg.tls = NULL;
    cfg.listen_url = tls_urls[0];
    cr_assert_eq(tp_open(&cfg, &net, why, sizeof why), TP_ERR_CONFIG);
    cr_assert(strstr(why, tls_urls[0]) != NULL, "%s", why);
}

static size_t echo(void *ctx, const uint8_t *request, size_t len, uint8_t *reply, size_t cap)
{
    (void)ctx;
    if (len > cap) return 0;
    memcpy(reply, request, len);
    return len;
}

/* One request from a client trusting ca_name to a TLS server holding node0's certificate. */
static tp_err ask_over_tls(const char *ca_name)
{
    tls_files f = files_of("unused", ca_name);
    tp_tls tls = {.cert_key_file = NULL, .ca_file = f.ca};
    tp_client *c = NULL;
    char why[600];
    cr_assert_eq(tp_client_open_tls(tls_urls[4], &tls, 4096, &c, why, sizeof why), TP_OK, "%s",
                 why);
    uint8_t *reply = NULL;
    size_t len = 0;
    tp_err rc = tp_client_request(c, "ping", 4, 1500, &reply, &len);
    if (rc == TP_OK) {
        cr_assert_eq(len, 4);
        cr_assert_arr_eq(reply, "ping", 4);
        tp_free(reply, len);
    }
    tp_client_close(c);
    return rc;
}

Test(transport_tls, the_client_api_over_tls_serves_clients_that_trust_its_ca)
{
    tls_files f = files_of("node0", "ca");
    tp_tls tls = {.cert_key_file = f.cert_key, .ca_file = NULL};
    tp_server *server = NULL;
    char why[600];
    cr_assert_eq(tp_server_open_tls(tls_urls[4], &tls, echo, NULL, 2, 4096, &server, why,
                                    sizeof why),
                 TP_OK, "%s", why);
    cr_assert_eq(ask_over_tls("ca"), TP_OK, "a client without a certificate is served");
    cr_assert_eq(ask_over_tls("other-ca"), TP_ERR_TIMEOUT,
                 "a client that does not trust the server's CA never talks to it");
    tp_client *plain = NULL;
    cr_assert_eq(tp_client_open(tls_urls[4], 4096, &plain, why, sizeof why), TP_ERR_CONFIG,
                 "a TLS URL without a CA file is refused");
    tp_server_close(server);
}
