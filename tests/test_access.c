/* test_access.c — access objects (src/reference/access.c) through the in-kernel API of
 * src/reference/device.h, and their io_pagetable side: per-area pins, the unmap notification
 * and its EBUSY, alignment, pin accounting. Suite `access`. The IOMMU_TEST_CMD wrappers around
 * them are covered by test_selftest.c. */
#include "ioasid_test.h"
#include "reference/ref_private.h"
#include "reference/device.h"

#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096UL
#define BUF_SIZE (1UL << 20)
#define IOVA 0x1000000UL

static uint8_t *buf;

static void access_setup(void)
{
	ctx_setup();
	buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(buf, MAP_FAILED);
	for (size_t i = 0; i < BUF_SIZE; i++)
		buf[i] = (uint8_t)(i * 13 + 1);
}

static void access_teardown(void)
{
	munmap(buf, BUF_SIZE);
	ctx_teardown();
}

TestSuite(access, .init = access_setup, .fini = access_teardown);

/* ---- a driver: records unmap calls and, if told to, unpins what it holds ------------------- */

struct driver {
	struct ref_access *access;
	uint32_t id;
	bool cooperative;                 /* unpin on unmap */
	unsigned int unmaps;
	uint64_t last_iova, last_length;
	struct { uint64_t iova, length; bool held; } pins[8];
};

static void driver_unmap(void *data, uint64_t iova, uint64_t length)
{
	struct driver *d = data;

	d->unmaps++;
	d->last_iova = iova;
	d->last_length = length;
	if (!d->cooperative)
		return;
	for (int i = 0; i < 8; i++) {
		if (d->pins[i].held && d->pins[i].iova <= iova + (length - 1) &&
		    iova <= d->pins[i].iova + d->pins[i].length - 1) {
			ref_access_unpin_pages(d->access, d->pins[i].iova, d->pins[i].length);
			d->pins[i].held = false;
		}
	}
}

static const struct ref_access_ops pin_ops = { .unmap = driver_unmap, .needs_pin_pages = 1 };
static const struct ref_access_ops rw_ops = { .unmap = driver_unmap };

static void driver_create(struct driver *d, const struct ref_access_ops *ops)
{
	memset(d, 0, sizeof(*d));
	d->cooperative = true;
	assert_rc(0, ref_access_create(self, ops, d, &d->access, &d->id));
	cr_assert_neq(d->id, 0);
}

static int _pin(struct driver *d, uint64_t iova, uint64_t length, void **pages, unsigned int fl)
{
	int rc = ref_access_pin_pages(d->access, iova, length, pages, fl);

	for (int i = 0; !rc && i < 8; i++) {
		if (!d->pins[i].held) {
			d->pins[i].iova = iova;
			d->pins[i].length = length;
			d->pins[i].held = true;
			break;
		}
	}
	return rc;
}
#define pin_ok(d, iova, len, pages) assert_rc(0, _pin(d, iova, len, pages, 0))
#define pin_err(e, d, iova, len, fl) assert_rc(-(e), _pin(d, iova, len, NULL, fl))

static void unpin(struct driver *d, uint64_t iova, uint64_t length)
{
	for (int i = 0; i < 8; i++) {
		if (d->pins[i].held && d->pins[i].iova == iova && d->pins[i].length == length) {
			d->pins[i].held = false;
			break;
		}
	}
	ref_access_unpin_pages(d->access, iova, length);
}

/* How many pages objects hold each CPU page of buf pinned (MD_CHECK_REFS's count). */
static uint32_t pins_of(const void *p)
{
	uint32_t n = 0;

	assert_rc(0, iopt_count_user_pins((uintptr_t)p & ~(PAGE - 1), 1, &n));
	return n;
}

/* ---- lifetime ------------------------------------------------------------------------------- */

Test(access, create_destroy)
{
	struct driver d;
	struct ioasid_ctx_stats st;

	driver_create(&d, &rw_ops);
	/* the driver holds the object: user space cannot destroy it */
	destroy_err(EBUSY, d.id);
	ioasid_ctx_get_stats(self, &st);
	cr_assert_eq(st.objects, 1);
	ref_access_destroy(d.access);
	destroy_err(ENOENT, d.id);
	ioasid_ctx_get_stats(self, &st);
	cr_assert_eq(st.objects, 0);
}

