/* test_device.c — devices, groups, ownership, HWPTs (auto, paging, nested), PASID rules, dirty
 * tracking, IO page faults and IOMMU_GET_HW_INFO through the reference's C API, on the built-in
 * default platform (docs/TOPOLOGY.md), private to each test process.
 *
 * Devices used (default topology):
 *   0000:00:02.0  singleton, PASID 20, behind dmar0 (4K|2M|1G, nesting, dirty, IOPF)
 *   0000:01:00.0 / 0000:01:00.1   GPU + audio, one group, both on vfio-pci
 *   0000:02:01.0 / 0000:02:02.0   behind a PCIe-to-PCI bridge; the sibling is on a DMA-API driver
 *   0000:00:04.0  ENQCMD-capable, PASID 20
 *   0000:80:00.0  behind dmar1 (4K only, no PASID/nesting/dirty)
 */
#include "ioasid_test.h"
#include "private_host.h"

#include <stdlib.h>
#include <unistd.h>

#include "platform/platform.h"
#include "reference/device.h"

#define NVME  "0000:00:02.0"
#define GPU   "0000:01:00.0"
#define AUDIO "0000:01:00.1"
#define BR_A  "0000:02:01.0"
#define BR_B  "0000:02:02.0"
#define DSA   "0000:00:04.0"
#define NIC1  "0000:80:00.0"

static void dev_setup(void)
{
	setenv("IOASID_QUIET", "1", 1);
	unsetenv("IOASID_PLATFORM");
	unsetenv("IOASID_TOPOLOGY");
	ctx_setup();
}

/* Devices bound by a test are unbound before the context closes (a bound device keeps its
 * context alive, as a VFIO device fd keeps the iommufd file). */
static struct { struct ioasid_ctx *ctx; uint32_t id; } bound[16];
static unsigned int nr_bound;

static void dev_teardown(void)
{
	while (nr_bound--)
		ioasid_device_unbind(bound[nr_bound].ctx, bound[nr_bound].id);
	ctx_teardown();
}

TestSuite(device, .init = dev_setup, .fini = dev_teardown);

static uint32_t bind_ok(struct ioasid_ctx *ctx, const char *name)
{
	uint32_t id = 0;

	assert_rc(0, ioasid_device_bind(ctx, name, &id));
	cr_assert_gt(id, 0);
	bound[nr_bound].ctx = ctx;
	bound[nr_bound++].id = id;
	return id;
}

static uint32_t attach_ok(uint32_t dev, uint32_t pasid, uint32_t pt)
{
	assert_rc(0, ioasid_device_attach(self, dev, pasid, &pt));
	return pt;
}

static void *map_buffer(uint32_t ioas, uint64_t iova, size_t len)
{
	void *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .user_va = (uintptr_t)buf, .length = len,
		.iova = iova,
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
	};

	cr_assert_neq(buf, MAP_FAILED);
	memset(buf, 0, len);
	assert_rc(0, _ioctl(IOMMU_IOAS_MAP, &cmd));
	return buf;
}

static int _unmap(uint32_t ioas, uint64_t iova, uint64_t len)
{
	struct iommu_ioas_unmap cmd = { .size = sizeof(cmd), .ioas_id = ioas, .iova = iova,
					.length = len };

	return _ioctl(IOMMU_IOAS_UNMAP, &cmd);
}

static int dev_index(const char *name)
{
	int i = plat_topology_find_device(platform_topology(plat()), name);

	cr_assert_geq(i, 0, "%s missing from the default topology", name);
	return i;
}

static uint32_t group_of(const char *name)
{
	return platform_topology(plat())->devices[dev_index(name)].group;
}

/* ---- bind and ownership ------------------------------------------------------------------- */

Test(device, bind_claims_group_and_unbind_restores_default)
{
	struct plat_state_snapshot snap;
	uint32_t dev = bind_ok(self, NVME), g = group_of(NVME);

	assert_rc(0, platform_snapshot(plat(), &snap));
	cr_assert_eq(snap.groups[g].domain, PLAT_DOMAIN_BLOCKED);
	cr_assert_eq(snap.groups[g].owner.pid, getpid());
	cr_assert_eq(snap.groups[g].owner_cnt, 1);
	/* the driver's reference: the device object cannot be destroyed from user space */
	assert_rc(-EBUSY, _destroy(dev));
	assert_rc(0, ioasid_device_unbind(self, dev));
	assert_rc(0, platform_snapshot(plat(), &snap));
	cr_assert_eq(snap.groups[g].domain, PLAT_DOMAIN_DEFAULT);
	cr_assert_eq(snap.groups[g].owner_cnt, 0);
}

Test(device, second_context_gets_eperm_on_claimed_group)
{
	struct ioasid_ctx *other;
	uint32_t id;

	bind_ok(self, GPU);
	assert_rc(0, ioasid_ctx_open(&other));
	assert_rc(-EPERM, ioasid_device_bind(other, AUDIO, &id));
	assert_rc(-EPERM, ioasid_device_bind(other, GPU, &id));
	/* the same context may claim the sibling: same owner */
	bind_ok(self, AUDIO);
	ioasid_ctx_close(other);
}

