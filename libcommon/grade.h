/* Grading: the one implementation of every threshold and formula shown
 * to customers. README "Grading" documents the same numbers. */
#ifndef LQOS_GRADE_H
#define LQOS_GRADE_H

#include <stddef.h>

/* Points double as the enum values: A+ = 6 ... F = 1; NONE = not graded. */
enum lqos_grade {
	LQOS_GRADE_NONE = 0,
	LQOS_GRADE_F = 1,
	LQOS_GRADE_D = 2,
	LQOS_GRADE_C = 3,
	LQOS_GRADE_B = 4,
	LQOS_GRADE_A = 5,
	LQOS_GRADE_A_PLUS = 6,
};

/* "A+", "A", ... "F"; NULL for NONE. Static strings. */
const char *lqos_grade_name(enum lqos_grade g);

/* Parse "A+", "A", "B", "C", "D", "F" (exact, upper case). NONE if not. */
enum lqos_grade lqos_grade_parse(const char *text);

/* Latency-increase ladder: A+ < 5 ms, A < 30, B < 60, C < 200, D < 400,
 * F otherwise. Negative increases grade as 0. */
enum lqos_grade lqos_grade_latency_increase(double increase_ms);

/* Mean of the points of `n` grades, rounded half up, back to a letter,
 * but at most one letter better than the worst of them (A+, A+, F gives
 * D; A+, A+, D gives C). NONE entries are skipped; all NONE gives NONE. */
enum lqos_grade lqos_grade_combine(const enum lqos_grade *grades, size_t n);

/* 0..100: (mean points - 1) / 5 * 100, rounded. -1 when nothing graded. */
int lqos_grade_score(const enum lqos_grade *grades, size_t n);

/* The household's 0..100: lqos_grade_score(), but never above the score
 * of the overall grade lqos_grade_combine() gives (A+ 100, A 80, B 60,
 * C 40, D 20, F 0), so a score never reads better than its grade (Alex F
 * with the others A+ is D and 20, not 75). -1 when nothing graded. */
int lqos_grade_household_score(const enum lqos_grade *grades, size_t n);

/* Virtual household per-user grades. Each is the worse of its parts. */

/* Alex, gaming: latency increase (standard ladder) and jitter
 * (A+ < 2, A < 5, B < 10, C < 20, D < 40 ms, F otherwise) and packet loss
 * (A+ 0 %, A < 0.5, B < 1, C < 2.5, D < 5, F otherwise). */
enum lqos_grade lqos_grade_gaming(double latency_increase_ms, double jitter_ms, double loss_pct);

/* Sarah, video call: latency increase (standard ladder), jitter
 * (A+ < 5, A < 10, B < 20, C < 40, D < 80 ms, F otherwise) and the share of
 * the call's 2.5 Mbps each way actually delivered (A+ >= 98 %, A >= 95,
 * B >= 90, C >= 80, D >= 60, F below). */
enum lqos_grade lqos_grade_video_call(double latency_increase_ms, double jitter_ms,
				      double delivered_pct);

/* Jake, streaming: p90 of segment download time / segment play time
 * (A+ < 0.5, A < 0.75, B < 1.0, C < 1.5, D < 2.0, F otherwise); any
 * stall (the buffer ran dry) caps the grade at D. */
enum lqos_grade lqos_grade_streaming(double fetch_ratio_p90, long stalls);

/* Computer, background transfer: share of the spare capacity it got
 * (A+ >= 90 %, A >= 75, B >= 60, C >= 45, D >= 30, F below). */
enum lqos_grade lqos_grade_bulk(double spare_capacity_share_pct);

#endif