Test(access, keeps_context_alive)
{
	struct driver d;
	uint32_t ioas = ioas_alloc_ok();
	uint8_t tmp[32];

	driver_create(&d, &rw_ops);
	assert_rc(0, ref_access_attach(d.access, ioas));
	ioas_map_fixed_ok(ioas, buf, PAGE, IOVA);
	ioasid_ctx_close(self); /* the opener goes; the access still works */
	self = NULL;
	assert_rc(0, ref_access_rw(d.access, IOVA, tmp, sizeof(tmp), 0));
	cr_assert_eq(memcmp(tmp, buf, sizeof(tmp)), 0);
	ref_access_destroy(d.access); /* last reference: teardown (leaks checked by the fixture) */
}

Test(access, attach_detach_replace)
{
	struct driver d;
	uint32_t ioas = ioas_alloc_ok(), ioas2 = ioas_alloc_ok();

	driver_create(&d, &pin_ops);
	assert_rc(-ENOENT, ref_access_replace(d.access, ioas));
	assert_rc(-ENOENT, ref_access_attach(d.access, ioas2 + 1));
	assert_rc(-ENOENT, ref_access_attach(d.access, d.id)); /* not an IOAS */
	assert_rc(0, ref_access_attach(d.access, ioas));
	assert_rc(-EINVAL, ref_access_attach(d.access, ioas)); /* already attached */
	destroy_err(EBUSY, ioas);
	cr_assert_eq(d.unmaps, 0);

	assert_rc(0, ref_access_replace(d.access, ioas2));
	/* leaving an IOAS tells the driver to drop everything */
	cr_assert_eq(d.unmaps, 1);
	cr_assert_eq(d.last_iova, 0);
	cr_assert_eq(d.last_length, UINT64_MAX);
	destroy_ok(ioas);
	destroy_err(EBUSY, ioas2);
	assert_rc(0, ref_access_replace(d.access, ioas2)); /* same IOAS: nothing happens */
	cr_assert_eq(d.unmaps, 1);

	ref_access_detach(d.access);
	cr_assert_eq(d.unmaps, 2);
	destroy_ok(ioas2);
	ref_access_detach(d.access); /* detached already: no-op */
	ref_access_destroy(d.access);
}

Test(access, destroy_while_attached_unpins)
{
	struct driver d;
	uint32_t ioas = ioas_alloc_ok();

	driver_create(&d, &pin_ops);
	assert_rc(0, ref_access_attach(d.access, ioas));
	ioas_map_fixed_ok(ioas, buf, BUF_SIZE, IOVA);
	pin_ok(&d, IOVA, 2 * PAGE, NULL);
	cr_assert_eq(pins_of(buf), 1);
	ref_access_destroy(d.access);
	cr_assert_eq(pins_of(buf), 0);
	destroy_ok(ioas);
}

/* ---- pin / unpin ------------------------------------------------------------------------------- */

Test(access, pin_arguments)
{
	struct driver d, nopin;
	uint32_t ioas = ioas_alloc_ok();
	uint64_t iova = IOVA + BUF_SIZE;

	driver_create(&d, &pin_ops);
	driver_create(&nopin, &rw_ops);
	pin_err(ENOENT, &d, IOVA, PAGE, 0); /* not attached */
	assert_rc(0, ref_access_attach(d.access, ioas));
	assert_rc(0, ref_access_attach(nopin.access, ioas));
	ioas_map_fixed_ok(ioas, buf, BUF_SIZE, IOVA);
	assert_rc(0, _ioas_map(ioas, buf, PAGE, &iova,
			       IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA));

	pin_err(EINVAL, &nopin, IOVA, PAGE, 0);            /* not a pinning user */
	pin_err(EINVAL, &d, IOVA, 0, 0);
	pin_err(EOVERFLOW, &d, UINT64_MAX - PAGE + 1, 2 * PAGE, 0);
	pin_err(EINVAL, &d, IOVA + 8, PAGE, 0);             /* not on a page of the memory */
	pin_err(ENOENT, &d, IOVA - PAGE, 2 * PAGE, 0);      /* starts in a hole */
	pin_err(ENOENT, &d, IOVA + BUF_SIZE + PAGE, PAGE, 0);
	pin_err(EPERM, &d, IOVA + BUF_SIZE, PAGE, REF_ACCESS_RW_WRITE);
	pin_ok(&d, IOVA + BUF_SIZE, PAGE, NULL);            /* reading a read-only area is fine */
	/* a failed pin across areas leaves nothing behind */
	pin_err(ENOENT, &d, IOVA + BUF_SIZE - PAGE, 3 * PAGE, 0);
	cr_assert_eq(pins_of(buf + BUF_SIZE - PAGE), 0);
	unpin(&d, IOVA + BUF_SIZE, PAGE);
	cr_assert_eq(pins_of(buf), 0);
	ref_access_destroy(d.access);
	ref_access_destroy(nopin.access);
}

