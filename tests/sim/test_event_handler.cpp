#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "sim/engine/event_handler.hpp"
#include "sim/engine/simulator.hpp"

using epsim::EventHandler;
using epsim::EventId;
using epsim::Simulator;
using epsim::Time;

namespace {
// Counts live instances (copies and moves included) so tests can see captured state being destroyed.
struct Tracker {
  int* alive;
  explicit Tracker(int* a) : alive(a) { ++*alive; }
  Tracker(const Tracker& o) : alive(o.alive) { ++*alive; }
  Tracker(Tracker&& o) noexcept : alive(o.alive) { ++*alive; }
  Tracker& operator=(const Tracker&) = delete;
  ~Tracker() { --*alive; }
};
}  // namespace

TEST_CASE("EventHandler: empty states", "[sim][handler]") {
  EventHandler a;
  CHECK_FALSE(a);
  EventHandler b = nullptr;
  CHECK_FALSE(b);
  CHECK(b == nullptr);
  EventHandler c = std::function<void()>{};
  CHECK_FALSE(c);
  void (*fp)() = nullptr;
  EventHandler d = fp;
  CHECK_FALSE(d);
  EventHandler e = [] {};
  CHECK(e);
  e = nullptr;
  CHECK_FALSE(e);
}

TEST_CASE("EventHandler: small captures are inline, large ones fall back to the heap", "[sim][handler]") {
  STATIC_REQUIRE(sizeof(EventHandler) == 56);
  std::array<std::uint64_t, 6> fits{};   // 48 bytes
  std::array<std::uint64_t, 16> big{};   // 128 bytes
  auto small_l = [fits] { (void)fits; };
  auto big_l = [big] { (void)big; };
  STATIC_REQUIRE(EventHandler::stored_inline<decltype(small_l)>);
  STATIC_REQUIRE_FALSE(EventHandler::stored_inline<decltype(big_l)>);

  // A large capture survives moves (the heap block moves by pointer) and runs with its data intact.
  std::array<std::uint64_t, 16> data{};
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = i * i;
  std::uint64_t sum = 0;
  EventHandler h = [data, &sum] {
    for (auto v : data) sum += v;
  };
  EventHandler moved = std::move(h);
  CHECK_FALSE(h);  // NOLINT(bugprone-use-after-move)
  EventHandler again;
  again = std::move(moved);
  again();
  CHECK(sum == 1240);  // sum of i^2, i < 16

  // Large captured state is destroyed exactly once, whether run or not.
  int alive = 0;
  {
    Tracker t(&alive);
    std::array<char, 100> pad{};
    EventHandler x = [t, pad] { (void)pad; };
    CHECK(alive == 2);
    EventHandler y = std::move(x);
    CHECK(alive == 2);  // heap fallback: a move transfers the pointer, no new instance
  }
  CHECK(alive == 0);
}

TEST_CASE("EventHandler: move-only captures", "[sim][handler]") {
  auto p = std::make_unique<int>(41);
  int seen = 0;
  EventHandler h = [q = std::move(p), &seen] { seen = ++*q; };
  EventHandler m = std::move(h);
  m();
  CHECK(seen == 42);

  // Through the simulator: std::function could not hold this.
  Simulator sim;
  auto owned = std::make_unique<std::string>("payload");
  std::string got;
  sim.schedule(Time::ns(1), 0, [s = std::move(owned), &got] { got = *s; });
  sim.run();
  CHECK(got == "payload");
}

TEST_CASE("EventHandler: non-trivial inline captures are moved and destroyed correctly", "[sim][handler]") {
  int alive = 0;
  {
    Tracker t(&alive);
    EventHandler a = [t] {};
    STATIC_REQUIRE(EventHandler::stored_inline<Tracker>);
    CHECK(alive == 2);
    EventHandler b = std::move(a);
    CHECK(alive == 2);  // moved-from instance destroyed, one new
    b = nullptr;
    CHECK(alive == 1);
  }
  CHECK(alive == 0);
}

