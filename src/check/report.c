/* report.c — reports: building them (the message, the breaking event, the history that led
 * there) and writing them and the summary as text and as JSON Lines.
 *
 * History: the checker keeps the last CK_RING events it processed (a ring of 128-byte copies:
 * one memcpy per event, nothing else on the hot path). A report takes, oldest first, up to
 * opts.history of them that share something with the breaking event in its namespace: the
 * context, the device, the (iommu, domain), the group, or a PASID other than 0 and "all".
 *
 * Output formats are the tool's (ioasid-check) and are compared by tests, so they are stable:
 *   VIOLATION OWN-1: <message>
 *     rule: <statement>
 *     event: <event text line>
 *     before: <event text line>          (per history event, oldest first)
 * and one JSON object per line: {"kind","id","rule"(violations),"message","lost"(stream),
 * "event","history"}; events as ioasid_event_format_json writes them.
 */
#include <stdio.h>
#include <string.h>

#include "check/check_private.h"
#include "ioasid/trace.h"
#include "ioasid/event_format.h"

/* ---- naming objects in messages ------------------------------------------------------------ */
const char *ck_dev_str(struct ioasid_check *c, uint32_t ns, uint32_t dev, char *buf, size_t len)
{
	const struct ck_device *d = ck_device_find(&c->m, ns, dev);

	if (d && d->name[0])
		snprintf(buf, len, "dev %u \"%.16s\"", dev, d->name);
	else
		snprintf(buf, len, "dev %u", dev);
	return buf;
}

const char *ck_ctx_str(uint32_t pid, uint64_t ctx, char *buf, size_t len)
{
	snprintf(buf, len, "ctx %#llx (pid %u)", (unsigned long long)ctx, pid);
	return buf;
}

/* ---- building ------------------------------------------------------------------------------ */
static bool related(const struct ioasid_event *e, const struct ioasid_event *ev)
{
	if (ck_ns(e) != ck_ns(ev))
		return false;
	if (ev->ctx && e->ctx == ev->ctx && e->pid == ev->pid)
		return true;
	if (ev->dev && e->dev == ev->dev)
		return true;
	if (ev->domain && e->domain == ev->domain && e->iommu == ev->iommu)
		return true;
	if (ev->group && e->group == ev->group)
		return true;
	if (ev->pasid && ev->pasid != UINT32_MAX && e->pasid == ev->pasid)
		return true;
	return false;
}

static void pick_history(struct ioasid_check *c, struct ioasid_check_report *r,
			 const struct ioasid_event *ev)
{
	uint64_t have = c->nring < CK_RING ? c->nring : CK_RING;
	unsigned int want = c->opts.history, n = 0;
	uint64_t idx[IOASID_CHECK_MAX_HISTORY];

	for (uint64_t k = 1; k <= have && n < want; k++) {
		uint64_t i = (c->nring - k) & (CK_RING - 1);

		if (related(&c->ring[i], ev))
			idx[n++] = i;
	}
	r->nhistory = n;
	for (unsigned int j = 0; j < n; j++)
		r->history[j] = c->ring[idx[n - 1 - j]];
}

void ck_report_emit(struct ioasid_check *c, enum ioasid_report_kind kind, int code,
		    const char *id, const struct ioasid_event *ev, uint64_t lost,
		    const char *suffix, const char *fmt, va_list ap)
{
	struct ioasid_check_report *r = &c->rep;
	int n;

	r->kind = kind;
	r->code = code;
	r->id = id;
	r->lost = lost;
	n = vsnprintf(r->message, sizeof(r->message), fmt, ap);
	if (suffix && *suffix && n >= 0 && (size_t)n < sizeof(r->message))
		snprintf(r->message + n, sizeof(r->message) - (size_t)n, "%s", suffix);
	r->has_event = ev != NULL;
	if (ev) {
		r->event = *ev;
		pick_history(c, r, ev);
	} else {
		memset(&r->event, 0, sizeof(r->event));
		r->nhistory = 0;
	}
	if (c->fn)
		c->fn(c->arg, r);
}

static const char *const warn_ids[IOASID_WARN_COUNT] = {
#define X(sym, code, what) [IOASID_WARN_##sym] = code,
	IOASID_WARNINGS(X)
#undef X
};

void ck_violation(struct ioasid_check *c, enum ioasid_rule rule, const struct ioasid_event *ev,
		  const char *fmt, ...)
{
	va_list ap;

	c->sum.violations++;
	c->sum.per_rule[rule]++;
	va_start(ap, fmt);
	ck_report_emit(c, IOASID_REPORT_VIOLATION, rule, ck_rules[rule].id, ev, 0, NULL, fmt, ap);
	va_end(ap);
}

void ck_warning(struct ioasid_check *c, enum ioasid_warning w, const struct ioasid_event *ev,
		const char *fmt, ...)
{
	va_list ap;

	if (c->opts.no_warnings)
		return;
	c->sum.warnings++;
	c->sum.per_warning[w]++;
	va_start(ap, fmt);
	ck_report_emit(c, IOASID_REPORT_WARNING, w, warn_ids[w], ev, 0, NULL, fmt, ap);
	va_end(ap);
}