Test(access, pin_returns_the_pages)
{
	struct driver d;
	uint32_t ioas = ioas_alloc_ok();
	void *pages[5];
	struct ioasid_ctx_stats st;

	driver_create(&d, &pin_ops);
	assert_rc(0, ref_access_attach(d.access, ioas));
	ioas_map_fixed_ok(ioas, buf, BUF_SIZE, IOVA);
	ioasid_ctx_get_stats(self, &st);
	cr_assert_eq(st.pinned_pages, 0, "mapping alone pins nothing");
	/* a span that ends inside a page still hands out that whole page */
	pin_ok(&d, IOVA + PAGE, 4 * PAGE + 100, pages);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(pages[i], buf + (i + 1) * PAGE);
	ioasid_ctx_get_stats(self, &st);
	cr_assert_eq(st.pinned_pages, 5);
	cr_assert_eq(pins_of(buf), 0);
	cr_assert_eq(pins_of(buf + PAGE), 1);
	cr_assert_eq(pins_of(buf + 5 * PAGE), 1);
	cr_assert_eq(pins_of(buf + 6 * PAGE), 0);
	/* the same span again is one more user of the same pin; overlapping spans pin once */
	pin_ok(&d, IOVA + PAGE, 4 * PAGE + 100, NULL);
	pin_ok(&d, IOVA, 2 * PAGE, NULL);
	ioasid_ctx_get_stats(self, &st);
	cr_assert_eq(st.pinned_pages, 6);
	cr_assert_eq(pins_of(buf + PAGE), 1);
	unpin(&d, IOVA + PAGE, 4 * PAGE + 100);
	cr_assert_eq(pins_of(buf + 3 * PAGE), 1);
	unpin(&d, IOVA + PAGE, 4 * PAGE + 100);
	cr_assert_eq(pins_of(buf + 3 * PAGE), 0);
	cr_assert_eq(pins_of(buf + PAGE), 1);
	unpin(&d, IOVA, 2 * PAGE);
	ioasid_ctx_get_stats(self, &st);
	cr_assert_eq(st.pinned_pages, 0);
	ref_access_destroy(d.access);
}

Test(access, pin_across_areas)
{
	struct driver d;
	uint32_t ioas = ioas_alloc_ok();
	void *pages[4];

	driver_create(&d, &pin_ops);
	assert_rc(0, ref_access_attach(d.access, ioas));
	/* two areas over non-adjacent memory, adjacent in IOVA */
	ioas_map_fixed_ok(ioas, buf + 8 * PAGE, 2 * PAGE, IOVA);
	ioas_map_fixed_ok(ioas, buf, 2 * PAGE, IOVA + 2 * PAGE);
	pin_ok(&d, IOVA + PAGE, 2 * PAGE, pages);
	cr_assert_eq(pages[0], buf + 9 * PAGE);
	cr_assert_eq(pages[1], buf);
	cr_assert_eq(pins_of(buf + 9 * PAGE), 1);
	cr_assert_eq(pins_of(buf), 1);
	unpin(&d, IOVA + PAGE, 2 * PAGE);
	cr_assert_eq(pins_of(buf), 0);
	ref_access_destroy(d.access);
}

Test(access, pinning_user_raises_alignment)
{
	struct driver d;
	uint32_t ioas = ioas_alloc_ok();
	uint32_t ioas2 = ioas_alloc_ok();

	/* Byte-granular areas are only possible before a pinning user attaches (alignment). */
	ioas_map_fixed_ok(ioas, buf, PAGE + 512, IOVA);
	driver_create(&d, &pin_ops);
	assert_rc(-EADDRINUSE, ref_access_attach(d.access, ioas));
	assert_rc(0, ref_access_attach(d.access, ioas2));
	ioas_map_fixed_err(EINVAL, ioas2, buf, PAGE, IOVA + 512);
	ioas_map_fixed_err(EINVAL, ioas2, buf, PAGE + 512, IOVA);
	ref_access_detach(d.access);
	ioas_map_fixed_ok(ioas2, buf, PAGE + 512, IOVA);
	ref_access_destroy(d.access);
}

