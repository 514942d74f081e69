/* plan.c — the attach plan: one line per BPF program a source could use, attached or not and
 * why. `--dry-run -v` prints it; a live source keeps it so tools can say what they cannot see. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace/backend.h"

int trace_plan_add(struct trace_plan *p, const char *program, const char *target, bool attached,
		   const char *reason_fmt, ...)
{
	struct ioasid_trace_plan_item *it;
	va_list ap;

	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 32;
		void *items = realloc(p->items, cap * sizeof(*p->items));

		if (!items)
			return -ENOMEM;
		p->items = items;
		p->cap = cap;
	}
	it = &p->items[p->n++];
	memset(it, 0, sizeof(*it));
	snprintf(it->program, sizeof(it->program), "%s", program);
	snprintf(it->target, sizeof(it->target), "%s", target);
	it->attached = attached;
	if (reason_fmt) {
		va_start(ap, reason_fmt);
		vsnprintf(it->reason, sizeof(it->reason), reason_fmt, ap);
		va_end(ap);
	}
	if (!attached && !it->reason[0])
		snprintf(it->reason, sizeof(it->reason), "not attached (no reason recorded)");
	return 0;
}

void trace_plan_free(struct trace_plan *p)
{
	free(p->items);
	p->items = NULL;
	p->n = p->cap = 0;
}

size_t trace_plan_attached(const struct trace_plan *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n; i++)
		n += p->items[i].attached;
	return n;
}
