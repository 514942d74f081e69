/* interval_tree.c — augmented red-black interval tree and its span iterators.
 *
 * Owns: nothing but the links inside the caller's struct itree_node; no allocation anywhere.
 *
 * Invariants (checked by tests/test_interval_tree.c):
 *   - binary search tree ordered by (start, last); equal keys descend right, so duplicates keep
 *     their insertion order in an in-order walk;
 *   - red-black: the root is black, no red node has a red child, every root-to-NULL path holds
 *     the same number of black nodes, hence height <= 2 log2(n + 1);
 *   - augmentation: node->subtree_last == max(node->last, left->subtree_last,
 *     right->subtree_last). Insert raises it on the way down; a rotation keeps the subtree's set
 *     of nodes, so the new top inherits the old top's value and only the demoted node is
 *     recomputed; remove recomputes the path from the spliced point to the root.
 *
 * Overlap search prunes every subtree whose subtree_last < start and stops once an in-order
 * node starts past `last`: O(log n + k). Nothing here recurses.
 *
 * Span iterators keep only the next position `cur`; each step is one overlap search from `cur`
 * (O(log n)) plus, for a used span, one iter_next per node merged into it. All arithmetic on
 * positions avoids `x + 1` when x may be UINT64_MAX: a span that ends at last_index ends the
 * walk instead of advancing `cur` past it.
 *
 * The double span iterator reports maximal spans of the union of the two trees (unlike the
 * kernel's, which splits used spans by the tree that provides them).
 */
#include "common/interval_tree.h"

/* ---- augmentation and rotations ------------------------------------------------------------ */

static inline void itree_recompute(struct itree_node *n)
{
	uint64_t m = n->last;

	if (n->left && n->left->subtree_last > m)
		m = n->left->subtree_last;
	if (n->right && n->right->subtree_last > m)
		m = n->right->subtree_last;
	n->subtree_last = m;
}

/* Point whatever referenced `old` (parent's child slot or the root) at `new`. */
static inline void itree_replace_child(struct itree_root *root, struct itree_node *parent,
				       struct itree_node *old, struct itree_node *new)
{
	if (!parent)
		root->node = new;
	else if (parent->left == old)
		parent->left = new;
	else
		parent->right = new;
}

/* x's right child y takes x's place; x becomes y's left child. */
static void itree_rotate_left(struct itree_root *root, struct itree_node *x)
{
	struct itree_node *y = x->right;
	struct itree_node *p = x->parent;

	x->right = y->left;
	if (y->left)
		y->left->parent = x;
	y->left = x;
	x->parent = y;
	y->parent = p;
	itree_replace_child(root, p, x, y);

	y->subtree_last = x->subtree_last;
	itree_recompute(x);
}

/* x's left child y takes x's place; x becomes y's right child. */
static void itree_rotate_right(struct itree_root *root, struct itree_node *x)
{
	struct itree_node *y = x->left;
	struct itree_node *p = x->parent;

	x->left = y->right;
	if (y->right)
		y->right->parent = x;
	y->right = x;
	x->parent = y;
	y->parent = p;
	itree_replace_child(root, p, x, y);

	y->subtree_last = x->subtree_last;
	itree_recompute(x);
}

static inline bool itree_is_red(const struct itree_node *n)
{
	return n && n->red;
}

/* ---- insert -------------------------------------------------------------------------------- */

static inline bool itree_key_less(const struct itree_node *a, const struct itree_node *b)
{
	return a->start < b->start || (a->start == b->start && a->last < b->last);
}

void itree_insert(struct itree_root *root, struct itree_node *node)
{
	struct itree_node **link = &root->node;
	struct itree_node *parent = NULL;

	while (*link) {
		parent = *link;
		if (parent->subtree_last < node->last)
			parent->subtree_last = node->last;
		link = itree_key_less(node, parent) ? &parent->left : &parent->right;
	}
	node->parent = parent;
	node->left = node->right = NULL;
	node->subtree_last = node->last;
	node->red = 1;
	*link = node;
	root->count++;

	/* Rebalance: while the parent is red (so it is not the root and a grandparent exists). */
	struct itree_node *n = node;
	struct itree_node *p;

	while ((p = n->parent) && p->red) {
		struct itree_node *g = p->parent;

		if (p == g->left) {
			struct itree_node *u = g->right;

			if (itree_is_red(u)) {
				p->red = 0;
				u->red = 0;
				g->red = 1;
				n = g;
				continue;
			}
			if (n == p->right) {
				itree_rotate_left(root, p);
				n = p;
				p = n->parent;
			}
			p->red = 0;
			g->red = 1;
			itree_rotate_right(root, g);
		} else {
			struct itree_node *u = g->left;

			if (itree_is_red(u)) {
				p->red = 0;
				u->red = 0;
				g->red = 1;
				n = g;
				continue;
			}
			if (n == p->left) {
				itree_rotate_right(root, p);
				n = p;
				p = n->parent;
			}
			p->red = 0;
			g->red = 1;
			itree_rotate_left(root, g);
		}
		break;
	}
	root->node->red = 0;
}

