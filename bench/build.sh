#!/usr/bin/env bash
# Build the benchmark programs.
#
#   bench/build.sh
#
# Compiles every bench/programs/<name>.c with `musl-gcc -static -O2` into
# bench/out/<name> (ET_EXEC, linked at 0x400000), and hello.c and timeit.c
# once more as static PIEs, bench/out/hello-pie and bench/out/timeit-pie (ET_DYN,
# no interpreter), for the exec benchmarks and the timing wrapper, which must
# not load an image over their parent's or child's. Make-like: a program is rebuilt only when its output is
# missing or older than its source or this script. Silent on success unless
# NOMMU_VERBOSE is set. Never add -mavx / -march=native: the CPU emulated by
# nommu's Unicorn backend has no AVX/POPCNT.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
self="$here/$(basename "${BASH_SOURCE[0]}")"
src_dir="$here/programs"
out_dir="$here/out"
CFLAGS=(-static -O2 -g0 -Wall -Wextra -Werror)

die() { echo "bench/build.sh: $*" >&2; exit 1; }
say() { if [[ -n "${NOMMU_VERBOSE:-}" ]]; then echo "$*"; fi; }

command -v musl-gcc >/dev/null 2>&1 || die "musl-gcc not found (apt-get install -y musl-tools)"
mkdir -p "$out_dir"

shopt -s nullglob
sources=("$src_dir"/*.c)
((${#sources[@]})) || die "no programs in $src_dir"

for src in "${sources[@]}"; do
  name="$(basename "$src" .c)"
  out="$out_dir/$name"
  if [[ -x "$out" && ! "$src" -nt "$out" && ! "$self" -nt "$out" ]]; then
    continue
  fi
  tmp="$out.tmp.$$"
  rm -f "$out"
  if ! musl-gcc "${CFLAGS[@]}" "$src" -o "$tmp" -lm; then
    rm -f "$tmp"
    die "compiling $src failed"
  fi
  mv -f "$tmp" "$out"
  say "built $name"
done

# <name>-pie: Debian's `musl-gcc -static-pie` silently makes a dynamic PIE,
# so link by hand (the same recipe as conformance/build.sh).
for name in hello timeit; do
  src="$src_dir/$name.c"
  out="$out_dir/$name-pie"
  if [[ ! -x "$out" || "$src" -nt "$out" || "$self" -nt "$out" ]]; then
    musl_specs="$(sed -n 's/.*-specs[= ]"\{0,1\}\([^" ]*musl-gcc\.specs\)"\{0,1\}.*/\1/p' "$(command -v musl-gcc)" | head -n1)"
    [[ -n "$musl_specs" && -f "$musl_specs" ]] || die "cannot find musl-gcc.specs"
    musl_lib="$(dirname "$musl_specs")"
    crtbeginS="$(gcc -print-file-name=crtbeginS.o)"
    crtendS="$(gcc -print-file-name=crtendS.o)"
    libgcc="$(gcc -print-file-name=libgcc.a)"
    tmp="$out.tmp.$$"
    rm -f "$out"
    if ! { musl-gcc -O2 -g0 -Wall -Wextra -Werror -fPIE -c "$src" -o "$tmp.o" &&
      musl-gcc -nostdlib -nostartfiles -o "$tmp" \
        "$musl_lib/rcrt1.o" "$musl_lib/crti.o" "$crtbeginS" "$tmp.o" \
        -Wl,--start-group "$musl_lib/libc.a" "$libgcc" -Wl,--end-group \
        "$crtendS" "$musl_lib/crtn.o" \
        -Wl,-static,-pie,--no-dynamic-linker,-z,text; }; then
      rm -f "$tmp" "$tmp.o"
      die "linking $name-pie failed"
    fi
    rm -f "$tmp.o"
    mv -f "$tmp" "$out"
    say "built $name-pie"
  fi
done
