#include "config.h"

#include <confuse.h>
#include <errno.h>
#include <stddef.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "webhook.h"

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

static int validate_url(cfg_t *c, cfg_opt_t *opt);
static int validate_secret(cfg_t *c, cfg_opt_t *opt);
static int validate_proxies(cfg_t *c, cfg_opt_t *opt);

/* ------------------------------------------------------------------
 * Every key, once: its name, type, default, bounds and environment
 * fallback. The table builds the libconfuse options, sets the defaults,
 * copies the parsed values into struct lqos_config and frees them. */

enum key_type {
	KEY_STR, /* char * field; "" in the file means unset (the default) */
	KEY_INT, /* long field, within [lo, hi] */
	KEY_BOOL, /* bool field */
	KEY_CIDRS, /* trusted_proxies: parsed into the CIDR array */
};

struct config_key {
	const char *name;
	enum key_type type;
	size_t field; /* offsetof(struct lqos_config, ...) */
	const char *str_default; /* KEY_STR */
	long int_default; /* KEY_INT, KEY_BOOL (0 or 1) */
	long lo, hi; /* KEY_INT bounds */
	int (*check)(cfg_t *, cfg_opt_t *); /* extra check of a string */
	const char *env; /* fallback when the file does not set the key */
};

#define FIELD(f) offsetof(struct lqos_config, f)
#define STR(name, def, check, env)                                                                 \
	{                                                                                          \
#name, KEY_STR, FIELD(name), def, 0, 0, 0, check, env                              \
	}
#define INT(name, def, lo, hi)                                                                     \
	{                                                                                          \
#name, KEY_INT, FIELD(name), NULL, def, lo, hi, NULL, NULL                         \
	}
#define BOOL(name, field, def)                                                                     \
	{                                                                                          \
#name, KEY_BOOL, FIELD(field), NULL, def, 0, 0, NULL, NULL                         \
	}

static const struct config_key keys[] = {
	STR(sponsor_name, NULL, NULL, NULL),
	STR(sponsor_url, NULL, NULL, NULL),
	STR(sponsor_city, NULL, NULL, NULL),
	STR(webhook_url, NULL, validate_url, "LIBREQOS_WEBHOOK_URL"),
	STR(webhook_secret, NULL, validate_secret, "LIBREQOS_WEBHOOK_SECRET"),
	STR(telemetry_api_key, NULL, NULL, "LIBREQOS_TELEMETRY_API_KEY"),
	STR(database_path, LQOS_CONFIG_DEFAULT_DB, NULL, NULL),
	STR(server_name, NULL, NULL, NULL), /* unset: the host name */
	{"trusted_proxies", KEY_CIDRS, 0, NULL, 0, 0, 0, validate_proxies, NULL},
	STR(central_telemetry_url, NULL, validate_url, NULL),
	STR(public_url, NULL, NULL, NULL), /* checked where used: cgi-bin/nq.c */
	INT(max_stored_tests, 1000, 1, 100000000L),
	INT(max_tests_per_ip_per_hour, 60, 0, 1000000L),
	BOOL(allow_query_api_key, allow_query_api_key, 1),
	INT(webhook_connect_timeout, 5, 1, 55),
	INT(webhook_timeout, 10, 1, 55),
	INT(webhook_max_age_hours, 72, 1, 24 * 30),
	INT(outbox_max_events, 100000, 10, 100000000L),
	BOOL(webhook_prompt_delivery, prompt_delivery, 1),
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

static char **str_field(struct lqos_config *cfg, const struct config_key *k)
{
	return (char **)(void *)((char *)cfg + k->field);
}

static long *int_field(struct lqos_config *cfg, const struct config_key *k)
{
	return (long *)(void *)((char *)cfg + k->field);
}

static bool *bool_field(struct lqos_config *cfg, const struct config_key *k)
{
	return (bool *)(void *)((char *)cfg + k->field);
}

static const struct config_key *find_key(const char *name)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/* Range checks run while parsing so the error carries the line. */
static int validate_range(cfg_t *c, cfg_opt_t *opt)
{
	const struct config_key *k = find_key(cfg_opt_name(opt));
	long v = cfg_opt_getnint(opt, cfg_opt_size(opt) - 1);

	if (k != NULL && (v < k->lo || v > k->hi)) {
		cfg_error(c, "%s must be between %ld and %ld, not %ld", k->name, k->lo, k->hi, v);
		return -1;
	}
	return 0;
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

static int validate_secret(cfg_t *c, cfg_opt_t *opt)
{
	const char *v = cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1);

	if (v == NULL || v[0] == '\0' || lqos_webhook_secret_valid(v))
		return 0;
	cfg_error(c, "%s must be at most 256 bytes, or whsec_ and the base64 of 1 to 256 bytes",
		  cfg_opt_name(opt));
	return -1;
}

static void set_defaults(struct lqos_config *cfg, const char *path)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->path = strdup(path);
	for (const struct config_key *k = keys; k < keys + N_KEYS; k++) {
		if (k->type == KEY_STR && k->str_default != NULL)
			*str_field(cfg, k) = strdup(k->str_default);
		else if (k->type == KEY_INT)
			*int_field(cfg, k) = k->int_default;
		else if (k->type == KEY_BOOL)
			*bool_field(cfg, k) = k->int_default != 0;
	}
}

