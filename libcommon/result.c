#include "result.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Declared input: each accepted field once, with its path, kind and
 * bounds. The parser walks these tables; nothing else is read. */
enum field_kind {
	FIELD_NUMBER, /* JSON number within [lo, hi] */
	FIELD_GRADE, /* "A+".."F", or {"grade": "A+"} in the original client */
	FIELD_STRING, /* UTF-8 string, at most hi bytes */
};

struct field {
	const char *path; /* dot-separated inside the document */
	enum field_kind kind;
	double lo, hi;
	bool required;
	size_t offset; /* into struct lqos_result */
};

#define R(member) offsetof(struct lqos_result, member)
#define PH(p, member)                                                                              \
	(offsetof(struct lqos_result, phase) + (p) * sizeof(struct lqos_phase_metrics) +           \
	 offsetof(struct lqos_phase_metrics, member))
#define MBPS 0, 100000
#define MS 0, 60000
#define INC -60000, 60000

#define PHASE_FIELDS(name, p, req)                                                                 \
	{name ".throughput_mbps", FIELD_NUMBER, MBPS, req, PH(p, throughput_mbps)},                \
		{name ".latency_p50_ms", FIELD_NUMBER, MS, false, PH(p, latency_p50_ms)},          \
		{name ".latency_p90_ms", FIELD_NUMBER, MS, false, PH(p, latency_p90_ms)},          \
		{name ".latency_increase_ms", FIELD_NUMBER, INC, true,                             \
		 PH(p, latency_increase_ms)},                                                      \
	{                                                                                          \
		name ".jitter_ms", FIELD_NUMBER, MS, false, PH(p, jitter_ms)                       \
	}

static const struct field native_common[] = {
	{"test_duration_seconds", FIELD_NUMBER, 0, 3600, false, R(test_duration_seconds)},
	{"baseline_latency_ms", FIELD_NUMBER, MS, true, R(baseline_latency_ms)},
	{"server_name", FIELD_STRING, 0, 128, false, R(server_name)},
	{"protocol.probe", FIELD_STRING, 0, 16, false, R(protocol_probe)},
	{"protocol.load", FIELD_STRING, 0, 16, false, R(protocol_load)},
};

/* "protocol" is an object of two tokens from a short list (nextHopProtocol
 * values as the page reports them); anything else is a 400. */
static int check_protocol(json_t *root, const struct lqos_result *r, char *why, size_t whylen)
{
	static const char *const ok[] = {"http/1.0", "http/1.1", "h2",     "h3",
					 "mixed",    "other",    "unknown"};
	const char *vals[] = {r->protocol_probe, r->protocol_load};
	const char *names[] = {"protocol.probe", "protocol.load"};
	json_t *p = json_object_get(root, "protocol");

	if (p != NULL && !json_is_null(p) && !json_is_object(p)) {
		snprintf(why, whylen, "field 'protocol' must be an object");
		return -1;
	}
	for (size_t i = 0; i < 2; i++) {
		bool found = vals[i][0] == '\0';
		for (size_t j = 0; j < sizeof(ok) / sizeof(ok[0]) && !found; j++)
			found = strcmp(vals[i], ok[j]) == 0;
		if (!found) {
			snprintf(why, whylen, "field '%s' must be one of %s", names[i],
				 LQOS_PROTOCOLS);
			return -1;
		}
	}
	return 0;
}

static const struct field native_single[] = {
	PHASE_FIELDS("download", LQOS_PHASE_DOWNLOAD, true),
	PHASE_FIELDS("upload", LQOS_PHASE_UPLOAD, true),
};

/* Read only when the submission has a bidirectional phase at all. */
static const struct field native_bidirectional[] = {
	PHASE_FIELDS("bidirectional", LQOS_PHASE_BIDIRECTIONAL, true),
};