Test(device, dma_api_sibling_blocks_bind_and_message_names_it)
{
	const struct plat_topology *t = platform_topology(plat());
	int sib = dev_index(BR_B);
	const char *drv;
	uint32_t id;

	cr_assert_geq(t->devices[sib].driver, 0);
	drv = t->drivers[t->devices[sib].driver].name;
	cr_assert_eq(t->drivers[t->devices[sib].driver].kind, PLAT_DRV_DMA_API);
	assert_rc(-EPERM, ioasid_device_bind(self, BR_A, &id));
	cr_assert(strstr(ioasid_last_error(), BR_B), "message: %s", ioasid_last_error());
	cr_assert(strstr(ioasid_last_error(), drv), "message: %s", ioasid_last_error());
	/* unbinding the sibling's driver makes the group viable */
	assert_rc(0, platform_driver_unbind(plat(), (uint32_t)sib, NULL, 0));
	id = bind_ok(self, BR_A);
	/* and a DMA-API driver probe on the claimed group now fails with EBUSY (GRP-2) */
	assert_rc(-EBUSY, platform_driver_bind(plat(), (uint32_t)sib, drv, NULL, 0));
	assert_rc(0, ioasid_device_unbind(self, id));
	assert_rc(0, platform_driver_bind(plat(), (uint32_t)sib, drv, NULL, 0));
}

Test(device, double_bind_in_one_context_is_ebusy)
{
	uint32_t id;

	bind_ok(self, NVME);
	assert_rc(-EBUSY, ioasid_device_bind(self, NVME, &id));
	assert_rc(-ENODEV, ioasid_device_bind(self, "0000:ff:1f.7", &id));
}

Test(device, bound_device_keeps_context_alive_after_close)
{
	struct ioasid_ctx *ctx;
	struct ref_device *idev;
	uint32_t id, ioas;
	struct iommu_ioas_alloc a = { .size = sizeof(a) };

	assert_rc(0, ioasid_ctx_open(&ctx));
	assert_rc(0, ref_device_bind(ctx, (uint32_t)dev_index(NVME), &idev, &id));
	assert_rc(0, ioasid_ctx_ioctl(ctx, IOMMU_IOAS_ALLOC, &a));
	ioas = a.out_ioas_id;
	assert_rc(0, ref_device_attach(idev, 0, &ioas));
	ioasid_ctx_close(ctx);            /* the fd goes; the device still works */
	cr_assert_neq(ref_device_attached_hwpt(idev, 0), 0);
	ref_device_unbind(idev);          /* the last reference: the context is torn down */
}

/* ---- attach, auto domains, replace --------------------------------------------------------- */

Test(device, auto_domain_reused_and_destroyed_with_last_device)
{
	uint32_t ioas = ioas_alloc_ok();
	uint32_t a = bind_ok(self, NVME), b = bind_ok(self, DSA), c = bind_ok(self, NIC1);
	uint32_t ha = attach_ok(a, 0, ioas), hb = attach_ok(b, 0, ioas), hc = attach_ok(c, 0, ioas);

	cr_assert_neq(ha, ioas);
	cr_assert_eq(ha, hb, "same IOMMU: the automatic domain is shared");
	cr_assert_neq(ha, hc, "another IOMMU gets its own domain");
	assert_rc(-EBUSY, _destroy(ioas));
	assert_rc(-EBUSY, _destroy(ha));
	assert_rc(0, ioasid_device_detach(self, a, 0));
	assert_rc(0, ioasid_device_detach(self, b, 0));
	assert_rc(-ENOENT, _destroy(ha));   /* died with its last device */
	assert_rc(0, ioasid_device_detach(self, c, 0));
	assert_rc(0, _destroy(ioas));
}

Test(device, attach_twice_is_ebusy_and_replace_switches)
{
	uint32_t ioas = ioas_alloc_ok(), ioas2 = ioas_alloc_ok();
	uint32_t dev = bind_ok(self, NVME);
	uint32_t h1 = hwpt_alloc_ok(dev, ioas, 0), h2 = hwpt_alloc_ok(dev, ioas2, 0), pt;

	pt = h1;
	assert_rc(-EINVAL, ioasid_device_replace(self, dev, 0, &pt));  /* nothing attached */
	attach_ok(dev, 0, h1);
	pt = h1;
	assert_rc(-EBUSY, ioasid_device_attach(self, dev, 0, &pt));
	pt = h2;
	assert_rc(-EINVAL, ioasid_device_attach(self, dev, 0, &pt));  /* a different HWPT */
	pt = h2;
	assert_rc(0, ioasid_device_replace(self, dev, 0, &pt));
	cr_assert_eq(pt, h2);
	assert_rc(0, _destroy(h1));          /* no longer used */
	assert_rc(-EBUSY, _destroy(h2));
	pt = ioas;
	assert_rc(0, ioasid_device_replace(self, dev, 0, &pt));  /* to an IOAS: auto domain */
	cr_assert_neq(pt, h2);
	assert_rc(0, _destroy(h2));
}

