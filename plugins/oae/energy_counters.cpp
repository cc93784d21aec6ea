#include "energy_counters.h"

#include <dlfcn.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace hearth::oae {
namespace {

namespace fs = std::filesystem;

// A whole file holding one unsigned decimal number; nothing when unreadable or malformed.
std::optional<uint64_t> read_number(const fs::path& path, std::string& why) {
  std::ifstream in(path);
  if (!in) {
    why = "cannot read " + path.string() + ": " + std::strerror(errno);
    return std::nullopt;
  }
  std::string text;
  std::getline(in, text);
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end == text.data() ||
      (end != text.data() + text.size() && *end != ' ')) {
    why = path.string() + " does not hold a number";
    return std::nullopt;
  }
  return value;
}

class RaplSource : public CounterSource {
 public:
  struct Domain {
    fs::path energy;
    uint64_t range = 0, last = 0;
    double joules = 0;
  };
  explicit RaplSource(std::vector<Domain> domains) : domains_(std::move(domains)) {}

  std::optional<double> read() override {
    double total = 0;
    for (Domain& d : domains_) {
      std::string why;
      const std::optional<uint64_t> now = read_number(d.energy, why);
      if (!now) return std::nullopt;
      d.joules += static_cast<double>(counter_delta(d.last, *now, d.range)) * 1e-6;
      d.last = *now;
      total += d.joules;
    }
    return total;
  }
  std::string name() const override { return "rapl"; }

 private:
  std::vector<Domain> domains_;
};

// NVML's few entry points, declared here so that no NVIDIA header is needed to build.
class NvmlSource : public CounterSource {
 public:
  using InitFn = int (*)();
  using CountFn = int (*)(unsigned*);
  using HandleFn = int (*)(unsigned, void**);
  using EnergyFn = int (*)(void*, unsigned long long*);

  NvmlSource(void* library, EnergyFn energy, std::vector<void*> devices)
      : library_(library), energy_(energy), devices_(std::move(devices)) {
    start_ = total_mj().value_or(0);
  }
  ~NvmlSource() override {
    if (auto shutdown = reinterpret_cast<InitFn>(dlsym(library_, "nvmlShutdown"))) shutdown();
    dlclose(library_);
  }
  std::optional<double> read() override {
    const std::optional<unsigned long long> now = total_mj();
    if (!now) return std::nullopt;
    return static_cast<double>(*now - std::min(*now, start_)) * 1e-3;
  }
  std::string name() const override { return "nvml"; }

 private:
  std::optional<unsigned long long> total_mj() {
    unsigned long long total = 0;
    for (void* device : devices_) {
      unsigned long long mj = 0;
      if (energy_(device, &mj) != 0) return std::nullopt;
      total += mj;
    }
    return total;
  }
  void* library_;
  EnergyFn energy_;
  std::vector<void*> devices_;
  unsigned long long start_ = 0;
};

class RocmSmiSource : public CounterSource {
 public:
  using EnergyFn = int (*)(uint32_t, uint64_t*, float*, uint64_t*);
  RocmSmiSource(void* library, EnergyFn energy, uint32_t devices)
      : library_(library), energy_(energy), devices_(devices) {
    start_ = total_uj().value_or(0);
  }
  ~RocmSmiSource() override {
    if (auto shutdown = reinterpret_cast<int (*)()>(dlsym(library_, "rsmi_shut_down"))) shutdown();
    dlclose(library_);
  }
  std::optional<double> read() override {
    const std::optional<double> now = total_uj();
    if (!now) return std::nullopt;
    return std::max(0.0, *now - start_) * 1e-6;
  }
  std::string name() const override { return "rocm_smi"; }

 private:
  std::optional<double> total_uj() {
    double total = 0;
    for (uint32_t i = 0; i < devices_; ++i) {
      uint64_t counter = 0, timestamp = 0;
      float resolution = 0;
      if (energy_(i, &counter, &resolution, &timestamp) != 0) return std::nullopt;
      total += static_cast<double>(counter) * resolution;
    }
    return total;
  }
  void* library_;
  EnergyFn energy_;
  uint32_t devices_;
  double start_ = 0;
};