TEST_CASE("Cancelling an event destroys its captured state at once", "[sim][handler]") {
  Simulator sim;
  auto small_state = std::make_shared<int>(1);
  auto big_state = std::make_shared<int>(2);
  std::array<char, 200> pad{};
  int ran = 0;
  EventId a = sim.schedule(Time::ns(5), 0, [small_state, &ran] { ran += *small_state; });
  EventId b = sim.schedule(Time::ns(6), 0, [big_state, pad, &ran] { ran += *big_state + pad[0]; });
  CHECK(small_state.use_count() == 2);
  CHECK(big_state.use_count() == 2);
  CHECK(sim.cancel(a));
  CHECK(small_state.use_count() == 1);  // released before the dead key leaves the heap
  CHECK(sim.cancel(b));
  CHECK(big_state.use_count() == 1);
  sim.run();
  CHECK(ran == 0);
  CHECK(sim.events_executed() == 0);
}

TEST_CASE("Fired handlers release their captures, a destructor may schedule", "[sim][handler]") {
  Simulator sim;
  auto state = std::make_shared<int>(7);
  sim.schedule(Time::ns(1), 0, [state] {});
  CHECK(state.use_count() == 2);
  sim.run();
  CHECK(state.use_count() == 1);

  // A capture whose destructor schedules another event (re-entrancy from cancel()).
  struct OnDestroy {
    Simulator* sim;
    int* fired;
    bool armed = true;
    OnDestroy(Simulator* s, int* f) : sim(s), fired(f) {}
    OnDestroy(OnDestroy&& o) noexcept : sim(o.sim), fired(o.fired), armed(std::exchange(o.armed, false)) {}
    ~OnDestroy() {
      if (armed)
        for (int i = 0; i < 100; ++i) sim->schedule(sim->now(), 0, [f = fired] { ++*f; });  // may regrow
    }
  };
  int fired = 0;
  EventId id = sim.schedule(Time::ns(2), 0, [g = OnDestroy(&sim, &fired)] {});
  CHECK(sim.cancel(id));
  CHECK(sim.events_pending() == 100);
  sim.run();
  CHECK(fired == 100);
}

TEST_CASE("A stale id does not cancel the event that reuses its slot after a dead key", "[sim][engine]") {
  // Cancelled slots are reused only once their dead key has left the heap; ids stay distinct.
  Simulator sim;
  int fired = 0;
  EventId a = sim.schedule(Time::ns(10), 0, [&] { fired += 1; });
  CHECK(sim.cancel(a));
  EventId b = sim.schedule(Time::ns(1), 0, [&] { fired += 10; });
  CHECK(a != b);
  CHECK_FALSE(sim.cancel(a));
  CHECK(sim.is_pending(b));
  sim.run();
  CHECK(fired == 10);
  EventId c = sim.schedule(Time::ns(20), 0, [&] { fired += 100; });
  CHECK_FALSE(sim.cancel(a));
  CHECK_FALSE(sim.cancel(b));
  CHECK(sim.is_pending(c));
  sim.run();
  CHECK(fired == 110);
}

TEST_CASE("Ties on (time, priority) across many slots follow insertion order", "[sim][engine]") {
  Simulator sim;
  std::vector<int> order;
  std::vector<EventId> ids;
  // Interleave cancels so that slots are reused out of insertion order.
  for (int i = 0; i < 2000; ++i) {
    ids.push_back(sim.schedule(Time::ns(1), i % 2, [&order, i] { order.push_back(i); }));
    if (i % 7 == 3) sim.cancel(ids[static_cast<std::size_t>(i - 2)]);
  }
  sim.run_until(Time::ns(0));
  CHECK(order.empty());
  while (sim.step()) {
  }
  std::vector<int> expected;
  for (int p = 0; p < 2; ++p)
    for (int i = 0; i < 2000; ++i)
      if (i % 2 == p && !(i + 2 < 2000 && (i + 2) % 7 == 3)) expected.push_back(i);
  CHECK(order == expected);
}
