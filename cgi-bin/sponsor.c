/* GET /api/sponsor: branding for the test page. Public. */
#include "libcommon/app.h"

static json_t *string_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static void handle(struct lqos_app *app)
{
	json_t *body = json_pack("{s:b, s:o, s:o, s:o}", "success", 1, "sponsor_name",
				 string_or_null(app->cfg.sponsor_name), "sponsor_url",
				 string_or_null(app->cfg.sponsor_url), "sponsor_city",
				 string_or_null(app->cfg.sponsor_city));

	if (body == NULL) {
		lqos_respond_error(app->out, 503, NULL,
				   "sponsor settings in the configuration are not valid UTF-8");
		return;
	}
	lqos_respond_json(app->out, 200, NULL, body);
}

int main(void)
{
	return lqos_app_main("GET", LQOS_PUBLIC, handle);
}
