/* test_interval_tree.c — the augmented red-black interval tree and its span iterators, checked
 * against brute-force oracles on randomized trees (fixed seeds), plus edge cases at 0 and
 * UINT64_MAX. A validation helper checks links, order, red-black rules and subtree_last after
 * every structural change in the randomized tests. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/compiler.h"
#include "common/interval_tree.h"

#define U64MAX UINT64_MAX

struct tnode {
	struct itree_node it;
	int id;
	bool in;
};

/* ---- helpers ------------------------------------------------------------------------------- */

static uint64_t rng_state;

static void rng_seed(uint64_t s)
{
	rng_state = s ? s : 0x9e3779b97f4a7c15ULL;
}

static uint64_t rng(void)
{
	/* xorshift64* */
	uint64_t x = rng_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static uint64_t rng_below(uint64_t n)
{
	return n ? rng() % n : 0;
}

static int key_cmp(const struct itree_node *a, const struct itree_node *b)
{
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->last != b->last)
		return a->last < b->last ? -1 : 1;
	return 0;
}

struct vstate {
	size_t count;
	const struct itree_node *prev;
};

/* Returns the black height of the subtree at n (NULL counts as 1). */
static int validate_rec(const struct itree_node *n, const struct itree_node *parent,
			struct vstate *vs)
{
	if (!n)
		return 1;
	cr_assert_eq(n->parent, parent, "parent link broken at [%lu,%lu]", n->start, n->last);
	cr_assert_leq(n->start, n->last);
	if (n->red) {
		cr_assert(!(n->left && n->left->red), "red-red at [%lu,%lu]", n->start, n->last);
		cr_assert(!(n->right && n->right->red), "red-red at [%lu,%lu]", n->start, n->last);
	}

	int lh = validate_rec(n->left, n, vs);

	if (vs->prev)
		cr_assert_leq(key_cmp(vs->prev, n), 0, "in-order key order broken");
	vs->prev = n;
	vs->count++;

	int rh = validate_rec(n->right, n, vs);

	cr_assert_eq(lh, rh, "black height mismatch at [%lu,%lu]", n->start, n->last);

	uint64_t m = n->last;
	if (n->left && n->left->subtree_last > m)
		m = n->left->subtree_last;
	if (n->right && n->right->subtree_last > m)
		m = n->right->subtree_last;
	cr_assert_eq(n->subtree_last, m, "subtree_last wrong at [%lu,%lu]: %lu != %lu", n->start,
		     n->last, n->subtree_last, m);
	return lh + !n->red;
}

static void validate(const struct itree_root *root)
{
	struct vstate vs = { 0, NULL };

	if (root->node) {
		cr_assert(!root->node->red, "root is red");
		cr_assert_null(root->node->parent);
	}
	validate_rec(root->node, NULL, &vs);
	cr_assert_eq(vs.count, root->count, "count %zu != walked %zu", root->count, vs.count);
	cr_assert_eq(itree_empty(root), root->count == 0);
}

static void tn_insert(struct itree_root *root, struct tnode *t, uint64_t start, uint64_t last)
{
	t->it.start = start;
	t->it.last = last;
	itree_insert(root, &t->it);
	t->in = true;
}

static void tn_remove(struct itree_root *root, struct tnode *t)
{
	itree_remove(root, &t->it);
	t->in = false;
}

/* Brute-force overlap query; returns matches sorted by (start, last) in out[]. */
static int cmp_ptr_key(const void *a, const void *b)
{
	const struct itree_node *x = *(const struct itree_node *const *)a;
	const struct itree_node *y = *(const struct itree_node *const *)b;
	int c = key_cmp(x, y);

	if (c)
		return c;
	return x < y ? -1 : x > y;
}

static size_t oracle_overlap(struct tnode *nodes, size_t n, uint64_t start, uint64_t last,
			     const struct itree_node **out)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (nodes[i].in && nodes[i].it.start <= last && nodes[i].it.last >= start)
			out[k++] = &nodes[i].it;
	qsort(out, k, sizeof(*out), cmp_ptr_key);
	return k;
}

