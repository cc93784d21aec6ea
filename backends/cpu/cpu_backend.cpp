#include "cpu/cpu_backend.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>
#include <string>

#include "cpu/cpu_kv_storage.h"
#include "gguf/dequantize.h"
#include "hearth/error.h"

namespace hearth::cpu {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

// Host memory aligned for AVX-512 loads and cache lines.
class HostBuffer final : public backend::DeviceBuffer {
 public:
  HostBuffer(size_t bytes, std::atomic<size_t>& allocated) : size_(bytes), allocated_(allocated) {
    // Large buffers (the KV cache) get transparent huge pages: attention walks many blocks
    // per token, and 4 KiB pages would cost a TLB miss for each.
    const size_t align = bytes >= kHugePage ? kHugePage : 64;
    size_t rounded = (bytes + align - 1) / align * align;
    data_ = std::aligned_alloc(align, rounded == 0 ? align : rounded);
    if (!data_) {
      throw Error("cpu: cannot allocate " + std::to_string(bytes) + " bytes",
                  ErrorCode::out_of_memory);
    }
    if (align == kHugePage) {
      ::madvise(data_, rounded, MADV_HUGEPAGE);
      populate(rounded);
    }
    allocated_ += size_;
  }
  ~HostBuffer() override {
    allocated_ -= size_;
    std::free(data_);
  }
  void* data() override { return data_; }
  size_t size() const override { return size_; }

 private:
  // Faults every page in now, at load. The KV cache's first blocks lie in a hundred or more
  // separate huge pages (one per layer, head and K/V); left to the first request, finding and
  // zeroing those pages (with compaction when huge pages are scarce) added up to 200 ms to
  // its time to first token.
  void populate(size_t bytes) {
    if (::madvise(data_, bytes, MADV_POPULATE_WRITE) == 0) return;
    if (errno != EINVAL) {  // the memory is not there: say so now rather than fault later
      const int err = errno;
      std::free(data_);
      throw Error("cpu: cannot fault in " + std::to_string(bytes >> 20) + " MiB (" +
                      std::strerror(err) + ")",
                  ErrorCode::out_of_memory);
    }
    // Kernels before 5.14 do not know the advice: touch one byte per page (the contents are
    // undefined anyway).
    auto* bytes_ptr = static_cast<volatile char*>(data_);
    for (size_t at = 0; at < bytes; at += 4096) bytes_ptr[at] = 0;
  }

  void* data_;
  size_t size_;
  std::atomic<size_t>& allocated_;
};

// A weight matrix: packed for the kernels when it is multiplied by, and read in place (GGUF
// layout, from the mapped file) when rows are looked up.
class HostMatrix final : public backend::DeviceMatrix {
 public:
  HostMatrix(TensorType type, const void* source, int64_t rows, int64_t cols,
             backend::MatrixUse use, std::atomic<size_t>& allocated)
      : type_(type),
        rows_(rows),
        cols_(cols),
        source_(static_cast<const std::byte*>(source)),
        allocated_(allocated) {
    auto traits = tensor_type_traits(static_cast<uint32_t>(type));
    if (!traits) throw Error("cpu: unsupported weight type " + tensor_type_name(uint32_t(type)));
    source_row_bytes_ = static_cast<size_t>(cols / traits->block_values) * traits->block_bytes;
    if (use != backend::MatrixUse::lookup) packed_ = PackedWeights::pack(type, source, rows, cols);
    allocated_ += byte_size();
  }
  ~HostMatrix() override { allocated_ -= byte_size(); }
  TensorType type() const override { return type_; }
  int64_t rows() const override { return rows_; }
  int64_t cols() const override { return cols_; }
  size_t byte_size() const override { return packed_ ? packed_->byte_size() : 0; }

  const PackedWeights& packed() const {
    if (!packed_) throw Error("cpu: matrix loaded for lookups only is used in a matmul");
    return *packed_;
  }
  const std::byte* source_row(int64_t row) const {
    return source_ + static_cast<size_t>(row) * source_row_bytes_;
  }

 private:
  TensorType type_;
  int64_t rows_, cols_;
  const std::byte* source_;
  size_t source_row_bytes_ = 0;
  std::optional<PackedWeights> packed_;
  std::atomic<size_t>& allocated_;
};

}  // namespace

namespace {

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown processor";
}

// MemTotal and MemAvailable of /proc/meminfo in bytes (0 when absent).
void host_memory(size_t& total, size_t& available) {
  std::ifstream in("/proc/meminfo");
  std::string key;
  size_t kib = 0;
  std::string unit;
  total = available = 0;
  while (in >> key >> kib) {
    if (key == "MemTotal:") total = kib << 10;
    if (key == "MemAvailable:") available = kib << 10;
    std::getline(in, unit);
  }
}

}  // namespace

CpuBackend::CpuBackend(const CpuBackendOptions& options)
    : pool_(options.threads > 0 ? options.threads : physical_core_count()),
      isa_(options.forced_isa.value_or(best_isa())),
      scratch_(pool_.size()) {
  if (!isa_supported(isa_)) {
    throw Error(std::string("cpu: kernel path ") + isa_name(isa_) + " is not supported here");
  }
}

