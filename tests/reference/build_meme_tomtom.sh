#!/usr/bin/env bash
# Build MEME suite 5.4.1's `tomtom` (the reference for seq2chrom's Tomtom) into a cache folder.
#
# The source is MEME 5.4.1 as vendored in pymemesuite 0.1.0a4's sdist on PyPI. The sdist lacks
# the folders MEME's configure writes Makefiles into (doc/, tests/, ...), so empty Makefile.in
# files stand in for them; only `tomtom` and the library sources it links are compiled, against
# the system's libxml2/libxslt (Debian: libxml2-dev libxslt1-dev zlib1g-dev). pymemesuite removed
# die() and myassert() from utils.c; they are defined again here. Idempotent: prints the path
# of the binary and exits at once when it is already built. Exit status 2: the build is not
# possible here (no compiler, libraries or PyPI); 1: it failed.
#
# Usage: tests/reference/build_meme_tomtom.sh [CACHE_DIR]   (default ~/.cache/seq2chrom/meme-5.4.1)
set -euo pipefail

cache="${1:-${SEQ2CHROM_MEME_CACHE:-$HOME/.cache/seq2chrom/meme-5.4.1}}"
binary="$cache/bin/tomtom"
if [[ -x "$binary" ]]; then
    echo "$binary"
    exit 0
fi
for tool in gcc make pkg-config; do
    command -v "$tool" > /dev/null || { echo "build_meme_tomtom: $tool not found" >&2; exit 2; }
done
pkg-config --exists libxml-2.0 libxslt \
    || { echo "build_meme_tomtom: libxml2/libxslt headers missing (apt-get install libxml2-dev libxslt1-dev zlib1g-dev)" >&2; exit 2; }
python="${PYTHON:-python3}"

work="$cache/build"
rm -rf "$work"
mkdir -p "$work" "$cache/bin"
"$python" -m pip download --quiet --no-deps --no-binary :all: pymemesuite==0.1.0a4 -d "$work" >&2 \
    || { echo "build_meme_tomtom: could not download pymemesuite 0.1.0a4 from PyPI" >&2; exit 2; }
tar -xzf "$work"/pymemesuite-0.1.0a4.tar.gz -C "$work"
meme="$work/pymemesuite-0.1.0a4/vendor/meme"
cd "$meme"

# configure writes a Makefile for every folder it lists; give the missing ones an empty template.
sed -n '/^AC_CONFIG_FILES(\[/,/\])/p' configure.ac | grep -o '[A-Za-z0-9_./-]*Makefile' \
    | while read -r made; do
        [[ -f "$made.in" ]] || { mkdir -p "$(dirname "$made")"; : > "$made.in"; }
    done
./configure --quiet --prefix="$cache" > "$work/configure.log" 2>&1 \
    || { tail -20 "$work/configure.log" >&2; exit 1; }

cat > src/die-myassert.c <<'CSRC'
/* die() and myassert() as MEME 5.4.1's utils.c has them; pymemesuite removed them. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

void die(char *format, ...) {
  va_list args;
  fflush(stdout);
  fprintf(stderr, "FATAL: ");
  va_start(args, format);
  vfprintf(stderr, format, args);
  va_end(args);
  fprintf(stderr, "\n");
  exit(1);
}

void myassert(bool die_on_error, bool test, char *const format, ...) {
  va_list args;
  if (test) return;
  fflush(stdout);
  fprintf(stderr, die_on_error ? "FATAL: " : "WARNING: ");
  va_start(args, format);
  vfprintf(stderr, format, args);
  va_end(args);
  fprintf(stderr, "\n");
  if (die_on_error) exit(1);
}
CSRC

# Headers src/Makefile generates (install paths, version), then the library sources
# Makefile.am lists for libcommon, plus tomtom.c itself.
make -C src dir.h projrel.h > /dev/null
sources=$(sed -n '/^libcommon_la_SOURCES/,/^$/p' src/Makefile.am | grep -o '[A-Za-z0-9_-]*\.c')
flags=(-O2 -w -fgnu89-inline -fcommon -fno-strict-aliasing -DSTREEHUGE -DHAVE_CONFIG_H -I. -Isrc
    $(pkg-config --cflags libxml-2.0 libxslt))
mkdir -p "$work/obj"
printf '%s\n' $sources die-myassert.c | xargs -P "$(nproc)" -I{} \
    sh -c 'gcc "$@" -c src/{} -o "'"$work"'/obj/{}.o"' _ "${flags[@]}"
gcc "${flags[@]}" -DMAIN -c src/tomtom.c -o "$work/obj/tomtom.main.o"
# An archive, so that only the objects tomtom needs are linked (others need MEME's programs).
ar rcs "$work/libcommon.a" $(printf '%s\n' $sources | sed "s|^|$work/obj/|; s|\$|.o|")
gcc -o "$binary.tmp" "$work/obj/tomtom.main.o" "$work/obj/die-myassert.c.o" "$work/libcommon.a" \
    $(pkg-config --libs libxml-2.0 libxslt) -lz -lm
mv "$binary.tmp" "$binary"
rm -rf "$work"
echo "$binary"