/* Compare the tree's overlap query against the oracle: same keys in the same order, and the same
 * set of nodes (duplicates may come in any order among equal keys). */
static void check_query(const struct itree_root *root, struct tnode *nodes, size_t n,
			uint64_t start, uint64_t last, const struct itree_node **exp,
			const struct itree_node **got)
{
	size_t ne = oracle_overlap(nodes, n, start, last, exp);
	size_t ng = 0;

	for (struct itree_node *it = itree_iter_first(root, start, last); it;
	     it = itree_iter_next(it, start, last)) {
		cr_assert_lt(ng, ne + 1, "query [%lu,%lu]: too many results", start, last);
		got[ng++] = it;
	}
	cr_assert_eq(ng, ne, "query [%lu,%lu]: got %zu results, expected %zu", start, last, ng, ne);
	for (size_t i = 0; i < ng; i++)
		cr_assert_eq(key_cmp(got[i], exp[i]), 0, "query [%lu,%lu]: result %zu out of order",
			     start, last, i);
	qsort(got, ng, sizeof(*got), cmp_ptr_key);
	for (size_t i = 0; i < ng; i++)
		cr_assert_eq(got[i], exp[i], "query [%lu,%lu]: node set differs", start, last);
}

/* ---- spans --------------------------------------------------------------------------------- */

struct span {
	bool hole;
	uint64_t a, b;
};

#define MAX_SPANS 256

static size_t collect_spans(const struct itree_root *root, uint64_t first, uint64_t last,
			    struct span *out)
{
	struct itree_span_iter s;
	size_t k = 0;

	for (itree_span_iter_first(&s, root, first, last); !itree_span_iter_done(&s);
	     itree_span_iter_next(&s)) {
		cr_assert_lt(k, MAX_SPANS, "too many spans");
		out[k].hole = s.is_hole;
		out[k].a = s.is_hole ? s.start_hole : s.start_used;
		out[k].b = s.is_hole ? s.last_hole : s.last_used;
		k++;
	}
	return k;
}

static size_t collect_double_spans(const struct itree_root *r0, const struct itree_root *r1,
				   uint64_t first, uint64_t last, struct span *out)
{
	struct itree_double_span_iter s;
	size_t k = 0;

	for (itree_double_span_iter_first(&s, r0, r1, first, last); !itree_double_span_iter_done(&s);
	     itree_double_span_iter_next(&s)) {
		cr_assert_lt(k, MAX_SPANS, "too many spans");
		out[k].hole = s.is_hole;
		out[k].a = s.is_hole ? s.start_hole : s.start_used;
		out[k].b = s.is_hole ? s.last_hole : s.last_used;
		k++;
	}
	return k;
}

/* Structural checks every span list must pass: exact tiling, alternation, non-empty spans. */
static void check_tiling(const struct span *sp, size_t k, uint64_t first, uint64_t last)
{
	cr_assert_gt(k, 0);
	cr_assert_eq(sp[0].a, first);
	cr_assert_eq(sp[k - 1].b, last);
	for (size_t i = 0; i < k; i++) {
		cr_assert_leq(sp[i].a, sp[i].b, "span %zu inverted", i);
		if (i) {
			cr_assert_eq(sp[i].a, sp[i - 1].b + 1, "span %zu not contiguous", i);
			cr_assert_neq(sp[i].hole, sp[i - 1].hole, "span %zu does not alternate", i);
		}
	}
}

/* Oracle over a small universe [base, base + USZ - 1]: coverage bitmap -> expected spans. */
#define USZ 64

static size_t oracle_spans(const bool *cov, uint64_t base, unsigned f, unsigned l,
			   struct span *out)
{
	size_t k = 0;

	for (unsigned i = f; i <= l;) {
		unsigned j = i;

		while (j + 1 <= l && cov[j + 1] == cov[i])
			j++;
		out[k].hole = !cov[i];
		out[k].a = base + i;
		out[k].b = base + j;
		k++;
		i = j + 1;
	}
	return k;
}

