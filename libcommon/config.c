#include "config.h"

#include <confuse.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef LQOS_DEFAULT_CONF
#define LQOS_DEFAULT_CONF "/etc/lqos_test.conf"
#endif

/* Where the error callback writes while cfg_parse() runs: libconfuse
 * gives the callback no user-data pointer. Set and cleared around the
 * parse only. */
static _Thread_local struct lqos_config *error_sink;

const char *lqos_config_default_path(void)
{
	const char *env = getenv("LQOS_TEST_CONF");

	if (env != NULL && env[0] != '\0')
		return env;
	/* After a mod_rewrite internal redirect (shared hosting) Apache
	 * renames variables set before it. */
	env = getenv("REDIRECT_LQOS_TEST_CONF");
	if (env != NULL && env[0] != '\0')
		return env;
	return LQOS_DEFAULT_CONF;
}

/* Keep the first libconfuse error with its file and line. The format
 * comes from libconfuse, hence the attribute. */
static void config_error_cb(cfg_t *c, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static void config_error_cb(cfg_t *c, const char *fmt, va_list ap)
{
	struct lqos_config *cfg = error_sink;
	char msg[384];

	if (cfg == NULL || cfg->error[0] != '\0')
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* The parse runs on a cleaned copy (see clean_config): name the file. */
	snprintf(cfg->error, sizeof(cfg->error), "%s:%d: %s", cfg->path ? cfg->path : "(config)",
		 c->line, msg);
}

/* Range checks run while parsing so the error carries the line. */
static int validate_range(cfg_t *c, cfg_opt_t *opt, long lo, long hi)
{
	long v = cfg_opt_getnint(opt, cfg_opt_size(opt) - 1);

	if (v < lo || v > hi) {
		cfg_error(c, "%s must be between %ld and %ld, not %ld", cfg_opt_name(opt), lo, hi,
			  v);
		return -1;
	}
	return 0;
}

static int validate_max_stored(cfg_t *c, cfg_opt_t *opt)
{
	return validate_range(c, opt, 1, 100000000L);
}

static int validate_per_ip(cfg_t *c, cfg_opt_t *opt)
{
	return validate_range(c, opt, 0, 1000000L);
}

static int validate_timeout(cfg_t *c, cfg_opt_t *opt)
{
	return validate_range(c, opt, 1, 55);
}

static int validate_max_age(cfg_t *c, cfg_opt_t *opt)
{
	return validate_range(c, opt, 1, 24 * 30);
}

static int validate_outbox_max(cfg_t *c, cfg_opt_t *opt)
{
	return validate_range(c, opt, 10, 100000000L);
}

static int validate_url(cfg_t *c, cfg_opt_t *opt)
{
	const char *v = cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1);

	if (v == NULL || v[0] == '\0')
		return 0;
	if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) {
		cfg_error(c, "%s must start with http:// or https://", cfg_opt_name(opt));
		return -1;
	}
	for (const char *p = v; *p; p++) {
		if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
			cfg_error(c, "%s must not contain spaces or control characters",
				  cfg_opt_name(opt));
			return -1;
		}
	}
	return 0;
}

static int validate_proxies(cfg_t *c, cfg_opt_t *opt)
{
	const char *v = cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1);
	struct lqos_cidr tmp[LQOS_CONFIG_MAX_PROXIES];
	char bad[128];

	if (v == NULL)
		return 0;
	if (lqos_cidr_parse_list(v, tmp, LQOS_CONFIG_MAX_PROXIES, bad, sizeof(bad)) < 0) {
		cfg_error(c, "trusted_proxies: %s", bad);
		return -1;
	}
	return 0;
}

static char *dup_or_null(const char *s)
{
	if (s == NULL || s[0] == '\0')
		return NULL;
	return strdup(s);
}

static void set_defaults(struct lqos_config *cfg, const char *path)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->path = strdup(path);
	cfg->database_path = strdup(LQOS_CONFIG_DEFAULT_DB);
	cfg->max_stored_tests = 1000;
	cfg->max_tests_per_ip_per_hour = 60;
	cfg->allow_query_api_key = true;
	cfg->webhook_connect_timeout = 5;
	cfg->webhook_timeout = 10;
	cfg->webhook_max_age_hours = 72;
	cfg->outbox_max_events = 100000;
	cfg->prompt_delivery = true;
}

