#!/usr/bin/env bash
# Build the conformance programs.
#
#   conformance/build.sh [name...]
#
# Compiles every conformance/programs/<name>.c (or just the named ones) into
# conformance/out/<variant>/<name> for each variant:
#
#   musl-static-pie  musl libc, static PIE (ET_DYN, no interpreter)
#   musl-static      musl-gcc -static (ET_EXEC)
#   glibc-static     gcc -static (ET_EXEC)
#   glibc-dynamic    gcc, dynamically linked PIE
#   musl-dynamic     musl-gcc, dynamically linked PIE (interpreter ld-musl)
#
# A program builds for all four variants unless its source has a line like
#
#   // variants: glibc-static musl-static
#
# Optional per-program extra link libraries (appended after the objects):
#
#   // ldlibs: -lrt
#
# Make-like: an output is rebuilt only when it is missing or older than its
# source, this script, or any conformance/programs/*.h. Every freshly built
# binary is checked with `file` and `readelf` and the script fails loudly if
# it is not the kind of binary its variant claims. Outputs of variants that a
# program no longer builds for, and outputs of deleted programs, are removed.
#
# Silent on success unless NOMMU_VERBOSE is set; errors go to stderr.
# Concurrent invocations serialise on a lock file in the output directory.
#
# Never add -mavx / -march=native: the emulated CPU has no AVX/POPCNT.

set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
self="$here/$(basename "${BASH_SOURCE[0]}")"
src_dir="$here/programs"
out_root="$here/out"

ALL_VARIANTS=(musl-static-pie musl-static glibc-static glibc-dynamic musl-dynamic)
CFLAGS=(-O2 -g0 -Wall -Wextra -Werror -pthread)

die() { echo "conformance/build.sh: $*" >&2; exit 1; }
say() { if [[ -n "${NOMMU_VERBOSE:-}" ]]; then echo "$*"; fi; }

for tool in gcc musl-gcc file readelf flock; do
  command -v "$tool" >/dev/null 2>&1 || die "required tool not found: $tool"
done

# --- toolchain files ------------------------------------------------------

