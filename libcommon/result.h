/* A submitted test result: parsing and validation of both accepted
 * formats (this project's and the original LibreQoS client's), then
 * grading on the server. */
#ifndef LQOS_RESULT_H
#define LQOS_RESULT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "grade.h"

enum lqos_test_type {
	LQOS_TEST_SINGLE_USER,
	LQOS_TEST_HOUSEHOLD,
};

enum lqos_result_format {
	LQOS_FORMAT_NATIVE, /* this project's browser test */
	LQOS_FORMAT_ORIGINAL, /* the original LibreQoS client */
};

enum { LQOS_PHASE_DOWNLOAD, LQOS_PHASE_UPLOAD, LQOS_PHASE_BIDIRECTIONAL, LQOS_N_PHASES };
enum { LQOS_USER_ALEX, LQOS_USER_SARAH, LQOS_USER_JAKE, LQOS_USER_COMPUTER, LQOS_N_USERS };

/* Every double is NAN when the submission did not carry it. */
struct lqos_phase_metrics {
	double throughput_mbps;
	double latency_p50_ms;
	double latency_p90_ms;
	double latency_increase_ms;
	double jitter_ms;
};

struct lqos_result {
	enum lqos_test_type type;
	enum lqos_result_format format;
	bool telemetry_enabled; /* original client may opt out */
	double test_duration_seconds;
	double baseline_latency_ms;
	double download_mbps;
	double upload_mbps;
	struct lqos_phase_metrics phase[LQOS_N_PHASES];
	/* Household metrics (native format). */
	double alex_latency_increase_ms, alex_jitter_ms, alex_loss_pct;
	double sarah_latency_increase_ms, sarah_jitter_ms, sarah_delivered_pct;
	double jake_fetch_ratio_p90, jake_stalls;
	double computer_spare_share_pct, computer_throughput_mbps;
	/* Household letters (original format). */
	enum lqos_grade user_letters[LQOS_N_USERS];
	char server_name[129];
	/* The HTTP protocol the page's probes and load used, as Resource
	 * Timing's nextHopProtocol reported it: one of LQOS_PROTOCOLS, or ""
	 * when the client did not say. */
	char protocol_probe[17];
	char protocol_load[17];

	/* Filled by lqos_result_grade(). */
	enum lqos_grade phase_grade[LQOS_N_PHASES];
	enum lqos_grade user_grade[LQOS_N_USERS];
	enum lqos_grade overall_grade;
	int single_user_score; /* -1 when not a single-user test */
	int household_score; /* -1 when not a household test */
};

/* Parse and validate `len` bytes of JSON. Returns 0, or -1 with a
 * message a person can act on in `why` (naming the field). Nothing is
 * allocated in `out`. */
int lqos_result_parse(const char *body, size_t len, struct lqos_result *out, char *why,
		      size_t whylen);

/* Compute every grade and score from the metrics (SPEC section 6). */
void lqos_result_grade(struct lqos_result *r);

/* "single_user" or "virtual_household". */
const char *lqos_test_type_name(enum lqos_test_type t);

/* A JSON object of the grades as the API returns them. New reference. */
json_t *lqos_result_grades_json(const struct lqos_result *r);

/* A JSON object with every measurement the result carries (the stored
 * summary). New reference. */
/* Tokens accepted in "protocol": {"probe": ..., "load": ...}. */
#define LQOS_PROTOCOLS "http/1.0, http/1.1, h2, h3, mixed, other or unknown"

json_t *lqos_result_details_json(const struct lqos_result *r);

#endif
