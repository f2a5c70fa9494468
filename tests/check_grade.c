/* Grading: every boundary of every ladder, and the combining formulas. */
#include <math.h>

#include "libcommon/grade.h"
#include "testutil.h"

#define G(x) LQOS_GRADE_##x

START_TEST(latency_ladder_boundaries)
{
	ck_assert_int_eq(lqos_grade_latency_increase(0), G(A_PLUS));
	ck_assert_int_eq(lqos_grade_latency_increase(4.999), G(A_PLUS));
	ck_assert_int_eq(lqos_grade_latency_increase(5), G(A));
	ck_assert_int_eq(lqos_grade_latency_increase(29.99), G(A));
	ck_assert_int_eq(lqos_grade_latency_increase(30), G(B));
	ck_assert_int_eq(lqos_grade_latency_increase(59.99), G(B));
	ck_assert_int_eq(lqos_grade_latency_increase(60), G(C));
	ck_assert_int_eq(lqos_grade_latency_increase(199.99), G(C));
	ck_assert_int_eq(lqos_grade_latency_increase(200), G(D));
	ck_assert_int_eq(lqos_grade_latency_increase(399.99), G(D));
	ck_assert_int_eq(lqos_grade_latency_increase(400), G(F));
	ck_assert_int_eq(lqos_grade_latency_increase(60000), G(F));
}
END_TEST

START_TEST(latency_negative_and_nonfinite)
{
	ck_assert_int_eq(lqos_grade_latency_increase(-12), G(A_PLUS));
	ck_assert_int_eq(lqos_grade_latency_increase(NAN), G(NONE));
	ck_assert_int_eq(lqos_grade_latency_increase(INFINITY), G(NONE));
}
END_TEST

START_TEST(names_round_trip)
{
	for (int g = G(F); g <= G(A_PLUS); g++)
		ck_assert_int_eq(lqos_grade_parse(lqos_grade_name((enum lqos_grade)g)), g);
	ck_assert_str_eq(lqos_grade_name(G(A_PLUS)), "A+");
	ck_assert_ptr_null(lqos_grade_name(G(NONE)));
	ck_assert_int_eq(lqos_grade_parse("a"), G(NONE));
	ck_assert_int_eq(lqos_grade_parse("E"), G(NONE));
	ck_assert_int_eq(lqos_grade_parse("A+ "), G(NONE));
	ck_assert_int_eq(lqos_grade_parse(""), G(NONE));
	ck_assert_int_eq(lqos_grade_parse(NULL), G(NONE));
}
END_TEST

START_TEST(combine_rounds_half_up)
{
	enum lqos_grade all_a_plus[3] = {G(A_PLUS), G(A_PLUS), G(A_PLUS)};
	enum lqos_grade a_b[2] = {G(A), G(B)}; /* 4.5 -> A */
	enum lqos_grade c_b_b[3] = {G(C), G(B), G(B)}; /* 3.67 -> B */
	enum lqos_grade c_c_b[3] = {G(C), G(C), G(B)}; /* 3.33 -> C */
	enum lqos_grade f_f_d[3] = {G(F), G(F), G(D)}; /* 1.33 -> F */
	enum lqos_grade none[2] = {G(NONE), G(NONE)};
	enum lqos_grade skip[3] = {G(NONE), G(A), G(A)};

	ck_assert_int_eq(lqos_grade_combine(all_a_plus, 3), G(A_PLUS));
	ck_assert_int_eq(lqos_grade_combine(a_b, 2), G(A));
	ck_assert_int_eq(lqos_grade_combine(c_b_b, 3), G(B));
	ck_assert_int_eq(lqos_grade_combine(c_c_b, 3), G(C));
	ck_assert_int_eq(lqos_grade_combine(f_f_d, 3), G(F));
	ck_assert_int_eq(lqos_grade_combine(none, 2), G(NONE));
	ck_assert_int_eq(lqos_grade_combine(skip, 3), G(A));
}
END_TEST

