#!/usr/bin/awk -f
# bench-agreement-model.awk — how often would two runs of a perfectly steady machine disagree?
#
# ioasid-bench --compare calls a figure of two runs in agreement when one run's median lies
# inside the other run's [min-max] (either way round). With few samples that test fails by
# chance alone: this
# model draws two runs of R rounds x r repeats from the same distribution (each round shifted
# by a normal "between rounds" term of standard deviation sb, each repeat by a "within"
# term of standard deviation 1, as a fresh worker's memory placement and its repeats behave)
# and counts how often the test fails. docs/PERFORMANCE.md uses it to choose --standard's
# rounds and repeats.
#
#   awk -f scripts/bench-agreement-model.awk                    the table for R x r, sb 0, 1, 2
#   awk -v R=5 -v r=3 -v sb=1 -v trials=50000 -f scripts/bench-agreement-model.awk
#
# Output per line: R, r, sb, the failure rate per figure, and the failures expected among
# the standard set's 121 figures.

function gauss() {      # Box-Muller: one standard normal deviate
	return sqrt(-2 * log(1 - rand())) * cos(6.283185307179586 * rand())
}

function median(v, n,    i, j, t, w) {
	for (i = 1; i <= n; i++)
		w[i] = v[i]
	for (i = 2; i <= n; i++)          # insertion sort: n is small
		for (j = i; j > 1 && w[j - 1] > w[j]; j--) {
			t = w[j]; w[j] = w[j - 1]; w[j - 1] = t
		}
	return n % 2 ? w[(n + 1) / 2] : (w[n / 2] + w[n / 2 + 1]) / 2
}

# One run into v (1..R*r); returns its size.
function draw(v, R, r, sb,    k, i, b, n) {
	n = 0
	for (k = 0; k < R; k++) {
		b = sb * gauss()
		for (i = 0; i < r; i++)
			v[++n] = b + gauss()
	}
	return n
}

function fail_rate(R, r, sb, trials,    t, n, a, b, ma, mb, mina, maxa, minb, maxb, i, f) {
	f = 0
	for (t = 0; t < trials; t++) {
		n = draw(a, R, r, sb)
		draw(b, R, r, sb)
		mina = maxa = a[1]; minb = maxb = b[1]
		for (i = 2; i <= n; i++) {
			if (a[i] < mina) mina = a[i]; if (a[i] > maxa) maxa = a[i]
			if (b[i] < minb) minb = b[i]; if (b[i] > maxb) maxb = b[i]
		}
		ma = median(a, n); mb = median(b, n)
		if ((mb < mina || mb > maxa) && (ma < minb || ma > maxb))
			f++
	}
	return f / trials
}

function line(R, r, sb, trials,    p) {
	p = fail_rate(R, r, sb, trials)
	printf "R=%-2d r=%d sb=%-3s fails %5.1f %% of figures, %5.1f of 121\n", R, r, sb, 100 * p,
	       121 * p
}

BEGIN {
	srand(seed ? seed : 1)
	if (!trials)
		trials = 20000
	if (R && r) {
		line(R, r, sb + 0, trials)
		exit
	}
	split("3 2,3 3,4 3,5 2,5 3,6 2,6 3,8 2,10 2", cfg, ",")
	for (c = 1; c in cfg; c++) {
		split(cfg[c], x, " ")
		for (s = 0; s <= 2; s++)
			line(x[1] + 0, x[2] + 0, s, trials)
	}
}
