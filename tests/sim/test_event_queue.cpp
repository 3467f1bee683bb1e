// Tests of the monotone radix-heap EventQueue (sim/engine/event_queue.hpp) used directly, without Simulator.
#include <catch2/catch.hpp>

#include <cstdint>
#include <algorithm>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <stdexcept>
#include <tuple>
#include <vector>

#include "sim/engine/event_queue.hpp"
#include "sim/engine/simulator.hpp"

using epsim::EventId;
using epsim::EventQueue;
using epsim::Simulator;
using epsim::Time;

namespace {
/// Pop and run every event; append the popped times to `times` when given.
void drain(EventQueue& q, std::vector<std::int64_t>* times = nullptr) {
  Time t;
  epsim::EventHandler h;
  while (q.pop_into(t, h)) {
    if (times != nullptr) times->push_back(t.count_ps());
    h();
  }
}
}  // namespace

TEST_CASE("EventQueue: order is (time, priority, insertion) across buckets, negative and huge times",
          "[sim][engine][event_queue]") {
  // Times span the radix buckets: equal to the start base (0), 1 ps apart (bucket 1), 2^40 ps (bucket
  // 41), negative (below the initial base: the early heap) and near +-2^63 (bucket 64 of the biased
  // time). Expected order: sort by (time, priority, tag), where the tag is the push order.
  EventQueue q;
  std::vector<int> got;
  auto log = [&got](int tag) { return [&got, tag] { got.push_back(tag); }; };
  const std::int64_t big = std::numeric_limits<std::int64_t>::max();
  q.push(Time::ps(1), 0, log(0));
  q.push(Time::ps(0), 5, log(1));
  q.push(Time::ps(0), -32768, log(2));
  q.push(Time::ps(std::int64_t{1} << 40), 0, log(3));
  q.push(Time::ps(-7), 0, log(4));
  q.push(Time::ps(big), 32767, log(5));
  q.push(Time::ps(big), -1, log(6));
  q.push(Time::ps(1), 0, log(7));
  q.push(Time::ps(1), -1, log(8));
  q.push(Time::ps(-big), 0, log(9));
  q.push(Time::ps(0), 5, log(10));
  REQUIRE(q.size() == 11);
  std::vector<std::int64_t> times;
  drain(q, &times);
  CHECK(got == std::vector<int>{9, 4, 2, 1, 10, 8, 0, 7, 3, 6, 5});
  CHECK(times.front() == -big);
  CHECK(times.back() == big);
  CHECK(q.empty());
  CHECK(q.held() == 0);
}

TEST_CASE("EventQueue: equal-time events pushed while popping keep (priority, sequence) order",
          "[sim][engine][event_queue]") {
  // At time 10: A(p0) pops first and pushes C(p0) and D(p-1) at 10. B(p0) was pushed before C, D.
  // Expected: A, then D (priority -1 < 0), then B (p0, earlier sequence than C), then C.
  EventQueue q;
  std::vector<char> got;
  q.push(Time::ps(10), 0, [&] {
    got.push_back('A');
    q.push(Time::ps(10), 0, [&] { got.push_back('C'); });
    q.push(Time::ps(10), -1, [&] { got.push_back('D'); });
  });
  q.push(Time::ps(10), 0, [&] { got.push_back('B'); });
  drain(q);
  CHECK(got == std::vector<char>{'A', 'D', 'B', 'C'});
}

TEST_CASE("EventQueue: rejected inputs", "[sim][engine][event_queue]") {
  EventQueue q;
  CHECK_THROWS_AS(q.push(Time::ps(1), 32768, [] {}), std::invalid_argument);
  CHECK_THROWS_AS(q.push(Time::ps(1), -32769, [] {}), std::invalid_argument);
  CHECK_THROWS_AS(q.push(Time::ps(1), 0, nullptr), std::invalid_argument);
  CHECK(q.empty());
  q.push(Time::ps(100), 0, [] {});
  REQUIRE(q.pop());
  CHECK(q.floor() == Time::ps(100));
  // Monotone: before the last popped time is a logic error; at it is allowed.
  CHECK_THROWS_AS(q.push(Time::ps(99), 0, [] {}), std::logic_error);
  CHECK_NOTHROW(q.push(Time::ps(100), 0, [] {}));
  CHECK(q.size() == 1);
}

