/* check.c — the checker object (ioasid/check.h): options, the per-type dispatch of events in
 * producer order, the end of stream, the summary and the verdict.
 *
 * Each event goes stream.c → ck_process → one handler (rules_own/grp/pas/map.c). A handler
 * runs the checks of the rules that concern its event first, against the shadow as it was,
 * then the shadow adopts what the event says happened: one bug gives one report, and the
 * events after it are judged against what really happened.
 *
 * Rules whose `needs` the source cannot produce (opts.observable) are NOT_CHECKABLE: their
 * checks are never run (ck_rule_on), so a kernel source that misses, say, DEV_DETACH cannot
 * raise false "still attached" reports.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check/check_private.h"

int ioasid_check_new(const struct ioasid_check_opts *opts, ioasid_check_report_fn fn, void *arg,
		     struct ioasid_check **out)
{
	struct ioasid_check_opts o = { .sz = sizeof(o) };
	struct ioasid_check *c;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (opts) {
		if (opts->sz < sizeof(opts->sz))
			return -EINVAL;
		memcpy(&o, opts, opts->sz < sizeof(o) ? opts->sz : sizeof(o));
		/* a newer caller's tail must be zero: we do not know what it asks for */
		for (size_t i = sizeof(o); i < opts->sz; i++)
			if (((const unsigned char *)opts)[i])
				return -EINVAL;
		o.sz = sizeof(o);
	}
	if (o.history > IOASID_CHECK_MAX_HISTORY)
		return -EINVAL;
	if (!o.history)
		o.history = 8;
	if (!o.reorder_window)
		o.reorder_window = 4096;
	if (o.reorder_window > (1u << 24))
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->opts = o;
	c->fn = fn;
	c->arg = arg;
	c->observable = o.observable ? o.observable : IOASID_CHECK_ALL_TYPES;
	for (unsigned int i = 0; i < IOASID_RULE_COUNT; i++)
		c->checkable[i] = !(ioasid_check_rule(i)->needs & ~c->observable);
	ck_model_init(&c->m);
	*out = c;
	return 0;
}

void ck_nomem(struct ioasid_check *c, const struct ioasid_event *ev)
{
	ck_mark_all_incomplete(c);
	ck_stream_issue(c, IOASID_STREAM_DAMAGED, ev, 0,
			"out of memory while modelling %s: the shadow is no longer whole, every "
			"rule is INCOMPLETE", ev ? ioasid_event_type_name(ev->type) : "an event");
}

/* Any event that names a device: remember its name and group. */
static void note_device(struct ioasid_check *c, const struct ioasid_event *ev)
{
	struct ck_device *d = ck_device_get(&c->m, ck_ns(ev), ev->dev);

	if (!d) {
		ck_nomem(c, ev);
		return;
	}
	if (ev->name[0] && strncmp(d->name, ev->name, sizeof(d->name)))
		memcpy(d->name, ev->name, sizeof(d->name));
	if (ev->group && ev->type != IOASID_EV_GROUP_DEL_DEV && d->group != ev->group) {
		d->group = ev->group;
		ck_grp_note_member(c, ev);
	}
}

void ck_process(struct ioasid_check *c, const struct ioasid_event *ev)
{
	if (__builtin_expect(!(ev->version == IOASID_EVENT_VERSION && ev->type &&
			       ev->type < IOASID_EV_MAX &&
			       !ev->name[IOASID_EVENT_NAME_LEN - 1]), 0)) {
		char why[128];

		if (ck_event_malformed(ev, why, sizeof(why))) {
			ck_mark_all_incomplete(c);
			ck_stream_issue(c, IOASID_STREAM_MALFORMED, ev, 1,
					"malformed event seq %llu skipped: %s; no producer makes it "
					"(a corrupt trace, or a reader of another format)",
					(unsigned long long)ev->seq, why);
			return;
		}
	}
	c->sum.events++;
	switch (ev->type) {
	case IOASID_EV_IOAS_MAP:
	case IOASID_EV_IOAS_COPY:
		ck_map_ioas_map(c, ev);
		break;
	case IOASID_EV_IOAS_UNMAP:
		ck_map_ioas_unmap(c, ev);
		break;
	case IOASID_EV_DOMAIN_MAP:
		ck_map_domain_map(c, ev);
		break;
	case IOASID_EV_DOMAIN_UNMAP:
		ck_map_domain_unmap(c, ev);
		break;
	case IOASID_EV_IOTLB_INV:
		ck_map_iotlb_inv(c, ev);
		break;
	case IOASID_EV_ACCOUNT:
		ck_map_account(c, ev);
		break;
	case IOASID_EV_DMA:
		ck_map_dma(c, ev);
		break;
	case IOASID_EV_IOTLB_STALE_HIT:
		ck_map_stale_hit(c, ev);
		break;
	case IOASID_EV_IOAS_RESERVE:
		ck_map_ioas_reserve(c, ev);
		break;
	case IOASID_EV_IOAS_ALLOW:
		ck_map_ioas_allow(c, ev);
		break;
	case IOASID_EV_CTX_OPEN:
		ck_own_ctx_open(c, ev);
		break;
	case IOASID_EV_CTX_CLOSE:
		ck_own_ctx_close(c, ev);
		break;
	case IOASID_EV_DEV_BIND:
		if (ev->dev)
			note_device(c, ev);
		ck_own_dev_bind(c, ev);
		break;
	case IOASID_EV_DEV_UNBIND:
		if (ev->dev)
			note_device(c, ev);
		ck_own_dev_unbind(c, ev);
		break;
	case IOASID_EV_DEV_ATTACH:
	case IOASID_EV_DEV_REPLACE:
		if (ev->dev)
			note_device(c, ev);
		ck_pas_attach(c, ev);
		break;
	case IOASID_EV_DEV_DETACH:
		if (ev->dev)
			note_device(c, ev);
		ck_pas_detach(c, ev);
		break;
	case IOASID_EV_HWPT_ALLOC:
		ck_own_hwpt_alloc(c, ev);
		break;
	case IOASID_EV_HWPT_DESTROY:
		ck_own_hwpt_destroy(c, ev);
		break;
	case IOASID_EV_OBJ_ALLOC:
		ck_own_obj_alloc(c, ev);
		break;
	case IOASID_EV_OBJ_DESTROY:
		ck_own_obj_destroy(c, ev);
		break;
	case IOASID_EV_GROUP_CLAIM:
		if (ev->dev)
			note_device(c, ev);
		ck_grp_claim(c, ev);
		break;
	case IOASID_EV_GROUP_RELEASE:
		ck_grp_release(c, ev);
		break;
	case IOASID_EV_DRIVER_BIND:
	case IOASID_EV_DRIVER_UNBIND:
		if (ev->dev)
			note_device(c, ev);
		ck_grp_driver(c, ev);
		break;
	case IOASID_EV_GROUP_ADD_DEV:
	case IOASID_EV_FAULT:
	case IOASID_EV_FAULT_RESPONSE:
		if (ev->dev)
			note_device(c, ev);
		break;
	case IOASID_EV_GPASID_ALLOC:
		if (ev->dev)
			note_device(c, ev);
		ck_pas_gpasid_alloc(c, ev);
		break;
	case IOASID_EV_GPASID_FREE:
		ck_pas_gpasid_free(c, ev);
		break;
	default:
		break;
	}
	ck_ring_push(c, ev);
}

