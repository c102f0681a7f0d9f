/*
 * merkle.c - RFC 9162 Merkle trees. See merkle.h for the hash layouts and the
 * perfect-subtree addressing every function here is built on.
 *
 * The proof generators walk the RFC's recursive definitions top down in a
 * loop (bounded by the 64 levels of a uint64_t tree) instead of recursing, and
 * reverse the result at the end, since the RFC lists the element nearest the
 * leaves first.
 */
#include "merkle.h"

#include <assert.h>
#include <string.h>

#define LEAF_PREFIX 0x00
#define NODE_PREFIX 0x01

const char *merkle_strerror(int err)
{
    if (err == MERKLE_OK) return "ok";
    if (err == MERKLE_ERR_RANGE) return "size, index or subtree outside the tree";
    if (err > 0) return "subtree source error";
    return "unknown merkle error";
}

void merkle_leaf_hash(const void *data, size_t len, hash32 *out)
{
    assert(out != NULL);
    assert(data != NULL || len == 0);
    const uint8_t prefix = LEAF_PREFIX;
    tcrypto_sha256_state st;
    tcrypto_sha256_init(&st);
    tcrypto_sha256_update(&st, &prefix, 1);
    if (len > 0) tcrypto_sha256_update(&st, data, len);
    tcrypto_sha256_final(&st, out);
}

void merkle_node_hash(const hash32 *left, const hash32 *right, hash32 *out)
{
    assert(left != NULL && right != NULL && out != NULL);
    uint8_t buf[1 + 2 * TCRYPTO_HASH_BYTES];
    buf[0] = NODE_PREFIX;
    memcpy(buf + 1, left->bytes, TCRYPTO_HASH_BYTES);
    memcpy(buf + 1 + TCRYPTO_HASH_BYTES, right->bytes, TCRYPTO_HASH_BYTES);
    tcrypto_sha256(buf, sizeof buf, out); /* buf is a copy: out may alias */
}

void merkle_empty_root(hash32 *out)
{
    assert(out != NULL);
    tcrypto_sha256("", 0, out);
}

/* ---- Small integer helpers ----------------------------------------------- */

/* Index of the highest set bit of n (n > 0). */
static unsigned floor_log2(uint64_t n)
{
    assert(n > 0);
    unsigned log = 0;
    while (n >>= 1) log++;
    assert(log < 64);
    return log;
}

/* The RFC split point: the largest power of two strictly below n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
    assert(n >= 2);
    uint64_t k = (uint64_t)1 << floor_log2(n - 1);
    assert(k < n && 2 * k >= n);
    return k;
}

static void reverse_path(hash32 *path, size_t len)
{
    for (size_t i = 0; i < len / 2; i++) {
        hash32 tmp = path[i];
        path[i] = path[len - 1 - i];
        path[len - 1 - i] = tmp;
    }
}

/* ---- Frontier ------------------------------------------------------------ */

void merkle_frontier_append(merkle_frontier *f, const hash32 *leaf, merkle_node_cb on_node,
                            void *ctx)
{
    assert(f != NULL && leaf != NULL);
    assert(f->size < UINT64_MAX);
    hash32 carry = *leaf;
    uint64_t index = f->size;
    unsigned level = 0;
    if (on_node != NULL) on_node(ctx, level, index, &carry);
    /* Each set low bit of size is a finished sibling on the left: merge. */
    while ((f->size >> level) & 1) {
        assert(level < 63);
        merkle_node_hash(&f->stack[level], &carry, &carry);
        level++;
        index >>= 1;
        if (on_node != NULL) on_node(ctx, level, index, &carry);
    }
    f->stack[level] = carry;
    f->size++;
}

void merkle_frontier_root(const merkle_frontier *f, hash32 *out)
{
    assert(f != NULL && out != NULL);
    if (f->size == 0) {
        merkle_empty_root(out);
        return;
    }
    /* Fold the perfect subtrees from the smallest (rightmost) up. */
    bool first = true;
    for (unsigned level = 0; level < 64; level++) {
        if (!((f->size >> level) & 1)) continue;
        if (first) *out = f->stack[level];
        else merkle_node_hash(&f->stack[level], out, out);
        first = false;
    }
}