/* The libconfuse options of the table (caller frees): every key, then a
 * catch-all so keys of other LibreQoS tools sharing the file are swallowed. */
static cfg_opt_t *make_options(void)
{
	cfg_opt_t *opts = calloc(N_KEYS + 2, sizeof(*opts));

	if (opts == NULL)
		return NULL;
	for (size_t i = 0; i < N_KEYS; i++) {
		const struct config_key *k = &keys[i];

		if (k->type == KEY_INT)
			opts[i] = (cfg_opt_t)CFG_INT(k->name, k->int_default, CFGF_NONE);
		else if (k->type == KEY_BOOL)
			opts[i] = (cfg_opt_t)CFG_BOOL(
				k->name, k->int_default ? cfg_true : cfg_false, CFGF_NONE);
		else
			opts[i] = (cfg_opt_t)CFG_STR(k->name, k->str_default, CFGF_NONE);
	}
	opts[N_KEYS] = (cfg_opt_t)CFG_STR("__unknown", NULL, CFGF_NONE);
	opts[N_KEYS + 1] = (cfg_opt_t)CFG_END();
	return opts;
}

static void install_validators(cfg_t *c)
{
	for (const struct config_key *k = keys; k < keys + N_KEYS; k++) {
		if (k->type == KEY_INT)
			cfg_set_validate_func(c, k->name, validate_range);
		else if (k->check != NULL)
			cfg_set_validate_func(c, k->name, k->check);
	}
}

/* True when the file gave `name` a value (even ""). */
static bool file_sets(cfg_t *c, const char *name)
{
	cfg_opt_t *opt = cfg_getopt(c, name);

	return opt != NULL && (opt->flags & CFGF_MODIFIED) != 0;
}

/* Copy the parsed values into cfg; note the keys the file set. */
static void copy_values(struct lqos_config *cfg, cfg_t *c, bool set[N_KEYS])
{
	for (size_t i = 0; i < N_KEYS; i++) {
		const struct config_key *k = &keys[i];
		const char *v =
			k->type == KEY_STR || k->type == KEY_CIDRS ? cfg_getstr(c, k->name) : NULL;
		int n;

		set[i] = file_sets(c, k->name);
		switch (k->type) {
		case KEY_STR:
			if (v != NULL && v[0] != '\0') {
				free(*str_field(cfg, k));
				*str_field(cfg, k) = strdup(v);
			}
			break;
		case KEY_INT: *int_field(cfg, k) = cfg_getint(c, k->name); break;
		case KEY_BOOL: *bool_field(cfg, k) = cfg_getbool(c, k->name) == cfg_true; break;
		case KEY_CIDRS:
			n = v == NULL ? 0
				      : lqos_cidr_parse_list(v, cfg->trusted_proxies,
							     LQOS_CONFIG_MAX_PROXIES, NULL, 0);
			cfg->n_trusted_proxies = n > 0 ? (size_t)n : 0;
			break;
		}
	}
}

