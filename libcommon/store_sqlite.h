/* The SQLite handle behind a store, for the tests and tools that need
 * SQLite itself (integrity checks, copying a file to PostgreSQL). */
#ifndef LQOS_STORE_SQLITE_H
#define LQOS_STORE_SQLITE_H

#include <sqlite3.h>

#include "store.h"

/* NULL when `db` is not an SQLite store. */
sqlite3 *lqos_store_sqlite(struct lqos_db *db);

#endif