CpuBackend::~CpuBackend() = default;

backend::DeviceInfo CpuBackend::info() const {
  backend::DeviceInfo info{"cpu", cpu_model_name() + " (" + std::to_string(pool_.size()) +
                                      " threads, " + isa_name(isa_) + " kernels)"};
  host_memory(info.total_bytes, info.free_bytes);
  return info;
}

std::unique_ptr<backend::DeviceBuffer> CpuBackend::allocate(size_t bytes) {
  return std::make_unique<HostBuffer>(bytes, allocated_);
}

void CpuBackend::upload(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }
void CpuBackend::download(void* dst, const void* src, size_t bytes) {
  std::memcpy(dst, src, bytes);
}

std::unique_ptr<backend::DeviceMatrix> CpuBackend::load_matrix(TensorType type,
                                                               const void* host_data, int64_t rows,
                                                               int64_t cols,
                                                               backend::MatrixUse use) {
  return std::make_unique<HostMatrix>(type, host_data, rows, cols, use, allocated_);
}

std::unique_ptr<backend::KvStorage> CpuBackend::create_kv_storage(
    const backend::KvStorageDesc& desc) {
  return std::make_unique<CpuKvStorage>(desc, allocate(CpuKvStorage::required_bytes(desc)));
}

void CpuBackend::matmul(const backend::DeviceMatrix& w, const float* x, int64_t tokens, float* y) {
  const MatmulOutput output{&w, y};
  matmul_shared_input({&output, 1}, x, tokens);
}

namespace {
// A matrix's rows in the row space of a shared job: whole chunks, so a chunk never spans two
// matrices' partial row groups.
int64_t whole_chunks(int64_t rows) {
  return (rows + kMatmulChunkRows - 1) / kMatmulChunkRows * kMatmulChunkRows;
}
}  // namespace

void CpuBackend::matmul_shared_input(std::span<const MatmulOutput> outputs, const float* x,
                                     int64_t tokens) {
  auto packed = [&](size_t i) -> const PackedWeights& {
    return static_cast<const HostMatrix&>(*outputs[i].w).packed();
  };
  for (size_t first = 0; first < outputs.size();) {
    // A run of matrices whose activations are prepared alike: one type, one width.
    const PackedWeights& lead = packed(first);
    size_t last = first + 1;
    while (last < outputs.size() && packed(last).type() == lead.type() &&
           packed(last).cols() == lead.cols()) {
      ++last;
    }
    int64_t run_rows = 0, run_macs = 0;
    for (size_t i = first; i < last; ++i) {
      run_rows += whole_chunks(packed(i).rows());
      run_macs += packed(i).rows() * packed(i).cols() * tokens;
    }
    auto rows = [&](int64_t begin, int64_t end) {
      int64_t start = 0;
      for (size_t i = first; i < last && start < end; ++i) {
        const PackedWeights& w = packed(i);
        const int64_t from = std::max(begin, start) - start;
        const int64_t to = std::min(end - start, w.rows());
        if (from < to)
          cpu::matmul(isa_, w, activations_, tokens, outputs[i].y_dev, w.rows(), from, to);
        start += whole_chunks(w.rows());
      }
    };
    activations_.reserve(lead.type(), tokens, lead.cols());
    // Small products finish before a second thread would wake up: keep them on this one.
    constexpr int64_t kParallelMacs = 1 << 18;
    // Quantizing a few rows of activations takes less than handing them to another thread.
    constexpr int64_t kParallelActivations = 1 << 16;
    if (run_macs < kParallelMacs || tokens * lead.cols() < kParallelActivations) {
      prepare_activations(isa_, lead, x, lead.cols(), activations_, 0, tokens);
    } else {
      pool_.parallel_for(tokens, 1, [&](int64_t begin, int64_t end) {
        prepare_activations(isa_, lead, x, lead.cols(), activations_, begin, end);
      });
    }
    if (run_macs < kParallelMacs) {
      rows(0, run_rows);
    } else {
      pool_.parallel_for(run_rows, kMatmulChunkRows, rows);
    }
    first = last;
  }
}

void CpuBackend::embed(const backend::DeviceMatrix& table, float* out) {
  const auto& matrix = static_cast<const HostMatrix&>(table);
  const auto ids = pass_.tokens;
  int64_t cols = matrix.cols();
  for (size_t t = 0; t < ids.size(); ++t) {
    if (ids[t] < 0 || ids[t] >= matrix.rows()) {
      throw Error("embedding: token id " + std::to_string(ids[t]) +
                  " is outside the vocabulary of " + std::to_string(matrix.rows()));
    }
    dequantize_row(matrix.type(), matrix.source_row(ids[t]), cols, out + t * cols);
  }
}

float* CpuBackend::attention_scratch(int thread, size_t floats) {
  auto& s = scratch_[thread];
  if (s.size() < floats) s.resize(floats);
  return s.data();
}

}  // namespace hearth::cpu