Test(device, attach_to_other_iommu_hwpt_is_einval)
{
	uint32_t ioas = ioas_alloc_ok();
	uint32_t a = bind_ok(self, NVME), c = bind_ok(self, NIC1);
	uint32_t h = hwpt_alloc_ok(a, ioas, 0), pt = h;

	assert_rc(-EINVAL, ioasid_device_attach(self, c, 0, &pt));
}

Test(device, msi_window_reserved_on_attach)
{
	uint32_t ioas = ioas_alloc_ok(), dev = bind_ok(self, NVME);
	struct iommu_iova_range ranges[8];
	struct iommu_ioas_iova_ranges cmd = { .size = sizeof(cmd), .ioas_id = ioas,
					      .num_iovas = 8, .allowed_iovas = (uintptr_t)ranges };
	bool hole = false;

	attach_ok(dev, 0, ioas);
	assert_rc(0, _ioctl(IOMMU_IOAS_IOVA_RANGES, &cmd));
	for (uint32_t i = 0; i + 1 < cmd.num_iovas; i++)
		if (ranges[i].last == 0xfedfffffULL && ranges[i + 1].start == 0xfef00000ULL)
			hole = true;
	cr_assert(hole, "the MSI window [0xfee00000, 0xfeefffff] is excluded");
	cr_assert_eq(ranges[cmd.num_iovas - 1].last, (1ULL << 48) - 1);
	cr_assert_eq(cmd.out_iova_alignment, 4096);
}

Test(device, msi_window_mapped_refuses_attach)
{
	uint32_t ioas = ioas_alloc_ok(), dev = bind_ok(self, NVME), pt = ioas;

	map_buffer(ioas, 0xfee00000ULL, 4096);
	assert_rc(-EADDRINUSE, ioasid_device_attach(self, dev, 0, &pt));
}

/* ---- DMA ------------------------------------------------------------------------------------- */

Test(device, dma_through_attached_domain_then_fault_after_unmap)
{
	uint32_t ioas = ioas_alloc_ok(), dev = bind_ok(self, NVME);
	uint8_t *buf = map_buffer(ioas, 0x100000, 8192), out[16];
	uint64_t fault = 0;

	memcpy(buf + 4096, "hello, iommu", 13);
	/* blocked before attach */
	assert_rc(-EFAULT, ioasid_device_dma(self, dev, 0, 0x101000, out, 13, 0, &fault));
	attach_ok(dev, 0, ioas);
	assert_rc(0, ioasid_device_dma(self, dev, 0, 0x101000, out, 13, 0, &fault));
	cr_assert_str_eq((char *)out, "hello, iommu");
	assert_rc(0, ioasid_device_dma(self, dev, 0, 0x100000, "written", 8, 1, &fault));
	cr_assert_str_eq((char *)buf, "written");
	assert_rc(0, _unmap(ioas, 0x100000, 8192));
	assert_rc(-EFAULT, ioasid_device_dma(self, dev, 0, 0x101000, out, 13, 0, &fault));
	cr_assert_eq(fault, 0x101000);
}

/* ---- PASID --------------------------------------------------------------------------------- */

Test(device, pasid_rules)
{
	uint32_t ioas = ioas_alloc_ok(), dev = bind_ok(self, NVME), nic = bind_ok(self, NIC1);
	uint32_t plain = hwpt_alloc_ok(dev, ioas, 0);
	uint32_t pc = hwpt_alloc_ok(dev, ioas, IOMMU_HWPT_ALLOC_PASID), pt;

	pt = ioas;
	assert_rc(-EINVAL, ioasid_device_attach(self, nic, 5, &pt)); /* not PASID-capable */
	pt = ioas;
	assert_rc(-EINVAL, ioasid_device_attach(self, dev, 5, &pt)); /* IOAS: no auto domain */
	pt = plain;
	assert_rc(-EINVAL, ioasid_device_attach(self, dev, 5, &pt)); /* not PASID-compatible */
	pt = pc;
	assert_rc(-EINVAL, ioasid_device_attach(self, dev, 1u << 20, &pt)); /* beyond width */
	pt = pc;
	assert_rc(-EINVAL, ioasid_device_replace(self, dev, 5, &pt)); /* nothing to replace */
	attach_ok(dev, 5, pc);
	pt = pc;
	assert_rc(-EBUSY, ioasid_device_attach(self, dev, 5, &pt));
	/* a RID HWPT that is not PASID-compatible cannot join while PASIDs are attached */
	pt = plain;
	assert_rc(-EINVAL, ioasid_device_attach(self, dev, 0, &pt));
	attach_ok(dev, 0, pc);
	/* and with a PASID-compatible RID HWPT the other way round is refused too */
	assert_rc(0, ioasid_device_detach(self, dev, 5));
	assert_rc(0, ioasid_device_detach(self, dev, 0));
	attach_ok(dev, 0, plain);
	pt = pc;
	assert_rc(-EINVAL, ioasid_device_attach(self, dev, 5, &pt));
}

