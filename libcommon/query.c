#include "query.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "http.h"
#include "rows.h"
#include "store.h"
#include "store_backend.h"

int lqos_filter_set_prefix(struct lqos_filter *f, const char *text, char *canonical,
			   size_t canonical_len)
{
	struct lqos_cidr c;
	char addr[LQOS_IP_STRLEN];
	size_t n, bits;

	if (lqos_cidr_parse(text, &c) != 0 ||
	    inet_ntop(c.family, c.addr, addr, sizeof(addr)) == NULL)
		return -1;
	n = c.family == AF_INET ? 4 : 16;
	bits = n * 8;
	f->lo[0] = f->hi[0] = c.family == AF_INET ? 4 : 6;
	memcpy(f->lo + 1, c.addr, n);
	memcpy(f->hi + 1, c.addr, n);
	for (size_t bit = c.prefix; bit < bits; bit++)
		f->hi[1 + bit / 8] |= (uint8_t)(0x80u >> (bit % 8));
	f->blob_len = n + 1;
	f->has_range = true;
	if (strchr(text, '/') != NULL)
		snprintf(canonical, canonical_len, "%s/%u", addr, c.prefix);
	else
		snprintf(canonical, canonical_len, "%s", addr);
	return 0;
}

static int digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int lqos_parse_iso8601(const char *text, char out[32])
{
	struct tm tm = {0};
	const char *p = text;
	int year, mon, day, hour = 0, min = 0, sec = 0, ms = 0, off = 0;
	time_t t;

	if (digits(&p, 4, &year) || *p++ != '-' || digits(&p, 2, &mon) || *p++ != '-' ||
	    digits(&p, 2, &day))
		return -1;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (digits(&p, 2, &hour) || *p++ != ':' || digits(&p, 2, &min))
			return -1;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &sec))
				return -1;
			if (*p == '.') {
				int scale = 100;
				p++;
				if (*p < '0' || *p > '9')
					return -1;
				while (*p >= '0' && *p <= '9') {
					ms += (*p - '0') * scale;
					scale /= 10;
					p++;
				}
			}
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p == '-' ? -1 : 1, oh, om;
			p++;
			if (digits(&p, 2, &oh))
				return -1;
			if (*p == ':')
				p++;
			if (digits(&p, 2, &om) || oh > 23 || om > 59)
				return -1;
			off = sign * (oh * 3600 + om * 60);
		}
	}
	if (*p != '\0' || year < 1970 || year > 9999 || mon < 1 || mon > 12 || day < 1 ||
	    day > 31 || hour > 23 || min > 59 || sec > 60)
		return -1;
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	t = timegm(&tm);
	/* timegm normalises 31 February into March: reject such dates. */
	if (tm.tm_mday != day || tm.tm_mon != mon - 1)
		return -1;
	t -= off;
	gmtime_r(&t, &tm);
	snprintf(out, 32, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ",
		 (unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)(tm.tm_mon + 1) % 100u,
		 (unsigned)tm.tm_mday % 100u, (unsigned)tm.tm_hour % 100u,
		 (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u, (unsigned)ms % 1000u);
	return 0;
}

static int parse_grades(const char *text, struct lqos_filter *f)
{
	char buf[64];
	char *save = NULL;

	if (strlen(text) >= sizeof(buf) || text[0] == '\0')
		return -1;
	strcpy(buf, text);
	f->n_grades = 0;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		enum lqos_grade g = lqos_grade_parse(tok);
		if (g == LQOS_GRADE_NONE || f->n_grades >= 6)
			return -1;
		f->grades[f->n_grades++] = g;
	}
	return f->n_grades > 0 ? 0 : -1;
}

/* A since= or until= parameter into `out` (the stored form). Returns 2
 * for a bare date, 1 for a time, 0 when not given, -1 with `why` when it
 * is not an ISO-8601 date or time. */
static int time_param(const char *query, const char *name, const char *example, char out[32],
		      char *why, size_t whylen)
{
	char value[128];
	int found = lqos_query_get(query, name, value, sizeof(value));

	if (found < 0 || (found == 1 && lqos_parse_iso8601(value, out) != 0)) {
		snprintf(why, whylen,
			 "parameter '%s' must be an ISO-8601 date or time, "
			 "e.g. %s or %sT12:00:00Z (in a URL write + as %%2B)",
			 name, example, example);
		return -1;
	}
	return found == 1 && strlen(value) == 10 ? 2 : found;
}

