/*
 * test_merkle.c - RFC 9162 Merkle trees: published reference vectors, then
 * exhaustive proof checks against a recursive transcription of the RFC
 * definitions kept here in the test (ref_*), tampering, the frontier and error
 * propagation from subtree sources.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "merkle.h"

/* Criterion reports every passing cr_assert to the runner; the exhaustive
 * loops below make ~10^6 checks, so they only talk to it on failure. */
#define CHECK(cond, ...)                                                                         \
    do {                                                                                         \
        if (!(cond)) cr_assert_fail(__VA_ARGS__);                                                \
    } while (0)

static bool heq(const hash32 *a, const hash32 *b)
{
    return memcmp(a->bytes, b->bytes, sizeof a->bytes) == 0;
}

static hash32 from_hex(const char *hex)
{
    hash32 h;
    cr_assert_eq(strlen(hex), 64);
    for (size_t i = 0; i < 32; i++) {
        unsigned byte;
        cr_assert_eq(sscanf(hex + 2 * i, "%2x", &byte), 1);
        h.bytes[i] = (uint8_t)byte;
    }
    return h;
}

/* ==== Reference vectors ====================================================
 * From transparency-dev/merkle (formerly part of Trillian and
 * certificate-transparency-go), proof/verify_test.go: `leaves`, `roots`,
 * `inclusionProofs`, `consistencyProofs`. They descend from the C++ CT log's
 * merkletree/merkle_tree_test.cc. Data copied verbatim; note the Go table
 * numbers inclusion leaves from 1, converted here to 0-based indices. */

static const char *const ct_leaf_hex[8] = {
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
};

static const char *const ct_empty_root = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

