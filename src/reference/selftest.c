/* selftest.c — placeholder until IOMMU_TEST_CMD lands (issue 3). */
#include "reference/ref_private.h"

int ref_selftest_ioctl(struct ioasid_ctx *ctx, void *arg) { return -ENOTTY; }
void ref_selftest_release(struct ioasid_ctx *ctx) { }
void ref_selftest_destroy(struct ref_object *obj) { }