int ioasid_check_feed(struct ioasid_check *c, const struct ioasid_event *ev)
{
	if (!c || !ev)
		return -EINVAL;
	return ck_stream_feed(c, ev);
}

int ioasid_check_feed_batch(struct ioasid_check *c, const struct ioasid_event *evs, size_t n)
{
	int rc = 0;

	if (!c || (!evs && n))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int r = ck_stream_feed(c, &evs[i]);

		if (r && !rc)
			rc = r;
	}
	return rc;
}

void ioasid_check_flush(struct ioasid_check *c, uint64_t max_age_ns)
{
	if (c)
		ck_stream_flush(c, max_age_ns);
}

void ioasid_check_note_dropped(struct ioasid_check *c, uint64_t dropped)
{
	if (!c || !dropped)
		return;
	c->sum.lost += dropped;
	ck_mark_all_incomplete(c);
	ck_stream_issue(c, IOASID_STREAM_GAP, NULL, dropped,
			"producer dropped %llu events (ring buffer full): every rule is now "
			"INCOMPLETE; enlarge the ring buffer or reduce the event rate",
			(unsigned long long)dropped);
}

void ioasid_check_note_damage(struct ioasid_check *c, const char *what)
{
	if (!c)
		return;
	ck_mark_all_incomplete(c);
	ck_stream_issue(c, IOASID_STREAM_DAMAGED, NULL, 0,
			"the source is damaged: %s; events after the damage are missing, every "
			"rule is INCOMPLETE", what && *what ? what : "(no detail)");
}

void ioasid_check_end(struct ioasid_check *c)
{
	if (!c || c->ended)
		return;
	c->ended = true;
	ck_stream_end(c);
	ck_stream_report_suppressed(c);
}

int ioasid_check_summary(const struct ioasid_check *c, struct ioasid_check_summary *out)
{
	if (!c || !out)
		return -EINVAL;
	*out = c->sum;
	for (unsigned int i = 0; i < IOASID_RULE_COUNT; i++)
		out->state[i] = !c->checkable[i] ? IOASID_RULE_NOT_CHECKABLE :
				c->incomplete[i] ? IOASID_RULE_INCOMPLETE : IOASID_RULE_CHECKED;
	out->observable = c->observable;
	out->contexts = (uint32_t)c->m.ctxs.n;
	out->devices_bound = (uint32_t)c->m.bound_devices;
	out->groups_claimed = (uint32_t)c->m.claimed_groups;
	out->hwpts = (uint32_t)c->m.hwpts;
	out->domains = (uint32_t)c->m.domains.n;
	out->ioas_areas = (uint32_t)c->m.total_areas;
	out->pinned_pages = 0;
	for (size_t i = 0; i < c->m.ctxs.cap; i++) {
		const struct ck_ctx *cx = c->m.ctxs.slots[i].val;

		if (cx)
			out->pinned_pages += cx->last_account;
	}
	return 0;
}

int ioasid_check_verdict(const struct ioasid_check_summary *s)
{
	if (!s)
		return -EINVAL;
	if (s->violations)
		return 1;
	if (s->stream_issues || s->lost || s->duplicates)
		return 2;
	for (unsigned int i = 0; i < IOASID_RULE_COUNT; i++)
		if (s->state[i] == IOASID_RULE_INCOMPLETE)
			return 2;
	for (unsigned int k = 0; k < IOASID_STREAM_COUNT; k++)
		if (s->per_stream[k])
			return 2;
	/* No event at all: nothing was audited (a program that bypasses the shim, a wrong pid). */
	if (!s->events)
		return 2;
	/* A source that could check nothing has not shown anything to be clean. */
	for (unsigned int i = 0; i < IOASID_RULE_COUNT; i++)
		if (s->state[i] != IOASID_RULE_NOT_CHECKABLE)
			return 0;
	return 2;
}

void ioasid_check_free(struct ioasid_check *c)
{
	if (!c)
		return;
	ck_stream_free(c);
	ck_model_free(&c->m);
	free(c);
}
