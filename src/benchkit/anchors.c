/* anchors.c — the published figures ioasid-bench's results are read against.
 *
 * The issues cite figures measured elsewhere: VFIO type1 mapping at 57–61 GB/s on 4 KiB pages
 * and ~1.5 TB/s on 1 GiB pages (real hardware, one-off patches), and the kernel's
 * dma_map_benchmark at 0.1–3.9 µs per 4 KiB map or unmap. Each anchor names the record of a run
 * that measures the same thing (workload, phase, page size, region size, invalidation mode) and
 * the metric compared (GB/s median, or latency p50). A "4 KiB pages" figure counts only where
 * 4 KiB IOPTEs were forced: the mock's leaves otherwise follow VA contiguity, which no real
 * 4 KiB-page host has. Ratios against another machine's figure
 * are context, not a verdict, and the table says so; ratios between backends of the same run
 * (every backend against `ref`) are the comparison that holds.
 */
#include "benchkit/workload.h"

#include <string.h>

enum metric { GBPS, LAT_P50 };

struct anchor {
	const char *figure;
	const char *workload, *phase, *inval;   /* inval NULL: any */
	uint64_t page, op_bytes;                /* 0: any */
	bool leaves_4k;                         /* only where 4 KiB IOPTEs were forced */
	enum metric metric;
	double lo, hi;                          /* the published range (GB/s or ns) */
	const char *source;
};

#define G (1ULL << 30)
static const struct anchor anchors[] = {
	{ "map 1 GiB, 4 KiB pages", "region", "map", NULL, 4096, G, true, GBPS, 57, 61,
	  "VFIO type1, real hardware" },
	{ "map 16 GiB, 4 KiB pages", "region", "map", NULL, 4096, 16 * G, true, GBPS, 57, 61,
	  "VFIO type1, real hardware" },
	{ "map 1 GiB, 1 GiB pages", "region", "map", NULL, G, G, false, GBPS, 1500, 1500,
	  "VFIO type1, 1 GiB pages" },
	{ "map 16 GiB, 1 GiB pages", "region", "map", NULL, G, 16 * G, false, GBPS, 1500, 1500,
	  "VFIO type1, 1 GiB pages" },
	{ "4 KiB map, driver cycle", "dma-api", "map", "strict", 4096, 4096, false, LAT_P50,
	  100, 3900, "dma_map_benchmark (DMA API)" },
	{ "4 KiB unmap, strict", "dma-api", "unmap", "strict", 4096, 4096, false, LAT_P50,
	  100, 3900, "dma_map_benchmark (DMA API)" },
	{ "4 KiB unmap, deferred", "dma-api", "unmap", "deferred", 4096, 4096, false, LAT_P50,
	  100, 3900, "dma_map_benchmark (DMA API)" },
	{ "4 KiB IOAS_MAP, one call", "pages", "map", NULL, 4096, 4096, false, LAT_P50,
	  100, 3900, "dma_map_benchmark (another layer)" },
	{ "4 KiB IOAS_UNMAP, one call", "pages", "unmap", NULL, 4096, 4096, false, LAT_P50,
	  100, 3900, "dma_map_benchmark (another layer)" },
};

static bool matches(const struct anchor *a, const struct bench_record *r)
{
	const struct bench_config *c = &r->cfg;

	return !strcmp(c->workload, a->workload) && !strcmp(c->phase, a->phase) &&
	       (!a->inval || !strcmp(c->inval, a->inval)) &&
	       (!a->page || c->page_size == a->page) &&
	       (!a->op_bytes || c->op_bytes == a->op_bytes) &&
	       (!a->leaves_4k || c->leaf_max == 4096) && !strcmp(c->trace, "off") &&
	       c->threads == 1 &&
	       (strcmp(c->workload, "pages") || !strcmp(c->pattern, "seq"));
}

static double value(const struct anchor *a, const struct bench_record *r)
{
	return a->metric == GBPS ? r->gb_s.median : r->lat.p50;
}