Test(access, pins_outlive_domains)
{
	struct driver d;
	uint32_t ioas = ioas_alloc_ok();
	struct ioasid_ctx_stats st;
	int dom;

	driver_create(&d, &pin_ops);
	assert_rc(0, ref_access_attach(d.access, ioas));
	ioas_map_fixed_ok(ioas, buf, 16 * PAGE, IOVA);
	dom = ioasid_test_domain_attach(self, ioas, 0);
	cr_assert_geq(dom, 1);
	cr_assert_eq(pins_of(buf + 15 * PAGE), 1);
	pin_ok(&d, IOVA, 2 * PAGE, NULL);
	ioasid_ctx_get_stats(self, &st);
	cr_assert_eq(st.pinned_pages, 16, "an access pin inside a domain's pin costs nothing more");
	assert_rc(0, ioasid_test_domain_detach(self, dom));
	cr_assert_eq(pins_of(buf), 1);
	cr_assert_eq(pins_of(buf + 15 * PAGE), 0);
	ioasid_ctx_get_stats(self, &st);
	cr_assert_eq(st.pinned_pages, 2);
	unpin(&d, IOVA, 2 * PAGE);
	ioasid_ctx_get_stats(self, &st);
	cr_assert_eq(st.pinned_pages, 0);
	ref_access_destroy(d.access);
}

/* ---- unmap with pins: notify, EBUSY ------------------------------------------------------------ */

Test(access, unmap_notifies_and_succeeds)
{
	struct driver d, other;
	uint32_t ioas = ioas_alloc_ok();

	driver_create(&d, &pin_ops);
	driver_create(&other, &rw_ops);
	assert_rc(0, ref_access_attach(d.access, ioas));
	assert_rc(0, ref_access_attach(other.access, ioas));
	ioas_map_fixed_ok(ioas, buf, 4 * PAGE, IOVA);
	ioas_map_fixed_ok(ioas, buf + 4 * PAGE, 4 * PAGE, IOVA + 4 * PAGE);
	/* no pins: no notification */
	ioas_unmap_ok(ioas, IOVA + 4 * PAGE, 4 * PAGE, 4 * PAGE);
	cr_assert_eq(d.unmaps, 0);

	pin_ok(&d, IOVA + PAGE, PAGE, NULL);
	ioas_unmap_ok(ioas, IOVA, 4 * PAGE, 4 * PAGE);
	/* every attached access hears about the area being unmapped */
	cr_assert_eq(d.unmaps, 1);
	cr_assert_eq(other.unmaps, 1);
	cr_assert_eq(d.last_iova, IOVA);
	cr_assert_eq(d.last_length, 4 * PAGE);
	cr_assert_eq(pins_of(buf + PAGE), 0);
	ref_access_destroy(d.access);
	ref_access_destroy(other.access);
}

Test(access, unmap_with_pins_kept_is_ebusy)
{
	struct driver d;
	uint32_t ioas = ioas_alloc_ok();
	uint8_t tmp[8];

	driver_create(&d, &pin_ops);
	d.cooperative = false;
	assert_rc(0, ref_access_attach(d.access, ioas));
	ioas_map_fixed_ok(ioas, buf, 4 * PAGE, IOVA);
	ioas_map_fixed_ok(ioas, buf + 4 * PAGE, 4 * PAGE, IOVA + 4 * PAGE);
	pin_ok(&d, IOVA + 4 * PAGE, PAGE, NULL);
	/* the first area goes, the pinned one stays and the unmap fails */
	ioas_unmap_err(EBUSY, ioas, 0, UINT64_MAX);
	cr_assert_eq(d.unmaps, 1);
	cr_assert_eq(d.last_iova, IOVA + 4 * PAGE);
	assert_rc(-ENOENT, ref_access_rw(d.access, IOVA, tmp, sizeof(tmp), 0));
	assert_rc(0, ref_access_rw(d.access, IOVA + 4 * PAGE, tmp, sizeof(tmp), 0));
	/* the failed unmap does not leave the area closed to new pins */
	pin_ok(&d, IOVA + 5 * PAGE, PAGE, NULL);
	unpin(&d, IOVA + 5 * PAGE, PAGE);
	unpin(&d, IOVA + 4 * PAGE, PAGE);
	ioas_unmap_ok(ioas, IOVA + 4 * PAGE, 4 * PAGE, 4 * PAGE);
	ref_access_destroy(d.access);
}

/* ---- rw ---------------------------------------------------------------------------------------- */