Test(device, pasid_dma_isolated_per_pasid)
{
	uint32_t ioas1 = ioas_alloc_ok(), ioas2 = ioas_alloc_ok(), dev = bind_ok(self, DSA);
	uint8_t *b1 = map_buffer(ioas1, 0x200000, 4096), *b2 = map_buffer(ioas2, 0x200000, 4096);
	uint32_t h1 = hwpt_alloc_ok(dev, ioas1, IOMMU_HWPT_ALLOC_PASID);
	uint32_t h2 = hwpt_alloc_ok(dev, ioas2, IOMMU_HWPT_ALLOC_PASID);
	uint64_t fault;
	char out[4];

	memcpy(b1, "one", 4);
	memcpy(b2, "two", 4);
	attach_ok(dev, 7, h1);
	attach_ok(dev, 9, h2);
	assert_rc(0, ioasid_device_dma(self, dev, 7, 0x200000, out, 4, 0, &fault));
	cr_assert_str_eq(out, "one");
	assert_rc(0, ioasid_device_dma(self, dev, 9, 0x200000, out, 4, 0, &fault));
	cr_assert_str_eq(out, "two");
	assert_rc(-EFAULT, ioasid_device_dma(self, dev, 11, 0x200000, out, 4, 0, &fault));
	assert_rc(0, ioasid_device_detach(self, dev, 7));
	assert_rc(-EFAULT, ioasid_device_dma(self, dev, 7, 0x200000, out, 4, 0, &fault));
	cr_assert_eq(ioasid_device_detach(self, dev, 7), -ENOENT);
}

/* ---- HWPT_ALLOC / GET_HW_INFO errnos ----------------------------------------------------------- */

Test(device, hwpt_alloc_errnos)
{
	uint32_t ioas = ioas_alloc_ok(), dev = bind_ok(self, NVME), nic = bind_ok(self, NIC1);
	uint32_t parent, plain, id = 0;
	struct iommu_hwpt_alloc cmd = { .size = sizeof(cmd), .dev_id = dev, .pt_id = ioas,
					.__reserved = 1 };
	struct iommu_hwpt_vtd_s1 s1 = { .pgtbl_addr = 0x1000, .addr_width = 48 };

	assert_rc(-EOPNOTSUPP, _ioctl(IOMMU_HWPT_ALLOC, &cmd));
	assert_rc(-EINVAL, _hwpt_alloc(dev, ioas, 0, 0, &s1, sizeof(s1), 0, &id));
	assert_rc(-EINVAL, _hwpt_alloc(dev, ioas, 0, IOMMU_HWPT_DATA_VTD_S1, NULL, 0, 0, &id));
	assert_rc(-ENOENT, _hwpt_alloc(999, ioas, 0, 0, NULL, 0, 0, &id));
	assert_rc(-EINVAL, _hwpt_alloc(dev, 999, 0, 0, NULL, 0, 0, &id));
	assert_rc(-EOPNOTSUPP, _hwpt_alloc(dev, ioas, 1u << 20, 0, NULL, 0, 0, &id));
	assert_rc(-EOPNOTSUPP, _hwpt_alloc(nic, ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, 0, NULL, 0,
					    0, &id));
	assert_rc(-EOPNOTSUPP, _hwpt_alloc(nic, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, 0, NULL, 0,
					    0, &id));
	/* An IOMMU without nesting, a plain parent: the parent is refused first (EINVAL), as the
	 * testbed's 6.12 kernel does on QEMU's VT-d (diff_cdev "HWPT_ALLOC nested VTD_S1
	 * pt_id=plain HWPT (not a parent)"). */
	plain = hwpt_alloc_ok(nic, ioas, 0);
	assert_rc(-EINVAL, _hwpt_alloc(nic, plain, 0, IOMMU_HWPT_DATA_VTD_S1, &s1, sizeof(s1), 0,
					&id));
	assert_rc(0, _destroy(plain));
	plain = hwpt_alloc_ok(dev, ioas, 0);
	assert_rc(-EINVAL, _hwpt_alloc(dev, plain, 0, IOMMU_HWPT_DATA_VTD_S1, &s1, sizeof(s1), 0,
					&id)); /* parent is not a NEST_PARENT */
	parent = hwpt_alloc_ok(dev, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT);
	assert_rc(-EOPNOTSUPP, _hwpt_alloc(dev, parent, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
					    IOMMU_HWPT_DATA_VTD_S1, &s1, sizeof(s1), 0, &id));
	assert_rc(-EOPNOTSUPP, _hwpt_alloc(dev, parent, 0, IOMMU_HWPT_DATA_ARM_SMMUV3, &s1,
					    sizeof(s1), 0, &id));
	s1.addr_width = 39;
	assert_rc(-EINVAL, _hwpt_alloc(dev, parent, 0, IOMMU_HWPT_DATA_VTD_S1, &s1, sizeof(s1),
					0, &id));
	s1.addr_width = 48;
	assert_rc(-EINVAL, _hwpt_alloc(dev, parent, 0, IOMMU_HWPT_DATA_VTD_S1, &s1, 8, 0, &id));
	assert_rc(0, _hwpt_alloc(dev, parent, 0, IOMMU_HWPT_DATA_VTD_S1, &s1, sizeof(s1), 0, &id));
	assert_rc(-EBUSY, _destroy(parent));   /* a nested child holds it */
	assert_rc(0, _destroy(id));
	assert_rc(0, _destroy(parent));
	assert_rc(-ENOENT, _hwpt_alloc(dev, ioas, IOMMU_HWPT_FAULT_ID_VALID, 0, NULL, 0, 77, &id));
}