static void print_value(FILE *f, enum metric m, double v)
{
	if (m == GBPS)
		fprintf(f, "%.1f GB/s", v);
	else if (v >= 1000)
		fprintf(f, "%.2f µs", v / 1000);
	else
		fprintf(f, "%.0f ns", v);
}

static void print_x(FILE *f, double x)
{
	fprintf(f, x >= 10 ? "%.0f" : x >= 0.1 ? "%.2f" : "%.3f", x);
}

/* "faster"/"slower" by the metric's direction: throughput up, latency down. */
static void print_ratio(FILE *f, enum metric m, double v, double lo, double hi)
{
	double a = m == GBPS ? v / hi : lo / v, b = m == GBPS ? v / lo : hi / v;

	if (a > b) {
		double t = a;

		a = b;
		b = t;
	}
	if (b / a < 1.05) {
		print_x(f, (a + b) / 2);
	} else {
		print_x(f, a);
		fprintf(f, "–");
		print_x(f, b);
	}
	fprintf(f, "× (%s)", a >= 1.02 ? "faster" : b <= 0.98 ? "slower" :
		b < 1.02 && a > 0.98 ? "same" : "within");
}

size_t bench_anchors_markdown(FILE *f, const struct bench_record *recs, size_t n)
{
	size_t rows = 0, same;

	fprintf(f, "| figure | backend | ioasid (median) | published | ratio |\n");
	fprintf(f, "|---|---|---|---|---|\n");
	for (size_t i = 0; i < sizeof(anchors) / sizeof(anchors[0]); i++) {
		const struct anchor *a = &anchors[i];

		for (size_t k = 0; k < n; k++) {
			const struct bench_record *r = &recs[k];
			double v;

			if (!matches(a, r) || (v = value(a, r)) <= 0)
				continue;
			fprintf(f, "| %s | %s | ", a->figure, r->cfg.backend);
			print_value(f, a->metric, v);
			fprintf(f, " | %s: ", a->source);
			print_value(f, a->metric, a->lo);
			if (a->hi != a->lo) {
				fprintf(f, "–");
				print_value(f, a->metric, a->hi);
			}
			fprintf(f, " | ");
			print_ratio(f, a->metric, v, a->lo, a->hi);
			fprintf(f, " |\n");
			rows++;
		}
	}
	if (!rows)
		fprintf(f, "| (no record of this run matches a published figure) | | | | |\n");
	fprintf(f, "\nPublished figures come from other machines (ratios are context). Same run, "
		"every backend against `ref` (the reference's C API):\n\n");
	fprintf(f, "| figure | backend | ioasid (median) | ref (median) | ratio |\n");
	fprintf(f, "|---|---|---|---|---|\n");
	same = rows;
	for (size_t i = 0; i < sizeof(anchors) / sizeof(anchors[0]); i++) {
		const struct anchor *a = &anchors[i];
		const struct bench_record *ref = NULL;

		for (size_t k = 0; k < n && !ref; k++)
			if (matches(a, &recs[k]) && !strcmp(recs[k].cfg.backend, "ref"))
				ref = &recs[k];
		if (!ref || value(a, ref) <= 0)
			continue;
		for (size_t k = 0; k < n; k++) {
			const struct bench_record *r = &recs[k];
			double v = value(a, r), rv = value(a, ref);

			if (r == ref || !matches(a, r) || v <= 0)
				continue;
			fprintf(f, "| %s | %s | ", a->figure, r->cfg.backend);
			print_value(f, a->metric, v);
			fprintf(f, " | ");
			print_value(f, a->metric, rv);
			fprintf(f, " | ");
			print_ratio(f, a->metric, v, rv, rv);
			fprintf(f, " |\n");
			rows++;
		}
	}
	if (rows == same)
		fprintf(f, "| (no backend besides ref measured a figure ref has) | | | | |\n");
	return rows;
}