static const char *const ct_roots[8] = { /* tree sizes 1..8 */
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

typedef struct {
    uint64_t a, b; /* inclusion: index, size; consistency: old, new */
    size_t len;
    const char *proof[3];
} ct_vector;

static const ct_vector ct_inclusion[] = {
    {0, 1, 0, {NULL}},
    {0, 8, 3,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {5, 8, 3,
     {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2, 3, 1, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
    {1, 5, 3,
     {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
};

static const ct_vector ct_consistency[] = {
    {1, 1, 0, {NULL}},
    {1, 8, 3,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {6, 8, 3,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2, 5, 2,
     {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
    {6, 7, 3,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
};

static void ct_leaf_hashes(hash32 out[8])
{
    for (size_t i = 0; i < 8; i++) {
        uint8_t data[16];
        size_t len = strlen(ct_leaf_hex[i]) / 2;
        for (size_t j = 0; j < len; j++) {
            unsigned byte;
            cr_assert_eq(sscanf(ct_leaf_hex[i] + 2 * j, "%2x", &byte), 1);
            data[j] = (uint8_t)byte;
        }
        merkle_leaf_hash(len ? data : NULL, len, &out[i]);
    }
}

static void expect_vector_path(const ct_vector *v, const hash32 *path, size_t len)
{
    cr_assert_eq(len, v->len, "(%llu, %llu): length %zu, want %zu", (unsigned long long)v->a,
                 (unsigned long long)v->b, len, v->len);
    for (size_t i = 0; i < len; i++) {
        hash32 want = from_hex(v->proof[i]);
        cr_assert(heq(&path[i], &want), "(%llu, %llu): element %zu differs",
                  (unsigned long long)v->a, (unsigned long long)v->b, i);
    }
}

Test(merkle_ct, hash_primitives)
{
    hash32 h, want, l0, l1;
    merkle_empty_root(&h);
    want = from_hex(ct_empty_root);
    cr_assert(heq(&h, &want));
    merkle_leaf_hash(NULL, 0, &h); /* leaf "" is the size-1 root */
    want = from_hex(ct_roots[0]);
    cr_assert(heq(&h, &want));
    merkle_leaf_hash("", 0, &l0);
    const uint8_t zero = 0;
    merkle_leaf_hash(&zero, 1, &l1);
    merkle_node_hash(&l0, &l1, &h);
    want = from_hex(ct_roots[1]);
    cr_assert(heq(&h, &want));
    merkle_node_hash(&l0, &l1, &l0); /* out aliasing left */
    cr_assert(heq(&l0, &want));
}

Test(merkle_ct, roots_sizes_0_to_8)
{
    hash32 leaves[8], h, want;
    ct_leaf_hashes(leaves);
    merkle_array arr = {leaves, 8};
    merkle_source src;
    merkle_array_source(&arr, &src);
    merkle_frontier f = {0};
    for (uint64_t n = 0; n <= 8; n++) {
        want = from_hex(n == 0 ? ct_empty_root : ct_roots[n - 1]);
        merkle_root_of_leaves(leaves, n, &h);
        cr_assert(heq(&h, &want), "root_of_leaves size %llu", (unsigned long long)n);
        cr_assert_eq(merkle_root(&src, n, &h), 0);
        cr_assert(heq(&h, &want), "merkle_root size %llu", (unsigned long long)n);
        merkle_frontier_root(&f, &h);
        cr_assert(heq(&h, &want), "frontier size %llu", (unsigned long long)n);
        if (n < 8) merkle_frontier_append(&f, &leaves[n], NULL, NULL);
    }
}

Test(merkle_ct, inclusion_vectors)
{
    hash32 leaves[8], path[MERKLE_PROOF_MAX];
    ct_leaf_hashes(leaves);
    merkle_array arr = {leaves, 8};
    merkle_source src;
    merkle_array_source(&arr, &src);
    for (size_t i = 0; i < sizeof ct_inclusion / sizeof ct_inclusion[0]; i++) {
        const ct_vector *v = &ct_inclusion[i];
        size_t len;
        cr_assert_eq(merkle_inclusion_proof(&src, v->b, v->a, path, &len), 0);
        expect_vector_path(v, path, len);
        hash32 root = from_hex(ct_roots[v->b - 1]);
        cr_assert(merkle_inclusion_verify(&leaves[v->a], v->a, v->b, path, len, &root));
    }
}

Test(merkle_ct, consistency_vectors)
{
    hash32 leaves[8], path[MERKLE_PROOF_MAX];
    ct_leaf_hashes(leaves);
    merkle_array arr = {leaves, 8};
    merkle_source src;
    merkle_array_source(&arr, &src);
    for (size_t i = 0; i < sizeof ct_consistency / sizeof ct_consistency[0]; i++) {
        const ct_vector *v = &ct_consistency[i];
        size_t len;
        cr_assert_eq(merkle_consistency_proof(&src, v->a, v->b, path, &len), 0);
        expect_vector_path(v, path, len);
        hash32 r1 = from_hex(ct_roots[v->a - 1]), r2 = from_hex(ct_roots[v->b - 1]);
        cr_assert(merkle_consistency_verify(v->a, v->b, &r1, &r2, path, len));
    }
}

/* ==== Reference model: the RFC 9162 definitions, transcribed recursively === */

static uint64_t ref_split(uint64_t n)
{
    uint64_t k = 1;
    while (2 * k < n) k *= 2;
    return k;
}

static void ref_mth(const hash32 *d, uint64_t n, hash32 *out)
{
    if (n == 0) {
        merkle_empty_root(out);
    } else if (n == 1) {
        *out = d[0];
    } else {
        hash32 l, r;
        uint64_t k = ref_split(n);
        ref_mth(d, k, &l);
        ref_mth(d + k, n - k, &r);
        merkle_node_hash(&l, &r, out);
    }
}

/* PATH(m, D[n]); returns its length. */
static size_t ref_path(uint64_t m, const hash32 *d, uint64_t n, hash32 *out)
{
    if (n == 1) return 0;
    uint64_t k = ref_split(n);
    size_t len;
    if (m < k) {
        len = ref_path(m, d, k, out);
        ref_mth(d + k, n - k, &out[len]);
    } else {
        len = ref_path(m - k, d + k, n - k, out);
        ref_mth(d, k, &out[len]);
    }
    return len + 1;
}

/* SUBPROOF(m, D[n], b); returns its length. */
static size_t ref_subproof(uint64_t m, const hash32 *d, uint64_t n, bool b, hash32 *out)
{
    if (m == n) {
        if (b) return 0;
        ref_mth(d, m, out);
        return 1;
    }
    uint64_t k = ref_split(n);
    size_t len;
    if (m <= k) {
        len = ref_subproof(m, d, k, b, out);
        ref_mth(d + k, n - k, &out[len]);
    } else {
        len = ref_subproof(m - k, d + k, n - k, false, out);
        ref_mth(d, k, &out[len]);
    }
    return len + 1;
}

/* The sides (bit set: sibling on the left) of PATH(m, D[n]), leaf first. Two
 * (index, size) pairs with equal sides hash a path identically, so an
 * inclusion proof cannot tell them apart: only the root binds the size. */
static void ref_sides(uint64_t m, uint64_t n, uint64_t *bits, unsigned *len)
{
    if (n == 1) return;
    uint64_t k = ref_split(n);
    if (m < k) ref_sides(m, k, bits, len);
    else ref_sides(m - k, n - k, bits, len);
    if (m >= k) *bits |= (uint64_t)1 << *len;
    (*len)++;
}

static bool same_sides(uint64_t m1, uint64_t n1, uint64_t m2, uint64_t n2)
{
    uint64_t b1 = 0, b2 = 0;
    unsigned l1 = 0, l2 = 0;
    ref_sides(m1, n1, &b1, &l1);
    ref_sides(m2, n2, &b2, &l2);
    return b1 == b2 && l1 == l2;
}

static bool paths_equal(const hash32 *a, size_t alen, const hash32 *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen * sizeof *a) == 0);
}

/* ==== Exhaustive inclusion: sizes 1..64, every index ===================== */

#define BIG 200 /* leaves in the shared test tree */

typedef struct {
    hash32 leaves[BIG];
    hash32 roots[BIG + 1]; /* roots[n] = MTH of the first n leaves */
    merkle_array arr;
    merkle_source src;
} test_tree;

static void test_tree_init(test_tree *t)
{
    for (uint32_t i = 0; i < BIG; i++) {
        char data[16];
        int len = snprintf(data, sizeof data, "leaf %u", i);
        merkle_leaf_hash(data, (size_t)len, &t->leaves[i]);
    }
    for (uint64_t n = 0; n <= BIG; n++) merkle_root_of_leaves(t->leaves, n, &t->roots[n]);
    t->arr = (merkle_array){t->leaves, BIG};
    merkle_array_source(&t->arr, &t->src);
}

static test_tree tree; /* 13 KiB: keep it off the test's stack */

static void inclusion_tamper(uint64_t n, uint64_t i, const hash32 *path, size_t len)
{
    const hash32 *leaf = &tree.leaves[i], *root = &tree.roots[n];
    hash32 bad[MERKLE_PROOF_MAX + 1];
    for (size_t e = 0; e < len; e++) {
        for (size_t byte = 0; byte < 32; byte++) {
            memcpy(bad, path, len * sizeof *path);
            bad[e].bytes[byte] ^= 0x01;
            CHECK(!merkle_inclusion_verify(leaf, i, n, bad, len, root),
                  "n=%llu i=%llu: flip path[%zu] byte %zu accepted", (unsigned long long)n,
                  (unsigned long long)i, e, byte);
        }
    }
    for (uint64_t j = 0; j < n + 3; j++) /* every other index, and some past the end */
        CHECK(j == i || !merkle_inclusion_verify(leaf, j, n, path, len, root),
              "n=%llu i=%llu: index %llu accepted", (unsigned long long)n,
              (unsigned long long)i, (unsigned long long)j);
    CHECK(!merkle_inclusion_verify(leaf, UINT64_MAX, n, path, len, root), "index max");
    for (uint64_t m = 1; m <= 2 * n + 1 && m <= BIG; m++) {
        if (m == n || i >= m) continue;
        /* Claiming the leaf is in the real tree of another size: rejected. */
        CHECK(!merkle_inclusion_verify(leaf, i, m, path, len, &tree.roots[m]),
              "n=%llu i=%llu: size %llu with its root accepted", (unsigned long long)n,
              (unsigned long long)i, (unsigned long long)m);
        /* Same root, other size: rejected unless the path shape is identical. */
        bool ok = merkle_inclusion_verify(leaf, i, m, path, len, root);
        CHECK(ok == same_sides(i, n, i, m), "n=%llu i=%llu: size %llu with same root: %d",
              (unsigned long long)n, (unsigned long long)i, (unsigned long long)m, ok);
    }
    if (len > 0) {
        CHECK(!merkle_inclusion_verify(leaf, i, n, path, len - 1, root), "truncated");
        CHECK(!merkle_inclusion_verify(leaf, i, n, path + 1, len - 1, root), "first dropped");
    }
    memcpy(bad, path, len * sizeof *path);
    bad[len] = *root;
    CHECK(!merkle_inclusion_verify(leaf, i, n, bad, len + 1, root), "extended by root");
    memset(&bad[len], 0, sizeof bad[len]);
    CHECK(!merkle_inclusion_verify(leaf, i, n, bad, len + 1, root), "extended by zeros");
    bad[0] = *root;
    memcpy(bad + 1, path, len * sizeof *path);
    CHECK(!merkle_inclusion_verify(leaf, i, n, bad, len + 1, root), "root prepended");
    hash32 wrong = *root;
    wrong.bytes[31] ^= 0x80;
    CHECK(!merkle_inclusion_verify(leaf, i, n, path, len, &wrong), "wrong root");
    wrong = *leaf;
    wrong.bytes[0] ^= 0x80;
    CHECK(!merkle_inclusion_verify(&wrong, i, n, path, len, root), "wrong leaf");
}

Test(merkle_inclusion, every_index_sizes_1_to_64)
{
    test_tree_init(&tree);
    uint64_t sides_collisions = 0;
    for (uint64_t n = 1; n <= 64; n++) {
        hash32 want_root;
        ref_mth(tree.leaves, n, &want_root);
        cr_assert(heq(&tree.roots[n], &want_root), "root_of_leaves(%llu) != reference",
                  (unsigned long long)n);
        for (uint64_t i = 0; i < n; i++) {
            hash32 path[MERKLE_PROOF_MAX], want[MERKLE_PROOF_MAX];
            size_t len = 99;
            cr_assert_eq(merkle_inclusion_proof(&tree.src, n, i, path, &len), 0);
            size_t want_len = ref_path(i, tree.leaves, n, want);
            CHECK(paths_equal(path, len, want, want_len), "n=%llu i=%llu: path != RFC PATH",
                  (unsigned long long)n, (unsigned long long)i);
            CHECK(merkle_inclusion_verify(&tree.leaves[i], i, n, path, len, &tree.roots[n]),
                  "n=%llu i=%llu: honest proof rejected", (unsigned long long)n,
                  (unsigned long long)i);
            inclusion_tamper(n, i, path, len);
            sides_collisions += i + 1 < n && same_sides(i, n, i, n - 1);
        }
    }
    cr_assert_gt(sides_collisions, 0, "the same-shape case was never exercised");
}

Test(merkle_inclusion, bad_arguments)
{
    test_tree_init(&tree);
    hash32 path[MERKLE_PROOF_MAX];
    size_t len;
    cr_assert_eq(merkle_inclusion_proof(&tree.src, 5, 5, path, &len), MERKLE_ERR_RANGE);
    cr_assert_eq(merkle_inclusion_proof(&tree.src, 0, 0, path, &len), MERKLE_ERR_RANGE);
    /* The array source refuses subtrees beyond its leaves, and that surfaces. */
    cr_assert_eq(merkle_inclusion_proof(&tree.src, BIG + 1, 0, path, &len), MERKLE_ERR_RANGE);
    hash32 root;
    cr_assert_eq(merkle_root(&tree.src, BIG + 1, &root), MERKLE_ERR_RANGE);
    cr_assert(!merkle_inclusion_verify(&tree.leaves[0], 0, 0, NULL, 0, &tree.roots[0]));
    cr_assert(merkle_inclusion_verify(&tree.leaves[0], 0, 1, NULL, 0, &tree.leaves[0]));
    cr_assert(!merkle_inclusion_verify(&tree.leaves[0], 1, 1, NULL, 0, &tree.leaves[0]));
    hash32 long_path[MERKLE_PROOF_MAX + 1] = {{{0}}};
    cr_assert(!merkle_inclusion_verify(&tree.leaves[0], 0, UINT64_MAX, long_path,
                                       MERKLE_PROOF_MAX + 1, &tree.roots[1]));
    cr_assert_str_eq(merkle_strerror(MERKLE_ERR_RANGE), "size, index or subtree outside the tree");
}

/* ==== Exhaustive consistency: 1 <= m <= n <= 64 ========================== */

#define CMAX 66 /* proofs tabulated for sizes up to this */

typedef struct {
    hash32 path[MERKLE_PROOF_MAX];
    size_t len;
} proof_entry;

static proof_entry proofs[CMAX + 1][CMAX + 1]; /* proofs[m][n], m <= n */

static void consistency_tamper(uint64_t m, uint64_t n, const hash32 *path, size_t len,
                               uint64_t *same_root_accepts)
{
    const hash32 *r1 = &tree.roots[m], *r2 = &tree.roots[n];
    hash32 bad[MERKLE_PROOF_MAX + 1];
    for (size_t e = 0; e < len; e++) {
        for (size_t byte = 0; byte < 32; byte++) {
            memcpy(bad, path, len * sizeof *path);
            bad[e].bytes[byte] ^= 0x10;
            CHECK(!merkle_consistency_verify(m, n, r1, r2, bad, len),
                  "(%llu,%llu): flip path[%zu] byte %zu accepted", (unsigned long long)m,
                  (unsigned long long)n, e, byte);
        }
    }
    /* Honest roots of other sizes with this proof: only a proof that really
     * is theirs may pass. */
    for (uint64_t n2 = n > 1 ? n - 1 : 1; n2 <= n + 1; n2++) {
        for (uint64_t m2 = 1; m2 <= n2; m2++) {
            if (m2 == m && n2 == n) continue;
            bool ok = merkle_consistency_verify(m2, n2, &tree.roots[m2], &tree.roots[n2], path, len);
            const proof_entry *real = &proofs[m2][n2];
            CHECK(ok == paths_equal(path, len, real->path, real->len),
                  "(%llu,%llu): proof for (%llu,%llu) gives %d", (unsigned long long)m,
                  (unsigned long long)n, (unsigned long long)m2, (unsigned long long)n2, ok);
            /* Same roots, other sizes: at least the length must fit them. */
            bool same = merkle_consistency_verify(m2, n2, r1, r2, path, len);
            CHECK(!same || len == real->len, "(%llu,%llu) as (%llu,%llu) accepted",
                  (unsigned long long)m, (unsigned long long)n, (unsigned long long)m2,
                  (unsigned long long)n2);
            *same_root_accepts += same;
        }
    }
    CHECK(!merkle_consistency_verify(n, m, r2, r1, path, len) || m == n, "swapped");
    CHECK(!merkle_consistency_verify(m, n, r2, r1, path, len) || heq(r1, r2), "roots swapped");
    CHECK(!merkle_consistency_verify(m, 2 * n, r1, r2, path, len), "new size doubled");
    CHECK(m == n || !merkle_consistency_verify(m, n, r1, r2, path, 0), "empty path");
    if (len > 0) {
        CHECK(!merkle_consistency_verify(m, n, r1, r2, path, len - 1), "truncated");
        CHECK(!merkle_consistency_verify(m, n, r1, r2, path + 1, len - 1), "first dropped");
    }
    const hash32 *extras[3] = {r1, r2, len > 0 ? &path[0] : r1};
    for (size_t x = 0; x < 3; x++) {
        memcpy(bad, path, len * sizeof *path);
        bad[len] = *extras[x];
        CHECK(!merkle_consistency_verify(m, n, r1, r2, bad, len + 1), "extended %zu", x);
        bad[0] = *extras[x];
        memcpy(bad + 1, path, len * sizeof *path);
        CHECK(!merkle_consistency_verify(m, n, r1, r2, bad, len + 1), "prepended %zu", x);
    }
    hash32 wrong = *r1;
    wrong.bytes[7] ^= 0x04;
    CHECK(!merkle_consistency_verify(m, n, &wrong, r2, path, len), "wrong old root");
    wrong = *r2;
    wrong.bytes[7] ^= 0x04;
    CHECK(!merkle_consistency_verify(m, n, r1, &wrong, path, len), "wrong new root");
}

Test(merkle_consistency, every_pair_up_to_64)
{
    test_tree_init(&tree);
    for (uint64_t n = 1; n <= CMAX; n++) {
        for (uint64_t m = 1; m <= n; m++) {
            proof_entry *p = &proofs[m][n];
            cr_assert_eq(merkle_consistency_proof(&tree.src, m, n, p->path, &p->len), 0);
            hash32 want[MERKLE_PROOF_MAX];
            size_t want_len = ref_subproof(m, tree.leaves, n, true, want);
            CHECK(paths_equal(p->path, p->len, want, want_len), "(%llu,%llu) != RFC SUBPROOF",
                  (unsigned long long)m, (unsigned long long)n);
        }
    }
    uint64_t same_root_accepts = 0;
    for (uint64_t n = 1; n <= 64; n++) {
        for (uint64_t m = 1; m <= n; m++) {
            const proof_entry *p = &proofs[m][n];
            CHECK(merkle_consistency_verify(m, n, &tree.roots[m], &tree.roots[n], p->path, p->len),
                  "(%llu,%llu): honest proof rejected", (unsigned long long)m,
                  (unsigned long long)n);
            consistency_tamper(m, n, p->path, p->len, &same_root_accepts);
        }
    }
    cr_log_info("same roots accepted under another size pair: %llu",
                (unsigned long long)same_root_accepts);
}

Test(merkle_consistency, bad_arguments)
{
    test_tree_init(&tree);
    hash32 path[MERKLE_PROOF_MAX];
    size_t len;
    cr_assert_eq(merkle_consistency_proof(&tree.src, 0, 5, path, &len), MERKLE_ERR_RANGE);
    cr_assert_eq(merkle_consistency_proof(&tree.src, 6, 5, path, &len), MERKLE_ERR_RANGE);
    cr_assert_eq(merkle_consistency_proof(&tree.src, 7, 7, path, &len), 0);
    cr_assert_eq(len, 0);
    const hash32 *r = tree.roots;
    cr_assert(merkle_consistency_verify(7, 7, &r[7], &r[7], NULL, 0));
    cr_assert(!merkle_consistency_verify(7, 7, &r[7], &r[6], NULL, 0));
    cr_assert(!merkle_consistency_verify(7, 7, &r[7], &r[7], &r[7], 1));
    cr_assert(!merkle_consistency_verify(0, 0, &r[0], &r[0], NULL, 0));
    cr_assert(!merkle_consistency_verify(0, 3, &r[0], &r[3], NULL, 0));
    cr_assert(!merkle_consistency_verify(4, 3, &r[4], &r[3], NULL, 0));
    hash32 long_path[MERKLE_PROOF_MAX + 1] = {{{0}}};
    cr_assert(!merkle_consistency_verify(3, UINT64_MAX, &r[3], &r[4], long_path,
                                         MERKLE_PROOF_MAX + 1));
}

/* ==== Frontier ============================================================ */

#define LEVELS 8 /* 2^8 > BIG */

typedef struct {
    hash32 hash[LEVELS][BIG];
    bool present[LEVELS][BIG];
    unsigned calls_this_append;
    uint64_t appending; /* index of the leaf being appended */
    bool order_ok;
    unsigned next_level;
} node_table;

static node_table table;

static void record_node(void *ctx, unsigned level, uint64_t index, const hash32 *hash)
{
    node_table *t = ctx;
    cr_assert_lt(level, LEVELS);
    cr_assert_lt(index, BIG);
    cr_assert(!t->present[level][index], "(%u, %llu) reported twice", level,
              (unsigned long long)index);
    /* Bottom up, and each the ancestor of the leaf being appended. */
    if (level != t->next_level || index != t->appending >> level) t->order_ok = false;
    t->next_level++;
    t->present[level][index] = true;
    t->hash[level][index] = *hash;
    t->calls_this_append++;
}

static int table_get(void *ctx, unsigned level, uint64_t index, hash32 *out)
{
    node_table *t = ctx;
    if (level >= LEVELS || index >= BIG || !t->present[level][index]) return 7;
    *out = t->hash[level][index];
    return 0;
}

Test(merkle_frontier, matches_roots_and_reports_every_perfect_subtree)
{
    test_tree_init(&tree);
    memset(&table, 0, sizeof table);
    merkle_frontier f = {0};
    hash32 h;
    merkle_frontier_root(&f, &h);
    cr_assert(heq(&h, &tree.roots[0]));
    for (uint64_t s = 0; s < BIG; s++) {
        table.calls_this_append = 0;
        table.appending = s;
        table.next_level = 0;
        table.order_ok = true;
        merkle_frontier_append(&f, &tree.leaves[s], record_node, &table);
        cr_assert_eq(f.size, s + 1);
        /* The subtrees completed are those whose right end is s + 1. */
        unsigned want_calls = 1;
        while (((s + 1) & (((uint64_t)1 << want_calls) - 1)) == 0) want_calls++;
        cr_assert_eq(table.calls_this_append, want_calls, "append %llu", (unsigned long long)s);
        cr_assert(table.order_ok, "append %llu: callbacks out of order", (unsigned long long)s);
        merkle_frontier_root(&f, &h);
        cr_assert(heq(&h, &tree.roots[s + 1]), "frontier root at size %llu",
                  (unsigned long long)(s + 1));
    }
    /* Exactly the perfect subtrees inside 200 leaves, with the right hashes. */
    for (unsigned level = 0; level < LEVELS; level++) {
        for (uint64_t index = 0; index < BIG; index++) {
            bool inside = ((index + 1) << level) <= BIG;
            cr_assert_eq(table.present[level][index], inside, "(%u, %llu)", level,
                         (unsigned long long)index);
            if (!inside) continue;
            merkle_root_of_leaves(tree.leaves + (index << level), (uint64_t)1 << level, &h);
            cr_assert(heq(&h, &table.hash[level][index]), "(%u, %llu) hash", level,
                      (unsigned long long)index);
        }
    }
}

Test(merkle_frontier, stored_nodes_serve_the_same_proofs)
{
    test_tree_init(&tree);
    memset(&table, 0, sizeof table);
    merkle_frontier f = {0};
    for (uint64_t s = 0; s < BIG; s++) {
        table.appending = s;
        table.next_level = 0;
        merkle_frontier_append(&f, &tree.leaves[s], record_node, &table);
    }
    merkle_source stored = {table_get, &table};
    hash32 a[MERKLE_PROOF_MAX], b[MERKLE_PROOF_MAX], h;
    size_t alen, blen;
    for (uint64_t n = 1; n <= BIG; n++) {
        cr_assert_eq(merkle_root(&stored, n, &h), 0);
        cr_assert(heq(&h, &tree.roots[n]), "stored root %llu", (unsigned long long)n);
        for (uint64_t i = 0; i < n; i++) {
            cr_assert_eq(merkle_inclusion_proof(&stored, n, i, a, &alen), 0);
            cr_assert_eq(merkle_inclusion_proof(&tree.src, n, i, b, &blen), 0);
            CHECK(paths_equal(a, alen, b, blen), "inclusion %llu/%llu",
                  (unsigned long long)i, (unsigned long long)n);
            cr_assert_eq(merkle_consistency_proof(&stored, i + 1, n, a, &alen), 0);
            cr_assert_eq(merkle_consistency_proof(&tree.src, i + 1, n, b, &blen), 0);
            CHECK(paths_equal(a, alen, b, blen), "consistency %llu/%llu",
                  (unsigned long long)(i + 1), (unsigned long long)n);
            CHECK(merkle_consistency_verify(i + 1, n, &tree.roots[i + 1], &tree.roots[n], a, alen),
                  "consistency %llu/%llu rejected", (unsigned long long)(i + 1),
                  (unsigned long long)n);
        }
    }
}

/* ==== Error propagation from a source ==================================== */

typedef struct {
    const merkle_source *inner;
    unsigned calls;
    unsigned fail_at; /* 1-based call that fails; 0 = never */
} flaky;

static int flaky_get(void *ctx, unsigned level, uint64_t index, hash32 *out)
{
    flaky *fl = ctx;
    fl->calls++;
    if (fl->calls == fl->fail_at) return 42;
    return fl->inner->get(fl->inner->ctx, level, index, out);
}

enum { OP_ROOT, OP_INCLUSION, OP_CONSISTENCY };

static int run_op(int op, const merkle_source *src, uint64_t a, uint64_t n)
{
    hash32 path[MERKLE_PROOF_MAX];
    size_t len;
    if (op == OP_ROOT) return merkle_root(src, n, path);
    if (op == OP_INCLUSION) return merkle_inclusion_proof(src, n, a, path, &len);
    return merkle_consistency_proof(src, a + 1, n, path, &len);
}

Test(merkle_source, errors_propagate_from_any_call)
{
    test_tree_init(&tree);
    for (int op = OP_ROOT; op <= OP_CONSISTENCY; op++) {
        for (uint64_t n = 1; n <= 40; n++) {
            for (uint64_t a = 0; a < n; a++) {
                flaky fl = {&tree.src, 0, 0};
                merkle_source src = {flaky_get, &fl};
                cr_assert_eq(run_op(op, &src, a, n), 0);
                unsigned total = fl.calls;
                if (op == OP_ROOT) /* one call per perfect subtree */
                    cr_assert_eq(total, (unsigned)__builtin_popcountll(n));
                cr_assert_leq(total, 2 * 7 + 1, "O(log n) calls, got %u", total);
                for (unsigned k = 1; k <= total; k++) {
                    fl = (flaky){&tree.src, 0, k};
                    CHECK(run_op(op, &src, a, n) == 42, "op %d a=%llu n=%llu: call %u failed "
                          "silently", op, (unsigned long long)a, (unsigned long long)n, k);
                    CHECK(fl.calls == k, "op %d kept calling after an error", op);
                }
            }
        }
    }
}
