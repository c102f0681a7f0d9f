/*
 * util.c - small helpers shared by trialctl's commands.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <errno.h>
#include <ftw.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "crypto.h"

int util_read_file(const char *path, size_t max, uint8_t **out, size_t *len)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        fprintf(stderr, "error: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "error: %s is not a regular file\n", path);
        close(fd);
        return -1;
    }
    if ((uint64_t)st.st_size > max) {
        fprintf(stderr, "error: %s is too large (%lld bytes, limit %zu)\n", path,
                (long long)st.st_size, max);
        close(fd);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    uint8_t *buf = malloc(size ? size : 1);
    size_t got = 0;
    while (buf && got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd);
    if (!buf || got != size) {
        fprintf(stderr, "error: cannot read %s\n", path);
        free(buf);
        return -1;
    }
    *out = buf;
    *len = size;
    return 0;
}

int util_write_file(const char *path, const uint8_t *data, size_t len)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        fprintf(stderr, "error: cannot create %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    bool ok = fwrite(data, 1, len, f) == len;
    ok = fflush(f) == 0 && ok;
    ok = fsync(fileno(f)) == 0 && ok;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "error: cannot write %s: %s\n", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

int util_check_url(const char *opt, const char *url)
{
    static const char *const schemes[] = {"tcp://", "tls+tcp://"};
    const char *rest = NULL;
    for (int i = 0; i < 2 && !rest; i++)
        if (strncmp(url, schemes[i], strlen(schemes[i])) == 0) rest = url + strlen(schemes[i]);
    const char *colon = rest ? strrchr(rest, ':') : NULL;
    if (!colon || colon == rest) {
        fprintf(stderr, "%s %s: not a node URL (tcp://HOST:PORT or tls+tcp://HOST:PORT)\n", opt,
                url);
        return -1;
    }
    const char *p = colon + 1;
    unsigned long port = 0;
    for (; *p >= '0' && *p <= '9' && port <= 65535; p++) port = port * 10 + (unsigned long)(*p - '0');
    if (*p != '\0' || p == colon + 1 || port == 0 || port > 65535) {
        fprintf(stderr, "%s %s: the port must be a number from 1 to 65535\n", opt, url);
        return -1;
    }
    return 0;
}

int util_parse_u64(const char *opt, const char *text, uint64_t min, uint64_t max,
                   uint64_t *out)
{
    char *end;
    errno = 0;
    if (text[0] < '0' || text[0] > '9') goto bad;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end || v < min || v > max) goto bad;
    *out = v;
    return 0;
bad:
    fprintf(stderr, "error: %s wants a whole number from %llu to %llu, got '%s'\n", opt,
            (unsigned long long)min, (unsigned long long)max, text);
    return -1;
}

double util_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- the Ed25519 bound of the benchmarks ---------------------------------------------- */

typedef struct {
    keypair key;
    uint8_t body[200];
    signature sig;
    hash32 chain;
    double seconds;
    uint64_t count;
} verify_job;

static void *verify_loop(void *arg)
{
    verify_job *j = arg;
    double t0 = util_now();
    uint64_t n = 0;
    while (util_now() - t0 < j->seconds) {
        for (int i = 0; i < 64; i++) {
            if (tcrypto_verify(&j->key.public_key, TCRYPTO_TAG_TX, &j->chain, j->body,
                               sizeof j->body, &j->sig)) {
                n++;
            }
        }
    }
    j->count = n;
    j->seconds = util_now() - t0;
    return NULL;
}

double util_verify_rate(unsigned threads, double seconds)
{
    verify_job jobs[64];
    pthread_t tids[64];
    if (threads > 64)
        threads = 64;
    for (unsigned i = 0; i < threads; i++) {
        memset(&jobs[i], 0, sizeof jobs[i]);
        tcrypto_keypair_generate(&jobs[i].key);
        tcrypto_sign(&jobs[i].key, TCRYPTO_TAG_TX, &jobs[i].chain, jobs[i].body,
                     sizeof jobs[i].body, &jobs[i].sig);
        jobs[i].seconds = seconds;
        pthread_create(&tids[i], NULL, verify_loop, &jobs[i]);
    }
    double rate = 0;
    for (unsigned i = 0; i < threads; i++) {
        pthread_join(tids[i], NULL);
        rate += (double)jobs[i].count / jobs[i].seconds;
    }
    return rate;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void util_remove_tree(const char *dir)
{
    if (nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
        fprintf(stderr, "warning: could not remove %s: %s\n", dir, strerror(errno));
}