TEST_CASE("EventQueue: a push between the last pop and a peeked next event comes out first",
          "[sim][engine][event_queue]") {
  // next_time() refills bucket 0 with the event at 50 (base 50). A push at 20 (>= floor 10, < base)
  // goes to the early heap and must come out before 50; one at 50 with priority -1 before the older 50.
  EventQueue q;
  std::vector<int> got;
  q.push(Time::ps(10), 0, [&] { got.push_back(10); });
  q.push(Time::ps(50), 0, [&] { got.push_back(50); });
  {
    auto p = q.pop();
    REQUIRE(p);
    p->handler();
  }
  REQUIRE(q.next_time() == Time::ps(50));
  q.push(Time::ps(30), 0, [&] { got.push_back(30); });
  q.push(Time::ps(20), 0, [&] { got.push_back(20); });
  q.push(Time::ps(50), -1, [&] { got.push_back(-50); });
  CHECK(q.next_time() == Time::ps(20));
  drain(q);
  CHECK(got == std::vector<int>{10, 20, 30, -50, 50});

  // The same through Simulator::run_until, which peeks and stops before the next event.
  Simulator sim;
  std::vector<int> order;
  sim.schedule(Time::ns(100), 0, [&] { order.push_back(100); });
  sim.run_until(Time::ns(40));
  sim.schedule(Time::ns(60), 0, [&] { order.push_back(60); });
  sim.schedule(sim.now(), 0, [&] { order.push_back(40); });
  sim.run();
  CHECK(order == std::vector<int>{40, 60, 100});
}

TEST_CASE("EventQueue: cancel before and after firing, stale and foreign ids", "[sim][engine][event_queue]") {
  EventQueue q;
  auto token = std::make_shared<int>(0);
  EventId a = q.push(Time::ps(5), 0, [] {});
  EventId b = q.push(Time::ps(6), 0, [token] {});
  CHECK(token.use_count() == 2);
  CHECK(q.cancel(b));
  CHECK(token.use_count() == 1);  // cancelling destroys the captures at once, not when b reaches the front
  CHECK_FALSE(q.cancel(b));       // twice
  CHECK_FALSE(q.is_pending(b));
  CHECK(q.size() == 1);
  CHECK(q.held() == 2);  // b's entry is dropped lazily
  REQUIRE(q.pop());
  CHECK_FALSE(q.cancel(a));  // after firing
  CHECK_FALSE(q.is_pending(a));
  CHECK_FALSE(q.pop());      // b was dead: nothing left
  CHECK(q.held() == 0);
  // Slots are reused; the stale ids a and b must not touch the new events that own their slots.
  EventId c = q.push(Time::ps(7), 0, [] {});
  EventId d = q.push(Time::ps(8), 0, [] {});
  CHECK_FALSE(q.cancel(a));
  CHECK_FALSE(q.cancel(b));
  CHECK(q.is_pending(c));
  CHECK(q.is_pending(d));
  CHECK_FALSE(q.cancel(EventId{}));
  CHECK_FALSE(q.cancel(EventId{(std::uint64_t{12345} << 32) | 1}));  // a slot that does not exist
  CHECK(q.size() == 2);
}

