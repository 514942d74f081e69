/* vfio_compat.c — placeholder until the VFIO type1 compat layer lands (issue 3). */
#include "reference/ref_private.h"
#include "reference/device.h"

int ref_vfio_compat_ioctl(struct ioasid_ctx *ctx, unsigned long cmd, void *arg) { return -ENOTTY; }
int ref_vfio_ioas(struct ref_ucmd *ucmd) { return -ENOTTY; }
void ref_vfio_compat_release(struct ioasid_ctx *ctx) { }
int ref_vfio_compat_ioas_get_id(struct ioasid_ctx *ctx, uint32_t *out) { return -ENODEV; }
int ref_vfio_compat_ioas_create(struct ioasid_ctx *ctx, uint32_t *out) { return -ENODEV; }
