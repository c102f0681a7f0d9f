/*
 * merkle.h - RFC 9162 (Certificate Transparency v2) Merkle tree hashing,
 * inclusion and consistency proofs, and an append-only "frontier".
 *
 * Hash inputs (SHA-256 over exactly these bytes, nothing else):
 *
 *   leaf hash                      interior node hash
 *   offset  size  field            offset  size  field
 *   0       1     0x00             0       1     0x01
 *   1       n     leaf data        1       32    left child hash
 *                                  33      32    right child hash
 *
 *   empty tree (size 0): SHA-256 of the empty string (e3b0c442...b855).
 *
 * The tree over n leaves D[0:n] is the RFC one: MTH(D[0:1]) is the leaf hash;
 * for n > 1, with k the largest power of two strictly below n,
 * MTH(D[0:n]) = node(MTH(D[0:k]), MTH(D[k:n])). So every tree is a run of
 * PERFECT subtrees (one per set bit of n, biggest first, left to right),
 * folded together from the right.
 *
 * Perfect subtree addressing, used by sources and the frontier:
 *
 *   (level, index)  covers leaves [index << level, (index + 1) << level)
 *   level 0         a single leaf: its leaf hash
 *   level L > 0     node(subtree(L-1, 2*index), subtree(L-1, 2*index + 1))
 *
 * Proofs are arrays of hash32, at most MERKLE_PROOF_MAX long, in the RFC
 * order (the element nearest the leaves first). Nothing here allocates: all
 * buffers belong to the caller.
 */
#ifndef TRIALREG_MERKLE_H
#define TRIALREG_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

/* Longest possible proof: one element per level of a 2^64-leaf tree. */
#define MERKLE_PROOF_MAX 64

/*
 * Return codes. 0 is success. Negative values are this module's own;
 * a positive value is a source's error, passed through unchanged (so sources
 * should report their failures with positive codes).
 */
enum {
    MERKLE_OK = 0,
    MERKLE_ERR_RANGE = -1, /* size, index or subtree outside the tree */
};

/* A static, human-readable string for a MERKLE_* code ("source error" for
 * positive codes). Never NULL; the caller does not free it. */
const char *merkle_strerror(int err);

/* ---- Hashing primitives -------------------------------------------------- */

/* *out = SHA-256(0x00 || data[0:len]). data may be NULL when len is 0. */
void merkle_leaf_hash(const void *data, size_t len, hash32 *out);

/* *out = SHA-256(0x01 || left || right). out may alias left or right. */
void merkle_node_hash(const hash32 *left, const hash32 *right, hash32 *out);

/* *out = the root of the empty tree, SHA-256 of the empty string. */
void merkle_empty_root(hash32 *out);

/* Root of count leaf hashes (count 0 gives the empty root), in O(count)
 * hashes and O(log count) stack; for a block's tx and receipts roots. The
 * caller owns both arrays; leaf_hashes may be NULL when count is 0. */
void merkle_root_of_leaves(const hash32 *leaf_hashes, uint64_t count, hash32 *out);

/* ---- Subtree sources ----------------------------------------------------- */

/*
 * Writes to *out the hash of the perfect subtree (level, index) as addressed
 * above. Returns 0 on success, a positive error code otherwise (*out is then
 * unspecified). Callers only ask for subtrees that lie wholly inside the tree
 * size they were given, so a store that persisted every node the frontier
 * reported can answer every call.
 */
typedef int (*merkle_subtree_fn)(void *ctx, unsigned level, uint64_t index, hash32 *out);

/* A source of perfect subtree hashes: get(ctx, ...). The source owns ctx. */
typedef struct {
    merkle_subtree_fn get;
    void *ctx;
} merkle_source;

/* An in-memory tree: count leaf hashes, owned by the caller, which must keep
 * them alive as long as a source built on it is used. */
typedef struct {
    const hash32 *leaves;
    uint64_t count;
} merkle_array;

/* Fills *out with a source reading arr. Its get() folds the 2^level leaves of
 * the subtree (O(2^level) hashes: meant for small trees and tests) and returns
 * MERKLE_ERR_RANGE for a subtree that does not lie inside arr. Nothing is
 * copied: *out points at arr. */