/* Environment fallbacks kept from the original implementation, for keys
 * the file does not set (even to ""); and the host name as server_name. */
static void apply_fallbacks(struct lqos_config *cfg, const bool set[N_KEYS])
{
	for (size_t i = 0; i < N_KEYS; i++) {
		const char *v = keys[i].env != NULL ? getenv(keys[i].env) : NULL;

		if (!set[i] && v != NULL && v[0] != '\0' && *str_field(cfg, &keys[i]) == NULL)
			*str_field(cfg, &keys[i]) = strdup(v);
	}
	if (cfg->server_name == NULL) {
		char host[256];
		if (gethostname(host, sizeof(host)) == 0) {
			host[sizeof(host) - 1] = '\0';
			cfg->server_name = strdup(host);
		}
	}
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

/* 0 when `path` is a readable regular file, 1 when it does not exist
 * (all defaults), -1 with cfg->error set otherwise. */
static int check_file(struct lqos_config *cfg, const char *path, struct stat *st)
{
	if (stat(path, st) != 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 1;
		snprintf(cfg->error, sizeof(cfg->error), "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		snprintf(cfg->error, sizeof(cfg->error), "%s: not a regular file", path);
		return -1;
	}
	if (access(path, R_OK) != 0) {
		snprintf(cfg->error, sizeof(cfg->error), "%s: cannot be read by this process (%s)",
			 path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Parse the file into cfg; 0, or -1 with cfg->error set. */
static int parse_file(struct lqos_config *cfg, const char *path, off_t size, bool set[N_KEYS])
{
	cfg_opt_t *opts = make_options();
	cfg_t *c = opts != NULL ? cfg_init(opts, CFGF_IGNORE_UNKNOWN) : NULL;
	char *text = NULL, *clean = NULL;
	size_t len = 0;
	int parsed = CFG_PARSE_ERROR;

	if (c == NULL) {
		snprintf(cfg->error, sizeof(cfg->error), "%s: out of memory", path);
		free(opts);
		return -1;
	}
	error_sink = cfg;
	cfg_set_error_function(c, config_error_cb);
	install_validators(c);
	text = read_config_file(cfg, path, size, &len);
	if (text != NULL) {
		char line[64];
		clean = clean_config(text, len, opts, line, sizeof(line));
		if (clean == NULL)
			snprintf(cfg->error, sizeof(cfg->error), "%s:%s", path, line);
		else
			parsed = cfg_parse_buf(c, clean);
	}
	error_sink = NULL;
	free(text);
	free(clean);
	if (parsed == CFG_SUCCESS)
		copy_values(cfg, c, set);
	else if (cfg->error[0] == '\0')
		snprintf(cfg->error, sizeof(cfg->error), "%s: cannot be parsed", path);
	cfg_free(c);
	free(opts);
	return parsed == CFG_SUCCESS ? 0 : -1;
}

int lqos_config_load(struct lqos_config *cfg, const char *path)
{
	bool set[N_KEYS] = {false};
	struct stat st;
	int rc;

	set_defaults(cfg, path);
	rc = check_file(cfg, path, &st);
	if (rc == 0)
		rc = parse_file(cfg, path, st.st_size, set);
	apply_fallbacks(cfg, set);
	return rc < 0 ? -1 : 0;
}

void lqos_config_free(struct lqos_config *cfg)
{
	free(cfg->path);
	cfg->path = NULL;
	for (const struct config_key *k = keys; k < keys + N_KEYS; k++) {
		if (k->type == KEY_STR) {
			free(*str_field(cfg, k));
			*str_field(cfg, k) = NULL;
		}
	}
}

bool lqos_config_webhook_enabled(const struct lqos_config *cfg)
{
	return cfg->webhook_url != NULL && cfg->webhook_url[0] != '\0';
}
