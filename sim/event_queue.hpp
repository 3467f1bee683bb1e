#pragma once
// The pending-event set of one simulator: a 4-ary min-heap of small keys (24 bytes) over a slot table
// that holds the handlers, with lazy cancellation.
//
// Order: total and deterministic, by (time, priority, insertion sequence); a smaller priority runs
// first among events at the same time; ties are broken by the order of push().
//
// Complexity (n = entries in the heap, live or cancelled-but-not-yet-skipped):
//   push     O(log n)            (plus one handler move)
//   cancel   O(1)                (marks dead; the heap entry is skipped when it reaches the top)
//   pop      O(log n) amortized  (skipping dead entries; they are each popped once)
//   next_time O(1) amortized     (skips dead entries at the top)
// When dead entries outnumber live ones (and there are more than 1024), the heap is rebuilt without
// them in O(n), so memory stays O(live) and the amortized bounds hold.
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "sim/time.hpp"

namespace epsim {

/// Handle to a scheduled event. Default-constructed ids name no event. Ids stay valid to pass to
/// cancel() forever: a stale id (fired or cancelled) is harmless. (Generations are 32-bit: an id is
/// only confused with a later event after 2^32 reuses of the same slot.)
struct EventId {
  std::uint64_t value = 0;
  friend bool operator==(EventId, EventId) = default;
};

/// The typed event handler; runs once, with no arguments.
using EventHandler = std::function<void()>;

/// Priority queue of events with lazy cancellation (see the file comment for order and complexity).
/// Not thread-safe; one queue per simulator.
class EventQueue {
 public:
  /// Smallest and largest accepted priority values (16 bits, packed with a 48-bit sequence number).
  static constexpr int kMinPriority = -32768;
  static constexpr int kMaxPriority = 32767;

  /// An event taken out of the queue.
  struct Popped {
    Time time;
    EventHandler handler;
  };

  /// Add an event. O(log n). Throws std::invalid_argument when priority is outside
  /// [kMinPriority, kMaxPriority] or the handler is empty; std::overflow_error after 2^48 pushes.
  EventId push(Time at, int priority, EventHandler handler);
  /// Mark a pending event dead. O(1). Returns false (and does nothing) when the id names no pending
  /// event: already fired, already cancelled, or default-constructed.
  bool cancel(EventId id);
  /// True when the id names an event that has neither fired nor been cancelled. O(1).
  bool is_pending(EventId id) const;
  /// Time of the earliest live event, or std::nullopt when none. O(1) amortized.
  std::optional<Time> next_time();
  /// Remove and return the earliest live event, or std::nullopt when none. O(log n) amortized.
  std::optional<Popped> pop();
  /// Number of live (pending, not cancelled) events. O(1).
  std::size_t size() const { return live_; }
  /// True when no live event is pending. O(1).
  bool empty() const { return live_ == 0; }

 private:
  struct Key {
    std::int64_t time_ps;
    std::uint64_t order;  ///< (priority + 2^15) << 48 | sequence
    std::uint32_t slot;
    std::uint32_t generation;
  };
  static bool before(const Key& a, const Key& b) {
    return a.time_ps < b.time_ps || (a.time_ps == b.time_ps && a.order < b.order);
  }
  bool is_dead(const Key& k) const { return generations_[k.slot] != k.generation; }
  void sift_up(std::size_t i);
  void sift_down(std::size_t i);
  void remove_top();
  void skip_dead_top();
  void release_slot(std::uint32_t slot);
  void compact();

  std::vector<Key> heap_;
  // Slot table, split so the liveness check touches 4 bytes per slot: handler and generation of slot i.
  std::vector<EventHandler> handlers_;
  std::vector<std::uint32_t> generations_;
  std::vector<std::uint32_t> free_slots_;
  std::uint64_t next_sequence_ = 0;
  std::size_t live_ = 0;
};

}  // namespace epsim
