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

#endif