TEST_CASE("EventQueue: cancelling most events sweeps dead entries (memory O(live))", "[sim][engine][event_queue]") {
  // 4000 events, cancel 3000 (all but every fourth). The sweep runs when dead > 1024 and dead > live,
  // so after every cancel held <= max(2 live, live + 1024); the survivors keep their order.
  EventQueue q;
  std::vector<int> got;
  std::vector<EventId> ids;
  for (int i = 0; i < 4000; ++i)
    ids.push_back(q.push(Time::ps(4000 - i), 0, [&got, i] { got.push_back(i); }));
  bool bounded = true;
  for (int i = 0; i < 4000; ++i) {
    if (i % 4 == 0) continue;
    REQUIRE(q.cancel(ids[static_cast<std::size_t>(i)]));
    bounded = bounded && q.held() <= std::max(2 * q.size(), q.size() + 1024);
  }
  CHECK(bounded);
  CHECK(q.size() == 1000);
  CHECK(q.held() < 2200);  // a sweep happened: without it held would be 4000
  drain(q);
  REQUIRE(got.size() == 1000);
  bool descending = true;  // time 4000 - i: larger i first
  for (std::size_t k = 0; k < got.size(); ++k) descending = descending && got[k] == 3996 - 4 * static_cast<int>(k);
  CHECK(descending);
}

TEST_CASE("EventQueue: random push/pop/cancel/peek matches a std::set reference", "[sim][engine][event_queue]") {
  // 200000 random operations (seed 7). The reference is a std::set of (time, priority, sequence); every
  // pop must return the reference's minimum, next_time() its minimum time, cancel() true exactly when
  // the id is in the reference. Pushed times are floor + an offset drawn from {0, 0..3, 0..2^10,
  // 0..2^40} so that equal times, every radix bucket and the early heap (push after a peek) occur.
  std::mt19937_64 rng(7);
  EventQueue q;
  using Key = std::tuple<std::int64_t, int, std::uint64_t>;
  std::set<Key> ref;
  std::vector<EventId> id_of;  // sequence -> id (live and dead)
  std::map<std::uint64_t, Key> live;  // sequence -> key of the events in ref
  std::uint64_t seq = 0;
  std::int64_t floor_ps = 0;
  std::uint64_t popped_seq = 0;
  int mismatches = 0;
  std::uniform_int_distribution<int> op(0, 99);
  std::uniform_int_distribution<int> prio(-3, 3);
  for (int step = 0; step < 200'000; ++step) {
    const int o = op(rng);
    if (o < 50) {
      const int range = static_cast<int>(rng() % 4);
      const std::int64_t max_off = range == 0 ? 0 : range == 1 ? 3 : range == 2 ? 1024 : (std::int64_t{1} << 40);
      const std::int64_t t = floor_ps + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(max_off + 1));
      const int p = (rng() % 50 == 0) ? EventQueue::kMinPriority : prio(rng);
      const std::uint64_t s = seq++;
      id_of.push_back(q.push(Time::ps(t), p, [&popped_seq, s] { popped_seq = s; }));
      ref.emplace(t, p, s);
      live.emplace(s, Key{t, p, s});
    } else if (o < 80) {
      auto got = q.pop();
      if (ref.empty()) {
        mismatches += got.has_value() ? 1 : 0;
        continue;
      }
      const Key expect = *ref.begin();
      ref.erase(ref.begin());
      live.erase(std::get<2>(expect));
      if (!got) {
        ++mismatches;
        continue;
      }
      got->handler();
      floor_ps = std::get<0>(expect);
      mismatches += (got->time.count_ps() != std::get<0>(expect) || popped_seq != std::get<2>(expect)) ? 1 : 0;
    } else if (o < 95) {
      if (seq == 0) continue;
      // Half the time one of the 64 latest events (mostly still pending), else any event ever pushed
      // (mostly fired or cancelled: stale ids).
      const std::uint64_t s = rng() % 2 == 0 ? seq - 1 - rng() % std::min<std::uint64_t>(seq, 64) : rng() % seq;
      auto it = live.find(s);
      const bool expect = it != live.end();
      if (expect) {
        ref.erase(it->second);
        live.erase(it);
      }
      mismatches += q.cancel(id_of[s]) != expect ? 1 : 0;
    } else {
      auto t = q.next_time();
      const bool ok = ref.empty() ? !t.has_value() : (t && t->count_ps() == std::get<0>(*ref.begin()));
      mismatches += ok ? 0 : 1;
    }
    mismatches += q.size() != ref.size() ? 1 : 0;
  }
  CHECK(mismatches == 0);
  CHECK(seq > 90'000);  // the run did exercise the queue (about half the operations are pushes)
}
