// The oae meter's request ledger against hand-worked timelines: phases, percentiles, and the
// split of each interval's energy among the requests running in it.
#include <catch2/catch.hpp>
#include <vector>

#include "request_ledger.h"

using hearth::oae::percentiles;
using hearth::oae::RequestLedger;

namespace {

hearth_event event(hearth_event_type type, uint64_t id, double t, int32_t prompt = 0,
                   int32_t generated = 0) {
  hearth_event e{};
  e.type = type;
  e.request_id = id;
  e.time_seconds = t;
  e.prompt_tokens = prompt;
  e.generated_tokens = generated;
  e.status = HEARTH_OK;
  return e;
}

}  // namespace

TEST_CASE("nearest-rank percentiles") {
  std::vector<double> v = {5, 1, 4, 2, 3, 6, 7, 8, 9, 10};
  const auto p = percentiles(v);
  CHECK(p.p50 == 5);
  CHECK(p.p95 == 10);
  CHECK(p.max == 10);
  std::vector<double> none;
  CHECK(percentiles(none).count == 0);
}

TEST_CASE("one request: ttft, inter-token latencies and phase energy") {
  RequestLedger ledger(100);
  ledger.start(100.0, 1000.0);
  ledger.on_event(event(HEARTH_EVENT_REQUEST_START, 1, 101.0, 10), 1010.0);  // idle: 10 J
  ledger.on_event(event(HEARTH_EVENT_PROMPT_DONE, 1, 101.5, 10), 1030.0);    // prefill: 20 J
  ledger.on_event(event(HEARTH_EVENT_TOKEN, 1, 101.5, 10, 1), 0);
  ledger.on_event(event(HEARTH_EVENT_TOKEN, 1, 101.6, 10, 2), 0);
  ledger.on_event(event(HEARTH_EVENT_TOKEN, 1, 101.9, 10, 3), 0);
  ledger.on_event(event(HEARTH_EVENT_REQUEST_END, 1, 102.0, 10, 3), 1070.0);  // decode: 40 J
  REQUIRE(ledger.finished().size() == 1);
  const auto& r = ledger.finished().front();
  CHECK(r.ttft() == Approx(0.5));
  CHECK(r.prefill_seconds() == Approx(0.5));
  CHECK(r.decode_seconds() == Approx(0.5));
  REQUIRE(r.itl.size() == 2);
  CHECK(r.itl[0] == Approx(0.1));
  CHECK(r.itl[1] == Approx(0.3));
  CHECK(r.prefill_joules == Approx(20));
  CHECK(r.decode_joules == Approx(40));
  CHECK(ledger.totals().idle_joules == Approx(10));
  CHECK(ledger.totals().generated_tokens == 3);
  CHECK(ledger.tokens_per_second().size() == 2);  // bins 1 s wide from the start
  CHECK(ledger.tokens_per_second()[1] == 3);
}

TEST_CASE("overlapping requests share each interval's energy, nothing counted twice") {
  RequestLedger ledger(100);
  ledger.start(0, 0);
  ledger.on_event(event(HEARTH_EVENT_REQUEST_START, 1, 1.0, 4), 0);
  ledger.on_event(event(HEARTH_EVENT_REQUEST_START, 2, 2.0, 4), 10);  // 10 J: request 1 only
  ledger.on_event(event(HEARTH_EVENT_PROMPT_DONE, 1, 3.0, 4), 30);    // 20 J: 10 each, prefill
  ledger.on_event(event(HEARTH_EVENT_REQUEST_END, 1, 4.0, 4, 2),
                  50);  // 20 J: 10 decode, 10 prefill
  ledger.on_event(event(HEARTH_EVENT_REQUEST_END, 2, 5.0, 4, 0), 56);  // 6 J: request 2
  const auto& done = ledger.finished();
  REQUIRE(done.size() == 2);
  CHECK(done[0].prefill_joules == Approx(20));
  CHECK(done[0].decode_joules == Approx(10));
  CHECK(done[1].prefill_joules == Approx(26));
  CHECK(done[1].decode_joules == Approx(0));
  const auto& t = ledger.totals();
  CHECK(t.prefill_joules + t.decode_joules + t.idle_joules == Approx(56));
}

TEST_CASE("a method overhead claims the share of its interval it took") {
  RequestLedger ledger(100);
  ledger.start(0, 0);
  hearth_event o = event(HEARTH_EVENT_METHOD_OVERHEAD, 0, 4.0);
  o.elapsed_seconds = 3.0;
  o.prompt_tokens = 900;
  o.source = "cag";
  ledger.on_event(o, 40);  // 4 s since the last reading, 3 of them the overhead's
  REQUIRE(ledger.overheads().size() == 1);
  CHECK(ledger.overheads()[0].source == "cag");
  CHECK(ledger.overheads()[0].joules == Approx(30));
  CHECK(ledger.overheads()[0].tokens == 900);
  CHECK(ledger.totals().idle_joules == Approx(10));
}

TEST_CASE("a counter that goes backwards never makes energy negative") {
  RequestLedger ledger(100);
  ledger.start(0, 50);
  ledger.on_event(event(HEARTH_EVENT_REQUEST_START, 1, 1.0, 4), 40);
  ledger.on_event(event(HEARTH_EVENT_REQUEST_END, 1, 2.0, 4, 1), 60);
  REQUIRE(ledger.finished().size() == 1);
  CHECK(ledger.finished()[0].prefill_joules == Approx(10));  // from the highest reading, 50
}

TEST_CASE("only the last keep_requests finished requests are kept; totals count all") {
  RequestLedger ledger(3);
  ledger.start(0, 0);
  for (uint64_t id = 1; id <= 10; ++id) {
    ledger.on_event(event(HEARTH_EVENT_REQUEST_START, id, id, 2), 0);
    ledger.on_event(event(HEARTH_EVENT_REQUEST_END, id, id + 0.5, 2, 1), 0);
  }
  CHECK(ledger.finished().size() == 3);
  CHECK(ledger.finished().front().id == 8);
  CHECK(ledger.totals().requests == 10);
}

TEST_CASE("KV peaks per request come from every event, the shared part included") {
  RequestLedger ledger(100);
  ledger.start(0.0, 0.0);
  auto kv = [](hearth_event e, uint64_t live, uint64_t shared) {
    e.kv_bytes = live;
    e.kv_shared_bytes = shared;
    return e;
  };
  ledger.on_event(kv(event(HEARTH_EVENT_REQUEST_START, 1, 1.0, 4), 4096, 4096), 0);
  ledger.on_event(kv(event(HEARTH_EVENT_PROMPT_DONE, 1, 1.1, 4), 6144, 4096), 0);
  ledger.on_event(kv(event(HEARTH_EVENT_TOKEN, 1, 1.2, 4, 1), 8192, 2048), 0);
  ledger.on_event(kv(event(HEARTH_EVENT_TOKEN, 1, 1.3, 4, 2), 7168, 6144), 0);
  ledger.on_event(kv(event(HEARTH_EVENT_REQUEST_END, 1, 1.4, 4, 2), 1024, 0), 0);
  REQUIRE(ledger.finished().size() == 1);
  CHECK(ledger.finished().front().kv_peak_bytes == 8192);
  CHECK(ledger.finished().front().kv_shared_peak_bytes == 6144);
  CHECK(ledger.kv_shared_bytes() == 0);  // as of the last event
}
