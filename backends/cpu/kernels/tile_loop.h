// Walks the output of one matmul call in tiles of G row groups x T tokens, calling a kernel
// instantiated for each tile shape. Kernels are templates on the tile shape so their
// accumulators are fixed-size arrays the compiler keeps in registers.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

#include "cpu/kernels/kernel_isa.h"

namespace hearth::cpu {
inline namespace HEARTH_KERNEL_ISA {

template <class Job>
using TileFn = void (*)(const Job&, int64_t group, int64_t token);

template <class Kernel, int G, size_t... I>
constexpr std::array<TileFn<typename Kernel::Job>, sizeof...(I)> make_tile_table(
    std::index_sequence<I...>) {
  return {&Kernel::template tile<G, static_cast<int>(I) + 1>...};
}

// All tokens for groups [group, group + G), in tiles of up to MaxT tokens.
template <class Kernel, int G, int MaxT>
void run_token_tiles(const typename Kernel::Job& job, int64_t group, int64_t tokens) {
  static constexpr auto table = make_tile_table<Kernel, G>(std::make_index_sequence<MaxT>{});
  for (int64_t t = 0; t < tokens; t += MaxT) {
    table[std::min<int64_t>(MaxT, tokens - t) - 1](job, group, t);
  }
}

// Groups [group_begin, group_end): G at a time, then one at a time for the remainder.
// Each group's weights are reused by every token tile while they are still in cache.
template <class Kernel, int G, int MaxT>
void run_tiles(const typename Kernel::Job& job, int64_t group_begin, int64_t group_end,
               int64_t tokens) {
  int64_t group = group_begin;
  for (; group + G <= group_end; group += G) run_token_tiles<Kernel, G, MaxT>(job, group, tokens);
  for (; group < group_end; ++group) run_token_tiles<Kernel, 1, MaxT>(job, group, tokens);
}

}  // namespace HEARTH_KERNEL_ISA
}  // namespace hearth::cpu