static void compare_spans(const struct span *got, size_t ng, const struct span *exp, size_t ne,
			  const char *what)
{
	cr_assert_eq(ng, ne, "%s: %zu spans, expected %zu", what, ng, ne);
	for (size_t i = 0; i < ng; i++) {
		cr_assert_eq(got[i].hole, exp[i].hole, "%s: span %zu kind", what, i);
		cr_assert_eq(got[i].a, exp[i].a, "%s: span %zu start %lu != %lu", what, i,
			     got[i].a, exp[i].a);
		cr_assert_eq(got[i].b, exp[i].b, "%s: span %zu last %lu != %lu", what, i, got[i].b,
			     exp[i].b);
	}
}

/* Random node inside the small universe: mostly short, sometimes long, always in range. */
static void random_small_node(unsigned *s, unsigned *l)
{
	unsigned a = (unsigned)rng_below(USZ);
	unsigned len = (rng_below(4) == 0) ? (unsigned)rng_below(USZ) : (unsigned)rng_below(6);
	unsigned b = a + len;

	if (b >= USZ)
		b = USZ - 1;
	*s = a;
	*l = b;
}

/* ---- basic tests --------------------------------------------------------------------------- */

Test(interval_tree, empty_tree)
{
	struct itree_root root = ITREE_ROOT_INIT;
	struct span sp[MAX_SPANS];

	cr_assert(itree_empty(&root));
	cr_assert_null(itree_first(&root));
	cr_assert_null(itree_iter_first(&root, 0, U64MAX));
	cr_assert_null(itree_iter_first(&root, 5, 5));

	size_t k = collect_spans(&root, 0, U64MAX, sp);
	cr_assert_eq(k, 1);
	cr_assert(sp[0].hole);
	cr_assert_eq(sp[0].a, 0);
	cr_assert_eq(sp[0].b, U64MAX);

	k = collect_spans(&root, 7, 7, sp);
	cr_assert_eq(k, 1);
	cr_assert(sp[0].hole && sp[0].a == 7 && sp[0].b == 7);

	k = collect_double_spans(&root, &root, 0, U64MAX, sp);
	cr_assert_eq(k, 1);
	cr_assert(sp[0].hole && sp[0].a == 0 && sp[0].b == U64MAX);

	/* An inverted range yields no spans at all. */
	k = collect_spans(&root, 9, 8, sp);
	cr_assert_eq(k, 0);
}

Test(interval_tree, insert_remove_small)
{
	struct itree_root root = ITREE_ROOT_INIT;
	struct tnode t[6] = { 0 };
	static const uint64_t keys[6][2] = { { 10, 19 }, { 0, 4 },   { 30, 39 },
					     { 10, 12 }, { 15, 50 }, { 5, 5 } };

	for (int i = 0; i < 6; i++) {
		tn_insert(&root, &t[i], keys[i][0], keys[i][1]);
		validate(&root);
	}
	cr_assert_eq(root.count, 6);

	/* In-order: (0,4) (5,5) (10,12) (10,19) (15,50) (30,39) */
	static const int order[6] = { 1, 5, 3, 0, 4, 2 };
	int i = 0;
	for (struct itree_node *n = itree_first(&root); n; n = itree_next(n), i++)
		cr_assert_eq(n, &t[order[i]].it, "in-order position %d", i);
	cr_assert_eq(i, 6);

	/* Overlap of [13, 16]: (10,19) (15,50). */
	struct itree_node *n = itree_iter_first(&root, 13, 16);
	cr_assert_eq(n, &t[0].it);
	n = itree_iter_next(n, 13, 16);
	cr_assert_eq(n, &t[4].it);
	cr_assert_null(itree_iter_next(n, 13, 16));

	/* Overlap of [40, 100]: only (15,50). */
	cr_assert_eq(itree_iter_first(&root, 40, 100), &t[4].it);
	cr_assert_null(itree_iter_next(&t[4].it, 40, 100));
	cr_assert_null(itree_iter_first(&root, 51, 100));
	cr_assert_null(itree_iter_first(&root, 6, 9));

	/* Remove from the middle, then everything. */
	tn_remove(&root, &t[3]);
	validate(&root);
	cr_assert_eq(itree_iter_first(&root, 11, 11), &t[0].it);
	static const int rm[5] = { 0, 2, 1, 5, 4 };
	for (int j = 0; j < 5; j++) {
		tn_remove(&root, &t[rm[j]]);
		validate(&root);
	}
	cr_assert(itree_empty(&root));
	cr_assert_eq(root.count, 0);
	cr_assert_null(itree_first(&root));
}