static const struct field native_household[] = {
	{"download_mbps", FIELD_NUMBER, MBPS, false, R(download_mbps)},
	{"upload_mbps", FIELD_NUMBER, MBPS, false, R(upload_mbps)},
	{"alex.latency_increase_ms", FIELD_NUMBER, INC, true, R(alex_latency_increase_ms)},
	{"alex.jitter_ms", FIELD_NUMBER, MS, true, R(alex_jitter_ms)},
	{"alex.loss_pct", FIELD_NUMBER, 0, 100, true, R(alex_loss_pct)},
	{"sarah.latency_increase_ms", FIELD_NUMBER, INC, true, R(sarah_latency_increase_ms)},
	{"sarah.jitter_ms", FIELD_NUMBER, MS, true, R(sarah_jitter_ms)},
	{"sarah.delivered_pct", FIELD_NUMBER, 0, 1000, true, R(sarah_delivered_pct)},
	{"jake.fetch_ratio_p90", FIELD_NUMBER, 0, 1000, true, R(jake_fetch_ratio_p90)},
	{"jake.stalls", FIELD_NUMBER, 0, 100000, true, R(jake_stalls)},
	{"computer.spare_capacity_share_pct", FIELD_NUMBER, 0, 1000, true,
	 R(computer_spare_share_pct)},
	{"computer.throughput_mbps", FIELD_NUMBER, MBPS, false, R(computer_throughput_mbps)},
};

static const struct field original_common[] = {
	{"results.metrics.test_duration_seconds", FIELD_NUMBER, 0, 3600, false,
	 R(test_duration_seconds)},
	{"results.metrics.baseline_latency_ms", FIELD_NUMBER, MS, false, R(baseline_latency_ms)},
	{"results.metrics.download_throughput_mbps", FIELD_NUMBER, MBPS, false, R(download_mbps)},
	{"results.metrics.upload_throughput_mbps", FIELD_NUMBER, MBPS, false, R(upload_mbps)},
	{"results.server_info.server_name", FIELD_STRING, 0, 128, false, R(server_name)},
	{"server_info.server_name", FIELD_STRING, 0, 128, false, R(server_name)},
};

static const struct field original_single[] = {
	{"results.metrics.download_latency_increase_ms", FIELD_NUMBER, INC, true,
	 PH(LQOS_PHASE_DOWNLOAD, latency_increase_ms)},
	{"results.metrics.upload_latency_increase_ms", FIELD_NUMBER, INC, true,
	 PH(LQOS_PHASE_UPLOAD, latency_increase_ms)},
	{"results.metrics.bidirectional_latency_increase_ms", FIELD_NUMBER, INC, true,
	 PH(LQOS_PHASE_BIDIRECTIONAL, latency_increase_ms)},
};

/* The original client's own letters are checked, never trusted. */
static const struct field original_letters[] = {
	{"results.grades.overall", FIELD_GRADE, 0, 0, false, 0},
	{"results.grades.download", FIELD_GRADE, 0, 0, false, 0},
	{"results.grades.upload", FIELD_GRADE, 0, 0, false, 0},
	{"results.grades.bidirectional", FIELD_GRADE, 0, 0, false, 0},
};

static const struct field original_household[] = {
	{"results.household_metrics.alex_performance", FIELD_GRADE, 0, 0, true,
	 R(user_letters) + LQOS_USER_ALEX * sizeof(enum lqos_grade)},
	{"results.household_metrics.sarah_performance", FIELD_GRADE, 0, 0, true,
	 R(user_letters) + LQOS_USER_SARAH * sizeof(enum lqos_grade)},
	{"results.household_metrics.jake_performance", FIELD_GRADE, 0, 0, true,
	 R(user_letters) + LQOS_USER_JAKE * sizeof(enum lqos_grade)},
	{"results.household_metrics.computer_performance", FIELD_GRADE, 0, 0, true,
	 R(user_letters) + LQOS_USER_COMPUTER * sizeof(enum lqos_grade)},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Follow a dotted path through objects; NULL when any step is absent. */
static json_t *json_path(json_t *root, const char *path)
{
	char key[64];
	const char *p = path;
	json_t *cur = root;

	while (cur != NULL && *p) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);

		if (!json_is_object(cur) || len >= sizeof(key))
			return NULL;
		memcpy(key, p, len);
		key[len] = '\0';
		cur = json_object_get(cur, key);
		p = dot ? dot + 1 : p + len;
	}
	return cur;
}