/* True when the file gave `name` a value (even ""). */
static bool file_sets(cfg_t *c, const char *name)
{
	cfg_opt_t *opt = cfg_getopt(c, name);

	return opt != NULL && (opt->flags & CFGF_MODIFIED) != 0;
}

/* Environment fallbacks kept from the original implementation. */
static void apply_env_fallback(char **field, const char *var)
{
	const char *v;

	if (*field != NULL)
		return;
	v = getenv(var);
	if (v != NULL && v[0] != '\0')
		*field = strdup(v);
}

/* ------------------------------------------------------------------
 * The file is shell-style and shared with other LibreQoS tools, but
 * libconfuse has its own syntax and, in the 3.3 that Debian ships, counts
 * three lines for every '#' comment (so errors would name the wrong line)
 * and fails on comments inside lists. So libconfuse is given a cleaned
 * copy, line for line (every newline kept, so line numbers are exact):
 * - '#' comments (outside quotes) are removed;
 * - statements whose key is not ours are blanked, whatever their value
 *   syntax (bash arrays, TOML lists, "[section]" lines...): other tools'
 *   keys are never an error;
 * - an unquoted value of ours runs to the end of the line (or to a " #"
 *   comment) and is quoted, as shell and the original implementation
 *   read it: sponsor_name=Your ISP Name, webhook_url=https://x/?a=b;
 * - a leading "export " is dropped.
 * Quoted values are passed through as they are. */

#define CONFIG_MAX_BYTES (1024 * 1024)

struct cleaner {
	const char *in;
	size_t len, pos;
	int line;
	char *out;
	size_t o;
};

static void put(struct cleaner *k, char c)
{
	k->out[k->o++] = c;
}

static bool is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Copy a quoted string from its opening quote to its closing one (or the
 * end of the file: libconfuse then reports the unclosed quote). */
static void copy_quoted(struct cleaner *k)
{
	char q = k->in[k->pos++];

	put(k, q);
	while (k->pos < k->len) {
		char c = k->in[k->pos++];
		put(k, c);
		if (c == '\n') {
			k->line++;
		} else if (c == '\\' && k->pos < k->len && k->in[k->pos] != '\n') {
			put(k, k->in[k->pos++]);
		} else if (c == q) {
			return;
		}
	}
}

static void skip_comment(struct cleaner *k)
{
	while (k->pos < k->len && k->in[k->pos] != '\n')
		k->pos++;
}

/* Blank one statement that is not ours: to the end of its line, or of
 * the bracket (bash array, TOML list) opened on it. Quotes count within
 * a line only, so "x=Joe's ISP" ends at its newline. Never an error: a
 * bracket still open at the end of the file blanks just the first line. */
static void skip_statement(struct cleaner *k)
{
	size_t o_save = k->o, first_eol = k->pos;
	int line_save = k->line, depth = 0;
	char quote = 0;

	while (first_eol < k->len && k->in[first_eol] != '\n')
		first_eol++;
	while (k->pos < k->len) {
		char c = k->in[k->pos];
		char prev = k->pos > 0 ? k->in[k->pos - 1] : '\n';

		if (c == '\n') {
			quote = 0;
			if (depth == 0)
				return;
			put(k, c);
			k->line++;
		} else if (quote != 0) {
			if (c == '\\' && k->pos + 1 < k->len && k->in[k->pos + 1] != '\n')
				k->pos++;
			else if (c == quote)
				quote = 0;
		} else if (c == '"' || c == '\'') {
			quote = c;
		} else if (c == '#' && (is_blank(prev) || prev == '\n')) {
			skip_comment(k);
			continue;
		} else if (c == '(' || c == '[' || c == '{') {
			depth++;
		} else if ((c == ')' || c == ']' || c == '}') && depth > 0) {
			depth--;
		}
		k->pos++;
	}
	if (depth > 0) {
		k->pos = first_eol;
		k->o = o_save;
		k->line = line_save;
	}
}

/* An unquoted value of ours, up to the end of the line or a " #". */
static void quote_bare_value(struct cleaner *k)
{
	size_t start = k->pos, end;

	while (k->pos < k->len && k->in[k->pos] != '\n' &&
	       !(k->in[k->pos] == '#' && (k->pos == start || is_blank(k->in[k->pos - 1]))))
		k->pos++;
	end = k->pos;
	skip_comment(k);
	while (end > start && is_blank(k->in[end - 1]))
		end--;
	put(k, '"');
	for (size_t i = start; i < end; i++) {
		char c = k->in[i];
		/* libconfuse reads \, \" and \$ (no ${VAR} expansion) as the char */
		if (c == '\\' || c == '"' || c == '$')
			put(k, '\\');
		put(k, c);
	}
	put(k, '"');
}