Test(interval_tree, duplicates_keep_insertion_order)
{
	struct itree_root root = ITREE_ROOT_INIT;
	struct tnode t[40] = { 0 };

	for (int i = 0; i < 40; i++) {
		tn_insert(&root, &t[i], 100, 200);
		validate(&root);
	}
	int i = 0;
	for (struct itree_node *n = itree_iter_first(&root, 150, 150); n;
	     n = itree_iter_next(n, 150, 150), i++)
		cr_assert_eq(n, &t[i].it);
	cr_assert_eq(i, 40);

	for (int j = 0; j < 40; j += 2) {
		tn_remove(&root, &t[j]);
		validate(&root);
	}
	i = 1;
	for (struct itree_node *n = itree_first(&root); n; n = itree_next(n), i += 2)
		cr_assert_eq(n, &t[i].it);
	cr_assert_eq(i, 41);
}

Test(interval_tree, sequential_insert_stays_balanced)
{
	enum { N = 4096 };
	struct itree_root root = ITREE_ROOT_INIT;
	struct tnode *t = calloc(N, sizeof(*t));

	cr_assert_not_null(t);
	for (int i = 0; i < N; i++)
		tn_insert(&root, &t[i], (uint64_t)i * 10, (uint64_t)i * 10 + 4);
	validate(&root);

	/* Height bound for a red-black tree: <= 2 log2(n + 1) = 24 for n = 4096. */
	int maxdepth = 0;
	for (int i = 0; i < N; i++) {
		int d = 0;
		for (struct itree_node *n = &t[i].it; n; n = n->parent)
			d++;
		if (d > maxdepth)
			maxdepth = d;
	}
	cr_assert_leq(maxdepth, 24, "depth %d", maxdepth);

	for (int i = N - 1; i >= 0; i--)
		tn_remove(&root, &t[i]);
	validate(&root);
	cr_assert(itree_empty(&root));
	free(t);
}

/* ---- randomized overlap queries vs oracle -------------------------------------------------- */

static void random_node_key(uint64_t *s, uint64_t *l)
{
	uint64_t r = rng_below(100);
	uint64_t a, b;

	if (r < 3) { /* touching the top of the space */
		a = U64MAX - rng_below(1 << 12);
		b = U64MAX;
	} else if (r < 6) { /* touching zero */
		a = 0;
		b = rng_below(1 << 12);
	} else if (r < 10) { /* long */
		a = rng_below(1 << 20);
		b = a + rng_below(1 << 18);
	} else {
		a = rng_below(1 << 20);
		b = a + rng_below(64);
	}
	*s = a;
	*l = b;
}

static void random_query(uint64_t *s, uint64_t *l)
{
	uint64_t r = rng_below(100);

	if (r < 5) {
		*s = 0;
		*l = U64MAX;
	} else if (r < 10) {
		*s = U64MAX - rng_below(1 << 13);
		*l = U64MAX;
	} else if (r < 15) {
		*s = 0;
		*l = rng_below(1 << 13);
	} else {
		*s = rng_below(1 << 20);
		*l = *s + rng_below(r < 50 ? 16 : 1 << 14);
	}
}

