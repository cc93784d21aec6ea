#!/usr/bin/env bash
# The C API as a vendor meets it: hearth installed to a temporary prefix, then
# examples/embed_c (C11) and examples/embed_cpp built in separate CMake runs against the
# installed package (find_package(hearth)), embed_c also with pkg-config and the C compiler
# alone, and all of them run on the bundled model. libhearth.so must export hearth_* alone.
# usage: embed_install_test.sh BUILD_DIR SOURCE_DIR [sanitized]
set -u
build=$1
src=$2
# A sanitized libhearth.so needs its runtime first in the program's library list, so the
# examples are then built with the same sanitizers, as a vendor's sanitized build would be.
san_flags=
if [ "${3-}" = sanitized ]; then san_flags="-fsanitize=address,undefined"; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"
prefix=$work/prefix
model=$src/examples/models/stories260K.gguf

cmake --install "$build" --prefix "$prefix" >/dev/null
check "the library is installed" test -f "$prefix/lib/libhearth.so"
check "with its header" test -f "$prefix/include/hearth/hearth.h"
check "its CMake package" test -f "$prefix/lib/cmake/hearth/hearthConfig.cmake"
check "and its pkg-config file" test -f "$prefix/lib/pkgconfig/hearth.pc"
others=$(nm -D --defined-only "$prefix/lib/libhearth.so" | awk '{print $3}' | grep -v '^hearth_')
check "libhearth.so exports nothing but hearth_*" test -z "$others"

reference=$("$prefix/bin/hearth" generate -m "$model" -p "Once upon a time" -n 48 --temp 0 -t 2 2>/dev/null)

for example in embed_c embed_cpp; do
  cp -r "$src/examples/$example" "$work/$example-src"  # sees nothing of the source tree
  cmake -S "$work/$example-src" -B "$work/$example-build" -G Ninja \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_FLAGS="$san_flags" -DCMAKE_CXX_FLAGS="$san_flags" >"$work/$example.log" 2>&1 &&
    cmake --build "$work/$example-build" >>"$work/$example.log" 2>&1
  check "$example builds against the installed package" test -x "$work/$example-build/$example" ||
    cat "$work/$example.log"
done

"$work/embed_c-build/embed_c" "$model" >"$work/c.out" 2>"$work/c.err"
status=$?
check "embed_c runs (exit 0)" test $status = 0 || tail -5 "$work/c.err"
check "and streams the same greedy text as hearth generate" \
  test "$(head -c ${#reference} "$work/c.out")" = "$reference"
check "its polled request was cancelled" grep -q "then cancelled after" "$work/c.err"
check "and a bad option came back as a status with its name" \
  grep -q "refused as expected: .*top_p" "$work/c.err"

"$work/embed_cpp-build/embed_cpp" "$model" >"$work/cpp.out" 2>"$work/cpp.err"
status=$?
check "embed_cpp runs (exit 0)" test $status = 0 || tail -5 "$work/cpp.err"
reference32=$("$prefix/bin/hearth" generate -m "$model" -p "Once upon a time" -n 32 --temp 0 -t 2 2>/dev/null)
check "and its first request gives the same greedy text as hearth generate" \
  test "$(head -c $((16 + ${#reference32})) "$work/cpp.out")" = "Once upon a time$reference32"
check "three requests ran" test "$(grep -c 'request [0-9]: 32 tokens' "$work/cpp.err")" = 3

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
cc -std=c11 -Wall -Werror $san_flags -o "$work/embed_c_pc" "$src/examples/embed_c/main.c" \
  $(pkg-config --cflags --libs hearth) -Wl,-rpath,"$prefix/lib"
check "embed_c builds with pkg-config and cc alone" test -x "$work/embed_c_pc"
"$work/embed_c_pc" "$model" >"$work/pc.out" 2>/dev/null
check "and runs (exit 0)" test $? = 0
check "and gives the same output" cmp -s "$work/pc.out" "$work/c.out"

[ "$failures" = 0 ]