static bool is_our_key(const cfg_opt_t *opts, const char *key, size_t len)
{
	for (const cfg_opt_t *o = opts; o->name != NULL; o++)
		if (o->name[0] != '_' && strlen(o->name) == len && strncmp(o->name, key, len) == 0)
			return true;
	return false;
}

/* The cleaned copy of `text` (caller frees), or NULL with "line: why". */
static char *clean_config(const char *text, size_t len, const cfg_opt_t *opts, char *why,
			  size_t whylen)
{
	struct cleaner k = {text, len, 0, 1, NULL, 0};

	/* Quoting a bare value adds at most a backslash per byte, and two
	 * quotes per statement of at least two bytes. */
	k.out = malloc(3 * len + 4);
	if (k.out == NULL) {
		snprintf(why, whylen, "1: out of memory");
		return NULL;
	}
	while (k.pos < k.len) {
		size_t key, keylen;
		char c = text[k.pos];

		if (is_blank(c)) {
			k.pos++;
			continue;
		}
		if (c == '\n') {
			put(&k, c);
			k.line++;
			k.pos++;
			continue;
		}
		if (c == '#') {
			skip_comment(&k);
			continue;
		}
		if (len - k.pos > 7 && strncmp(text + k.pos, "export", 6) == 0 &&
		    is_blank(text[k.pos + 6])) {
			k.pos += 7;
			continue;
		}
		key = k.pos;
		while (k.pos < k.len && is_key_char(text[k.pos]))
			k.pos++;
		keylen = k.pos - key;
		while (k.pos < k.len && is_blank(text[k.pos]))
			k.pos++;
		if (keylen == 0 || !is_our_key(opts, text + key, keylen) || k.pos >= k.len ||
		    text[k.pos] != '=') {
			if (keylen > 0 && is_our_key(opts, text + key, keylen)) {
				/* ours but not key=value: let libconfuse say what is wrong */
				memcpy(k.out + k.o, text + key, k.pos - key);
				k.o += k.pos - key;
				while (k.pos < k.len && text[k.pos] != '\n')
					put(&k, text[k.pos++]);
				continue;
			}
			skip_statement(&k);
			continue;
		}
		memcpy(k.out + k.o, text + key, keylen);
		k.o += keylen;
		put(&k, '=');
		k.pos++;
		while (k.pos < k.len && is_blank(text[k.pos]))
			k.pos++;
		if (k.pos < k.len && (text[k.pos] == '"' || text[k.pos] == '\'')) {
			/* quoted: as is (an unclosed quote is libconfuse's to report) */
			copy_quoted(&k);
			/* then only a comment may follow; anything else is left for
			 * libconfuse to complain about */
			while (k.pos < k.len && is_blank(text[k.pos]))
				k.pos++;
			if (k.pos < k.len && text[k.pos] == '#')
				skip_comment(&k);
			else
				while (k.pos < k.len && text[k.pos] != '\n')
					put(&k, text[k.pos++]);
		} else {
			quote_bare_value(&k);
		}
	}
	k.out[k.o] = '\0';
	return k.out;
}