Test(interval_tree, random_overlap_vs_oracle)
{
	enum { N = 2000, Q = 400 };
	struct itree_root root = ITREE_ROOT_INIT;
	struct tnode *t = calloc(N, sizeof(*t));
	const struct itree_node **exp = calloc(N, sizeof(*exp));
	const struct itree_node **got = calloc(N + 1, sizeof(*got));

	cr_assert(t && exp && got);
	rng_seed(0x1badc0ffee);

	for (int i = 0; i < N; i++) {
		uint64_t s, l;

		random_node_key(&s, &l);
		t[i].id = i;
		tn_insert(&root, &t[i], s, l);
		if (i % 16 == 0 || i < 64)
			validate(&root);
	}
	validate(&root);

	for (int round = 0; round < 4; round++) {
		for (int q = 0; q < Q; q++) {
			uint64_t s, l;

			random_query(&s, &l);
			check_query(&root, t, N, s, l, exp, got);
		}
		/* Point queries at node edges catch off-by-one pruning. */
		for (int q = 0; q < 100; q++) {
			struct tnode *x = &t[rng_below(N)];
			check_query(&root, t, N, x->it.start, x->it.start, exp, got);
			check_query(&root, t, N, x->it.last, x->it.last, exp, got);
			if (x->it.last != U64MAX)
				check_query(&root, t, N, x->it.last + 1, x->it.last + 1, exp, got);
		}

		/* Churn: remove ~half of the present nodes and re-insert some absent ones. */
		for (int i = 0; i < N; i++) {
			struct tnode *x = &t[rng_below(N)];

			if (x->in && rng_below(2)) {
				tn_remove(&root, x);
				validate(&root);
			} else if (!x->in && rng_below(3) == 0) {
				uint64_t s, l;

				random_node_key(&s, &l);
				tn_insert(&root, x, s, l);
				validate(&root);
			}
		}
	}

	/* The full in-order walk matches the oracle's sorted set. */
	size_t ne = oracle_overlap(t, N, 0, U64MAX, exp);
	size_t k = 0;
	for (struct itree_node *n = itree_first(&root); n; n = itree_next(n)) {
		cr_assert_lt(k, ne);
		cr_assert_eq(key_cmp(n, exp[k]), 0);
		k++;
	}
	cr_assert_eq(k, ne);
	cr_assert_eq(k, root.count);

	/* Drain in random order. */
	for (int i = 0; i < N; i++) {
		struct tnode *x = &t[(i * 7919) % N];

		if (x->in) {
			tn_remove(&root, x);
			if (i % 8 == 0)
				validate(&root);
		}
	}
	validate(&root);
	cr_assert(itree_empty(&root));

	free(t);
	free(exp);
	free(got);
}

/* ---- span iterator vs oracle --------------------------------------------------------------- */

static void span_oracle_round(uint64_t base, int rounds)
{
	struct tnode t[16];
	struct span got[MAX_SPANS], exp[MAX_SPANS];
	char what[128];

	for (int r = 0; r < rounds; r++) {
		struct itree_root root = ITREE_ROOT_INIT;
		bool cov[USZ] = { false };
		int n = (int)rng_below(13);

		memset(t, 0, sizeof(t));
		for (int i = 0; i < n; i++) {
			unsigned s, l;

			random_small_node(&s, &l);
			tn_insert(&root, &t[i], base + s, base + l);
			for (unsigned v = s; v <= l; v++)
				cov[v] = true;
		}
		validate(&root);

		for (int q = 0; q < 8; q++) {
			unsigned f = (unsigned)rng_below(USZ);
			unsigned l = f + (unsigned)rng_below(USZ - f);

			if (q == 0) {
				f = 0;
				l = USZ - 1;
			}
			size_t ng = collect_spans(&root, base + f, base + l, got);
			check_tiling(got, ng, base + f, base + l);
			size_t ne = oracle_spans(cov, base, f, l, exp);
			snprintf(what, sizeof(what), "base %lu round %d n %d range [%u,%u]", base, r,
				 n, f, l);
			compare_spans(got, ng, exp, ne, what);
		}
	}
}

Test(interval_tree, span_vs_oracle_low)
{
	rng_seed(42);
	span_oracle_round(0, 3000);
}

Test(interval_tree, span_vs_oracle_top)
{
	/* Universe pinned to the top of the space: last_index = UINT64_MAX, nodes ending there. */
	rng_seed(4242);
	span_oracle_round(U64MAX - (USZ - 1), 3000);
}

Test(interval_tree, span_vs_oracle_middle)
{
	rng_seed(424242);
	span_oracle_round(1ULL << 40, 1000);
}

/* Whole space [0, UINT64_MAX] with a small universe at the bottom or top: the outer hole must
 * come out exactly. */
