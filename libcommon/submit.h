/* The submission handler behind POST /api/telemetry, in the library so
 * the black-box and unit tests drive exactly what Apache runs. */
#ifndef LQOS_SUBMIT_H
#define LQOS_SUBMIT_H

#include "app.h"

/* Content type, body, parse, grade, store, answer. */
void lqos_submit_handle(struct lqos_app *app);

#endif
