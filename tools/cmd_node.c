/*
 * cmd_node.c - `trialctl cluster up|down|status DIR`: the local validator
 * processes of a consortium written by `trialctl init DIR`.
 *
 * Each DIR/node-I/ holds config.json; `up` starts `trialnode --config` there
 * (log in node-I/node.log, pid in node-I/trialnode.pid) and waits until every
 * node reports in node-I/data/status.json; `down` sends SIGTERM and waits
 * (SIGKILL after --timeout-ms); `status` prints pid, height, view and primary
 * of each node from its status file (--json for machines).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"

#define NODES_MAX 64

static const char CLUSTER_USAGE[] =
    "usage: trialctl cluster up|down|status DIR [--timeout-ms MS] [--json]\n"
    "  up      start trialnode for every DIR/node-I/config.json (log: node-I/node.log)\n"
    "          and wait until each reports its status (default timeout 15000 ms)\n"
    "  down    stop them with SIGTERM (SIGKILL after the timeout, default 10000 ms)\n"
    "  status  pid, running, height, view, primary of each node (--json: an array)\n"
    "  The trialnode binary is $TRIALNODE, else the one beside trialctl.\n";

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Number of node-I directories with a config.json (I = 0, 1, ...). */
static uint32_t count_nodes(const char *dir)
{
    uint32_t n = 0;
    char path[PATH_MAX];
    for (; n < NODES_MAX; n++) {
        snprintf(path, sizeof path, "%s/node-%u/config.json", dir, n);
        if (access(path, R_OK) != 0)
            break;
    }
    return n;
}

long cluster_node_pid(const char *dir, uint32_t i)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/node-%u/trialnode.pid", dir, i);
    FILE *f = fopen(path, "r");
    long pid = 0;
    if (f) {
        if (fscanf(f, "%ld", &pid) != 1)
            pid = 0;
        fclose(f);
    }
    return pid;
}

/* Running: the process exists and is not a zombie (a killed node whose parent,
 * often init in a container, has not reaped it yet). */
static bool alive(long pid)
{
    if (pid <= 0 || kill((pid_t)pid, 0) != 0)
        return false;
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return true; /* no /proc: trust kill() */
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *end = strrchr(buf, ')'); /* "pid (comm) S ..." */
    return !(end && end[1] == ' ' && (end[2] == 'Z' || end[2] == 'X'));
}

/* The node's status file, or NULL. */
static json_t *read_status(const char *dir, uint32_t i)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/node-%u/data/status.json", dir, i);
    return json_load_file(path, 0, NULL);
}

static void trialnode_path(char *out, size_t cap)
{
    const char *env = getenv("TRIALNODE");
    if (env && *env) {
        snprintf(out, cap, "%s", env);
        return;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        snprintf(out, cap, "trialnode");
        return;
    }
    self[n] = '\0';
    snprintf(out, cap, "%s/trialnode", dirname(self));
}

static long start_node(const char *dir, uint32_t i, const char *binary)
{
    char cfg[PATH_MAX], log[PATH_MAX];
    snprintf(cfg, sizeof cfg, "%s/node-%u/config.json", dir, i);
    snprintf(log, sizeof log, "%s/node-%u/node.log", dir, i);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        /* Its own process group, so that a Ctrl-C meant for the terminal's foreground job
         * does not reach it, but the caller's session: with Linux's autogroup scheduling
         * (on by default) a session per node (setsid) made the kernel share the CPU evenly
         * between the nodes first, so a node's event loop waited behind its own signature
         * checks and a PREPARE->COMMIT hop took 18 ms instead of 10 (docs/BENCHMARKS.md). */
        setpgid(0, 0);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        int null = open("/dev/null", O_RDONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (null >= 0)
            dup2(null, 0);
        execl(binary, "trialnode", "--config", cfg, (char *)NULL);
        fprintf(stderr, "trialctl cluster: cannot run %s: %s\n", binary, strerror(errno));
        _exit(127);
    }
    char pidfile[PATH_MAX];
    snprintf(pidfile, sizeof pidfile, "%s/node-%u/trialnode.pid", dir, i);
    FILE *f = fopen(pidfile, "w");
    if (f) {
        fprintf(f, "%ld\n", (long)pid);
        fclose(f);
    }
    return pid;
}

/* Wait until node i's status file names pid. */
static bool reported(const char *dir, uint32_t i, long pid)
{
    json_t *st = read_status(dir, i);
    bool ok = st && json_integer_value(json_object_get(st, "pid")) == pid;
    json_decref(st);
    return ok;
}

static int cluster_up(const char *dir, uint32_t n, long timeout_ms)
{
    char binary[PATH_MAX];
    trialnode_path(binary, sizeof binary);
    long pids[NODES_MAX];
    for (uint32_t i = 0; i < n; i++) {
        long old = cluster_node_pid(dir, i);
        if (alive(old)) {
            printf("node %u already running (pid %ld)\n", i, old);
            pids[i] = old;
            continue;
        }
        pids[i] = start_node(dir, i, binary);
        if (pids[i] < 0) {
            fprintf(stderr, "trialctl cluster up: fork: %s\n", strerror(errno));
            return TC_EXIT_INTERNAL;
        }
    }
    for (long waited = 0;; waited += 50) {
        uint32_t ready = 0;
        for (uint32_t i = 0; i < n; i++) {
            int status;
            if (waitpid((pid_t)pids[i], &status, WNOHANG) == pids[i]) {
                fprintf(stderr, "trialctl cluster up: node %u exited (status %d); see "
                        "%s/node-%u/node.log\n", i, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                        dir, i);
                return TC_EXIT_FAIL;
            }
            ready += reported(dir, i, pids[i]);
        }
        if (ready == n)
            break;
        if (waited >= timeout_ms) {
            fprintf(stderr, "trialctl cluster up: %u of %u nodes reported within %ld ms\n", ready,
                    n, timeout_ms);
            return TC_EXIT_FAIL;
        }
        sleep_ms(50);
    }
    for (uint32_t i = 0; i < n; i++)
        printf("node %u up (pid %ld)\n", i, pids[i]);
    return TC_EXIT_OK;
}