void* open_library(const std::string& library, const char* what, std::string& why) {
  void* handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* error = dlerror();
    why = std::string(what) + " unavailable (" + (error ? error : library) + ")";
  }
  return handle;
}

}  // namespace

uint64_t counter_delta(uint64_t before, uint64_t after, uint64_t range) {
  if (after >= before) return after - before;
  return range > before ? range - before + after : after;  // wrapped (or reset: count from 0)
}

std::unique_ptr<CounterSource> open_rapl(const std::string& root, std::string& why) {
  std::vector<RaplSource::Domain> domains;
  std::error_code ec;
  std::vector<fs::path> dirs;
  for (const fs::directory_entry& e : fs::directory_iterator(root, ec)) dirs.push_back(e.path());
  if (ec) {
    why = "RAPL unavailable (" + root + ": " + ec.message() + ")";
    return nullptr;
  }
  std::sort(dirs.begin(), dirs.end());
  for (const fs::path& dir : dirs) {
    const std::string base = dir.filename().string();
    const bool top = (base.rfind("intel-rapl:", 0) == 0 || base.rfind("amd-rapl:", 0) == 0) &&
                     std::count(base.begin(), base.end(), ':') == 1;
    if (!top) continue;  // subdomains (core, uncore, dram of a package) are inside it
    std::ifstream name_file(dir / "name");
    std::string name;
    std::getline(name_file, name);
    if (name.rfind("package", 0) != 0) continue;
    RaplSource::Domain d;
    d.energy = dir / "energy_uj";
    std::optional<uint64_t> first = read_number(d.energy, why);
    if (!first) {
      why = "RAPL unavailable (" + why + ")";
      return nullptr;
    }
    d.last = *first;
    std::string ignored;
    d.range = read_number(dir / "max_energy_range_uj", ignored).value_or(0);
    domains.push_back(std::move(d));
  }
  if (domains.empty()) {
    why = "RAPL unavailable (no package domain under " + root + ")";
    return nullptr;
  }
  return std::make_unique<RaplSource>(std::move(domains));
}

std::unique_ptr<CounterSource> open_nvml(const std::string& library, std::string& why) {
  void* handle = open_library(library, "NVML", why);
  if (!handle) return nullptr;
  auto init = reinterpret_cast<NvmlSource::InitFn>(dlsym(handle, "nvmlInit_v2"));
  auto count = reinterpret_cast<NvmlSource::CountFn>(dlsym(handle, "nvmlDeviceGetCount_v2"));
  auto get = reinterpret_cast<NvmlSource::HandleFn>(dlsym(handle, "nvmlDeviceGetHandleByIndex_v2"));
  auto energy =
      reinterpret_cast<NvmlSource::EnergyFn>(dlsym(handle, "nvmlDeviceGetTotalEnergyConsumption"));
  unsigned n = 0;
  if (!init || !count || !get || !energy || init() != 0 || count(&n) != 0 || n == 0) {
    why = "NVML unavailable (no device, or the library lacks the energy counter)";
    dlclose(handle);
    return nullptr;
  }
  std::vector<void*> devices;
  for (unsigned i = 0; i < n; ++i) {
    void* device = nullptr;
    unsigned long long mj = 0;
    // Devices before Volta have no energy counter: leave them out.
    if (get(i, &device) == 0 && energy(device, &mj) == 0) devices.push_back(device);
  }
  if (devices.empty()) {
    why = "NVML unavailable (no device has an energy counter)";
    dlclose(handle);
    return nullptr;
  }
  return std::make_unique<NvmlSource>(handle, energy, std::move(devices));
}

