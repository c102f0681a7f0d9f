/*
 * test_transport.c - validator messaging over nng on loopback: delivery in a
 * full mesh, peers that come up late, size bounds, garbage from a stranger.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "transport.h"

static int base_port;
static char urls[4][64];

static void pick_ports(void)
{
    base_port = 10000 + (int)((unsigned)getpid() * 37u % 20000u); /* below ephemeral ports */
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