Test(interval_tree, span_whole_space_random)
{
	struct tnode t[16];
	struct span got[MAX_SPANS], exp[MAX_SPANS];

	rng_seed(7);
	for (int r = 0; r < 1000; r++) {
		struct itree_root root = ITREE_ROOT_INIT;
		bool cov[USZ] = { false };
		bool top = r & 1;
		uint64_t base = top ? U64MAX - (USZ - 1) : 0;
		int n = 1 + (int)rng_below(10);

		memset(t, 0, sizeof(t));
		for (int i = 0; i < n; i++) {
			unsigned s, l;

			random_small_node(&s, &l);
			tn_insert(&root, &t[i], base + s, base + l);
			for (unsigned v = s; v <= l; v++)
				cov[v] = true;
		}
		size_t ng = collect_spans(&root, 0, U64MAX, got);
		check_tiling(got, ng, 0, U64MAX);

		size_t ne = oracle_spans(cov, base, 0, USZ - 1, exp);
		/* Extend the oracle with the rest of the space as a hole. */
		if (top) {
			if (exp[0].hole) {
				exp[0].a = 0;
			} else {
				memmove(&exp[1], &exp[0], ne * sizeof(exp[0]));
				exp[0] = (struct span){ true, 0, base - 1 };
				ne++;
			}
		} else {
			if (exp[ne - 1].hole)
				exp[ne - 1].b = U64MAX;
			else
				exp[ne++] = (struct span){ true, USZ, U64MAX };
		}
		compare_spans(got, ng, exp, ne, top ? "whole space, top" : "whole space, bottom");
	}
}

/* ---- span edge cases ----------------------------------------------------------------------- */

static void expect_spans(const struct span *got, size_t ng, const struct span *exp, size_t ne)
{
	compare_spans(got, ng, exp, ne, "edge");
}

Test(interval_tree, span_edges)
{
	struct itree_root root = ITREE_ROOT_INIT;
	struct tnode a = { 0 }, b = { 0 }, c = { 0 };
	struct span got[MAX_SPANS];
	size_t k;

	/* One node covering everything. */
	tn_insert(&root, &a, 0, U64MAX);
	k = collect_spans(&root, 0, U64MAX, got);
	expect_spans(got, k, (struct span[]){ { false, 0, U64MAX } }, 1);
	k = collect_spans(&root, U64MAX, U64MAX, got);
	expect_spans(got, k, (struct span[]){ { false, U64MAX, U64MAX } }, 1);
	k = collect_spans(&root, 5, 10, got);
	expect_spans(got, k, (struct span[]){ { false, 5, 10 } }, 1);
	cr_assert_eq(itree_iter_first(&root, U64MAX, U64MAX), &a.it);
	cr_assert_eq(itree_iter_first(&root, 0, 0), &a.it);
	tn_remove(&root, &a);

	/* Single points at both ends. */
	tn_insert(&root, &a, 0, 0);
	tn_insert(&root, &b, U64MAX, U64MAX);
	k = collect_spans(&root, 0, U64MAX, got);
	expect_spans(got, k,
		     (struct span[]){ { false, 0, 0 }, { true, 1, U64MAX - 1 },
				      { false, U64MAX, U64MAX } },
		     3);
	k = collect_spans(&root, 1, U64MAX - 1, got);
	expect_spans(got, k, (struct span[]){ { true, 1, U64MAX - 1 } }, 1);
	k = collect_spans(&root, 1, U64MAX, got);
	expect_spans(got, k,
		     (struct span[]){ { true, 1, U64MAX - 1 }, { false, U64MAX, U64MAX } }, 2);
	cr_assert_eq(itree_iter_first(&root, U64MAX, U64MAX), &b.it);
	cr_assert_eq(itree_iter_first(&root, 0, U64MAX), &a.it);
	cr_assert_eq(itree_iter_next(&a.it, 0, U64MAX), &b.it);
	cr_assert_null(itree_iter_next(&b.it, 0, U64MAX));
	cr_assert_null(itree_iter_first(&root, 1, U64MAX - 1));

	/* Adjacent nodes merge; a node overlapping the end of the range is clipped. */
	tn_insert(&root, &c, 1, 99);
	k = collect_spans(&root, 0, U64MAX, got);
	expect_spans(got, k,
		     (struct span[]){ { false, 0, 99 }, { true, 100, U64MAX - 1 },
				      { false, U64MAX, U64MAX } },
		     3);
	k = collect_spans(&root, 50, 60, got);
	expect_spans(got, k, (struct span[]){ { false, 50, 60 } }, 1);
	tn_remove(&root, &c);
	tn_insert(&root, &c, 1000, U64MAX - 1);
	k = collect_spans(&root, 0, U64MAX, got);
	expect_spans(got, k,
		     (struct span[]){ { false, 0, 0 }, { true, 1, 999 }, { false, 1000, U64MAX } },
		     3);
	k = collect_spans(&root, 2000, U64MAX, got);
	expect_spans(got, k, (struct span[]){ { false, 2000, U64MAX } }, 1);
	validate(&root);
}

