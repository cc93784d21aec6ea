// Run-time choice of the instruction-set path. Compiled without ISA flags so it runs on
// any x86-64 and only calls into an AVX path after checking the CPU supports it.
#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include <string>

#include "cpu/kernels/matmul.h"
#include "cpu/kernels/matmul_paths.h"
#include "hearth/error.h"

namespace hearth::cpu {
namespace {

// F16C from CPUID leaf 1 (ECX bit 29): clang's __builtin_cpu_supports does not know "f16c".
#if defined(__x86_64__)
bool cpu_has_f16c() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C) != 0;
}

bool cpu_has_avx2() {
  static const bool has =
      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c();
  return has;
}

bool cpu_has_avx512() {
  static const bool has =
      cpu_has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni") &&
      __builtin_cpu_supports("avx512bf16");
  return has;
}
#else
bool cpu_has_avx2() { return false; }
bool cpu_has_avx512() { return false; }
#endif

void require_supported(Isa isa) {
  if (!isa_supported(isa)) {
    throw Error(std::string("matmul: the ") + isa_name(isa) + " path is not supported by this CPU");
  }
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::reference:
      return "reference";
    case Isa::avx2:
      return "avx2";
    case Isa::avx512:
      return "avx512";
  }
  return "unknown";
}

bool isa_supported(Isa isa) {
  switch (isa) {
    case Isa::reference:
      return true;
    case Isa::avx2:
      return cpu_has_avx2();
    case Isa::avx512:
      return cpu_has_avx512();
  }
  return false;
}

Isa best_isa() {
  if (isa_supported(Isa::avx512)) return Isa::avx512;
  if (isa_supported(Isa::avx2)) return Isa::avx2;
  return Isa::reference;
}

void prepare_activations(Isa isa, const PackedWeights& w, const float* x, int64_t ldx,
                         ActivationBuffer& buffer, int64_t t_begin, int64_t t_end) {
  require_supported(isa);
  if (buffer.type() != w.type() || buffer.cols() != w.cols()) {
    throw Error("prepare_activations: buffer reserved for another weight type or width");
  }
  if (t_begin < 0 || t_end > buffer.tokens()) {
    throw Error("prepare_activations: tokens outside the reserved buffer");
  }
  if (t_begin >= t_end) return;
  switch (isa) {
    case Isa::reference:
      return reference::prepare_activations(w, x, ldx, buffer, t_begin, t_end);
#if HEARTH_KERNELS_X86
    case Isa::avx2:
      return avx2::prepare_activations(w, x, ldx, buffer, t_begin, t_end);
    case Isa::avx512:
      return avx512::prepare_activations(w, x, ldx, buffer, t_begin, t_end);
#endif
    default:
      return;  // unreachable: require_supported() rejected it
  }
}

void matmul(Isa isa, const PackedWeights& w, const ActivationBuffer& x, int64_t tokens, float* y,
            int64_t ldy, int64_t row_begin, int64_t row_end) {
  require_supported(isa);
  if (x.type() != w.type() || x.cols() != w.cols()) {
    throw Error("matmul: activations were prepared for another weight type or width");
  }
  if (row_begin < 0 || row_end > w.rows()) throw Error("matmul: row range outside the matrix");
  if (tokens > x.tokens()) throw Error("matmul: more tokens than the activation buffer holds");
  if (tokens <= 0 || row_begin >= row_end) return;
  switch (isa) {
    case Isa::reference:
      return reference::matmul(w, x, tokens, y, ldy, row_begin, row_end);
#if HEARTH_KERNELS_X86
    case Isa::avx2:
      return avx2::matmul(w, x, tokens, y, ldy, row_begin, row_end);
    case Isa::avx512:
      return avx512::matmul(w, x, tokens, y, ldy, row_begin, row_end);
#endif
    default:
      return;  // unreachable: require_supported() rejected it
  }
}

}  // namespace hearth::cpu