/* ---- remove -------------------------------------------------------------------------------- */

/* Restore the black height after a black node left the tree. `x` (possibly NULL) is the node
 * that took its place and carries the extra black; `xp` is x's parent. */
static void itree_remove_fixup(struct itree_root *root, struct itree_node *x,
			       struct itree_node *xp)
{
	while (x != root->node && !itree_is_red(x)) {
		if (x == xp->left) {
			struct itree_node *w = xp->right; /* non-NULL: it has black height >= 1 */

			if (w->red) {
				w->red = 0;
				xp->red = 1;
				itree_rotate_left(root, xp);
				w = xp->right;
			}
			if (!itree_is_red(w->left) && !itree_is_red(w->right)) {
				w->red = 1;
				x = xp;
				xp = x->parent;
				continue;
			}
			if (!itree_is_red(w->right)) {
				w->left->red = 0;
				w->red = 1;
				itree_rotate_right(root, w);
				w = xp->right;
			}
			w->red = xp->red;
			xp->red = 0;
			w->right->red = 0;
			itree_rotate_left(root, xp);
		} else {
			struct itree_node *w = xp->left;

			if (w->red) {
				w->red = 0;
				xp->red = 1;
				itree_rotate_right(root, xp);
				w = xp->left;
			}
			if (!itree_is_red(w->left) && !itree_is_red(w->right)) {
				w->red = 1;
				x = xp;
				xp = x->parent;
				continue;
			}
			if (!itree_is_red(w->left)) {
				w->right->red = 0;
				w->red = 1;
				itree_rotate_left(root, w);
				w = xp->left;
			}
			w->red = xp->red;
			xp->red = 0;
			w->left->red = 0;
			itree_rotate_right(root, xp);
		}
		x = root->node;
		break;
	}
	if (x)
		x->red = 0;
}

void itree_remove(struct itree_root *root, struct itree_node *z)
{
	struct itree_node *x, *xp;
	bool removed_black;

	if (!z->left || !z->right) {
		/* At most one child: splice z out directly. */
		x = z->left ? z->left : z->right;
		xp = z->parent;
		removed_black = !z->red;
		if (x)
			x->parent = xp;
		itree_replace_child(root, xp, z, x);
	} else {
		/* Two children: z's successor y (leftmost of the right subtree, no left child)
		 * leaves its spot and takes over z's position and colour. */
		struct itree_node *y = z->right;

		while (y->left)
			y = y->left;
		removed_black = !y->red;
		x = y->right;
		if (y->parent == z) {
			xp = y;
		} else {
			xp = y->parent;
			xp->left = x;
			if (x)
				x->parent = xp;
			y->right = z->right;
			z->right->parent = y;
		}
		y->left = z->left;
		z->left->parent = y;
		y->parent = z->parent;
		itree_replace_child(root, z->parent, z, y);
		y->red = z->red;
	}

	/* Every subtree that lost a node lies on the path from xp to the root. */
	for (struct itree_node *n = xp; n; n = n->parent)
		itree_recompute(n);

	if (removed_black)
		itree_remove_fixup(root, x, xp);

	root->count--;
	z->left = z->right = z->parent = NULL;
}

/* ---- in-order walk ------------------------------------------------------------------------- */

struct itree_node *itree_first(const struct itree_root *root)
{
	struct itree_node *n = root->node;

	if (!n)
		return NULL;
	while (n->left)
		n = n->left;
	return n;
}

struct itree_node *itree_next(const struct itree_node *node)
{
	const struct itree_node *n = node;

	if (n->right) {
		n = n->right;
		while (n->left)
			n = n->left;
		return (struct itree_node *)n;
	}
	while (n->parent && n == n->parent->right)
		n = n->parent;
	return n->parent;
}

/* ---- overlap search ------------------------------------------------------------------------ */

/* The in-order first node of the subtree at `n` that overlaps [start, last], or NULL.
 * Precondition: n->subtree_last >= start.
 *
 * If the left subtree holds some node m with m->last >= start, the answer is in the left subtree
 * or nowhere: either m overlaps, or m starts past `last` and so does everything after m. */
static struct itree_node *itree_subtree_search(struct itree_node *n, uint64_t start,
					       uint64_t last)
{
	for (;;) {
		if (n->left && n->left->subtree_last >= start) {
			n = n->left;
			continue;
		}
		if (n->start > last)
			return NULL;
		if (n->last >= start)
			return n;
		n = n->right;
		if (!n || n->subtree_last < start)
			return NULL;
	}
}

struct itree_node *itree_iter_first(const struct itree_root *root, uint64_t start, uint64_t last)
{
	struct itree_node *n = root->node;

	if (!n || n->subtree_last < start)
		return NULL;
	return itree_subtree_search(n, start, last);
}

