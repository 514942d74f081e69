/* topology_default.c — the built-in default host (docs/TOPOLOGY.md, "The default host").
 *
 * Owns: one immutable plat_topology, written out as data so that every tool works with no
 * file and no parse can fail at start-up. examples/topologies/default.topo is the same host
 * as a file; a unit test checks that the two hash equal, so edit both together.
 *
 * What it exercises: two IOMMUs with different capabilities (dmar1 has no PASID, nesting,
 * dirty tracking or large pages), a PASID singleton, a bridge group shared with a DMA-API
 * driver (GRP-1), a multi-function group, an mdev-like software-table device, an ENQCMD
 * device, and a storage device on a kernel driver to practise unbind/bind on.
 *
 * Locking: the hash is filled in once, under pthread_once; afterwards the object is read-only.
 */
#include <pthread.h>
#include <string.h>

#include "platform/platform.h"
#include "platform/platform_ext.h"

#define PG_4K 0x1000ull
#define PG_2M 0x200000ull
#define PG_1G 0x40000000ull

/* The x86 interrupt window: DMA writes here are MSIs, so no IOVA may be mapped over it. */
#define X86_MSI_WINDOW { .start = 0xfee00000ull, .last = 0xfeefffffull, .sw_msi = true }

enum {
	DRV_VFIO_PCI, DRV_PCI_STUB, DRV_NVME, DRV_IDXD, DRV_AHCI, DRV_E1000E, DRV_SND_HDA,
	DRV_MTTY, NR_DEFAULT_DRIVERS,
};

enum { G_NVME, G_DSA, G_AHCI, G_GPU, G_BRIDGE, G_DMAR1, G_MDEV, NR_DEFAULT_GROUPS };

static const struct plat_topology default_data = {
	.source = "built-in default",
	.nr_iommus = 2,
	.iommus = {
		{
			.name = "dmar0", .type = PLAT_IOMMU_INTEL_VTD,
			.pgsize_bitmap = PG_4K | PG_2M | PG_1G, .ias_bits = 48, .pasid_bits = 20,
			.nesting = true, .dirty_tracking = true, .coherent = true, .iopf = true,
			.nr_resv = 1, .resv = { X86_MSI_WINDOW },
		},
		{
			.name = "dmar1", .type = PLAT_IOMMU_INTEL_VTD,
			.pgsize_bitmap = PG_4K, .ias_bits = 39, .pasid_bits = 0,
			.coherent = true,
			.nr_resv = 1, .resv = { X86_MSI_WINDOW },
		},
	},
	.nr_drivers = NR_DEFAULT_DRIVERS,
	.drivers = {
		[DRV_VFIO_PCI] = { "vfio-pci", PLAT_DRV_USER },
		[DRV_PCI_STUB] = { "pci-stub", PLAT_DRV_MANAGED },
		[DRV_NVME] = { "nvme", PLAT_DRV_DMA_API },
		[DRV_IDXD] = { "idxd", PLAT_DRV_DMA_API },
		[DRV_AHCI] = { "ahci", PLAT_DRV_DMA_API },
		[DRV_E1000E] = { "e1000e", PLAT_DRV_DMA_API },
		[DRV_SND_HDA] = { "snd_hda_intel", PLAT_DRV_DMA_API },
		[DRV_MTTY] = { "mtty", PLAT_DRV_USER },       /* the kernel's sample mdev driver */
	},
	/* Group IDs deliberately differ from the group indexes, so that code mixing the two
	 * fails on the default host. */
	.nr_groups = NR_DEFAULT_GROUPS,
	.groups = {
		[G_NVME] = { .id = 3, .iommu = 0, .isolated_msi = true },
		[G_DSA] = { .id = 4, .iommu = 0, .isolated_msi = true },
		[G_AHCI] = { .id = 7, .iommu = 0, .isolated_msi = true },
		[G_GPU] = { .id = 9, .iommu = 0, .isolated_msi = true },
		[G_BRIDGE] = { .id = 12, .iommu = 0, .isolated_msi = true },
		[G_DMAR1] = { .id = 20, .iommu = 1, .isolated_msi = true },
		[G_MDEV] = { .id = 21, .iommu = 0, .isolated_msi = true },
	},
	.nr_devices = 9,
	.devices = {
		{ .name = "0000:00:02.0", .vfio_index = 0, .group = G_NVME, .pasid_bits = 20,
		  .ats = true, .pri = true, .driver = DRV_VFIO_PCI },          /* NVMe SSD */
		{ .name = "0000:00:04.0", .vfio_index = 1, .group = G_DSA, .pasid_bits = 20,
		  .ats = true, .enqcmd = true, .driver = DRV_VFIO_PCI },       /* DSA-like */
		{ .name = "0000:00:17.0", .vfio_index = 2, .group = G_AHCI,
		  .driver = DRV_AHCI },                                        /* host SATA */
		{ .name = "0000:01:00.0", .vfio_index = 3, .group = G_GPU,
		  .driver = DRV_VFIO_PCI },                                    /* GPU */
		{ .name = "0000:01:00.1", .vfio_index = 4, .group = G_GPU,
		  .driver = DRV_VFIO_PCI },                                    /* its HDMI audio */
		{ .name = "0000:02:01.0", .vfio_index = 5, .group = G_BRIDGE,
		  .driver = DRV_VFIO_PCI },                  /* behind a PCIe-to-PCI bridge ... */
		{ .name = "0000:02:02.0", .vfio_index = 6, .group = G_BRIDGE,
		  .driver = DRV_E1000E },                    /* ... with a NIC on the host */
		{ .name = "0000:80:00.0", .vfio_index = 7, .group = G_DMAR1,
		  .driver = DRV_VFIO_PCI },                                    /* behind dmar1 */
		{ .name = "mdev0", .vfio_index = 8, .group = G_MDEV, .sw_table = true,
		  .driver = DRV_MTTY },                                        /* mdev-like */
	},
};

static struct plat_topology default_topology;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static void default_init(void)
{
	memcpy(&default_topology, &default_data, sizeof(default_topology));
	default_topology.hash = plat_topology_hash(&default_topology);
}

const struct plat_topology *plat_topology_default(void)
{
	pthread_once(&default_once, default_init);
	return &default_topology;
}