Test(device, get_hw_info)
{
	uint32_t dev = bind_ok(self, NVME), nic = bind_ok(self, NIC1);
	struct iommu_hw_info_vtd vtd;
	uint8_t big[64];
	struct iommu_hw_info cmd = { .size = sizeof(cmd), .dev_id = dev, .data_len = sizeof(vtd),
				     .data_uptr = (uintptr_t)&vtd };

	memset(&vtd, 0xff, sizeof(vtd));
	assert_rc(0, _ioctl(IOMMU_GET_HW_INFO, &cmd));
	cr_assert_eq(cmd.out_data_type, IOMMU_HW_INFO_TYPE_INTEL_VTD);
	cr_assert_eq(cmd.data_len, sizeof(vtd));
	cr_assert_eq(cmd.out_max_pasid_log2, 20);
	cr_assert_eq(cmd.out_capabilities & IOMMU_HW_CAP_DIRTY_TRACKING,
		     IOMMU_HW_CAP_DIRTY_TRACKING);
	cr_assert_eq(((vtd.cap_reg >> 16) & 0x3f) + 1, 48, "MGAW");
	cr_assert(vtd.ecap_reg & (1ULL << 40), "ECAP.PASID");
	cr_assert(vtd.ecap_reg & (1ULL << 26), "ECAP.NEST");

	memset(big, 0xff, sizeof(big));
	cmd = (struct iommu_hw_info){ .size = sizeof(cmd), .dev_id = nic, .data_len = sizeof(big),
				      .data_uptr = (uintptr_t)big };
	assert_rc(0, _ioctl(IOMMU_GET_HW_INFO, &cmd));
	cr_assert_eq(cmd.data_len, sizeof(vtd));
	cr_assert_eq(cmd.out_max_pasid_log2, 0);
	cr_assert_eq(cmd.out_capabilities, 0);
	for (size_t i = sizeof(vtd); i < sizeof(big); i++)
		cr_assert_eq(big[i], 0, "the rest of the buffer is zeroed");
	memcpy(&vtd, big, sizeof(vtd));
	cr_assert_eq(((vtd.cap_reg >> 16) & 0x3f) + 1, 39);
	cr_assert_eq(vtd.ecap_reg & (1ULL << 40), 0);

	cmd.dev_id = 4242;
	assert_rc(-ENOENT, _ioctl(IOMMU_GET_HW_INFO, &cmd));
	cmd.dev_id = dev;
	cmd.flags = 1u << 5;
	assert_rc(-EOPNOTSUPP, _ioctl(IOMMU_GET_HW_INFO, &cmd));
}

/* A topology with a real unit's registers (QEMU 7.2's VT-d, as the testbed guest reports it):
 * GET_HW_INFO gives them unchanged, and ECAP.C clear sets the erratum flag as
 * intel_iommu_hw_info() does (testbed: diff_cdev "GET_HW_INFO data_len=64" → vtd.flags=0x1
 * cap_reg=0xd2008c22260286 ecap_reg=0xf00f4a). */
Test(device, get_hw_info_reports_the_topologys_vtd_registers)
{
	static const char text[] =
		"iommu dmar0 type=vtd pgsizes=4k,2m,1g ias=39 coherent "
		"resv=0xfee00000-0xfeefffff:msi cap=0xd2008c22260286 ecap=0xf00f4a\n"
		"group 4 iommu=dmar0\n"
		"device 0000:02:01.0 group=4 vfio=0 driver=vfio-pci\n";
	struct iommu_hw_info_vtd vtd;
	struct iommu_hw_info cmd = { .size = sizeof(cmd), .data_len = sizeof(vtd),
				     .data_uptr = (uintptr_t)&vtd };
	struct plat_topology *t;
	struct platform *p;
	char err[256];

	assert_rc(0, plat_topology_parse(text, sizeof(text) - 1, "qemu.topo", &t, err,
					 sizeof(err)));
	assert_rc(0, platform_open(t, NULL, &p, err, sizeof(err)));
	plat_topology_free(t);
	platform_set_default(p);
	cmd.dev_id = bind_ok(self, "0000:02:01.0");
	memset(&vtd, 0xff, sizeof(vtd));
	assert_rc(0, _ioctl(IOMMU_GET_HW_INFO, &cmd));
	cr_assert_eq(cmd.out_data_type, IOMMU_HW_INFO_TYPE_INTEL_VTD);
	cr_assert_eq(vtd.cap_reg, 0xd2008c22260286ull);
	cr_assert_eq(vtd.ecap_reg, 0xf00f4aull);
	cr_assert_eq(vtd.flags, IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17);
	cr_assert_eq(cmd.out_capabilities, 0);
	cr_assert_eq(cmd.out_max_pasid_log2, 0);
}

