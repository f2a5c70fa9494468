/* Schema migrations, generated from sql/NNN_*.sql at build time. */
#ifndef LQOS_MIGRATIONS_H
#define LQOS_MIGRATIONS_H

struct lqos_migration {
	int version; /* PRAGMA user_version after it ran */
	const char *name; /* file name, for error messages */
	const char *sql;
};

extern const struct lqos_migration lqos_migrations[];
extern const unsigned lqos_migrations_count;

/* The PostgreSQL twins (sql/pg/), numbered like the SQLite ones; version
 * is the schema version recorded in lqos_schema_version. */
extern const struct lqos_migration lqos_pg_migrations[];
extern const unsigned lqos_pg_migrations_count;

#endif