/* Read the whole file (`size` from stat); NULL with cfg->error set. */
static char *read_config_file(struct lqos_config *cfg, const char *path, off_t size, size_t *len)
{
	FILE *f;
	char *buf;
	size_t cap;

	if (size > CONFIG_MAX_BYTES) {
		snprintf(cfg->error, sizeof(cfg->error),
			 "%s: larger than 1 MiB; is it the right file?", path);
		return NULL;
	}
	f = fopen(path, "rb");
	if (f == NULL) {
		snprintf(cfg->error, sizeof(cfg->error), "%s: cannot be read by this process (%s)",
			 path, strerror(errno));
		return NULL;
	}
	cap = (size_t)size + 1; /* +1 notices a file that grew meanwhile */
	buf = malloc(cap + 1);
	if (buf == NULL) {
		snprintf(cfg->error, sizeof(cfg->error), "%s: out of memory", path);
		fclose(f);
		return NULL;
	}
	*len = fread(buf, 1, cap, f);
	if (ferror(f) || *len == cap || memchr(buf, '\0', *len) != NULL) {
		snprintf(cfg->error, sizeof(cfg->error), "%s: %s", path,
			 ferror(f)     ? "read error"
			 : *len == cap ? "changed while being read; try again"
				       : "contains NUL bytes; it is not a text file");
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	buf[*len] = '\0';
	return buf;
}

int lqos_config_load(struct lqos_config *cfg, const char *path)
{
	cfg_opt_t opts[] = {
		CFG_STR("sponsor_name", NULL, CFGF_NONE), CFG_STR("sponsor_url", NULL, CFGF_NONE),
		CFG_STR("sponsor_city", NULL, CFGF_NONE), CFG_STR("webhook_url", NULL, CFGF_NONE),
		CFG_STR("webhook_secret", NULL, CFGF_NONE),
		CFG_STR("telemetry_api_key", NULL, CFGF_NONE),
		CFG_STR("database_path", LQOS_CONFIG_DEFAULT_DB, CFGF_NONE),
		CFG_STR("server_name", NULL, CFGF_NONE),
		CFG_STR("trusted_proxies", NULL, CFGF_NONE),
		CFG_STR("central_telemetry_url", NULL, CFGF_NONE),
		CFG_STR("public_url", NULL, CFGF_NONE),
		CFG_INT("max_stored_tests", 1000, CFGF_NONE),
		CFG_INT("max_tests_per_ip_per_hour", 60, CFGF_NONE),
		CFG_BOOL("allow_query_api_key", cfg_true, CFGF_NONE),
		CFG_INT("webhook_connect_timeout", 5, CFGF_NONE),
		CFG_INT("webhook_timeout", 10, CFGF_NONE),
		CFG_INT("webhook_max_age_hours", 72, CFGF_NONE),
		CFG_INT("outbox_max_events", 100000, CFGF_NONE),
		CFG_BOOL("webhook_prompt_delivery", cfg_true, CFGF_NONE),
		/* Keys of other LibreQoS tools share the file: swallow them. */
		CFG_STR("__unknown", NULL, CFGF_NONE), CFG_END()};
	cfg_t *c = NULL;
	struct stat st;
	int rc = 0;
	int parsed;
	char *text = NULL, *clean = NULL;
	size_t len = 0;
	bool file_sets_webhook_url = false, file_sets_webhook_secret = false;
	bool file_sets_api_key = false;

	set_defaults(cfg, path);
	if (stat(path, &st) != 0) {
		if (errno != ENOENT && errno != ENOTDIR) {
			snprintf(cfg->error, sizeof(cfg->error), "%s: %s", path, strerror(errno));
			rc = -1;
		}
		goto env;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(cfg->error, sizeof(cfg->error), "%s: not a regular file", path);
		rc = -1;
		goto env;
	}
	if (access(path, R_OK) != 0) {
		snprintf(cfg->error, sizeof(cfg->error), "%s: cannot be read by this process (%s)",
			 path, strerror(errno));
		rc = -1;
		goto env;
	}

	c = cfg_init(opts, CFGF_IGNORE_UNKNOWN);
	if (c == NULL) {
		snprintf(cfg->error, sizeof(cfg->error), "%s: out of memory", path);
		rc = -1;
		goto env;
	}
	error_sink = cfg;
	cfg_set_error_function(c, config_error_cb);
	cfg_set_validate_func(c, "max_stored_tests", validate_max_stored);
	cfg_set_validate_func(c, "max_tests_per_ip_per_hour", validate_per_ip);
	cfg_set_validate_func(c, "webhook_connect_timeout", validate_timeout);
	cfg_set_validate_func(c, "webhook_timeout", validate_timeout);
	cfg_set_validate_func(c, "webhook_max_age_hours", validate_max_age);
	cfg_set_validate_func(c, "outbox_max_events", validate_outbox_max);
	cfg_set_validate_func(c, "webhook_url", validate_url);
	cfg_set_validate_func(c, "central_telemetry_url", validate_url);
	cfg_set_validate_func(c, "trusted_proxies", validate_proxies);

	text = read_config_file(cfg, path, st.st_size, &len);
	if (text != NULL) {
		char line[64];
		clean = clean_config(text, len, opts, line, sizeof(line));
		if (clean == NULL)
			snprintf(cfg->error, sizeof(cfg->error), "%s:%s", path, line);
	}
	parsed = clean != NULL ? cfg_parse_buf(c, clean) : CFG_PARSE_ERROR;
	error_sink = NULL;
	free(text);
	free(clean);
	if (parsed != CFG_SUCCESS) {
		if (cfg->error[0] == '\0')
			snprintf(cfg->error, sizeof(cfg->error), "%s: cannot be parsed", path);
		rc = -1;
		goto env;
	}
	/* A key the file sets, even to "", is not taken from the environment. */
	file_sets_webhook_url = file_sets(c, "webhook_url");
	file_sets_webhook_secret = file_sets(c, "webhook_secret");
	file_sets_api_key = file_sets(c, "telemetry_api_key");

	cfg->sponsor_name = dup_or_null(cfg_getstr(c, "sponsor_name"));
	cfg->sponsor_url = dup_or_null(cfg_getstr(c, "sponsor_url"));
	cfg->sponsor_city = dup_or_null(cfg_getstr(c, "sponsor_city"));
	cfg->webhook_url = dup_or_null(cfg_getstr(c, "webhook_url"));
	cfg->webhook_secret = dup_or_null(cfg_getstr(c, "webhook_secret"));
	cfg->telemetry_api_key = dup_or_null(cfg_getstr(c, "telemetry_api_key"));
	cfg->server_name = dup_or_null(cfg_getstr(c, "server_name"));
	cfg->central_telemetry_url = dup_or_null(cfg_getstr(c, "central_telemetry_url"));
	cfg->public_url = dup_or_null(cfg_getstr(c, "public_url"));
	if (cfg_getstr(c, "database_path") != NULL && cfg_getstr(c, "database_path")[0] != '\0') {
		free(cfg->database_path);
		cfg->database_path = strdup(cfg_getstr(c, "database_path"));
	}
	cfg->max_stored_tests = cfg_getint(c, "max_stored_tests");
	cfg->max_tests_per_ip_per_hour = cfg_getint(c, "max_tests_per_ip_per_hour");
	cfg->allow_query_api_key = cfg_getbool(c, "allow_query_api_key") == cfg_true;
	cfg->webhook_connect_timeout = cfg_getint(c, "webhook_connect_timeout");
	cfg->webhook_timeout = cfg_getint(c, "webhook_timeout");
	cfg->webhook_max_age_hours = cfg_getint(c, "webhook_max_age_hours");
	cfg->outbox_max_events = cfg_getint(c, "outbox_max_events");
	cfg->prompt_delivery = cfg_getbool(c, "webhook_prompt_delivery") == cfg_true;
	if (cfg_getstr(c, "trusted_proxies") != NULL) {
		int n = lqos_cidr_parse_list(cfg_getstr(c, "trusted_proxies"), cfg->trusted_proxies,
					     LQOS_CONFIG_MAX_PROXIES, NULL, 0);
		cfg->n_trusted_proxies = n > 0 ? (size_t)n : 0;
	}

env:
	if (cfg->server_name == NULL) {
		char host[256];
		if (gethostname(host, sizeof(host)) == 0) {
			host[sizeof(host) - 1] = '\0';
			cfg->server_name = strdup(host);
		}
	}
	if (!file_sets_webhook_url)
		apply_env_fallback(&cfg->webhook_url, "LIBREQOS_WEBHOOK_URL");
	if (!file_sets_webhook_secret)
		apply_env_fallback(&cfg->webhook_secret, "LIBREQOS_WEBHOOK_SECRET");
	if (!file_sets_api_key)
		apply_env_fallback(&cfg->telemetry_api_key, "LIBREQOS_TELEMETRY_API_KEY");
	if (c != NULL)
		cfg_free(c);
	return rc;
}

void lqos_config_free(struct lqos_config *cfg)
{
	char **fields[] = {
		&cfg->path,
		&cfg->sponsor_name,
		&cfg->sponsor_url,
		&cfg->sponsor_city,
		&cfg->webhook_url,
		&cfg->webhook_secret,
		&cfg->telemetry_api_key,
		&cfg->database_path,
		&cfg->server_name,
		&cfg->central_telemetry_url,
		&cfg->public_url,
	};

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		free(*fields[i]);
		*fields[i] = NULL;
	}
}

bool lqos_config_webhook_enabled(const struct lqos_config *cfg)
{
	return cfg->webhook_url != NULL && cfg->webhook_url[0] != '\0';
}