static int read_fields(json_t *root, const struct field *fields, size_t n, struct lqos_result *out,
		       char *why, size_t whylen)
{
	for (size_t i = 0; i < n; i++) {
		const struct field *f = &fields[i];
		json_t *v = json_path(root, f->path);
		char *dst = (char *)out + f->offset;

		if (v == NULL || json_is_null(v)) {
			if (f->required) {
				snprintf(why, whylen, "missing field '%s'", f->path);
				return -1;
			}
			continue;
		}
		switch (f->kind) {
		case FIELD_NUMBER: {
			double d;
			if (!json_is_number(v)) {
				snprintf(why, whylen, "field '%s' must be a number", f->path);
				return -1;
			}
			d = json_number_value(v);
			if (!isfinite(d) || d < f->lo || d > f->hi) {
				snprintf(why, whylen, "field '%s' must be between %g and %g",
					 f->path, f->lo, f->hi);
				return -1;
			}
			memcpy(dst, &d, sizeof(d));
			break;
		}
		case FIELD_STRING: {
			const char *s;
			if (!json_is_string(v)) {
				snprintf(why, whylen, "field '%s' must be a string", f->path);
				return -1;
			}
			s = json_string_value(v);
			if (json_string_length(v) > (size_t)f->hi) {
				snprintf(why, whylen, "field '%s' is longer than %g bytes", f->path,
					 f->hi);
				return -1;
			}
			for (const char *c = s; *c; c++) {
				if ((unsigned char)*c < 0x20 || *c == 0x7f) {
					snprintf(why, whylen,
						 "field '%s' contains control characters", f->path);
					return -1;
				}
			}
			memcpy(dst, s, strlen(s) + 1);
			break;
		}
		case FIELD_GRADE: {
			enum lqos_grade g;
			json_t *letter = v;
			if (json_is_object(v))
				letter = json_object_get(v, "grade");
			g = json_is_string(letter) ? lqos_grade_parse(json_string_value(letter))
						   : LQOS_GRADE_NONE;
			if (g == LQOS_GRADE_NONE) {
				snprintf(why, whylen,
					 "field '%s' must be a grade: A+, A, B, C, D or F",
					 f->path);
				return -1;
			}
			if (f->offset != 0)
				memcpy(dst, &g, sizeof(g));
			break;
		}
		}
	}
	return 0;
}

static void result_init(struct lqos_result *r)
{
	memset(r, 0, sizeof(*r));
	r->telemetry_enabled = true;
	r->test_duration_seconds = NAN;
	r->baseline_latency_ms = NAN;
	r->download_mbps = NAN;
	r->upload_mbps = NAN;
	for (int p = 0; p < LQOS_N_PHASES; p++) {
		r->phase[p].throughput_mbps = NAN;
		r->phase[p].latency_p50_ms = NAN;
		r->phase[p].latency_p90_ms = NAN;
		r->phase[p].latency_increase_ms = NAN;
		r->phase[p].jitter_ms = NAN;
	}
	r->alex_latency_increase_ms = r->alex_jitter_ms = r->alex_loss_pct = NAN;
	r->sarah_latency_increase_ms = r->sarah_jitter_ms = r->sarah_delivered_pct = NAN;
	r->jake_fetch_ratio_p90 = r->jake_stalls = NAN;
	r->computer_spare_share_pct = r->computer_throughput_mbps = NAN;
	r->single_user_score = -1;
	r->household_score = -1;
}