static int cluster_down(const char *dir, uint32_t n, long timeout_ms)
{
    long pids[NODES_MAX];
    for (uint32_t i = 0; i < n; i++) {
        pids[i] = cluster_node_pid(dir, i);
        if (alive(pids[i]))
            kill((pid_t)pids[i], SIGTERM);
    }
    int rc = TC_EXIT_OK;
    for (uint32_t i = 0; i < n; i++) {
        long waited = 0;
        while (alive(pids[i]) && waited < timeout_ms) {
            waitpid((pid_t)pids[i], NULL, WNOHANG); /* reap if it is our child */
            sleep_ms(20);
            waited += 20;
        }
        if (alive(pids[i])) {
            fprintf(stderr, "node %u (pid %ld) ignored SIGTERM; killed\n", i, pids[i]);
            kill((pid_t)pids[i], SIGKILL);
            rc = TC_EXIT_FAIL;
        } else if (pids[i] > 0) {
            printf("node %u stopped\n", i);
        }
        char pidfile[PATH_MAX];
        snprintf(pidfile, sizeof pidfile, "%s/node-%u/trialnode.pid", dir, i);
        unlink(pidfile);
    }
    return rc;
}

static int cluster_status(const char *dir, uint32_t n, bool as_json)
{
    json_t *all = json_array();
    if (!as_json)
        printf("%-5s %-8s %-8s %-8s %-6s %-8s %s\n", "node", "pid", "running", "height", "view",
               "primary", "state");
    for (uint32_t i = 0; i < n; i++) {
        long pid = cluster_node_pid(dir, i);
        bool up = alive(pid);
        json_t *st = read_status(dir, i);
        json_int_t height = json_integer_value(json_object_get(st, "height"));
        json_int_t view = json_integer_value(json_object_get(st, "view"));
        json_int_t primary = json_integer_value(json_object_get(st, "primary"));
        const char *state = json_string_value(json_object_get(st, "state_hash"));
        bool changing = json_is_true(json_object_get(st, "view_changing"));
        if (as_json) {
            json_array_append_new(all, json_pack("{s:i, s:I, s:b, s:I, s:I, s:I, s:b, s:s}",
                                                 "node", (int)i, "pid", (json_int_t)pid,
                                                 "running", up, "height", height, "view", view,
                                                 "primary", primary, "view_changing", changing,
                                                 "state_hash", state ? state : ""));
        } else {
            printf("%-5u %-8ld %-8s %-8lld %-6lld %-8lld %.16s%s\n", i, pid, up ? "yes" : "no",
                   (long long)height, (long long)view, (long long)primary, state ? state : "-",
                   changing ? " (changing view)" : "");
        }
        json_decref(st);
    }
    if (as_json) {
        char *text = json_dumps(all, JSON_INDENT(2));
        if (text)
            puts(text);
        free(text);
    }
    json_decref(all);
    return TC_EXIT_OK;
}

int cmd_cluster(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
        fputs(CLUSTER_USAGE, stdout);
        return TC_EXIT_OK;
    }
    const char *verb = argc >= 2 ? argv[1] : NULL, *dir = argc >= 3 ? argv[2] : NULL;
    long timeout_ms = -1;
    bool as_json = false;
    for (int i = 3; i < argc; i++) {
        uint64_t v;
        if (strcmp(argv[i], "--json") == 0) {
            as_json = true;
        } else if (strcmp(argv[i], "--timeout-ms") == 0 && i + 1 < argc &&
                   util_parse_u64("--timeout-ms", argv[i + 1], 1, 3600000, &v) == 0) {
            timeout_ms = (long)v;
            i++;
        } else {
            fputs(CLUSTER_USAGE, stderr);
            return TC_EXIT_USAGE;
        }
    }
    if (!verb || !dir ||
        (strcmp(verb, "up") != 0 && strcmp(verb, "down") != 0 && strcmp(verb, "status") != 0)) {
        fputs(CLUSTER_USAGE, stderr);
        return TC_EXIT_USAGE;
    }
    uint32_t n = count_nodes(dir);
    if (n == 0) {
        fprintf(stderr, "trialctl cluster: %s has no node-0/config.json (run trialctl init)\n", dir);
        return TC_EXIT_INPUT;
    }
    if (strcmp(verb, "up") == 0)
        return cluster_up(dir, n, timeout_ms > 0 ? timeout_ms : 15000);
    if (strcmp(verb, "down") == 0)
        return cluster_down(dir, n, timeout_ms > 0 ? timeout_ms : 10000);
    return cluster_status(dir, n, as_json);
}