/* ---- nesting ------------------------------------------------------------------------------- */

/* A guest's x86-64 first-stage table in guest memory: GPA = IOVA of the parent. */
#define GUEST_GPA   0x40000000ULL      /* guest RAM base in the IOAS */
#define GUEST_SIZE  (64 * 4096)
#define PTE_P 1ULL
#define PTE_RW 2ULL
#define PTE_US 4ULL

static uint64_t *gpte(uint8_t *ram, uint64_t table_gpa, unsigned int idx)
{
	return (uint64_t *)(ram + (table_gpa - GUEST_GPA)) + idx;
}

static void guest_map(uint8_t *ram, uint64_t root, uint64_t gva, uint64_t gpa)
{
	/* tables at fixed GPAs: root, pdpt = root + 4K, pd = root + 8K, pt = root + 12K */
	*gpte(ram, root, (gva >> 39) & 511) = (root + 0x1000) | PTE_P | PTE_RW | PTE_US;
	*gpte(ram, root + 0x1000, (gva >> 30) & 511) = (root + 0x2000) | PTE_P | PTE_RW | PTE_US;
	*gpte(ram, root + 0x2000, (gva >> 21) & 511) = (root + 0x3000) | PTE_P | PTE_RW | PTE_US;
	*gpte(ram, root + 0x3000, (gva >> 12) & 511) = gpa | PTE_P | PTE_RW | PTE_US;
}

static int _invalidate_all(uint32_t hwpt, uint32_t *done)
{
	struct iommu_hwpt_vtd_s1_invalidate inv = { .addr = 0, .npages = UINT64_MAX };
	struct iommu_hwpt_invalidate cmd = {
		.size = sizeof(cmd), .hwpt_id = hwpt, .data_uptr = (uintptr_t)&inv,
		.data_type = IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, .entry_len = sizeof(inv),
		.entry_num = 1,
	};
	int rc = _ioctl(IOMMU_HWPT_INVALIDATE, &cmd);

	*done = cmd.entry_num;
	return rc;
}

Test(device, nested_stage1_is_stale_until_invalidate)
{
	uint32_t ioas = ioas_alloc_ok(), dev = bind_ok(self, NVME), parent, nested, done;
	uint8_t *ram = map_buffer(ioas, GUEST_GPA, GUEST_SIZE);
	const uint64_t root = GUEST_GPA, gva = 0x7f0000001000ULL;
	const uint64_t data_a = GUEST_GPA + 0x10000, data_b = GUEST_GPA + 0x11000;
	struct iommu_hwpt_vtd_s1 s1 = { .pgtbl_addr = root, .addr_width = 48 };
	uint64_t fault = 0;
	char out[8];

	memcpy(ram + (data_a - GUEST_GPA), "page-A", 7);
	memcpy(ram + (data_b - GUEST_GPA), "page-B", 7);
	guest_map(ram, root, gva, data_a);
	parent = hwpt_alloc_ok(dev, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT);
	assert_rc(0, _hwpt_alloc(dev, parent, 0, IOMMU_HWPT_DATA_VTD_S1, &s1, sizeof(s1), 0,
				 &nested));
	attach_ok(dev, 0, nested);
	assert_rc(0, ioasid_device_dma(self, dev, 0, gva, out, 7, 0, &fault));
	cr_assert_str_eq(out, "page-A");

	/* the guest repoints its PTE but has not invalidated yet: the IOTLB still says A */
	*gpte(ram, root + 0x3000, (gva >> 12) & 511) = data_b | PTE_P | PTE_RW | PTE_US;
	assert_rc(0, ioasid_device_dma(self, dev, 0, gva, out, 7, 0, &fault));
	cr_assert_str_eq(out, "page-A", "stale until HWPT_INVALIDATE");

	assert_rc(0, _invalidate_all(nested, &done));
	cr_assert_eq(done, 1);
	assert_rc(0, ioasid_device_dma(self, dev, 0, gva, out, 7, 0, &fault));
	cr_assert_str_eq(out, "page-B");

	/* a stage-1 hole faults */
	assert_rc(-EFAULT, ioasid_device_dma(self, dev, 0, gva + 0x1000, out, 7, 0, &fault));
	cr_assert_eq(fault, gva + 0x1000);
	assert_rc(-EBUSY, _destroy(parent));
}