static int parse_test_type(json_t *v, const char *path, enum lqos_test_type *out, char *why,
			   size_t whylen)
{
	const char *s;

	if (v == NULL) {
		snprintf(why, whylen, "missing field '%s'", path);
		return -1;
	}
	s = json_is_string(v) ? json_string_value(v) : "";
	if (strcmp(s, "single_user") == 0 || strcmp(s, "single") == 0) {
		*out = LQOS_TEST_SINGLE_USER;
		return 0;
	}
	if (strcmp(s, "virtual_household") == 0 || strcmp(s, "household") == 0) {
		*out = LQOS_TEST_HOUSEHOLD;
		return 0;
	}
	snprintf(why, whylen, "field '%s' must be \"single_user\" or \"virtual_household\"", path);
	return -1;
}

static int parse_original(json_t *root, struct lqos_result *out, char *why, size_t whylen)
{
	json_t *results = json_object_get(root, "results");
	json_t *enabled = json_object_get(root, "telemetry_enabled");

	out->format = LQOS_FORMAT_ORIGINAL;
	if (!json_is_object(results)) {
		snprintf(why, whylen, "field 'results' must be an object");
		return -1;
	}
	if (enabled != NULL) {
		if (!json_is_boolean(enabled)) {
			snprintf(why, whylen, "field 'telemetry_enabled' must be true or false");
			return -1;
		}
		out->telemetry_enabled = json_is_true(enabled);
	}
	if (parse_test_type(json_object_get(results, "test_type"), "results.test_type", &out->type,
			    why, whylen) != 0)
		return -1;
	if (read_fields(root, original_common, N(original_common), out, why, whylen) != 0 ||
	    read_fields(root, original_letters, N(original_letters), out, why, whylen) != 0)
		return -1;
	if (out->type == LQOS_TEST_SINGLE_USER) {
		if (read_fields(root, original_single, N(original_single), out, why, whylen) != 0)
			return -1;
		out->phase[LQOS_PHASE_DOWNLOAD].throughput_mbps = out->download_mbps;
		out->phase[LQOS_PHASE_UPLOAD].throughput_mbps = out->upload_mbps;
		return 0;
	}
	return read_fields(root, original_household, N(original_household), out, why, whylen);
}

static int parse_native(json_t *root, struct lqos_result *out, char *why, size_t whylen)
{
	out->format = LQOS_FORMAT_NATIVE;
	if (parse_test_type(json_object_get(root, "test_type"), "test_type", &out->type, why,
			    whylen) != 0)
		return -1;
	if (read_fields(root, native_common, N(native_common), out, why, whylen) != 0 ||
	    check_protocol(root, out, why, whylen) != 0)
		return -1;
	if (out->type == LQOS_TEST_HOUSEHOLD)
		return read_fields(root, native_household, N(native_household), out, why, whylen);
	if (read_fields(root, native_single, N(native_single), out, why, whylen) != 0)
		return -1;
	if (json_object_get(root, "bidirectional") != NULL &&
	    !json_is_null(json_object_get(root, "bidirectional")) &&
	    read_fields(root, native_bidirectional, N(native_bidirectional), out, why, whylen) != 0)
		return -1;
	out->download_mbps = out->phase[LQOS_PHASE_DOWNLOAD].throughput_mbps;
	out->upload_mbps = out->phase[LQOS_PHASE_UPLOAD].throughput_mbps;
	return 0;
}

int lqos_result_parse(const char *body, size_t len, struct lqos_result *out, char *why,
		      size_t whylen)
{
	json_error_t err;
	json_t *root;
	int rc;

	result_init(out);
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
	if (root == NULL) {
		snprintf(why, whylen, "body is not valid JSON: %s (line %d, column %d)", err.text,
			 err.line, err.column);
		return -1;
	}
	if (!json_is_object(root)) {
		snprintf(why, whylen, "body must be a JSON object");
		json_decref(root);
		return -1;
	}
	if (json_object_get(root, "results") != NULL)
		rc = parse_original(root, out, why, whylen);
	else
		rc = parse_native(root, out, why, whylen);
	json_decref(root);
	return rc;
}