# musl's library directory comes from the -specs path inside the musl-gcc
# wrapper (`musl-gcc -print-file-name=rcrt1.o` wrongly answers with glibc's).
musl_gcc="$(command -v musl-gcc)"
musl_specs="$(sed -n 's/.*-specs[= ]"\{0,1\}\([^" ]*musl-gcc\.specs\)"\{0,1\}.*/\1/p' "$musl_gcc" | head -n1)"
[[ -n "$musl_specs" && -f "$musl_specs" ]] ||
  die "cannot find musl-gcc.specs referenced by $musl_gcc"
musl_lib="$(dirname "$musl_specs")"
for f in rcrt1.o crti.o crtn.o libc.a; do
  [[ -f "$musl_lib/$f" ]] || die "missing musl file $musl_lib/$f"
done

gcc_file() {
  local p
  p="$(gcc -print-file-name="$1")"
  [[ "$p" == /* && -f "$p" ]] || die "gcc cannot find $1"
  printf '%s\n' "$p"
}
crtbeginS="$(gcc_file crtbeginS.o)"
crtendS="$(gcc_file crtendS.o)"
libgcc="$(gcc_file libgcc.a)"
libgcc_eh="$(gcc -print-file-name=libgcc_eh.a)"
[[ "$libgcc_eh" == /* && -f "$libgcc_eh" ]] || libgcc_eh=""

# --- helpers --------------------------------------------------------------

# variants_of <src>: the variants a program builds for.
variants_of() {
  local line
  line="$(grep -m1 -E '^[[:space:]]*//[[:space:]]*variants:' "$1" || true)"
  if [[ -z "$line" ]]; then
    echo "${ALL_VARIANTS[*]}"
    return
  fi
  local list="${line#*variants:}" v known ok=""
  for v in $list; do
    known=0
    for k in "${ALL_VARIANTS[@]}"; do [[ "$v" == "$k" ]] && known=1; done
    ((known)) || die "$1: unknown variant '$v' in '// variants:' line"
    ok+="$v "
  done
  [[ -n "$ok" ]] || die "$1: empty '// variants:' line"
  echo "$ok"
}

# ldlibs_of <src>: extra link libraries.
ldlibs_of() {
  local line
  line="$(grep -m1 -E '^[[:space:]]*//[[:space:]]*ldlibs:' "$1" || true)"
  [[ -n "$line" ]] && echo "${line#*ldlibs:}"
  return 0
}

# check_binary <variant> <path>: is the file the kind of binary it claims?
check_binary() {
  local variant="$1" bin="$2" desc hdr notes
  desc="$(file -b "$bin")"
  hdr="$(readelf -lhd "$bin" 2>&1)"
  notes="$(readelf -n "$bin" 2>&1 || true)"
  local has_interp=0 is_dyn=0 is_exec=0 has_needed=0 has_abitag=0
  grep -q 'INTERP' <<<"$hdr" && has_interp=1
  grep -qE 'Type:[[:space:]]+DYN' <<<"$hdr" && is_dyn=1
  grep -qE 'Type:[[:space:]]+EXEC' <<<"$hdr" && is_exec=1
  grep -q '(NEEDED)' <<<"$hdr" && has_needed=1
  grep -q 'NT_GNU_ABI_TAG' <<<"$notes" && has_abitag=1
  local why=""
  case "$variant" in
    musl-static-pie)
      [[ "$desc" == *"static-pie linked"* ]] || why="file does not say 'static-pie linked'"
      ((is_dyn)) || why+="${why:+; }ELF type is not DYN"
      ((!has_interp)) || why+="${why:+; }has a PT_INTERP"
      ((!has_needed)) || why+="${why:+; }has DT_NEEDED entries"
      ((!has_abitag)) || why+="${why:+; }has a GNU ABI tag (glibc?)"
      ;;
    musl-static)
      [[ "$desc" == *"LSB executable"*"statically linked"* ]] || why="file does not say 'LSB executable ... statically linked'"
      ((is_exec)) || why+="${why:+; }ELF type is not EXEC"
      ((!has_interp)) || why+="${why:+; }has a PT_INTERP"
      ((!has_abitag)) || why+="${why:+; }has a GNU ABI tag (glibc?)"
      ;;
    glibc-static)
      [[ "$desc" == *"LSB executable"*"statically linked"* ]] || why="file does not say 'LSB executable ... statically linked'"
      ((is_exec)) || why+="${why:+; }ELF type is not EXEC"
      ((!has_interp)) || why+="${why:+; }has a PT_INTERP"
      ((has_abitag)) || why+="${why:+; }no GNU ABI tag (not glibc?)"
      ;;
    glibc-dynamic)
      [[ "$desc" == *"pie executable"*"dynamically linked"*"interpreter /lib64/ld-linux-x86-64.so.2"* ]] ||
        why="file does not say 'pie executable ... dynamically linked, interpreter /lib64/ld-linux-x86-64.so.2'"
      ((is_dyn)) || why+="${why:+; }ELF type is not DYN"
      ((has_interp)) || why+="${why:+; }no PT_INTERP"
      ((has_abitag)) || why+="${why:+; }no GNU ABI tag (not glibc?)"
      ;;
    musl-dynamic)
      [[ "$desc" == *"pie executable"*"dynamically linked"*"interpreter /lib/ld-musl-x86_64.so.1"* ]] ||
        why="file does not say 'pie executable ... dynamically linked, interpreter /lib/ld-musl-x86_64.so.1'"
      ((is_dyn)) || why+="${why:+; }ELF type is not DYN"
      ((has_interp)) || why+="${why:+; }no PT_INTERP"
      ((!has_abitag)) || why+="${why:+; }has a GNU ABI tag (glibc?)"
      ;;
  esac
  if [[ -n "$why" ]]; then
    echo "conformance/build.sh: $bin is not a $variant binary: $why" >&2
    echo "  file: $desc" >&2
    return 1
  fi
}

# build_one <variant> <src> <out>: compile into a temporary file, verify it,
# then atomically move it into place. Returns non-zero on any failure. The
# compiler's messages are collected and printed in one piece, so that
# parallel jobs do not interleave.
build_one() {
  local log="$3.log.$$" rc=0
  build_one_inner "$@" >"$log" 2>&1 || rc=$?
  if ((rc != 0)); then
    cat "$log" >&2
  elif [[ -s "$log" ]]; then
    cat "$log" >&2 # warnings cannot happen with -Werror, but do not hide anything
  fi
  rm -f "$log"
  ((rc == 0)) || return 1
  say "built $1/$(basename "$3")"
}