void merkle_root_of_leaves(const hash32 *leaf_hashes, uint64_t count, hash32 *out)
{
    assert(leaf_hashes != NULL || count == 0);
    merkle_frontier f = {0};
    for (uint64_t i = 0; i < count; i++) merkle_frontier_append(&f, &leaf_hashes[i], NULL, NULL);
    assert(f.size == count);
    merkle_frontier_root(&f, out);
}

/* ---- In-memory source ---------------------------------------------------- */

static int array_get(void *ctx, unsigned level, uint64_t index, hash32 *out)
{
    const merkle_array *arr = ctx;
    assert(arr != NULL && out != NULL);
    if (level >= 64 || index >= (arr->count >> level)) return MERKLE_ERR_RANGE;
    uint64_t first = index << level;
    merkle_root_of_leaves(arr->leaves + first, (uint64_t)1 << level, out);
    return MERKLE_OK;
}

void merkle_array_source(const merkle_array *arr, merkle_source *out)
{
    assert(arr != NULL && out != NULL);
    assert(arr->leaves != NULL || arr->count == 0);
    out->get = array_get;
    out->ctx = (void *)arr; /* get() only reads through it */
}

/* ---- Roots over a source ------------------------------------------------- */

/*
 * MTH(D[start:start+len]) for a range the RFC recursion can produce: len > 0
 * and start a multiple of 2^floor_log2(len). Then the range is one perfect
 * subtree per set bit b of len, the one for bit b being (b, (end >> b) - 1).
 */
static int range_root(const merkle_source *src, uint64_t start, uint64_t len, hash32 *out)
{
    assert(src != NULL && src->get != NULL && out != NULL);
    assert(len > 0 && start <= UINT64_MAX - len);
    assert((start & (((uint64_t)1 << floor_log2(len)) - 1)) == 0);
    uint64_t end = start + len;
    bool first = true;
    for (unsigned level = 0; level < 64; level++) {
        if (!((len >> level) & 1)) continue;
        hash32 subtree;
        int rc = src->get(src->ctx, level, (end >> level) - 1, &subtree);
        if (rc != 0) return rc;
        if (first) *out = subtree;
        else merkle_node_hash(&subtree, out, out);
        first = false;
    }
    return MERKLE_OK;
}

int merkle_root(const merkle_source *src, uint64_t size, hash32 *out)
{
    assert(src != NULL && out != NULL);
    if (size == 0) {
        merkle_empty_root(out);
        return MERKLE_OK;
    }
    return range_root(src, 0, size, out);
}

/* ---- Inclusion ----------------------------------------------------------- */

int merkle_inclusion_proof(const merkle_source *src, uint64_t size, uint64_t index,
                           hash32 *path, size_t *path_len)
{
    assert(src != NULL && path != NULL && path_len != NULL);
    *path_len = 0;
    if (index >= size) return MERKLE_ERR_RANGE;
    uint64_t start = 0, n = size, m = index;
    size_t count = 0;
    /* PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n]) if m < k,
     *                 PATH(m - k, D[k:n]) : MTH(D[0:k]) otherwise. */
    while (n > 1) {
        assert(count < MERKLE_PROOF_MAX);
        uint64_t k = split_point(n);
        int rc;
        if (m < k) {
            rc = range_root(src, start + k, n - k, &path[count]);
            n = k;
        } else {
            rc = range_root(src, start, k, &path[count]);
            start += k;
            n -= k;
            m -= k;
        }
        if (rc != 0) return rc;
        count++;
    }
    assert(n == 1 && m == 0 && start == index);
    reverse_path(path, count);
    *path_len = count;
    return MERKLE_OK;
}