void lqos_result_grade(struct lqos_result *r)
{
	if (r->type == LQOS_TEST_SINGLE_USER) {
		for (int p = 0; p < LQOS_N_PHASES; p++) {
			double inc = r->phase[p].latency_increase_ms;
			if (isfinite(inc) && inc < 0)
				r->phase[p].latency_increase_ms = inc = 0;
			r->phase_grade[p] = lqos_grade_latency_increase(inc);
		}
		r->overall_grade = lqos_grade_combine(r->phase_grade, LQOS_N_PHASES);
		r->single_user_score = lqos_grade_score(r->phase_grade, LQOS_N_PHASES);
		return;
	}
	if (r->format == LQOS_FORMAT_ORIGINAL) {
		memcpy(r->user_grade, r->user_letters, sizeof(r->user_grade));
	} else {
		r->user_grade[LQOS_USER_ALEX] = lqos_grade_gaming(
			r->alex_latency_increase_ms, r->alex_jitter_ms, r->alex_loss_pct);
		r->user_grade[LQOS_USER_SARAH] = lqos_grade_video_call(
			r->sarah_latency_increase_ms, r->sarah_jitter_ms, r->sarah_delivered_pct);
		r->user_grade[LQOS_USER_JAKE] =
			lqos_grade_streaming(r->jake_fetch_ratio_p90, (long)r->jake_stalls);
		r->user_grade[LQOS_USER_COMPUTER] = lqos_grade_bulk(r->computer_spare_share_pct);
	}
	r->overall_grade = lqos_grade_combine(r->user_grade, LQOS_N_USERS);
	r->household_score = lqos_grade_household_score(r->user_grade, LQOS_N_USERS);
}

const char *lqos_test_type_name(enum lqos_test_type t)
{
	return t == LQOS_TEST_HOUSEHOLD ? "virtual_household" : "single_user";
}

static json_t *grade_or_null(enum lqos_grade g)
{
	const char *name = lqos_grade_name(g);

	return name ? json_string(name) : json_null();
}

