// Test fixture (metrics): fails on purpose, to check that failures inside a plugin reach the
// host as statuses and messages. on_event throws a std::exception, snapshot throws something
// that is not one, and the option fail_create = true makes the constructor throw.
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "hearth/plugin.hpp"

namespace {

using hearth::sdk::Host;
using hearth::sdk::Options;

class TestFaulty : public hearth::sdk::MetricsPlugin {
 public:
  TestFaulty(Host host, const Options& options) : MetricsPlugin(host, options) {
    if (options.get_bool("fail_create", false)) {
      throw std::runtime_error("test_faulty: create failed on purpose");
    }
  }

  void on_event(const hearth_event& /*event*/) override {
    throw std::runtime_error("test_faulty: on_event failed on purpose");
  }

  std::vector<std::pair<std::string, std::string>> snapshot() override { throw 42; }
};

}  // namespace

HEARTH_PLUGIN(TestFaulty, "test_faulty", "1.0", "throws from every call")