START_TEST(combine_at_most_one_better_than_worst)
{
	enum lqos_grade top_top_f[3] = {G(A_PLUS), G(A_PLUS), G(F)}; /* mean 4.33 (B) */
	enum lqos_grade top_top_d[3] = {G(A_PLUS), G(A_PLUS), G(D)}; /* mean 4.67 (A) */
	enum lqos_grade top_top_c[3] = {G(A_PLUS), G(A_PLUS), G(C)}; /* mean 5 (A) */
	enum lqos_grade top_top_b[3] = {G(A_PLUS), G(A_PLUS), G(B)}; /* mean 5.33 (A) */
	enum lqos_grade top_a[3] = {G(A_PLUS), G(A_PLUS), G(A)}; /* mean 5.67 (A+) */
	enum lqos_grade users[4] = {G(A_PLUS), G(A_PLUS), G(A_PLUS), G(F)}; /* 4.75 (A) */
	enum lqos_grade skip[3] = {G(NONE), G(A_PLUS), G(D)}; /* NONE is not the worst */

	ck_assert_int_eq(lqos_grade_combine(top_top_f, 3), G(D));
	ck_assert_int_eq(lqos_grade_combine(top_top_d, 3), G(C));
	ck_assert_int_eq(lqos_grade_combine(top_top_c, 3), G(B));
	ck_assert_int_eq(lqos_grade_combine(top_top_b, 3), G(A));
	ck_assert_int_eq(lqos_grade_combine(top_a, 3), G(A_PLUS));
	ck_assert_int_eq(lqos_grade_combine(users, 4), G(D));
	ck_assert_int_eq(lqos_grade_combine(skip, 3), G(C));
	/* The score stays the mean: A+, A+, F is 67, not a D's 20. */
	ck_assert_int_eq(lqos_grade_score(top_top_f, 3), 67);
	ck_assert_int_eq(lqos_grade_score(users, 4), 75);
}
END_TEST

START_TEST(household_score_never_above_its_grade)
{
	enum lqos_grade users[4] = {G(A_PLUS), G(A_PLUS), G(A_PLUS), G(F)}; /* D, mean 75 */
	enum lqos_grade bloated[4] = {G(F), G(D), G(B), G(A_PLUS)}; /* D, mean 45 */
	enum lqos_grade lean[4] = {G(A_PLUS), G(A_PLUS), G(A), G(A)}; /* A+, mean 90 */
	enum lqos_grade worst_b[4] = {G(B), G(A_PLUS), G(A_PLUS), G(A_PLUS)}; /* A, mean 90 */
	enum lqos_grade all_f[4] = {G(F), G(F), G(F), G(F)};
	enum lqos_grade none[4] = {G(NONE), G(NONE), G(NONE), G(NONE)};

	ck_assert_int_eq(lqos_grade_household_score(users, 4), 20);
	ck_assert_int_eq(lqos_grade_household_score(bloated, 4), 20);
	ck_assert_int_eq(lqos_grade_household_score(lean, 4), 90);
	ck_assert_int_eq(lqos_grade_household_score(worst_b, 4), 80);
	ck_assert_int_eq(lqos_grade_household_score(all_f, 4), 0);
	ck_assert_int_eq(lqos_grade_household_score(none, 4), -1);
}
END_TEST

START_TEST(score_formula)
{
	enum lqos_grade top[3] = {G(A_PLUS), G(A_PLUS), G(A_PLUS)};
	enum lqos_grade bottom[3] = {G(F), G(F), G(F)};
	enum lqos_grade mixed[3] = {G(C), G(A), G(B)}; /* mean 4 -> 60 */
	enum lqos_grade thirds[3] = {G(A_PLUS), G(A), G(A)}; /* 5.33 -> 86.67 -> 87 */
	enum lqos_grade none[1] = {G(NONE)};

	ck_assert_int_eq(lqos_grade_score(top, 3), 100);
	ck_assert_int_eq(lqos_grade_score(bottom, 3), 0);
	ck_assert_int_eq(lqos_grade_score(mixed, 3), 60);
	ck_assert_int_eq(lqos_grade_score(thirds, 3), 87);
	ck_assert_int_eq(lqos_grade_score(none, 1), -1);
}
END_TEST