static json_t *num_or_null(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

json_t *lqos_result_grades_json(const struct lqos_result *r)
{
	json_t *g = json_object();

	json_object_set_new(g, "overall", grade_or_null(r->overall_grade));
	if (r->type == LQOS_TEST_SINGLE_USER) {
		json_object_set_new(g, "download",
				    grade_or_null(r->phase_grade[LQOS_PHASE_DOWNLOAD]));
		json_object_set_new(g, "upload", grade_or_null(r->phase_grade[LQOS_PHASE_UPLOAD]));
		json_object_set_new(g, "bidirectional",
				    grade_or_null(r->phase_grade[LQOS_PHASE_BIDIRECTIONAL]));
		json_object_set_new(g, "single_user_score", json_integer(r->single_user_score));
	} else {
		json_object_set_new(g, "alex", grade_or_null(r->user_grade[LQOS_USER_ALEX]));
		json_object_set_new(g, "sarah", grade_or_null(r->user_grade[LQOS_USER_SARAH]));
		json_object_set_new(g, "jake", grade_or_null(r->user_grade[LQOS_USER_JAKE]));
		json_object_set_new(g, "computer",
				    grade_or_null(r->user_grade[LQOS_USER_COMPUTER]));
		json_object_set_new(g, "household_score", json_integer(r->household_score));
	}
	return g;
}

/* Responsiveness in round trips per minute, as networkQuality reports it:
 * 60000 / the loaded median round trip in ms (rounded; null without one). */
static json_t *rpm_or_null(double p50)
{
	return isfinite(p50) && p50 > 0 ? json_integer((json_int_t)lround(60000.0 / p50))
					: json_null();
}

static json_t *phase_json(const struct lqos_phase_metrics *p, enum lqos_grade g)
{
	return json_pack(
		"{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "throughput_mbps",
		num_or_null(p->throughput_mbps), "latency_p50_ms", num_or_null(p->latency_p50_ms),
		"latency_p90_ms", num_or_null(p->latency_p90_ms), "latency_increase_ms",
		num_or_null(p->latency_increase_ms), "jitter_ms", num_or_null(p->jitter_ms),
		"responsiveness_rpm", rpm_or_null(p->latency_p50_ms), "grade", grade_or_null(g));
}

/* One virtual user's measurements (two or three; k3 may be NULL) and
 * grade, in that order. */
static json_t *user_json(const struct lqos_result *r, int u, const char *k1, double v1,
			 const char *k2, double v2, const char *k3, double v3)
{
	json_t *o = json_object();

	json_object_set_new(o, k1, num_or_null(v1));
	json_object_set_new(o, k2, num_or_null(v2));
	if (k3 != NULL)
		json_object_set_new(o, k3, num_or_null(v3));
	json_object_set_new(o, "grade", grade_or_null(r->user_grade[u]));
	return o;
}

json_t *lqos_result_details_json(const struct lqos_result *r)
{
	json_t *d = json_pack("{s:s, s:s, s:o, s:o}", "format",
			      r->format == LQOS_FORMAT_NATIVE ? "native" : "original", "test_type",
			      lqos_test_type_name(r->type), "baseline_latency_ms",
			      num_or_null(r->baseline_latency_ms), "test_duration_seconds",
			      num_or_null(r->test_duration_seconds));

	if (r->protocol_probe[0] != '\0' || r->protocol_load[0] != '\0')
		json_object_set_new(d, "protocol",
				    json_pack("{s:s, s:s}", "probe",
					      r->protocol_probe[0] ? r->protocol_probe : "unknown",
					      "load",
					      r->protocol_load[0] ? r->protocol_load : "unknown"));
	if (r->type == LQOS_TEST_SINGLE_USER) {
		json_object_set_new(d, "download",
				    phase_json(&r->phase[LQOS_PHASE_DOWNLOAD],
					       r->phase_grade[LQOS_PHASE_DOWNLOAD]));
		json_object_set_new(d, "upload",
				    phase_json(&r->phase[LQOS_PHASE_UPLOAD],
					       r->phase_grade[LQOS_PHASE_UPLOAD]));
		json_object_set_new(d, "bidirectional",
				    phase_json(&r->phase[LQOS_PHASE_BIDIRECTIONAL],
					       r->phase_grade[LQOS_PHASE_BIDIRECTIONAL]));
	} else if (r->format == LQOS_FORMAT_NATIVE) {
		json_object_set_new(d, "alex",
				    user_json(r, LQOS_USER_ALEX, "latency_increase_ms",
					      r->alex_latency_increase_ms, "jitter_ms",
					      r->alex_jitter_ms, "loss_pct", r->alex_loss_pct));
		json_object_set_new(d, "sarah",
				    user_json(r, LQOS_USER_SARAH, "latency_increase_ms",
					      r->sarah_latency_increase_ms, "jitter_ms",
					      r->sarah_jitter_ms, "delivered_pct",
					      r->sarah_delivered_pct));
		json_object_set_new(d, "jake",
				    user_json(r, LQOS_USER_JAKE, "fetch_ratio_p90",
					      r->jake_fetch_ratio_p90, "stalls", r->jake_stalls,
					      NULL, 0));
		json_object_set_new(d, "computer",
				    user_json(r, LQOS_USER_COMPUTER, "spare_capacity_share_pct",
					      r->computer_spare_share_pct, "throughput_mbps",
					      r->computer_throughput_mbps, NULL, 0));
	}
	return d;
}
