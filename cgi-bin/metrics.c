/* GET /api/telemetry/metrics: Prometheus scrape target (authenticated
 * like the rest of the support API: use bearer_token in the scrape job). */
#include <stdlib.h>
#include <time.h>

#include "libcommon/app.h"
#include "libcommon/metrics.h"

static void handle(struct lqos_app *app)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem;
	struct lqos_db *db = lqos_app_db(app);

	if (db == NULL)
		return;
	/* Build the body first so a database error can still be a JSON 503. */
	mem = open_memstream(&text, &len);
	if (mem == NULL || lqos_metrics_write(mem, db, &app->cfg, (long)time(NULL)) != 0) {
		if (mem)
			fclose(mem);
		free(text);
		lqos_respond_error(app->out, 503, NULL,
				   "telemetry database error while reading metrics");
		return;
	}
	fclose(mem);
	fputs("Status: 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
	      "Cache-Control: no-store\r\n\r\n",
	      app->out);
	fwrite(text, 1, len, app->out);
	fflush(app->out);
	free(text);
}

int main(void)
{
	return lqos_app_main("GET", LQOS_SUPPORT, handle);
}
