/* access.c — placeholder until access objects land (issue 3). */
#include "reference/ref_private.h"
#include "reference/device.h"

void ref_access_destroy_obj(struct ref_object *obj) { }
int ref_access_create(struct ioasid_ctx *ctx, const struct ref_access_ops *ops, void *data,
		      struct ref_access **out, uint32_t *out_id) { return -EOPNOTSUPP; }
void ref_access_destroy(struct ref_access *access) { }
int ref_access_attach(struct ref_access *access, uint32_t ioas_id) { return -EOPNOTSUPP; }
int ref_access_replace(struct ref_access *access, uint32_t ioas_id) { return -EOPNOTSUPP; }
void ref_access_detach(struct ref_access *access) { }
int ref_access_pin_pages(struct ref_access *access, uint64_t iova, uint64_t length,
			 void **out_pages, unsigned int flags) { return -EOPNOTSUPP; }
void ref_access_unpin_pages(struct ref_access *access, uint64_t iova, uint64_t length) { }
int ref_access_rw(struct ref_access *access, uint64_t iova, void *data, size_t len,
		  unsigned int flags) { return -EOPNOTSUPP; }