Test(interval_tree, span_nested_and_overlapping)
{
	struct itree_root root = ITREE_ROOT_INIT;
	struct tnode t[5] = { 0 };
	struct span got[MAX_SPANS];
	size_t k;

	/* A long node with short ones inside it and one sticking out, then a gap. */
	tn_insert(&root, &t[0], 10, 100);
	tn_insert(&root, &t[1], 20, 30);
	tn_insert(&root, &t[2], 11, 12);
	tn_insert(&root, &t[3], 90, 150);
	tn_insert(&root, &t[4], 152, 160);
	k = collect_spans(&root, 0, 200, got);
	expect_spans(got, k,
		     (struct span[]){ { true, 0, 9 },
				      { false, 10, 150 },
				      { true, 151, 151 },
				      { false, 152, 160 },
				      { true, 161, 200 } },
		     5);
	/* Start inside the short node that ends early: the long one still covers. */
	k = collect_spans(&root, 25, 155, got);
	expect_spans(got, k,
		     (struct span[]){ { false, 25, 150 }, { true, 151, 151 }, { false, 152, 155 } },
		     3);
}

/* ---- double span vs oracle ----------------------------------------------------------------- */

static void double_oracle_round(uint64_t base, int rounds)
{
	struct tnode t0[12], t1[12];
	struct span got[MAX_SPANS], exp[MAX_SPANS];
	char what[128];

	for (int r = 0; r < rounds; r++) {
		struct itree_root r0 = ITREE_ROOT_INIT, r1 = ITREE_ROOT_INIT;
		bool cov[USZ] = { false };
		int n0 = (int)rng_below(9), n1 = (int)rng_below(9);

		memset(t0, 0, sizeof(t0));
		memset(t1, 0, sizeof(t1));
		for (int i = 0; i < n0; i++) {
			unsigned s, l;

			random_small_node(&s, &l);
			tn_insert(&r0, &t0[i], base + s, base + l);
			for (unsigned v = s; v <= l; v++)
				cov[v] = true;
		}
		for (int i = 0; i < n1; i++) {
			unsigned s, l;

			random_small_node(&s, &l);
			tn_insert(&r1, &t1[i], base + s, base + l);
			for (unsigned v = s; v <= l; v++)
				cov[v] = true;
		}

		for (int q = 0; q < 8; q++) {
			unsigned f = (unsigned)rng_below(USZ);
			unsigned l = f + (unsigned)rng_below(USZ - f);

			if (q == 0) {
				f = 0;
				l = USZ - 1;
			}
			size_t ne = oracle_spans(cov, base, f, l, exp);
			snprintf(what, sizeof(what), "double base %lu round %d range [%u,%u]", base,
				 r, f, l);

			size_t ng = collect_double_spans(&r0, &r1, base + f, base + l, got);
			check_tiling(got, ng, base + f, base + l);
			compare_spans(got, ng, exp, ne, what);

			/* The union is symmetric. */
			ng = collect_double_spans(&r1, &r0, base + f, base + l, got);
			compare_spans(got, ng, exp, ne, what);
		}
	}
}