/* ---- text ---------------------------------------------------------------------------------- */
static const char *kind_word(enum ioasid_report_kind k)
{
	switch (k) {
	case IOASID_REPORT_VIOLATION: return "VIOLATION";
	case IOASID_REPORT_WARNING: return "WARNING";
	case IOASID_REPORT_STREAM: return "STREAM";
	}
	return "REPORT";
}

static const char *kind_json(enum ioasid_report_kind k)
{
	switch (k) {
	case IOASID_REPORT_VIOLATION: return "violation";
	case IOASID_REPORT_WARNING: return "warning";
	case IOASID_REPORT_STREAM: return "stream";
	}
	return "report";
}

static void print_event(FILE *f, const char *label, const struct ioasid_event *ev)
{
	char line[IOASID_EVENT_LINE_MAX];

	if (ioasid_event_format_text(ev, 0, line, sizeof(line)) < 0)
		line[sizeof(line) - 1] = '\0';
	fprintf(f, "  %s: %s\n", label, line);
}

void ioasid_check_report_print(FILE *f, const struct ioasid_check_report *r)
{
	fprintf(f, "%s %s: %s\n", kind_word(r->kind), r->id ? r->id : "?", r->message);
	if (r->kind == IOASID_REPORT_VIOLATION) {
		const struct ioasid_rule_info *ri = ioasid_check_rule((unsigned int)r->code);

		if (ri)
			fprintf(f, "  rule: %s\n", ri->statement);
	}
	if (r->has_event)
		print_event(f, "event", &r->event);
	for (size_t i = 0; i < r->nhistory && i < IOASID_CHECK_MAX_HISTORY; i++)
		print_event(f, "before", &r->history[i]);
}

/* ---- JSON ---------------------------------------------------------------------------------- */
static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void json_event(FILE *f, const struct ioasid_event *ev)
{
	char buf[IOASID_EVENT_LINE_MAX * 2];

	if (ioasid_event_format_json(ev, buf, sizeof(buf)) < 0)
		fputs("null", f);
	else
		fputs(buf, f);
}

void ioasid_check_report_json(FILE *f, const struct ioasid_check_report *r)
{
	fprintf(f, "{\"kind\":\"%s\",\"id\":", kind_json(r->kind));
	json_str(f, r->id ? r->id : "?");
	if (r->kind == IOASID_REPORT_VIOLATION) {
		const struct ioasid_rule_info *ri = ioasid_check_rule((unsigned int)r->code);

		fputs(",\"rule\":", f);
		json_str(f, ri ? ri->statement : "");
	}
	fputs(",\"message\":", f);
	json_str(f, r->message);
	if (r->kind == IOASID_REPORT_STREAM)
		fprintf(f, ",\"lost\":%llu", (unsigned long long)r->lost);
	fputs(",\"event\":", f);
	if (r->has_event)
		json_event(f, &r->event);
	else
		fputs("null", f);
	fputs(",\"history\":[", f);
	for (size_t i = 0; i < r->nhistory && i < IOASID_CHECK_MAX_HISTORY; i++) {
		if (i)
			fputc(',', f);
		json_event(f, &r->history[i]);
	}
	fputs("]}\n", f);
}

/* ---- summary ------------------------------------------------------------------------------- */
static const char *const stream_ids[IOASID_STREAM_COUNT] = {
#define X(sym, code, what) [IOASID_STREAM_##sym] = code,
	IOASID_STREAM_ISSUES(X)
#undef X
};

static const char *state_json(enum ioasid_rule_state st)
{
	switch (st) {
	case IOASID_RULE_CHECKED: return "checked";
	case IOASID_RULE_NOT_CHECKABLE: return "not_checkable";
	case IOASID_RULE_INCOMPLETE: return "incomplete";
	}
	return "?";
}

/* "clean", "violations", "not clean (...)" */
static void verdict_text(const struct ioasid_check_summary *s, char *buf, size_t len)
{
	int v = ioasid_check_verdict(s);
	unsigned int incomplete = 0;

	for (unsigned int i = 0; i < IOASID_RULE_COUNT; i++)
		incomplete += s->state[i] == IOASID_RULE_INCOMPLETE;
	if (v == 0)
		snprintf(buf, len, "clean");
	else if (v == 1)
		snprintf(buf, len, "violations");
	else if (!s->events && !s->lost && !s->stream_issues)
		snprintf(buf, len, "not clean (no events arrived: nothing was audited; is the "
			 "program using /dev/iommu through the shim, or the reference library with "
			 "its probes?)");
	else if (!s->lost && !s->stream_issues && !incomplete)
		snprintf(buf, len, "not clean (no rule is checkable on this source: it lacks the "
			 "events every rule needs; see the rules above)");
	else
		snprintf(buf, len, "not clean (%llu event(s) lost, %llu stream issue(s), %u "
			 "rule(s) incomplete)", (unsigned long long)s->lost,
			 (unsigned long long)s->stream_issues, incomplete);
}