bool merkle_inclusion_verify(const hash32 *leaf_hash, uint64_t index, uint64_t size,
                             const hash32 *path, size_t path_len, const hash32 *root)
{
    assert(leaf_hash != NULL && root != NULL);
    assert(path != NULL || path_len == 0);
    if (index >= size || path_len > MERKLE_PROOF_MAX) return false;
    uint64_t fn = index, sn = size - 1;
    hash32 r = *leaf_hash;
    for (size_t i = 0; i < path_len; i++) {
        if (sn == 0) return false;
        if ((fn & 1) || fn == sn) {
            merkle_node_hash(&path[i], &r, &r);
            /* Skip the levels where this node has no right sibling. */
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            merkle_node_hash(&r, &path[i], &r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && memcmp(r.bytes, root->bytes, TCRYPTO_HASH_BYTES) == 0;
}

/* ---- Consistency --------------------------------------------------------- */

int merkle_consistency_proof(const merkle_source *src, uint64_t old_size, uint64_t new_size,
                             hash32 *path, size_t *path_len)
{
    assert(src != NULL && path != NULL && path_len != NULL);
    *path_len = 0;
    if (old_size == 0 || old_size > new_size) return MERKLE_ERR_RANGE;
    uint64_t start = 0, n = new_size, m = old_size;
    bool whole = true; /* the RFC's b: D[start:start+m] is the old tree */
    size_t count = 0;
    /* SUBPROOF(m, D[n], b) = SUBPROOF(m, D[0:k], b) : MTH(D[k:n]) if m <= k,
     *                        SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k]) else;
     * SUBPROOF(m, D[m], b) = [] if b, [MTH(D[m])] if not. */
    while (m != n) {
        assert(m < n && count < MERKLE_PROOF_MAX);
        uint64_t k = split_point(n);
        int rc;
        if (m <= k) {
            rc = range_root(src, start + k, n - k, &path[count]);
            n = k;
        } else {
            rc = range_root(src, start, k, &path[count]);
            start += k;
            n -= k;
            m -= k;
            whole = false;
        }
        if (rc != 0) return rc;
        count++;
    }
    if (!whole) {
        if (count >= MERKLE_PROOF_MAX) return MERKLE_ERR_RANGE; /* > 2^63 leaves only */
        int rc = range_root(src, start, m, &path[count]);
        if (rc != 0) return rc;
        count++;
    }
    reverse_path(path, count);
    *path_len = count;
    return MERKLE_OK;
}

/* Element i of the path the RFC verifier walks: the old root first when
 * old_size is a power of two (the prover leaves it out), then path. */
static const hash32 *walk_element(const hash32 *old_root, bool prepend, const hash32 *path,
                                  size_t i)
{
    if (!prepend) return &path[i];
    return i == 0 ? old_root : &path[i - 1];
}

static bool hashes_equal(const hash32 *a, const hash32 *b)
{
    return memcmp(a->bytes, b->bytes, TCRYPTO_HASH_BYTES) == 0;
}

bool merkle_consistency_verify(uint64_t old_size, uint64_t new_size, const hash32 *old_root,
                               const hash32 *new_root, const hash32 *path, size_t path_len)
{
    assert(old_root != NULL && new_root != NULL);
    assert(path != NULL || path_len == 0);
    if (old_size == 0 || old_size > new_size || path_len > MERKLE_PROOF_MAX) return false;
    if (old_size == new_size) return path_len == 0 && hashes_equal(old_root, new_root);
    if (path_len == 0) return false;
    bool prepend = (old_size & (old_size - 1)) == 0;
    size_t walk_len = path_len + (prepend ? 1 : 0);
    uint64_t fn = old_size - 1, sn = new_size - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    hash32 fr = *walk_element(old_root, prepend, path, 0);
    hash32 sr = fr;
    for (size_t i = 1; i < walk_len; i++) {
        const hash32 *c = walk_element(old_root, prepend, path, i);
        if (sn == 0) return false;
        if ((fn & 1) || fn == sn) {
            merkle_node_hash(c, &fr, &fr);
            merkle_node_hash(c, &sr, &sr);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            merkle_node_hash(&sr, c, &sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && hashes_equal(&fr, old_root) && hashes_equal(&sr, new_root);
}
