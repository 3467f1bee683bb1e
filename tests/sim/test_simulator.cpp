#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "sim/engine/simulator.hpp"

using epsim::EventId;
using epsim::Simulator;
using epsim::Time;

TEST_CASE("Events run in (time, priority, insertion) order", "[sim][engine]") {
  Simulator sim;
  std::vector<std::string> order;
  auto log = [&order](std::string s) { return [&order, s] { order.push_back(s); }; };
  sim.schedule(Time::ns(10), 1, log("t10 p1"));
  sim.schedule(Time::ns(10), 0, log("t10 p0 first"));
  sim.schedule(Time::ns(10), 0, log("t10 p0 second"));
  sim.schedule(Time::ns(10), -5, log("t10 p-5"));
  sim.schedule(Time::ns(5), 9, log("t5 p9"));
  sim.run();
  CHECK(order == std::vector<std::string>{"t5 p9", "t10 p-5", "t10 p0 first", "t10 p0 second", "t10 p1"});
  CHECK(sim.now() == Time::ns(10));
  CHECK(sim.events_executed() == 5);
}

TEST_CASE("An event scheduled at the current time runs after those already queued", "[sim][engine]") {
  Simulator sim;
  std::vector<int> order;
  sim.schedule(Time::ns(1), 0, [&] {
    order.push_back(1);
    sim.schedule(sim.now(), 0, [&] { order.push_back(3); });
  });
  sim.schedule(Time::ns(1), 0, [&] { order.push_back(2); });
  sim.run();
  CHECK(order == std::vector<int>{1, 2, 3});
}

TEST_CASE("Cancel before firing, after firing, twice", "[sim][engine]") {
  Simulator sim;
  int fired = 0;
  EventId a = sim.schedule(Time::ns(1), 0, [&] { ++fired; });
  EventId b = sim.schedule(Time::ns(2), 0, [&] { fired += 10; });
  CHECK(sim.is_pending(b));
  CHECK(sim.cancel(b));          // before firing: removed
  CHECK_FALSE(sim.cancel(b));    // twice: harmless
  CHECK_FALSE(sim.is_pending(b));
  CHECK(sim.events_pending() == 1);
  sim.run();
  CHECK(fired == 1);
  CHECK_FALSE(sim.cancel(a));    // after firing: harmless
  CHECK_FALSE(sim.cancel(EventId{}));
  CHECK(sim.events_executed() == 1);
  // A stale id does not cancel a new event that reuses its slot.
  EventId c = sim.schedule(Time::ns(3), 0, [&] { fired += 100; });
  CHECK_FALSE(sim.cancel(b));
  CHECK(sim.is_pending(c));
  sim.run();
  CHECK(fired == 101);
}

TEST_CASE("Scheduling in the past and bad priorities are rejected", "[sim][engine]") {
  Simulator sim;
  sim.schedule(Time::ns(10), 0, [] {});
  sim.run();
  CHECK_THROWS_AS(sim.schedule(Time::ns(5), 0, [] {}), std::logic_error);
  CHECK_THROWS_AS(sim.schedule_in(-Time::ns(1), [] {}), std::logic_error);
  CHECK_THROWS_AS(sim.run_until(Time::ns(9)), std::logic_error);
  CHECK_THROWS_AS(sim.schedule(Time::ns(20), 40'000, [] {}), std::invalid_argument);
  CHECK_THROWS_AS(sim.schedule(Time::ns(20), 0, nullptr), std::invalid_argument);
  CHECK_NOTHROW(sim.schedule(Time::ns(10), 0, [] {}));  // at now is allowed
}

TEST_CASE("run_until executes events up to and including the limit", "[sim][engine]") {
  Simulator sim;
  int fired = 0;
  for (int t : {5, 10, 15}) sim.schedule(Time::ns(t), 0, [&] { ++fired; });
  sim.run_until(Time::ns(10));
  CHECK(fired == 2);
  CHECK(sim.now() == Time::ns(10));
  sim.run_until(Time::ns(12));
  CHECK(fired == 2);
  CHECK(sim.now() == Time::ns(12));  // the clock advances to the limit
  CHECK(sim.step());
  CHECK(sim.now() == Time::ns(15));
  CHECK_FALSE(sim.step());
}

TEST_CASE("Two simulators in one process are independent", "[sim][engine]") {
  Simulator a;
  Simulator b;
  std::vector<std::string> log;
  a.schedule(Time::ns(1), 0, [&] { log.push_back("a1"); });
  a.schedule(Time::ns(3), 0, [&] { log.push_back("a3"); });
  b.schedule(Time::ns(2), 0, [&] { log.push_back("b2"); });
  CHECK(b.step());
  CHECK(b.now() == Time::ns(2));
  CHECK(a.now() == Time{});
  a.run();
  CHECK(a.now() == Time::ns(3));
  CHECK(b.now() == Time::ns(2));
  CHECK(log == std::vector<std::string>{"b2", "a1", "a3"});
  CHECK(a.events_executed() == 2);
  CHECK(b.events_executed() == 1);
}

TEST_CASE("Random schedule/cancel matches a sorted reference", "[sim][engine]") {
  // 20000 events with random (time, priority), two of every three cancelled: enough to trigger the heap
  // compaction (dead > 1024 and dead > live). Expected order: sort by (time, priority, insertion).
  Simulator sim;
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int> time(0, 500);
  std::uniform_int_distribution<int> prio(-3, 3);
  using Key = std::tuple<int, int, int>;  // (time, priority, sequence)
  std::vector<Key> expected;
  std::vector<int> got;
  std::vector<EventId> ids;
  for (int i = 0; i < 20'000; ++i) {
    int t = time(rng);
    int p = prio(rng);
    ids.push_back(sim.schedule(Time::ns(t), p, [&got, i] { got.push_back(i); }));
    expected.emplace_back(t, p, i);
  }
  std::vector<bool> cancelled(ids.size(), false);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i % 3 == 0) continue;
    CHECK(sim.cancel(ids[i]));
    cancelled[i] = true;
  }
  std::erase_if(expected, [&](const Key& k) { return cancelled[static_cast<std::size_t>(std::get<2>(k))]; });
  std::sort(expected.begin(), expected.end());
  sim.run();
  REQUIRE(got.size() == expected.size());
  bool same = true;
  for (std::size_t i = 0; i < got.size(); ++i) same = same && got[i] == std::get<2>(expected[i]);
  CHECK(same);
  CHECK(sim.events_executed() == expected.size());
}
