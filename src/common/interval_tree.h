/* interval_tree.h — an augmented red-black interval tree over closed u64 ranges [start, last],
 * with span iterators that walk the holes and used spans of one or two trees.
 *
 * Used by io_pagetable for areas, allowed ranges and reserved ranges, and by pages for the spans
 * of a pinned range that are in use. Nodes are embedded in the caller's structs (container_of);
 * the tree never allocates. Overlapping nodes are allowed (the tree is a multiset ordered by
 * start, then last). Not thread-safe: the owner locks.
 *
 * Complexity: insert/remove O(log n); iter_first/iter_next O(log n + k) for k results.
 */
#ifndef IOASID_COMMON_INTERVAL_TREE_H
#define IOASID_COMMON_INTERVAL_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct itree_node {
	uint64_t start;          /* first value covered (caller sets before insert) */
	uint64_t last;           /* last value covered, inclusive (start <= last) */
	/* private */
	uint64_t subtree_last;   /* max `last` in this subtree */
	struct itree_node *left, *right, *parent;
	int red;
};

struct itree_root {
	struct itree_node *node; /* NULL when empty */
	size_t count;
};

#define ITREE_ROOT_INIT { NULL, 0 }

static inline bool itree_empty(const struct itree_root *root) { return root->node == NULL; }

void itree_insert(struct itree_root *root, struct itree_node *node);
void itree_remove(struct itree_root *root, struct itree_node *node);

/* The node with the lowest (start, last) among those overlapping [start, last], or NULL. */
struct itree_node *itree_iter_first(const struct itree_root *root, uint64_t start, uint64_t last);
/* The next node after `node` in (start, last) order that overlaps [start, last], or NULL. */
struct itree_node *itree_iter_next(const struct itree_node *node, uint64_t start, uint64_t last);

/* In-order neighbours, regardless of any query range. */
struct itree_node *itree_first(const struct itree_root *root);
struct itree_node *itree_next(const struct itree_node *node);

/* ---- span iteration ---------------------------------------------------------------------------
 * Walks [first_index, last_index] as an alternating sequence of maximal "used" spans (covered by
 * the union of the tree's nodes) and "holes", in increasing order, exactly tiling the range.
 *
 *   struct itree_span_iter span;
 *   for (itree_span_iter_first(&span, &root, first, last); !itree_span_iter_done(&span);
 *        itree_span_iter_next(&span))
 *           if (span.is_hole) ... span.start_hole .. span.last_hole
 *           else               ... span.start_used .. span.last_used
 *
 * Must cope with first_index = 0 and last_index = UINT64_MAX without overflow.
 */
struct itree_span_iter {
	/* out */
	bool is_hole;
	uint64_t start_hole, last_hole;
	uint64_t start_used, last_used;
	/* private */
	const struct itree_root *root;
	uint64_t first_index, last_index, cur;
	bool done;
};

void itree_span_iter_first(struct itree_span_iter *it, const struct itree_root *root,
			   uint64_t first_index, uint64_t last_index);
void itree_span_iter_next(struct itree_span_iter *it);
static inline bool itree_span_iter_done(const struct itree_span_iter *it) { return it->done; }

/* Same over the union of two trees: a value is "used" if either tree covers it. */
struct itree_double_span_iter {
	bool is_hole;
	uint64_t start_hole, last_hole;
	uint64_t start_used, last_used;
	/* private */
	const struct itree_root *roots[2];
	uint64_t first_index, last_index, cur;
	bool done;
};

void itree_double_span_iter_first(struct itree_double_span_iter *it, const struct itree_root *a,
				  const struct itree_root *b, uint64_t first_index,
				  uint64_t last_index);
void itree_double_span_iter_next(struct itree_double_span_iter *it);
static inline bool itree_double_span_iter_done(const struct itree_double_span_iter *it)
{
	return it->done;
}

#endif