/* `node` overlapped [start, last] (so node->start <= last). Everything in its left subtree and
 * above-left of it is already visited; look in its right subtree, then at each ancestor reached
 * from the left together with that ancestor's right subtree. */
struct itree_node *itree_iter_next(const struct itree_node *node, uint64_t start, uint64_t last)
{
	const struct itree_node *n = node;

	for (;;) {
		struct itree_node *r = n->right;
		const struct itree_node *prev;

		if (r && r->subtree_last >= start)
			return itree_subtree_search(r, start, last);

		/* Climb until we arrive from a left child. */
		do {
			prev = n;
			n = n->parent;
			if (!n)
				return NULL;
		} while (prev == n->right);

		if (n->start > last)
			return NULL;
		if (n->last >= start)
			return (struct itree_node *)n;
	}
}

/* ---- span iterators ------------------------------------------------------------------------ */

static inline void span_set_hole(bool *is_hole, uint64_t *sh, uint64_t *lh, uint64_t a,
				 uint64_t b)
{
	*is_hole = true;
	*sh = a;
	*lh = b;
}

/* Compute the span starting at it->cur (cur <= last_index). */
static void itree_span_fill(struct itree_span_iter *it)
{
	const uint64_t cur = it->cur, lim = it->last_index;
	struct itree_node *n = itree_iter_first(it->root, cur, lim);

	if (!n) {
		span_set_hole(&it->is_hole, &it->start_hole, &it->last_hole, cur, lim);
		return;
	}
	if (n->start > cur) {
		span_set_hole(&it->is_hole, &it->start_hole, &it->last_hole, cur, n->start - 1);
		return;
	}

	/* n covers cur. Merge nodes in start order while they overlap or touch the coverage. */
	uint64_t end = n->last;

	while (end < lim) {
		n = itree_iter_next(n, cur, lim);
		if (!n || n->start > end + 1)
			break;
		if (n->last > end)
			end = n->last;
	}
	it->is_hole = false;
	it->start_used = cur;
	it->last_used = end < lim ? end : lim;
}

void itree_span_iter_first(struct itree_span_iter *it, const struct itree_root *root,
			   uint64_t first_index, uint64_t last_index)
{
	it->root = root;
	it->first_index = first_index;
	it->last_index = last_index;
	it->cur = first_index;
	it->done = first_index > last_index;
	if (!it->done)
		itree_span_fill(it);
}

void itree_span_iter_next(struct itree_span_iter *it)
{
	if (it->done)
		return;

	uint64_t end = it->is_hole ? it->last_hole : it->last_used;

	if (end >= it->last_index) {
		it->done = true;
		return;
	}
	it->cur = end + 1;
	itree_span_fill(it);
}

static inline struct itree_node *itree_first_overlap(const struct itree_root *root,
						     uint64_t start, uint64_t last)
{
	return root ? itree_iter_first(root, start, last) : NULL;
}

static inline struct itree_node *itree_lower(struct itree_node *a, struct itree_node *b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return b->start < a->start ? b : a;
}

/* Same as itree_span_fill, merging the overlap streams of both trees in start order. */
static void itree_double_span_fill(struct itree_double_span_iter *it)
{
	const uint64_t cur = it->cur, lim = it->last_index;
	struct itree_node *a = itree_first_overlap(it->roots[0], cur, lim);
	struct itree_node *b = itree_first_overlap(it->roots[1], cur, lim);
	struct itree_node *n = itree_lower(a, b);

	if (!n) {
		span_set_hole(&it->is_hole, &it->start_hole, &it->last_hole, cur, lim);
		return;
	}
	if (n->start > cur) {
		span_set_hole(&it->is_hole, &it->start_hole, &it->last_hole, cur, n->start - 1);
		return;
	}

	uint64_t end = n->last;

	while (end < lim) {
		if (n == a)
			a = itree_iter_next(a, cur, lim);
		else
			b = itree_iter_next(b, cur, lim);
		n = itree_lower(a, b);
		if (!n || n->start > end + 1)
			break;
		if (n->last > end)
			end = n->last;
	}
	it->is_hole = false;
	it->start_used = cur;
	it->last_used = end < lim ? end : lim;
}

void itree_double_span_iter_first(struct itree_double_span_iter *it, const struct itree_root *a,
				  const struct itree_root *b, uint64_t first_index,
				  uint64_t last_index)
{
	it->roots[0] = a;
	it->roots[1] = b;
	it->first_index = first_index;
	it->last_index = last_index;
	it->cur = first_index;
	it->done = first_index > last_index;
	if (!it->done)
		itree_double_span_fill(it);
}

void itree_double_span_iter_next(struct itree_double_span_iter *it)
{
	if (it->done)
		return;

	uint64_t end = it->is_hole ? it->last_hole : it->last_used;

	if (end >= it->last_index) {
		it->done = true;
		return;
	}
	it->cur = end + 1;
	itree_double_span_fill(it);
}