Test(device, hwpt_invalidate_errnos)
{
	uint32_t ioas = ioas_alloc_ok(), dev = bind_ok(self, NVME), parent, nested, done;
	struct iommu_hwpt_vtd_s1 s1 = { .pgtbl_addr = GUEST_GPA, .addr_width = 48 };
	struct iommu_hwpt_vtd_s1_invalidate inv[2] = { { .addr = 0x1000, .npages = 1 },
						       { .addr = 0x1001, .npages = 1 } };
	struct iommu_hwpt_invalidate cmd = {
		.size = sizeof(cmd), .data_uptr = (uintptr_t)inv,
		.data_type = IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, .entry_len = sizeof(inv[0]),
		.entry_num = 2,
	};

	map_buffer(ioas, GUEST_GPA, GUEST_SIZE);
	parent = hwpt_alloc_ok(dev, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT);
	assert_rc(0, _hwpt_alloc(dev, parent, 0, IOMMU_HWPT_DATA_VTD_S1, &s1, sizeof(s1), 0,
				 &nested));
	cmd.hwpt_id = parent;
	assert_rc(-EINVAL, _ioctl(IOMMU_HWPT_INVALIDATE, &cmd));   /* not nested */
	cmd.hwpt_id = nested;
	cmd.entry_num = 2;
	assert_rc(-EINVAL, _ioctl(IOMMU_HWPT_INVALIDATE, &cmd));   /* second is unaligned */
	cr_assert_eq(cmd.entry_num, 1, "entries handled before the bad one are reported");
	inv[1].addr = 0x2000;
	inv[1].flags = 1u << 3;
	cmd.entry_num = 2;
	assert_rc(-EOPNOTSUPP, _ioctl(IOMMU_HWPT_INVALIDATE, &cmd));
	cmd.entry_num = 1;
	cmd.data_uptr = 0;
	assert_rc(-EINVAL, _ioctl(IOMMU_HWPT_INVALIDATE, &cmd));
	cmd.data_uptr = (uintptr_t)inv;
	cmd.entry_len = 8;
	cmd.entry_num = 1;   /* entry_num is written back: reset it each time */
	assert_rc(-EINVAL, _ioctl(IOMMU_HWPT_INVALIDATE, &cmd));
	cmd.entry_len = sizeof(inv[0]);
	cmd.entry_num = 1;
	cmd.data_type = 77;
	assert_rc(-EINVAL, _ioctl(IOMMU_HWPT_INVALIDATE, &cmd));
	(void)done;
}

/* One call is bounded before the ID is even looked up (Debian 6.12.117's order): an entry
 * longer than a page, or more than 2^19 entries, is EINVAL even for an ID that does not exist,
 * with nothing done; at the bounds themselves the lookup comes next (ENOENT). */
Test(device, hwpt_invalidate_bounds_come_before_the_id)
{
	static uint8_t entries[4097];
	struct iommu_hwpt_invalidate cmd = {
		.size = sizeof(cmd), .hwpt_id = 9999, .data_uptr = (uintptr_t)entries,
		.data_type = IOMMU_HWPT_INVALIDATE_DATA_VTD_S1,
	};
	static const struct { uint32_t len, num; int rc; } cases[] = {
		{ 4097, 1, -EINVAL }, { 24, (1u << 19) + 1, -EINVAL }, { 4097, 0, -ENOENT },
		{ 4096, 1, -ENOENT }, { 24, 1u << 19, -ENOENT },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cmd.entry_len = cases[i].len;
		cmd.entry_num = cases[i].num;
		cr_assert_eq(_ioctl(IOMMU_HWPT_INVALIDATE, &cmd), cases[i].rc,
			     "entry_len %u, entry_num %u", cases[i].len, cases[i].num);
		cr_assert_eq(cmd.entry_num, 0, "nothing done (entry_len %u)", cases[i].len);
	}
}

/* ---- dirty tracking ------------------------------------------------------------------------- */

static int _dirty_bitmap(uint32_t hwpt, uint64_t iova, uint64_t len, uint32_t flags,
			 uint64_t *bitmap)
{
	struct iommu_hwpt_get_dirty_bitmap cmd = {
		.size = sizeof(cmd), .hwpt_id = hwpt, .flags = flags, .iova = iova, .length = len,
		.page_size = 4096, .data = (uintptr_t)bitmap,
	};

	return _ioctl(IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd);
}

static int _set_dirty(uint32_t hwpt, bool on)
{
	struct iommu_hwpt_set_dirty_tracking cmd = { .size = sizeof(cmd), .hwpt_id = hwpt,
		.flags = on ? IOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0 };

	return _ioctl(IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd);
}