std::unique_ptr<CounterSource> open_rocm_smi(const std::string& library, std::string& why) {
  void* handle = open_library(library, "ROCm SMI", why);
  if (!handle) return nullptr;
  auto init = reinterpret_cast<int (*)(uint64_t)>(dlsym(handle, "rsmi_init"));
  auto count = reinterpret_cast<int (*)(uint32_t*)>(dlsym(handle, "rsmi_num_monitor_devices"));
  auto energy =
      reinterpret_cast<RocmSmiSource::EnergyFn>(dlsym(handle, "rsmi_dev_energy_count_get"));
  uint32_t n = 0;
  if (!init || !count || !energy || init(0) != 0 || count(&n) != 0 || n == 0) {
    why = "ROCm SMI unavailable (no device, or the library lacks the energy counter)";
    dlclose(handle);
    return nullptr;
  }
  return std::make_unique<RocmSmiSource>(handle, energy, n);
}

EnergyMeter::EnergyMeter(EnergyOptions options) : EnergyMeter(options, nullptr, nullptr, "") {
  if (!options_.counters) {
    note_ = "estimate requested";
    return;
  }
  std::string why_cpu, why_nvml, why_rocm;
  cpu_ = open_rapl(options_.powercap_root, why_cpu);
  gpu_ = open_nvml(options_.nvml_library, why_nvml);
  if (!gpu_) gpu_ = open_rocm_smi(options_.rocm_smi_library, why_rocm);
  std::vector<std::string> notes;
  for (const std::string* why : {&why_cpu, &why_nvml, &why_rocm}) {
    if (!why->empty()) notes.push_back(*why);
  }
  for (size_t i = 0; i < notes.size(); ++i) note_ += (i ? "; " : "") + notes[i];
  last_change_cpu_seconds_ = estimate_from_cpu_seconds_ = cpu_seconds();
}

EnergyMeter::EnergyMeter(EnergyOptions options, std::unique_ptr<CounterSource> cpu,
                         std::unique_ptr<CounterSource> gpu, std::string note)
    : options_(std::move(options)),
      cpu_(std::move(cpu)),
      gpu_(std::move(gpu)),
      note_(std::move(note)) {
  last_change_cpu_seconds_ = estimate_from_cpu_seconds_ = cpu_seconds();
}

EnergyMeter::~EnergyMeter() = default;

double EnergyMeter::cpu_seconds() const {
  if (options_.cpu_seconds) return options_.cpu_seconds();
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

double EnergyMeter::cpu_joules() {
  const double now = cpu_seconds();
  if (cpu_) {
    const std::optional<double> counter = cpu_->read();
    if (counter && *counter != last_cpu_counter_) {
      last_cpu_counter_ = *counter;
      last_change_cpu_seconds_ = now;
      return *counter;
    }
    const bool stuck = counter && now - last_change_cpu_seconds_ > options_.stuck_after_cpu_seconds;
    if (counter && !stuck) return *counter;
    // From here on the estimate continues from what the counter had given.
    note_ +=
        std::string(note_.empty() ? "" : "; ") + cpu_->name() +
        (counter ? " counter did not advance over " : " counter stopped being readable after ") +
        std::to_string(now - last_change_cpu_seconds_) + " s of CPU time: estimate from here";
    cpu_.reset();
    estimate_base_ = last_cpu_counter_;
    estimate_from_cpu_seconds_ = last_change_cpu_seconds_;
  }
  return estimate_base_ + options_.cpu_watts_per_core * (now - estimate_from_cpu_seconds_);
}

double EnergyMeter::joules() {
  double total = cpu_joules();
  if (gpu_) {
    if (const std::optional<double> g = gpu_->read()) total += *g;
  }
  last_total_ = std::max(last_total_, total);
  return last_total_;
}

std::string EnergyMeter::source() const {
  return std::string(cpu_ ? cpu_->name() : "estimate") + (gpu_ ? "+" + gpu_->name() : "");
}

}  // namespace hearth::oae