START_TEST(gaming_is_worst_of_parts)
{
	ck_assert_int_eq(lqos_grade_gaming(1, 1, 0), G(A_PLUS));
	ck_assert_int_eq(lqos_grade_gaming(1, 2, 0), G(A)); /* jitter 2 -> A */
	ck_assert_int_eq(lqos_grade_gaming(1, 1, 0.5), G(B)); /* loss 0.5 -> B */
	ck_assert_int_eq(lqos_grade_gaming(250, 1, 0), G(D)); /* latency */
	ck_assert_int_eq(lqos_grade_gaming(1, 40, 0), G(F)); /* jitter 40 -> F */
	ck_assert_int_eq(lqos_grade_gaming(1, 39.9, 4.99), G(D));
	ck_assert_int_eq(lqos_grade_gaming(1, 1, 5), G(F));
}
END_TEST

START_TEST(video_call_boundaries)
{
	ck_assert_int_eq(lqos_grade_video_call(0, 0, 100), G(A_PLUS));
	ck_assert_int_eq(lqos_grade_video_call(0, 0, 98), G(A_PLUS));
	ck_assert_int_eq(lqos_grade_video_call(0, 0, 97.9), G(A));
	ck_assert_int_eq(lqos_grade_video_call(0, 0, 95), G(A));
	ck_assert_int_eq(lqos_grade_video_call(0, 0, 90), G(B));
	ck_assert_int_eq(lqos_grade_video_call(0, 0, 80), G(C));
	ck_assert_int_eq(lqos_grade_video_call(0, 0, 60), G(D));
	ck_assert_int_eq(lqos_grade_video_call(0, 0, 59.9), G(F));
	ck_assert_int_eq(lqos_grade_video_call(0, 5, 100), G(A));
	ck_assert_int_eq(lqos_grade_video_call(0, 80, 100), G(F));
	ck_assert_int_eq(lqos_grade_video_call(65, 0, 100), G(C));
}
END_TEST

START_TEST(streaming_boundaries)
{
	ck_assert_int_eq(lqos_grade_streaming(0.1, 0), G(A_PLUS));
	ck_assert_int_eq(lqos_grade_streaming(0.499, 0), G(A_PLUS));
	ck_assert_int_eq(lqos_grade_streaming(0.5, 0), G(A));
	ck_assert_int_eq(lqos_grade_streaming(0.75, 0), G(B));
	ck_assert_int_eq(lqos_grade_streaming(0.999, 0), G(B)); /* keeps up */
	ck_assert_int_eq(lqos_grade_streaming(1.0, 0), G(C));
	ck_assert_int_eq(lqos_grade_streaming(1.5, 0), G(D));
	ck_assert_int_eq(lqos_grade_streaming(2.0, 0), G(F));
	ck_assert_int_eq(lqos_grade_streaming(0.1, 1), G(D)); /* a stall caps at D */
	ck_assert_int_eq(lqos_grade_streaming(2.0, 3), G(F));
}
END_TEST

START_TEST(bulk_boundaries)
{
	ck_assert_int_eq(lqos_grade_bulk(100), G(A_PLUS));
	ck_assert_int_eq(lqos_grade_bulk(90), G(A_PLUS));
	ck_assert_int_eq(lqos_grade_bulk(89.9), G(A));
	ck_assert_int_eq(lqos_grade_bulk(75), G(A));
	ck_assert_int_eq(lqos_grade_bulk(60), G(B));
	ck_assert_int_eq(lqos_grade_bulk(45), G(C));
	ck_assert_int_eq(lqos_grade_bulk(30), G(D));
	ck_assert_int_eq(lqos_grade_bulk(29.9), G(F));
	ck_assert_int_eq(lqos_grade_bulk(NAN), G(NONE));
}
END_TEST

static Suite *grade_suite(void)
{
	Suite *s = suite_create("grade");
	TCase *tc = tcase_create("ladders");

	tcase_add_test(tc, latency_ladder_boundaries);
	tcase_add_test(tc, latency_negative_and_nonfinite);
	tcase_add_test(tc, names_round_trip);
	tcase_add_test(tc, combine_rounds_half_up);
	tcase_add_test(tc, combine_at_most_one_better_than_worst);
	tcase_add_test(tc, household_score_never_above_its_grade);
	tcase_add_test(tc, score_formula);
	tcase_add_test(tc, gaming_is_worst_of_parts);
	tcase_add_test(tc, video_call_boundaries);
	tcase_add_test(tc, streaming_boundaries);
	tcase_add_test(tc, bulk_boundaries);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return lqos_test_run(grade_suite());
}
