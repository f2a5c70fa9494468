#!/bin/sh
# Turn the numbered migrations into a C array: sql/embed.sh out.c files...
# The array is lqos_migrations, or $LQOS_MIGRATIONS_NAME (the PostgreSQL
# twins in sql/pg/ become lqos_pg_migrations).
set -e
name="${LQOS_MIGRATIONS_NAME:-lqos_migrations}"
out="$1"; shift
{
	echo "/* Generated from the sql/ migrations by sql/embed.sh; do not edit. */"
	echo "#include \"libcommon/migrations.h\""
	echo "const struct lqos_migration $name[] = {"
	for f in "$@"; do
		base=$(basename "$f")
		ver=$(echo "$base" | sed 's/^0*\([0-9][0-9]*\)_.*/\1/')
		printf '\t{ %s, "%s",\n' "$ver" "$base"
		sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t  "/' -e 's/$/\\n"/' "$f"
		printf '\t},\n'
	done
	echo "};"
	echo "const unsigned ${name}_count = sizeof($name) / sizeof($name[0]);"
} > "$out.tmp"
mv "$out.tmp" "$out"
