#pragma once
// The discrete-event engine: a clock and one EventQueue. No global state: any number of Simulator
// instances may run in one process (one per thread; an instance is not thread-safe).
//
// Event order: (time, priority, insertion sequence), smaller first; see sim/engine/event_queue.hpp.
// Complexity (a monotone radix heap, see sim/engine/event_queue.hpp; k = events at one instant): schedule
// O(1) (O(log k) at the current instant); cancel O(1); step O(log k) plus O(1) amortized, plus the
// handler; run / run_until that per executed event; now() O(1). Scheduling before now() is rejected
// here (std::logic_error); the queue relies on it (EventQueue::push rejects times before its last pop).
#include <cstdint>
#include <utility>

#include "sim/engine/event_queue.hpp"
#include "sim/engine/time.hpp"

namespace epsim {

/// A discrete-event simulator. Handlers run one at a time on the caller's thread; a handler may
/// schedule and cancel events (including at the current time). An exception thrown by a handler
/// propagates out of step()/run()/run_until(); the event that threw counts as executed.
class Simulator {
 public:
  /// Priority of ordinary events. Lower values run first at equal times.
  static constexpr int kDefaultPriority = 0;
  /// Earliest and latest priority classes (bookkeeping that must run before / after everything else
  /// at the same instant, e.g. the flow network's coalesced rate re-solve uses kLatestPriority).
  static constexpr int kEarliestPriority = EventQueue::kMinPriority;
  static constexpr int kLatestPriority = EventQueue::kMaxPriority;

  /// Schedule handler at absolute time `at` with a priority class. O(1) amortized. The handler is any
  /// callable `void()` (move-only captures allowed); captures up to 48 bytes are stored without
  /// allocation (see sim/engine/event_handler.hpp).
  /// Throws std::logic_error when at < now(); std::invalid_argument on a bad priority or empty handler.
  EventId schedule(Time at, int priority, EventHandler handler);
  /// Schedule at now() + delay with the default priority. Throws std::logic_error on a negative delay.
  EventId schedule_in(Time delay, EventHandler handler) {
    return schedule(now_ + delay, kDefaultPriority, std::move(handler));
  }
  /// Reserve room for n pending events (optional; avoids regrowth of the queue's arrays).
  void reserve(std::size_t n) { queue_.reserve(n); }
  /// Cancel a pending event. O(1). Returns false when it already fired or was cancelled (harmless).
  bool cancel(EventId id) { return queue_.cancel(id); }
  /// True when the id names an event that has neither fired nor been cancelled.
  bool is_pending(EventId id) const { return queue_.is_pending(id); }

  /// Current simulated time (the time of the event being or last executed).
  Time now() const { return now_; }
  /// Execute the next event, advancing now(). Returns false when no event is pending.
  bool step();
  /// Execute events until none is pending.
  void run();
  /// Execute every event with time <= limit, then advance now() to limit (if later than now()).
  /// Throws std::logic_error when limit < now().
  void run_until(Time limit);

  /// Number of events executed so far (cancelled events are not counted).
  std::uint64_t events_executed() const { return executed_; }
  /// Number of events pending (live).
  std::size_t events_pending() const { return queue_.size(); }

 private:
  EventQueue queue_;
  Time now_;
  std::uint64_t executed_ = 0;
};

}  // namespace epsim
