// Energy counters for the oae meter, read on demand (at request phase boundaries, never on a
// timer): RAPL package domains through Linux powercap, NVIDIA's NVML and AMD's ROCm SMI loaded
// at run time, and, where no CPU counter can be read (unprivileged users, virtual machines),
// an estimate from a configured power per busy core times the process's CPU time — always
// labelled as an estimate.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hearth::oae {

struct EnergyOptions {
  bool counters = true;  // false: the estimate only
  std::string powercap_root = "/sys/class/powercap";
  std::string nvml_library = "libnvidia-ml.so.1";
  std::string rocm_smi_library = "librocm_smi64.so";
  double cpu_watts_per_core = 10;
  // A counter that has not moved while the process used this much CPU time is taken as
  // frozen (some virtual machines expose one) and the estimate replaces it from then on.
  double stuck_after_cpu_seconds = 0.5;
  std::function<double()> cpu_seconds;  // empty: the process's CPU time
};

// One cumulative counter: joules since it was opened, or nothing when it cannot be read.
class CounterSource {
 public:
  virtual ~CounterSource() = default;
  virtual std::optional<double> read() = 0;
  virtual std::string name() const = 0;
};

// RAPL package domains under `root` (intel-rapl:N or amd-rapl:N whose name starts with
// "package"; their subdomains are parts of them and are not added). Null with `why` set when
// there is none or one cannot be read.
std::unique_ptr<CounterSource> open_rapl(const std::string& root, std::string& why);
std::unique_ptr<CounterSource> open_nvml(const std::string& library, std::string& why);
std::unique_ptr<CounterSource> open_rocm_smi(const std::string& library, std::string& why);

// The difference between two readings of a counter that wraps at `range` (0: never wraps).
uint64_t counter_delta(uint64_t before, uint64_t after, uint64_t range);

class EnergyMeter {
 public:
  explicit EnergyMeter(EnergyOptions options);
  // For tests: the given CPU and GPU counters (either may be null).
  EnergyMeter(EnergyOptions options, std::unique_ptr<CounterSource> cpu,
              std::unique_ptr<CounterSource> gpu, std::string note);
  ~EnergyMeter();

  double joules();             // since the meter was made; never decreases
  std::string source() const;  // "rapl", "estimate", "rapl+nvml", "estimate+nvml", ...
  bool is_estimate() const { return !cpu_; }
  const std::string& note() const { return note_; }

 private:
  double cpu_seconds() const;
  double cpu_joules();

  EnergyOptions options_;
  std::unique_ptr<CounterSource> cpu_, gpu_;
  std::string note_;
  double last_cpu_counter_ = 0, last_change_cpu_seconds_ = 0;
  double estimate_base_ = 0, estimate_from_cpu_seconds_ = 0;
  double last_total_ = 0;
};

}  // namespace hearth::oae
