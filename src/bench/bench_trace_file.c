/* bench_trace_file.c — how fast trace files are written and replayed (src/trace/trace_file.c).
 *
 *   bench_trace_file [--events N] [--repeats R] [--chunk N] [--level L] [--path FILE] [--json]
 *
 * Builds N events in memory first (default 5 000 000; 128 bytes each, so 640 MB): a stream as
 * the reference emits it while a VMM maps and unmaps guest memory — IOAS_MAP then DOMAIN_MAP
 * at a rising IOVA, and 64 ranges behind, IOAS_UNMAP, DOMAIN_UNMAP and IOTLB_INV; timestamps
 * rise by a jittered 0.3..2.3 us, four threads, sizes from 4 KiB to 2 MiB, latencies jittered,
 * one refused map in 1000. Then, R times (default 5): write them all with
 * ioasid_trace_writer_append (open to close, the file in /tmp, page cache), and read them all
 * back with ioasid_trace_reader_next_batch (open to the clean end). The first read is checked
 * byte for byte against the input. Prints the median (min, max) events/s of each, by wall
 * time and by this process's CPU time (the figure that holds on a busy shared machine), and
 * the bytes per event on disk; --json adds one JSON line per measurement:
 * {"name","events_per_s","min","max","events","repeats","bytes_per_event"}.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ioasid/trace_file.h"

#include "bench/bench_common.h"

#define MAX_REPEATS 99


static void die(const char *what, int rc)
{
	fprintf(stderr, "bench_trace_file: %s failed: %s (%s)\n", what, strerror(-rc),
		ioasid_trace_last_error());
	exit(1);
}

static void make_events(struct ioasid_event *ev, size_t n)
{
	static const uint64_t sizes[] = { 0x1000, 0x10000, 0x200000, 0x200000 };
	uint64_t ts = 5000000000ULL, iova = 0x100000000ULL, paddr = 0x240000000ULL;
	uint64_t ring_iova[64] = { 0 }, ring_len[64] = { 0 };
	size_t i = 0, op = 0;

	memset(ev, 0, n * sizeof(*ev));
	while (i < n) {
		uint64_t len = sizes[rng() % 4];
		uint32_t tid = 7000 + (uint32_t)(rng() % 4);
		struct { uint16_t type; bool unmap; } steps[5] = {
			{ IOASID_EV_IOAS_MAP, false }, { IOASID_EV_DOMAIN_MAP, false },
			{ IOASID_EV_IOAS_UNMAP, true }, { IOASID_EV_DOMAIN_UNMAP, true },
			{ IOASID_EV_IOTLB_INV, true },
		};
		size_t slot = op % 64;
		bool have_old = op >= 64;

		for (int s = 0; s < 5 && i < n; s++) {
			struct ioasid_event *e = &ev[i];

			if (steps[s].unmap && !have_old)
				continue;
			e->type = steps[s].type;
			e->source = IOASID_SRC_REFERENCE;
			e->version = IOASID_EVENT_VERSION;
			e->seq = i;
			ts += 300 + rng() % 2000;
			e->ts_ns = ts;
			e->pid = 7000;
			e->tid = tid;
			e->iova = steps[s].unmap ? ring_iova[slot] : iova;
			e->length = steps[s].unmap ? ring_len[slot] : len;
			switch (e->type) {
			case IOASID_EV_IOAS_MAP:
			case IOASID_EV_IOAS_UNMAP:
				e->ctx = 0x7f3a5c001000ULL;
				e->obj = 2;
				e->value = e->type == IOASID_EV_IOAS_MAP ? e->length >> 12 : e->length;
				e->aux = e->type == IOASID_EV_IOAS_MAP ? 3 : 0;
				e->latency_ns = 800 + rng() % 4000;
				if (e->type == IOASID_EV_IOAS_MAP && rng() % 1000 == 0) {
					e->result = -EEXIST;
					e->flags = IOASID_EVF_REFUSED;
				}
				break;
			case IOASID_EV_DOMAIN_MAP:
				e->iommu = 1;
				e->domain = 5;
				e->value = paddr;
				e->aux = 3;
				break;
			case IOASID_EV_DOMAIN_UNMAP:
				e->iommu = 1;
				e->domain = 5;
				e->value = e->length;
				break;
			case IOASID_EV_IOTLB_INV:
				e->iommu = 1;
				e->domain = 5;
				e->aux = IOASID_INV_UNMAP;
				e->value = e->length >> 12;
				e->flags = IOASID_EVF_STRICT;
				break;
			}
			i++;
		}
		ring_iova[slot] = iova;
		ring_len[slot] = len;
		iova += len;
		paddr += len;
		op++;
	}
}

static void usage(FILE *out)
{
	fprintf(out,
"Usage: bench_trace_file [--events N] [--repeats R] [--chunk N] [--level L] [--path FILE] [--json]\n"
"Write N map/unmap events to a trace file and read them back, R times; print the median\n"
"events/s of each and the bytes per event on disk.\n"
"  --events N    events per run (default 5000000)\n"
"  --repeats R   runs (default 5, at most %d)\n"
"  --chunk N     records per chunk (default %d)\n"
"  --level L     zlib level 1..9 (default 1)\n"
"  --path FILE   the file (default /tmp/ioasid-bench-<pid>.trace, removed at the end)\n"
"  --json        also print one JSON line per measurement\n"
"Example: bench_trace_file --events 1000000 --repeats 9 --json\n",
		MAX_REPEATS, IOASID_TRACE_CHUNK_EVENTS);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "events", required_argument, NULL, 'n' }, { "repeats", required_argument, NULL, 'r' },
		{ "chunk", required_argument, NULL, 'c' },  { "level", required_argument, NULL, 'l' },
		{ "path", required_argument, NULL, 'p' },   { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },         { 0 },
	};
	struct ioasid_trace_writer_opts wo = { .sz = sizeof(wo) };
	size_t n = 5000000, repeats = 5;
	double wr[MAX_REPEATS], rd[MAX_REPEATS], wr_cpu[MAX_REPEATS], rd_cpu[MAX_REPEATS];
	char defpath[64], *path = NULL;
	struct ioasid_event *ev;
	uint64_t bytes = 0;
	bool json = false;
	int c;

	while ((c = getopt_long(argc, argv, "n:r:c:l:p:jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': n = strtoull(optarg, NULL, 0); break;
		case 'r': repeats = strtoull(optarg, NULL, 0); break;
		case 'c': wo.chunk_events = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'l': wo.level = atoi(optarg); break;
		case 'p': path = optarg; break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!n || !repeats || repeats > MAX_REPEATS) {
		usage(stderr);
		return 2;
	}
	if (!path) {
		snprintf(defpath, sizeof(defpath), "/tmp/ioasid-bench-%d.trace", (int)getpid());
		path = defpath;
	}
	ev = malloc(n * sizeof(*ev));
	if (!ev) {
		fprintf(stderr, "bench_trace_file: no memory for %zu events (%zu MiB): use --events\n",
			n, n * sizeof(*ev) >> 20);
		return 1;
	}
	make_events(ev, n);

	for (size_t r = 0; r < repeats; r++) {
		struct ioasid_trace_file_header h;
		struct ioasid_trace_writer *w;
		struct ioasid_trace_reader *rdr;
		const struct ioasid_event *evs;
		struct stamp t0, t1;
		uint64_t got = 0, sum = 0;
		size_t k;
		int rc;

		ioasid_trace_file_header_init(&h, IOASID_TRACE_SELF, "bench_trace_file");
		t0 = now();
		rc = ioasid_trace_writer_open_opts(path, &h, &wo, &w);
		if (rc)
			die("ioasid_trace_writer_open", rc);
		for (size_t i = 0; i < n; i++) {
			rc = ioasid_trace_writer_append(w, &ev[i]);
			if (rc)
				die("ioasid_trace_writer_append", rc);
		}
		bytes = ioasid_trace_writer_bytes(w);
		rc = ioasid_trace_writer_close(w);
		if (rc)
			die("ioasid_trace_writer_close", rc);
		t1 = now();
		wr[r] = (double)n * 1e9 / (double)(t1.wall - t0.wall);
		wr_cpu[r] = (double)n * 1e9 / (double)(t1.cpu - t0.cpu);

		t0 = now();
		rc = ioasid_trace_reader_open(path, &rdr);
		if (rc)
			die("ioasid_trace_reader_open", rc);
		while ((rc = ioasid_trace_reader_next_batch(rdr, &evs, &k)) == 1) {
			if (r == 0 && memcmp(evs, &ev[got], k * sizeof(*evs))) {
				fprintf(stderr, "bench_trace_file: events %llu.. differ from what was "
					"written\n", (unsigned long long)got);
				return 1;
			}
			sum += evs[k - 1].seq;   /* touch the data */
			got += k;
		}
		t1 = now();
		if (rc < 0)
			die(ioasid_trace_reader_error(rdr), rc);
		ioasid_trace_reader_close(rdr);
		if (got != n) {
			fprintf(stderr, "bench_trace_file: read %llu events, wrote %zu\n",
				(unsigned long long)got, n);
			return 1;
		}
		rd[r] = (double)n * 1e9 / (double)(t1.wall - t0.wall);
		rd_cpu[r] = (double)n * 1e9 / (double)(t1.cpu - t0.cpu);
		(void)sum;
	}
	unlink(path);

	{
		const char *names[4] = { "write", "read", "write_cpu", "read_cpu" };
		double *v[4] = { wr, rd, wr_cpu, rd_cpu };

		printf("%-10s %14s %14s %14s %10s\n", "", "events/s (med)", "min", "max", "events");
		for (int i = 0; i < 4; i++) {
			qsort(v[i], repeats, sizeof(double), cmp_double);
			printf("%-10s %14.0f %14.0f %14.0f %10zu\n", names[i], v[i][repeats / 2],
			       v[i][0], v[i][repeats - 1], n);
		}
		printf("(median of %zu runs; *_cpu: events per second of this process's CPU time; "
		       "%.2f bytes/event on disk, %llu bytes, %zu-event chunks, zlib level %d)\n",
		       repeats, (double)bytes / (double)n, (unsigned long long)bytes,
		       wo.chunk_events ? (size_t)wo.chunk_events : (size_t)IOASID_TRACE_CHUNK_EVENTS,
		       wo.level ? wo.level : 1);
		for (int i = 0; json && i < 4; i++)
			printf("{\"name\":\"trace_%s\",\"events_per_s\":%.0f,\"min\":%.0f,\"max\":%.0f,"
			       "\"events\":%zu,\"repeats\":%zu,\"bytes_per_event\":%.3f}\n", names[i],
			       v[i][repeats / 2], v[i][0], v[i][repeats - 1], n, repeats,
			       (double)bytes / (double)n);
	}
	free(ev);
	return 0;
}
