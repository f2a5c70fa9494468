#!/bin/sh
# Turn the numbered migrations into a C array: sql/embed.sh out.c files...
set -e
out="$1"; shift
{
	echo "/* Generated from the sql/ migrations by sql/embed.sh; do not edit. */"
	echo "#include \"libcommon/migrations.h\""
	echo "const struct lqos_migration lqos_migrations[] = {"
	for f in "$@"; do
		base=$(basename "$f")
		ver=$(echo "$base" | sed 's/^0*\([0-9][0-9]*\)_.*/\1/')
		printf '\t{ %s, "%s",\n' "$ver" "$base"
		sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t  "/' -e 's/$/\\n"/' "$f"
		printf '\t},\n'
	done
	echo "};"
	echo "const unsigned lqos_migrations_count = sizeof(lqos_migrations) / sizeof(lqos_migrations[0]);"
} > "$out.tmp"
mv "$out.tmp" "$out"