build_one_inner() {
  local variant="$1" src="$2" out="$3"
  local tmp="$out.tmp.$$"
  local -a libs
  read -r -a libs <<<"$(ldlibs_of "$src")"
  rm -f "$tmp" "$tmp.o"
  local rc=0
  case "$variant" in
    musl-static-pie)
      # Debian's `musl-gcc -static-pie` silently makes a dynamic PIE; link by hand.
      musl-gcc "${CFLAGS[@]}" -fPIE -c "$src" -o "$tmp.o" || rc=$?
      if ((rc == 0)); then
        musl-gcc -nostdlib -nostartfiles -o "$tmp" \
          "$musl_lib/rcrt1.o" "$musl_lib/crti.o" "$crtbeginS" \
          "$tmp.o" "${libs[@]}" \
          -Wl,--start-group "$musl_lib/libc.a" "$libgcc" ${libgcc_eh:+"$libgcc_eh"} -Wl,--end-group \
          "$crtendS" "$musl_lib/crtn.o" \
          -Wl,-static,-pie,--no-dynamic-linker,-z,text || rc=$?
      fi
      rm -f "$tmp.o"
      ;;
    musl-static)
      musl-gcc "${CFLAGS[@]}" -static "$src" -o "$tmp" "${libs[@]}" -lm || rc=$?
      ;;
    glibc-static)
      gcc "${CFLAGS[@]}" -static "$src" -o "$tmp" "${libs[@]}" -lm || rc=$?
      ;;
    glibc-dynamic)
      gcc "${CFLAGS[@]}" -fPIE -pie "$src" -o "$tmp" "${libs[@]}" -lm || rc=$?
      ;;
    musl-dynamic)
      musl-gcc "${CFLAGS[@]}" -fPIE -pie "$src" -o "$tmp" "${libs[@]}" -lm || rc=$?
      ;;
  esac
  if ((rc != 0)); then
    echo "conformance/build.sh: compiling $src for $variant failed" >&2
    rm -f "$tmp"
    return 1
  fi
  if ! check_binary "$variant" "$tmp"; then
    rm -f "$tmp"
    return 1
  fi
  mv -f "$tmp" "$out"
}

# --- main -----------------------------------------------------------------

[[ -d "$src_dir" ]] || die "no programs directory at $src_dir"
mkdir -p "$out_root"
for v in "${ALL_VARIANTS[@]}"; do mkdir -p "$out_root/$v"; done

exec 9>"$out_root/.lock"
flock 9

shopt -s nullglob
headers=("$src_dir"/*.h)
all_sources=("$src_dir"/*.c)
((${#all_sources[@]})) || die "no programs in $src_dir"

if (($#)); then
  sources=()
  for name in "$@"; do
    name="${name%.c}"
    [[ -f "$src_dir/$name.c" ]] || die "no such program: $src_dir/$name.c"
    sources+=("$src_dir/$name.c")
  done
else
  sources=("${all_sources[@]}")
  # Remove outputs of programs that no longer exist.
  for v in "${ALL_VARIANTS[@]}"; do
    for f in "$out_root/$v"/*; do
      [[ -f "$f" ]] || continue
      b="$(basename "$f")"
      if [[ "$b" == *.tmp.* || "$b" == *.log.* || ! -f "$src_dir/$b.c" ]]; then
        say "removing stale $v/$b"
        rm -f "$f"
      fi
    done
  done
fi

# Up to nproc compilations in parallel.
max_jobs="$(nproc 2>/dev/null || echo 2)"
((max_jobs >= 1)) || max_jobs=1
running=0
failed=0

reap() {
  if ! wait -n; then failed=1; fi
  running=$((running - 1))
}

# Parse every '// variants:' line first, so a bad one stops the script
# before any compiler runs.
declare -A wants=()
for src in "${sources[@]}"; do
  wants["$src"]="$(variants_of "$src")"
done

for src in "${sources[@]}"; do
  name="$(basename "$src" .c)"
  want="${wants[$src]}"
  for v in "${ALL_VARIANTS[@]}"; do
    out="$out_root/$v/$name"
    if [[ " $want " != *" $v "* ]]; then
      if [[ -e "$out" ]]; then say "removing $v/$name (not built for $v)"; rm -f "$out"; fi
      continue
    fi
    stale=0
    if [[ ! -x "$out" || "$src" -nt "$out" || "$self" -nt "$out" ]]; then
      stale=1
    else
      for h in "${headers[@]}"; do
        if [[ "$h" -nt "$out" ]]; then stale=1; break; fi
      done
    fi
    ((stale)) || continue
    # A stale output must not survive a failed rebuild.
    rm -f "$out"
    while ((running >= max_jobs)); do reap; done
    build_one "$v" "$src" "$out" &
    running=$((running + 1))
  done
done
while ((running > 0)); do reap; done

if ((failed)); then
  die "build failed (see errors above)"
fi
exit 0
