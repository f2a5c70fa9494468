#include "grade.h"

#include <math.h>
#include <string.h>

static const char *const grade_names[] = {NULL, "F", "D", "C", "B", "A", "A+"};

const char *lqos_grade_name(enum lqos_grade g)
{
	if (g < LQOS_GRADE_F || g > LQOS_GRADE_A_PLUS)
		return NULL;
	return grade_names[g];
}

enum lqos_grade lqos_grade_parse(const char *text)
{
	if (text == NULL)
		return LQOS_GRADE_NONE;
	for (int g = LQOS_GRADE_F; g <= LQOS_GRADE_A_PLUS; g++)
		if (strcmp(text, grade_names[g]) == 0)
			return (enum lqos_grade)g;
	return LQOS_GRADE_NONE;
}

/* A ladder of five upper bounds for A+..D; at or above the last is F.
 * `lower_is_better` false flips the comparison for shares. */
static enum lqos_grade ladder(double value, const double bounds[5], int lower_is_better)
{
	for (int i = 0; i < 5; i++) {
		int better = lower_is_better ? value < bounds[i] : value >= bounds[i];
		if (better)
			return (enum lqos_grade)(LQOS_GRADE_A_PLUS - i);
	}
	return LQOS_GRADE_F;
}

static const double latency_ladder[5] = {5, 30, 60, 200, 400};

enum lqos_grade lqos_grade_latency_increase(double increase_ms)
{
	if (!isfinite(increase_ms))
		return LQOS_GRADE_NONE;
	if (increase_ms < 0)
		increase_ms = 0;
	return ladder(increase_ms, latency_ladder, 1);
}

static double mean_points(const enum lqos_grade *grades, size_t n, size_t *counted)
{
	double sum = 0;

	*counted = 0;
	for (size_t i = 0; i < n; i++) {
		if (grades[i] == LQOS_GRADE_NONE)
			continue;
		sum += (double)grades[i];
		(*counted)++;
	}
	return *counted ? sum / (double)*counted : 0;
}

enum lqos_grade lqos_grade_combine(const enum lqos_grade *grades, size_t n)
{
	size_t counted;
	double mean = mean_points(grades, n, &counted);

	enum lqos_grade g, low = LQOS_GRADE_NONE;

	if (counted == 0)
		return LQOS_GRADE_NONE;
	/* Half up: a mean of 4.5 (A and B) is an A. The 1e-9 guards 4.4999... */
	g = (enum lqos_grade)(int)floor(mean + 0.5 + 1e-9);
	/* At most one letter better than the worst part: a mean would let two
	 * good parts hide a failed one (A+, A+, F has a mean of C). */
	for (size_t i = 0; i < n; i++)
		if (grades[i] != LQOS_GRADE_NONE && (low == LQOS_GRADE_NONE || grades[i] < low))
			low = grades[i];
	if (g > low + 1)
		g = (enum lqos_grade)(low + 1);
	return g;
}

int lqos_grade_score(const enum lqos_grade *grades, size_t n)
{
	size_t counted;
	double mean = mean_points(grades, n, &counted);

	if (counted == 0)
		return -1;
	return (int)floor((mean - 1.0) / 5.0 * 100.0 + 0.5 + 1e-9);
}

int lqos_grade_household_score(const enum lqos_grade *grades, size_t n)
{
	int mean = lqos_grade_score(grades, n);
	enum lqos_grade overall = lqos_grade_combine(grades, n);
	int cap;

	if (mean < 0)
		return -1;
	cap = ((int)overall - 1) * 20;
	return mean < cap ? mean : cap;
}

static enum lqos_grade worst(enum lqos_grade a, enum lqos_grade b)
{
	if (a == LQOS_GRADE_NONE)
		return b;
	if (b == LQOS_GRADE_NONE)
		return a;
	return a < b ? a : b;
}

static enum lqos_grade ladder_checked(double v, const double bounds[5], int lower_is_better)
{
	if (!isfinite(v))
		return LQOS_GRADE_NONE;
	if (v < 0)
		v = 0;
	return ladder(v, bounds, lower_is_better);
}

enum lqos_grade lqos_grade_gaming(double latency_increase_ms, double jitter_ms, double loss_pct)
{
	static const double jitter[5] = {2, 5, 10, 20, 40};
	static const double loss[5] = {0.0001, 0.5, 1, 2.5, 5};
	enum lqos_grade g = lqos_grade_latency_increase(latency_increase_ms);

	g = worst(g, ladder_checked(jitter_ms, jitter, 1));
	return worst(g, ladder_checked(loss_pct, loss, 1));
}

enum lqos_grade lqos_grade_video_call(double latency_increase_ms, double jitter_ms,
				      double delivered_pct)
{
	static const double jitter[5] = {5, 10, 20, 40, 80};
	static const double delivered[5] = {98, 95, 90, 80, 60};
	enum lqos_grade g = lqos_grade_latency_increase(latency_increase_ms);

	g = worst(g, ladder_checked(jitter_ms, jitter, 1));
	return worst(g, ladder_checked(delivered_pct, delivered, 0));
}

enum lqos_grade lqos_grade_streaming(double fetch_ratio_p90, long stalls)
{
	/* Below 1 a segment arrives before the one before it has played, so the
	 * buffer never shrinks (B); 0.75 and 0.5 leave the player room to keep
	 * or raise the quality (A, A+); above 1 the buffer drains, at 1.5 a 6 s
	 * buffer is gone in 12 s (C), at 2 in 6 s (D). README Grading. */
	static const double ratio[5] = {0.5, 0.75, 1.0, 1.5, 2.0};
	enum lqos_grade g = ladder_checked(fetch_ratio_p90, ratio, 1);

	if (stalls > 0 && g > LQOS_GRADE_D)
		g = LQOS_GRADE_D;
	return g;
}

enum lqos_grade lqos_grade_bulk(double spare_capacity_share_pct)
{
	static const double share[5] = {90, 75, 60, 45, 30};

	return ladder_checked(spare_capacity_share_pct, share, 0);
}
