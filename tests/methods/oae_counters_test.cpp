// The oae meter's energy counters against fake powercap trees (real files in a temporary
// folder) and a fake CPU clock: wrap-around, packages summed and subdomains left out, a
// counter that does not advance, missing and malformed counters, and the labelled estimate.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "energy_counters.h"

namespace fs = std::filesystem;
using namespace hearth::oae;

namespace {

struct Tree {
  fs::path root = fs::temp_directory_path() /
                  ("hearth-rapl-" + std::to_string(::getpid()) + "-" + std::to_string(++count));
  static inline int count = 0;
  Tree() { fs::create_directories(root); }
  ~Tree() { fs::remove_all(root); }
  void domain(const std::string& dir, const std::string& name, const std::string& energy,
              const std::string& range = "1000000") const {
    fs::create_directories(root / dir);
    std::ofstream(root / dir / "name") << name << "\n";
    std::ofstream(root / dir / "max_energy_range_uj") << range << "\n";
    set(dir, energy);
  }
  void set(const std::string& dir, const std::string& energy) const {
    std::ofstream(root / dir / "energy_uj") << energy << "\n";
  }
};

EnergyOptions fake_clock(double* cpu) {
  EnergyOptions o;
  o.cpu_watts_per_core = 10;
  o.cpu_seconds = [cpu] { return *cpu; };
  return o;
}

}  // namespace

TEST_CASE("counter deltas wrap at the counter's range") {
  CHECK(counter_delta(100, 250, 1000) == 150);
  CHECK(counter_delta(990, 10, 1000) == 20);
  CHECK(counter_delta(990, 10, 0) == 10);  // no range known: counted from zero
}

TEST_CASE("RAPL: package domains summed, subdomains left out, wrap-around handled") {
  Tree t;
  t.domain("intel-rapl:0", "package-0", "990", "1000");
  t.domain("intel-rapl:1", "package-1", "5000000");
  t.domain("intel-rapl:0:0", "core", "123");  // inside package 0
  t.domain("intel-rapl:2", "psys", "0");      // not a package
  double cpu = 0;
  std::string why;
  EnergyMeter meter(fake_clock(&cpu), open_rapl(t.root.string(), why), nullptr, "");
  REQUIRE(why.empty());
  CHECK(meter.source() == "rapl");
  CHECK_FALSE(meter.is_estimate());
  CHECK(meter.joules() == 0);
  t.set("intel-rapl:0", "10");        // wrapped: +20 uJ
  t.set("intel-rapl:1", "7000000");   // +2 J
  t.set("intel-rapl:0:0", "999999");  // ignored
  cpu = 0.1;
  CHECK(meter.joules() == Approx(2.00002));
}

TEST_CASE("a counter that does not advance gives way to the labelled estimate") {
  Tree t;
  t.domain("intel-rapl:0", "package-0", "1000000");
  double cpu = 0;
  std::string why;
  EnergyMeter meter(fake_clock(&cpu), open_rapl(t.root.string(), why), nullptr, "");
  t.set("intel-rapl:0", "4000000");  // +3 J
  cpu = 0.2;
  CHECK(meter.joules() == Approx(3));
  cpu = 0.5;  // 0.3 s of CPU time without a change: not yet taken as frozen
  CHECK(meter.joules() == Approx(3));
  CHECK(meter.source() == "rapl");
  cpu = 1.0;  // 0.8 s: frozen; the estimate continues from the last change (0.2 s) at 10 W
  CHECK(meter.joules() == Approx(3 + 10 * 0.8));
  CHECK(meter.is_estimate());
  CHECK(meter.source() == "estimate");
  CHECK_THAT(meter.note(), Catch::Contains("did not advance"));
  cpu = 2.0;
  CHECK(meter.joules() == Approx(3 + 10 * 1.8));
}

TEST_CASE("missing counters: unavailable with a reason, the estimate labelled as such") {
  Tree empty;
  std::string why;
  CHECK(open_rapl(empty.root.string(), why) == nullptr);
  CHECK_THAT(why, Catch::Contains("no package domain"));
  CHECK(open_rapl((empty.root / "absent").string(), why) == nullptr);
  CHECK_THAT(why, Catch::Contains("RAPL unavailable"));
  CHECK(open_nvml("libhearth-no-such-nvml.so.1", why) == nullptr);
  CHECK_THAT(why, Catch::Contains("NVML unavailable"));
  CHECK(open_rocm_smi("libhearth-no-such-rocm-smi.so", why) == nullptr);
  CHECK_THAT(why, Catch::Contains("ROCm SMI unavailable"));

  double cpu = 0;
  EnergyOptions o = fake_clock(&cpu);
  o.powercap_root = empty.root.string();
  o.nvml_library = "libhearth-no-such-nvml.so.1";
  o.rocm_smi_library = "libhearth-no-such-rocm-smi.so";
  EnergyMeter meter(o);
  CHECK(meter.is_estimate());
  CHECK(meter.source() == "estimate");
  CHECK_THAT(meter.note(), Catch::Contains("RAPL unavailable") && Catch::Contains("NVML"));
  cpu = 1.5;
  CHECK(meter.joules() == Approx(15));
}

TEST_CASE("a malformed or unreadable counter is refused, naming the file") {
  Tree t;
  t.domain("intel-rapl:0", "package-0", "lots");
  std::string why;
  CHECK(open_rapl(t.root.string(), why) == nullptr);
  CHECK_THAT(why, Catch::Contains("energy_uj") && Catch::Contains("does not hold a number"));
  if (::geteuid() != 0) {  // root reads a mode-000 file anyway
    t.set("intel-rapl:0", "5");
    ::chmod((t.root / "intel-rapl:0" / "energy_uj").c_str(), 0);
    CHECK(open_rapl(t.root.string(), why) == nullptr);
    CHECK_THAT(why, Catch::Contains("cannot read"));
  }
}

TEST_CASE("a counter that becomes unreadable gives way to the estimate; joules never decrease") {
  Tree t;
  t.domain("intel-rapl:0", "package-0", "0");
  double cpu = 0;
  std::string why;
  EnergyMeter meter(fake_clock(&cpu), open_rapl(t.root.string(), why), nullptr, "");
  t.set("intel-rapl:0", "2000000");
  cpu = 0.1;
  CHECK(meter.joules() == Approx(2));
  fs::remove(t.root / "intel-rapl:0" / "energy_uj");
  cpu = 0.3;
  const double after = meter.joules();
  CHECK(after == Approx(2 + 10 * 0.2));
  CHECK(meter.is_estimate());
  CHECK_THAT(meter.note(), Catch::Contains("stopped being readable"));
}