void ioasid_check_summary_print(FILE *f, const struct ioasid_check_summary *s)
{
	char verdict[160];

	fprintf(f, "events checked  %llu\n", (unsigned long long)s->events);
	fprintf(f, "violations      %llu\n", (unsigned long long)s->violations);
	fprintf(f, "warnings        %llu\n", (unsigned long long)s->warnings);
	fprintf(f, "stream issues   %llu\n", (unsigned long long)s->stream_issues);
	fprintf(f, "lost            %llu\n", (unsigned long long)s->lost);
	fprintf(f, "duplicates      %llu\n", (unsigned long long)s->duplicates);
	fprintf(f, "rules:\n");
	for (unsigned int i = 0; i < IOASID_RULE_COUNT; i++) {
		const char *id = ck_rules[i].id;

		if (s->state[i] == IOASID_RULE_NOT_CHECKABLE) {
			uint64_t missing = ioasid_check_rule(i)->needs & ~s->observable;
			const char *sep = " (no ";

			fprintf(f, "  %-6s not checkable on this source", id);
			for (unsigned int t = 1; t < 64; t++)
				if (missing & (1ull << t)) {
					fprintf(f, "%s%s", sep, ioasid_event_type_name(t));
					sep = ", ";
				}
			fprintf(f, "%s\n", missing ? " events)" : "");
			continue;
		}
		if (s->per_rule[i])
			fprintf(f, "  %-6s violated  %llu", id, (unsigned long long)s->per_rule[i]);
		else
			fprintf(f, "  %-6s checked   0", id);
		if (s->state[i] == IOASID_RULE_INCOMPLETE)
			fprintf(f, ", incomplete (%llu events lost)", (unsigned long long)s->lost);
		fputc('\n', f);
	}
	fprintf(f, "warnings:\n");
#define X(sym, code, what)                                                                     \
	fprintf(f, "  %-17s %llu\n", code, (unsigned long long)s->per_warning[IOASID_WARN_##sym]);
	IOASID_WARNINGS(X)
#undef X
	fprintf(f, "stream:\n");
	for (unsigned int k = 0; k < IOASID_STREAM_COUNT; k++)
		fprintf(f, "  %-17s %llu\n", stream_ids[k], (unsigned long long)s->per_stream[k]);
	fprintf(f, "shadow: %u context(s), %u device(s) bound, %u group(s) claimed, %u HWPT(s), "
		"%u domain(s), %u IOAS area(s), %llu page(s) pinned\n", s->contexts,
		s->devices_bound, s->groups_claimed, s->hwpts, s->domains, s->ioas_areas,
		(unsigned long long)s->pinned_pages);
	verdict_text(s, verdict, sizeof(verdict));
	fprintf(f, "verdict: %s\n", verdict);
}

void ioasid_check_summary_json(FILE *f, const struct ioasid_check_summary *s)
{
	char verdict[160];

	verdict_text(s, verdict, sizeof(verdict));
	fprintf(f, "{\"kind\":\"summary\",\"events\":%llu,\"violations\":%llu,\"warnings\":%llu,"
		"\"stream_issues\":%llu,\"lost\":%llu,\"duplicates\":%llu,\"rules\":{",
		(unsigned long long)s->events, (unsigned long long)s->violations,
		(unsigned long long)s->warnings, (unsigned long long)s->stream_issues,
		(unsigned long long)s->lost, (unsigned long long)s->duplicates);
	for (unsigned int i = 0; i < IOASID_RULE_COUNT; i++)
		fprintf(f, "%s\"%s\":{\"state\":\"%s\",\"violations\":%llu}", i ? "," : "",
			ck_rules[i].id, state_json(s->state[i]), (unsigned long long)s->per_rule[i]);
	fputs("},\"warning_counts\":{", f);
	{
		unsigned int i = 0;
#define X(sym, code, what)                                                                     \
	fprintf(f, "%s\"%s\":%llu", i++ ? "," : "", code,                                      \
		(unsigned long long)s->per_warning[IOASID_WARN_##sym]);
		IOASID_WARNINGS(X)
#undef X
	}
	fputs("},\"stream\":{", f);
	for (unsigned int k = 0; k < IOASID_STREAM_COUNT; k++)
		fprintf(f, "%s\"%s\":%llu", k ? "," : "", stream_ids[k],
			(unsigned long long)s->per_stream[k]);
	fprintf(f, "},\"shadow\":{\"contexts\":%u,\"devices_bound\":%u,\"groups_claimed\":%u,"
		"\"hwpts\":%u,\"domains\":%u,\"ioas_areas\":%u,\"pinned_pages\":%llu},"
		"\"verdict\":%d,\"verdict_text\":", s->contexts, s->devices_bound, s->groups_claimed,
		s->hwpts, s->domains, s->ioas_areas, (unsigned long long)s->pinned_pages,
		ioasid_check_verdict(s));
	json_str(f, verdict);
	fputs("}\n", f);
}