int lqos_filter_parse(const char *query, struct lqos_filter *f, char *why, size_t whylen)
{
	char value[128];
	int found;

	memset(f, 0, sizeof(*f));
	found = lqos_query_get(query, "grade", value, sizeof(value));
	if (found < 0 || (found == 1 && parse_grades(value, f) != 0)) {
		snprintf(why, whylen,
			 "parameter 'grade' must be a comma-separated list of "
			 "A+, A, B, C, D, F (write A+ as A%%2B)");
		return -1;
	}
	found = lqos_query_get(query, "test_type", value, sizeof(value));
	if (found == 1 && strcmp(value, "single_user") == 0)
		f->test_type = "single_user";
	else if (found == 1 && strcmp(value, "virtual_household") == 0)
		f->test_type = "virtual_household";
	else if (found != 0) {
		snprintf(why, whylen,
			 "parameter 'test_type' must be single_user or virtual_household");
		return -1;
	}
	if (time_param(query, "since", "2025-06-12", f->since, why, whylen) < 0)
		return -1;
	found = time_param(query, "until", "2025-06-19", f->until, why, whylen);
	if (found < 0)
		return -1;
	/* A bare date ends with its day: until=2025-06-19 keeps the 19th. */
	if (found == 2)
		memcpy(f->until + 10, "T23:59:59.999Z", sizeof("T23:59:59.999Z"));
	if (f->since[0] && f->until[0] && strcmp(f->since, f->until) > 0) {
		snprintf(why, whylen, "parameter 'since' is after 'until'");
		return -1;
	}
	found = lqos_query_get(query, "format", value, sizeof(value));
	if (found == 1 && strcmp(value, "csv") == 0)
		f->csv = true;
	else if (found != 0 && !(found == 1 && strcmp(value, "json") == 0)) {
		snprintf(why, whylen, "parameter 'format' must be json or csv");
		return -1;
	}
	return 0;
}

/* WHERE clause with parameters ?2.. in the order they are used (?1 is
 * the page's LIMIT), filled into `p`; returns how many (with ?1). */
static int build_where(const struct lqos_filter *f, char *out, size_t len, struct lqos_param *p)
{
	size_t o = 0;
	int n = 1;

	out[0] = '\0';
	o += (size_t)snprintf(out + o, len - o, " WHERE TRUE");
	if (f->n_grades > 0) {
		o += (size_t)snprintf(out + o, len - o, " AND overall_grade IN (");
		for (size_t i = 0; i < f->n_grades; i++) {
			p[n] = lqos_p_text(lqos_grade_name(f->grades[i]));
			o += (size_t)snprintf(out + o, len - o, "%s?%d", i ? ", " : "", ++n);
		}
		o += (size_t)snprintf(out + o, len - o, ")");
	}
	if (f->test_type) {
		p[n] = lqos_p_text(f->test_type);
		o += (size_t)snprintf(out + o, len - o, " AND test_type = ?%d", ++n);
	}
	if (f->since[0]) {
		p[n] = lqos_p_text(f->since);
		o += (size_t)snprintf(out + o, len - o, " AND timestamp >= ?%d", ++n);
	}
	if (f->until[0]) {
		p[n] = lqos_p_text(f->until);
		o += (size_t)snprintf(out + o, len - o, " AND timestamp <= ?%d", ++n);
	}
	if (f->has_range) {
		/* The same binary column on both back ends: an index range scan. */
		p[n] = lqos_p_blob(f->lo, f->blob_len);
		p[n + 1] = lqos_p_blob(f->hi, f->blob_len);
		snprintf(out + o, len - o, " AND client_ip_bin BETWEEN ?%d AND ?%d", n + 1, n + 2);
		n += 2;
	}
	return n;
}

/* Count the matching rows into *total and open the page of them. The
 * count's SQL numbers its parameters from ?1 as well: ?1 = ?1 keeps the
 * numbering of the page's SQL. */
static struct lqos_cursor *prepare_page(struct lqos_db *db, const struct lqos_filter *f, long limit,
					long *total)
{
	char where[512], sql[1536];
	struct lqos_param p[16];
	long long count = 0;
	int n;

	n = build_where(f, where, sizeof(where), p);
	p[0] = lqos_p_int(limit);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM test_results%s AND ?1 > 0", where);
	if (lqos_db_long(db, sql, p, n, &count) < 0)
		return NULL;
	*total = (long)count;
	snprintf(sql, sizeof(sql),
		 "SELECT " LQOS_STORE_ROW_COLUMNS " FROM test_results%s ORDER BY id DESC LIMIT ?1",
		 where);
	return lqos_db_query(db, sql, p, n);
}

json_t *lqos_query_tests(struct lqos_db *db, const struct lqos_filter *f, long limit, long *total,
			 char *why, size_t whylen)
{
	struct lqos_cursor *c = prepare_page(db, f, limit, total);
	json_t *rows = c ? lqos_rows_json(c) : NULL;

	if (rows == NULL)
		lqos_db_describe(db, "reading results", why, whylen);
	lqos_cursor_free(c);
	return rows;
}

long lqos_query_write_tests(struct lqos_db *db, const struct lqos_filter *f, long limit,
			    enum lqos_rows_format format, FILE *out, long *total, char *why,
			    size_t whylen)
{
	struct lqos_cursor *c = prepare_page(db, f, limit, total);
	long n = -1;

	if (c != NULL)
		n = lqos_rows_write(out, c, format, "    ");
	if (n < 0)
		lqos_db_describe(db, "reading results", why, whylen);
	lqos_cursor_free(c);
	return n;
}