Test(access, rw)
{
	struct driver d;
	uint32_t ioas = ioas_alloc_ok();
	uint64_t iova = IOVA + BUF_SIZE;
	uint8_t tmp[3 * PAGE], pattern[64];

	driver_create(&d, &rw_ops);
	assert_rc(-ENOENT, ref_access_rw(d.access, IOVA, tmp, 8, 0)); /* not attached */
	assert_rc(0, ref_access_attach(d.access, ioas));
	ioas_map_fixed_ok(ioas, buf + 3, 2 * PAGE, IOVA);          /* byte granular: no pinner */
	ioas_map_fixed_ok(ioas, buf + 5 * PAGE, PAGE, IOVA + 2 * PAGE);
	assert_rc(0, _ioas_map(ioas, buf, PAGE, &iova,
			       IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA));
	assert_rc(-EINVAL, ref_access_rw(d.access, IOVA, tmp, 0, 0));
	assert_rc(-EOVERFLOW, ref_access_rw(d.access, UINT64_MAX - 2, tmp, 8, 0));
	assert_rc(-ENOENT, ref_access_rw(d.access, IOVA - 4, tmp, 8, 0));
	assert_rc(-EPERM, ref_access_rw(d.access, IOVA + BUF_SIZE, tmp, 8, REF_ACCESS_RW_WRITE));

	assert_rc(0, ref_access_rw(d.access, IOVA + 2 * PAGE - 10, tmp, 20, 0));
	cr_assert_eq(memcmp(tmp, buf + 3 + 2 * PAGE - 10, 10), 0);
	cr_assert_eq(memcmp(tmp + 10, buf + 5 * PAGE, 10), 0);
	for (int i = 0; i < 64; i++)
		pattern[i] = (uint8_t)(0xa0 + i);
	assert_rc(0, ref_access_rw(d.access, IOVA + 2 * PAGE - 32, pattern, 64,
				   REF_ACCESS_RW_WRITE));
	cr_assert_eq(memcmp(buf + 3 + 2 * PAGE - 32, pattern, 32), 0);
	cr_assert_eq(memcmp(buf + 5 * PAGE, pattern + 32, 32), 0);
	ref_access_destroy(d.access);
}

Test(access, rw_to_vanished_memory_is_efault)
{
	struct driver d;
	uint32_t ioas = ioas_alloc_ok();
	uint8_t tmp[8];
	uint8_t *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	cr_assert_neq(p, MAP_FAILED);
	driver_create(&d, &rw_ops);
	assert_rc(0, ref_access_attach(d.access, ioas));
	ioas_map_fixed_ok(ioas, p, PAGE, IOVA);
	munmap(p, PAGE);
	assert_rc(-EFAULT, ref_access_rw(d.access, IOVA, tmp, sizeof(tmp), 0));
	ref_access_destroy(d.access);
}

/* ---- concurrency: pins racing with unmaps ------------------------------------------------------ */

struct race {
	struct ref_access *access;
	pthread_mutex_t lock;            /* the driver's lock: held across a pin, as selftest.c does */
	bool held;
	bool stop;
	unsigned int pinned;
};

static void race_unmap(void *data, uint64_t iova, uint64_t length)
{
	struct race *r = data;

	pthread_mutex_lock(&r->lock);
	if (r->held && IOVA <= iova + (length - 1) && iova <= IOVA + PAGE - 1) {
		ref_access_unpin_pages(r->access, IOVA, PAGE);
		r->held = false;
	}
	pthread_mutex_unlock(&r->lock);
}

static const struct ref_access_ops race_ops = { .unmap = race_unmap, .needs_pin_pages = 1 };

static void *race_pinner(void *arg)
{
	struct race *r = arg;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		pthread_mutex_lock(&r->lock);
		if (!r->held && ref_access_pin_pages(r->access, IOVA, PAGE, NULL, 0) == 0) {
			r->held = true;
			r->pinned++;
		}
		pthread_mutex_unlock(&r->lock);
	}
	return NULL;
}

Test(access, pins_race_with_unmaps)
{
	struct race r = { .lock = PTHREAD_MUTEX_INITIALIZER };
	uint32_t ioas = ioas_alloc_ok(), id;
	pthread_t t;

	assert_rc(0, ref_access_create(self, &race_ops, &r, &r.access, &id));
	assert_rc(0, ref_access_attach(r.access, ioas));
	cr_assert_eq(pthread_create(&t, NULL, race_pinner, &r), 0);
	for (int i = 0; i < 2000; i++) {
		ioas_map_fixed_ok(ioas, buf, 4 * PAGE, IOVA);
		/* a cooperative driver always lets go: never EBUSY */
		ioas_unmap_ok(ioas, IOVA, 4 * PAGE, 4 * PAGE);
	}
	__atomic_store_n(&r.stop, true, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	cr_assert_eq(r.held, false);
	cr_assert_eq(pins_of(buf), 0);
	ref_access_destroy(r.access);
}