Test(device, dirty_tracking_follows_device_writes)
{
	uint32_t ioas = ioas_alloc_ok(), dev = bind_ok(self, NVME);
	uint32_t h = hwpt_alloc_ok(dev, ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING), plain;
	uint64_t bitmap = 0, fault;

	map_buffer(ioas, 0x400000, 16 * 4096);
	attach_ok(dev, 0, h);
	assert_rc(0, ioasid_device_dma(self, dev, 0, 0x400000 + 3 * 4096, "x", 1, 1, &fault));
	/* tracking off: the bitmap cannot be read (EINVAL, as VT-d and the kernel's mock) */
	assert_rc(-EINVAL, _dirty_bitmap(h, 0x400000, 16 * 4096, 0, &bitmap));
	assert_rc(0, _set_dirty(h, true));
	bitmap = 0;
	assert_rc(0, _dirty_bitmap(h, 0x400000, 16 * 4096, 0, &bitmap));
	cr_assert_eq(bitmap, 0, "the write before tracking was enabled is not recorded");
	assert_rc(0, ioasid_device_dma(self, dev, 0, 0x400000 + 3 * 4096, "x", 1, 1, &fault));
	assert_rc(0, ioasid_device_dma(self, dev, 0, 0x400000 + 9 * 4096, "y", 1, 1, &fault));
	assert_rc(0, ioasid_device_dma(self, dev, 0, 0x400000 + 5 * 4096, &bitmap, 1, 0, &fault));
	bitmap = 0;
	assert_rc(0, _dirty_bitmap(h, 0x400000, 16 * 4096, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR,
				   &bitmap));
	cr_assert_eq(bitmap, (1ULL << 3) | (1ULL << 9), "reads do not dirty: %#llx",
		     (unsigned long long)bitmap);
	bitmap = 0;
	assert_rc(0, _dirty_bitmap(h, 0x400000, 16 * 4096, 0, &bitmap));
	cr_assert_eq(bitmap, (1ULL << 3) | (1ULL << 9));
	bitmap = 0;
	assert_rc(0, _dirty_bitmap(h, 0x400000, 16 * 4096, 0, &bitmap));
	cr_assert_eq(bitmap, 0, "cleared by the previous read");
	/* a write through the (still cached) translation marks it again */
	assert_rc(0, ioasid_device_dma(self, dev, 0, 0x400000 + 3 * 4096, "z", 1, 1, &fault));
	assert_rc(0, _dirty_bitmap(h, 0x400000, 16 * 4096, 0, &bitmap));
	cr_assert_eq(bitmap, 1ULL << 3);

	assert_rc(-EINVAL, _dirty_bitmap(h, 0x400001, 4096, 0, &bitmap));
	assert_rc(-EOPNOTSUPP, _dirty_bitmap(h, 0x400000, 4096, 4, &bitmap));
	plain = hwpt_alloc_ok(dev, ioas, 0);
	assert_rc(-EOPNOTSUPP, _set_dirty(plain, true));
	assert_rc(-ENOENT, _set_dirty(9999, true));
}

/* ---- IO page faults ----------------------------------------------------------------------- */

Test(device, iopf_queue_read_respond_retry)
{
	uint32_t ioas = ioas_alloc_ok(), dev = bind_ok(self, NVME), h;
	struct iommu_fault_alloc fa = { .size = sizeof(fa) };
	struct iommu_hwpt_pgfault rec[2];
	struct iommu_hwpt_page_response resp = { .code = 0 };
	uint64_t fault = 0;
	uint8_t *buf;
	char out[4];

	assert_rc(0, _ioctl(IOMMU_FAULT_QUEUE_ALLOC, &fa));
	cr_assert_gt((int)fa.out_fault_fd, 2);
	assert_rc(0, _hwpt_alloc(dev, ioas, IOMMU_HWPT_FAULT_ID_VALID, 0, NULL, 0, fa.out_fault_id,
				 &h));
	attach_ok(dev, 0, h);
	/* nothing mapped: the device's read becomes a page request and waits */
	assert_rc(-EAGAIN, ioasid_device_dma(self, dev, 0, 0x800000, out, 4, 0, &fault));
	cr_assert_eq(ioasid_fd_read((int)fa.out_fault_fd, rec, 10), -EINVAL);
	cr_assert_eq(ioasid_fd_read((int)fa.out_fault_fd, rec, sizeof(rec)), sizeof(rec[0]));
	cr_assert_eq(rec[0].dev_id, dev);
	cr_assert_eq(rec[0].addr, 0x800000);
	cr_assert_eq(rec[0].perm, IOMMU_PGFAULT_PERM_READ);
	cr_assert(rec[0].flags & IOMMU_PGFAULT_FLAGS_LAST_PAGE);
	cr_assert_eq(ioasid_fd_read((int)fa.out_fault_fd, rec, sizeof(rec)), 0);
	/* the "guest" maps the page and answers */
	buf = map_buffer(ioas, 0x800000, 4096);
	memcpy(buf, "ok!", 4);
	resp.cookie = rec[0].cookie + 100;
	cr_assert_eq(ioasid_fd_write((int)fa.out_fault_fd, &resp, sizeof(resp)), -EINVAL);
	resp.cookie = rec[0].cookie;
	cr_assert_eq(ioasid_fd_write((int)fa.out_fault_fd, &resp, sizeof(resp)), sizeof(resp));
	assert_rc(0, ioasid_device_dma(self, dev, 0, 0x800000, out, 4, 0, &fault));
	cr_assert_str_eq(out, "ok!");
	/* the fd holds the fault object */
	assert_rc(0, ioasid_device_detach(self, dev, 0));
	assert_rc(0, _destroy(h));
	assert_rc(-EBUSY, _destroy(fa.out_fault_id));
	assert_rc(0, ioasid_fd_close((int)fa.out_fault_fd));
	assert_rc(0, _destroy(fa.out_fault_id));
}