void merkle_array_source(const merkle_array *arr, merkle_source *out);

/* ---- Roots and proofs over a source -------------------------------------- */

/* Writes MTH(D[0:size]) to *out using one get() per set bit of size (the
 * empty root for size 0, without calling get). Returns 0, or the first
 * non-zero code a get() returned. */
int merkle_root(const merkle_source *src, uint64_t size, hash32 *out);

/*
 * Writes the RFC 9162 section 2.1.3.1 inclusion path of leaf index in the tree
 * of size leaves to path (capacity MERKLE_PROOF_MAX, caller-owned) and its
 * length to *path_len. O(log size) get() calls. Returns 0; MERKLE_ERR_RANGE if
 * index >= size; or a get() error. On error path and *path_len are
 * unspecified.
 */
int merkle_inclusion_proof(const merkle_source *src, uint64_t size, uint64_t index,
                           hash32 *path, size_t *path_len);

/*
 * True if path proves that leaf_hash is leaf number index of the tree of
 * size leaves whose root is *root (RFC 9162 section 2.1.3.2). False for
 * index >= size, path_len > MERKLE_PROOF_MAX, a path of the wrong length, or
 * any wrong hash. The size is bound only through the shape of the path: it is
 * the (size, root) pair, e.g. a signed tree head, that the caller must trust.
 */
bool merkle_inclusion_verify(const hash32 *leaf_hash, uint64_t index, uint64_t size,
                             const hash32 *path, size_t path_len, const hash32 *root);

/*
 * Writes the RFC 9162 section 2.1.4.1 consistency proof between the trees of
 * old_size and new_size leaves (SUBPROOF(old_size, D[0:new_size], true)) to
 * path (capacity MERKLE_PROOF_MAX, caller-owned) and its length to *path_len.
 * old_size == new_size gives an empty path. Returns 0; MERKLE_ERR_RANGE unless
 * 0 < old_size <= new_size (or if the proof would exceed MERKLE_PROOF_MAX,
 * which needs more than 2^63 leaves); or a get() error. O(log new_size) get()
 * calls. On error path and *path_len are unspecified.
 */
int merkle_consistency_proof(const merkle_source *src, uint64_t old_size, uint64_t new_size,
                             hash32 *path, size_t *path_len);

/*
 * True if path proves that the tree (new_size, new_root) extends the tree
 * (old_size, old_root) (RFC 9162 section 2.1.4.2). old_size == new_size
 * requires an empty path and equal roots. False when old_size is 0 (the
 * empty tree needs no proof: callers handle it before asking), when
 * old_size > new_size, path_len > MERKLE_PROOF_MAX, or on any wrong hash or
 * length.
 */
bool merkle_consistency_verify(uint64_t old_size, uint64_t new_size, const hash32 *old_root,
                               const hash32 *new_root, const hash32 *path, size_t path_len);

/* ---- Frontier: appending to a large log ---------------------------------- */

/*
 * The right edge of a tree: stack[level] holds the root of the perfect
 * subtree of 2^level leaves for every set bit `level` of size (other slots
 * are meaningless). 2 KiB, no pointers: it may be copied and persisted as is.
 * Zero-initialise it ({0}) for an empty tree.
 */
typedef struct {
    uint64_t size;
    hash32 stack[64];
} merkle_frontier;

/* Told about one perfect subtree (level, index) that just became complete,
 * with its hash; *hash is valid only during the call (copy it to keep it). */
typedef void (*merkle_node_cb)(void *ctx, unsigned level, uint64_t index, const hash32 *hash);

/*
 * Appends one leaf hash. Calls on_node (if not NULL) for every perfect
 * subtree the append completes, bottom up: first (0, old size, leaf), then one
 * call per level the carry reaches. Amortised O(1) hashes and calls. The
 * frontier must not be full (size < UINT64_MAX).
 */
void merkle_frontier_append(merkle_frontier *f, const hash32 *leaf, merkle_node_cb on_node,
                            void *ctx);

/* Writes the root of all f->size leaves to *out (the empty root for 0). */
void merkle_frontier_root(const merkle_frontier *f, hash32 *out);

#endif
