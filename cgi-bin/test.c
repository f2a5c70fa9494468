/* GET /api/telemetry/test/<test_id>: one result with every stored metric. */
#include <string.h>

#include "libcommon/app.h"
#include "libcommon/store.h"

static bool test_id_valid(const char *id)
{
	size_t len = strlen(id);

	if (len < 5 || len >= LQOS_TEST_ID_LEN || strncmp(id, "isp_", 4) != 0)
		return false;
	for (const char *p = id + 4; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || *p == '_'))
			return false;
	return true;
}

static void handle(struct lqos_app *app)
{
	const char *path = app->req.path_info;
	char why[512];
	struct lqos_db *db;
	json_t *test;

	if (path == NULL || path[0] != '/' || !test_id_valid(path + 1)) {
		lqos_respond_error(
			app->out, 400, NULL,
			"give a test id in the URL: /api/telemetry/test/isp_<seconds>_<n>");
		return;
	}
	if ((db = lqos_app_db(app)) == NULL)
		return;
	test = lqos_store_test(db, path + 1, why, sizeof(why));
	if (test == NULL && why[0] != '\0') {
		lqos_respond_error(app->out, 503, NULL, "%s", why);
		return;
	}
	if (test == NULL) {
		lqos_respond_error(app->out, 404, NULL,
				   "no stored test has id %s (only the newest %ld are kept)",
				   path + 1, app->cfg.max_stored_tests);
		return;
	}
	lqos_respond_json(app->out, 200, NULL, json_pack("{s:b, s:o}", "success", 1, "test", test));
}

int main(void)
{
	return lqos_app_main("GET", LQOS_SUPPORT, handle);
}