Test(interval_tree, double_span_vs_oracle_low)
{
	rng_seed(99);
	double_oracle_round(0, 3000);
}

Test(interval_tree, double_span_vs_oracle_top)
{
	rng_seed(9999);
	double_oracle_round(U64MAX - (USZ - 1), 3000);
}

Test(interval_tree, double_span_edges)
{
	struct itree_root r0 = ITREE_ROOT_INIT, r1 = ITREE_ROOT_INIT;
	struct tnode a = { 0 }, b = { 0 }, c = { 0 };
	struct span got[MAX_SPANS];
	size_t k;

	/* Adjacent nodes from different trees merge into one used span. */
	tn_insert(&r0, &a, 0, 9);
	tn_insert(&r1, &b, 10, 19);
	tn_insert(&r0, &c, 21, U64MAX);
	k = collect_double_spans(&r0, &r1, 0, U64MAX, got);
	expect_spans(got, k,
		     (struct span[]){ { false, 0, 19 }, { true, 20, 20 }, { false, 21, U64MAX } },
		     3);
	k = collect_double_spans(&r0, &r1, 20, 20, got);
	expect_spans(got, k, (struct span[]){ { true, 20, 20 } }, 1);
	k = collect_double_spans(&r0, &r1, U64MAX, U64MAX, got);
	expect_spans(got, k, (struct span[]){ { false, U64MAX, U64MAX } }, 1);

	/* One empty tree behaves as the single-tree iterator. */
	struct itree_root empty = ITREE_ROOT_INIT;
	struct span single[MAX_SPANS];
	k = collect_double_spans(&r0, &empty, 0, U64MAX, got);
	size_t ks = collect_spans(&r0, 0, U64MAX, single);
	compare_spans(got, k, single, ks, "double with empty");

	/* The same tree twice is its own union. */
	k = collect_double_spans(&r0, &r0, 0, U64MAX, got);
	compare_spans(got, k, single, ks, "double with itself");
}

/* ---- scale: many areas --------------------------------------------------------------------- */

Test(interval_tree, many_areas_span_walk)
{
	enum { N = 20000 };
	struct itree_root root = ITREE_ROOT_INIT;
	struct tnode *t = calloc(N, sizeof(*t));

	cr_assert_not_null(t);
	/* Areas of 4 pages with a one-page gap, inserted in a scrambled order. */
	for (int i = 0; i < N; i++) {
		int j = (int)(((uint64_t)i * 7919) % N);
		uint64_t s = SZ_4K * 5 * (uint64_t)j;

		tn_insert(&root, &t[j], s, s + 4 * SZ_4K - 1);
	}
	validate(&root);

	struct itree_span_iter sp;
	size_t holes = 0, used = 0;
	uint64_t expect = 0;
	for (itree_span_iter_first(&sp, &root, 0, U64MAX); !itree_span_iter_done(&sp);
	     itree_span_iter_next(&sp)) {
		if (sp.is_hole) {
			cr_assert_eq(sp.start_hole, expect);
			expect = sp.last_hole + 1;
			holes++;
		} else {
			cr_assert_eq(sp.start_used, expect);
			cr_assert_eq(sp.last_used - sp.start_used + 1, 4 * SZ_4K);
			expect = sp.last_used + 1;
			used++;
		}
	}
	cr_assert_eq(used, N);
	cr_assert_eq(holes, N); /* N - 1 gaps plus the tail up to UINT64_MAX */
	cr_assert_eq(expect, 0, "walk must end exactly at UINT64_MAX");

	/* First-fit style lookup of a hole of 1 page well inside the space. */
	uint64_t mid = SZ_4K * 5 * (N / 2);
	itree_span_iter_first(&sp, &root, mid, U64MAX);
	cr_assert(!sp.is_hole);
	itree_span_iter_next(&sp);
	cr_assert(sp.is_hole);
	cr_assert_eq(sp.start_hole, mid + 4 * SZ_4K);
	cr_assert_eq(sp.last_hole, mid + 5 * SZ_4K - 1);

	for (int i = 0; i < N; i++)
		tn_remove(&root, &t[(i * 104729) % N]);
	validate(&root);
	free(t);
}
