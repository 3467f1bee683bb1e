#pragma once
// The pending-event set of one simulator: a monotone radix heap of 24-byte entries
// (time, priority | sequence, slot) over a slot table that holds the handlers (one 64-byte line per
// slot), with lazy cancellation.
//
// Order: total and deterministic, by (time, priority, insertion sequence); a smaller priority runs
// first among events at the same time; ties are broken by the order of push(). Priority and sequence
// are packed into one 64-bit `order` word ((priority + 2^15) << 48 | sequence), so comparing two
// entries never reads another array.
//
// Monotone: push() rejects a time before the last popped event's time (floor()), as a simulator never
// schedules before now(). This is what makes a radix heap legal. Entries with time t >= base (the
// time of the current minimum, set when bucket 0 is refilled) live in bucket b = bit_width(t ^ base):
// bucket 0 holds exactly the entries at time == base, kept as a binary heap by `order`; bucket
// b >= 1 is unsorted. When bucket 0 runs empty, the lowest non-empty bucket is scanned for its
// minimum time, which becomes the new base, and its entries are redistributed to strictly lower
// buckets. An entry pushed with floor() <= t < base (possible after next_time() refilled bucket 0
// without popping, e.g. Simulator::run_until stopping before the next event) goes to a small "early"
// binary heap by (time, order); every early entry precedes every bucketed one, so it is served first.
//
// Complexity (n = entries held, live or cancelled-but-not-yet-dropped; k = entries at one time):
//   push      O(1), or O(log k) at the current base time / into the early heap
//   cancel    O(1)  (marks dead and destroys the handler; the entry is dropped when it reaches the front)
//   pop       O(log k) plus O(1) amortized: an entry moves down at most 64 buckets in its lifetime
//   next_time O(1) amortized
// When dead entries outnumber live ones (and there are more than 1024), all buckets are swept in
// O(n), so entries stay O(live). A split bucket keeps its array only up to 4096 entries (larger ones
// are freed), so the arrays hold about 2x the entries (measured: docs/engine.md).
//
// A slot returns to the free list only when its entry is dropped (popped, skipped dead, or swept), so
// an entry always names the one event that owns its slot: entries need no generation. Slot
// generations exist only to make stale EventIds harmless.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "sim/engine/event_handler.hpp"
#include "sim/engine/time.hpp"

namespace epsim {

/// Handle to a scheduled event. Default-constructed ids name no event. Ids stay valid to pass to
/// cancel() forever: a stale id (fired or cancelled) is harmless. (Generations are 32-bit: an id is
/// only confused with a later event after 2^32 reuses of the same slot.)
struct EventId {
  std::uint64_t value = 0;
  friend bool operator==(EventId, EventId) = default;
};

// EventHandler (sim/engine/event_handler.hpp): the move-only event callable; runs once, with no arguments.

/// Monotone priority queue of events with lazy cancellation (see the file comment for order and
/// complexity). Not thread-safe; one queue per simulator.
class EventQueue {
 public:
  /// Smallest and largest accepted priority values (16 bits, packed with the sequence into one word).
  static constexpr int kMinPriority = -32768;
  static constexpr int kMaxPriority = 32767;
  /// Number of push() calls one queue accepts over its lifetime (the sequence has 48 bits; at
  /// 10 M events/s this is about 325 days of pushing).
  static constexpr std::uint64_t kMaxPushes = std::uint64_t{1} << 48;

  /// An event taken out of the queue.
  struct Popped {
    Time time;
    EventHandler handler;
  };

  /// Reserve room for n pending events (slot table and free list), to avoid regrowth.
  void reserve(std::size_t n);
  /// Add an event. O(1) (O(log k) among k events at the current time). Throws std::logic_error when
  /// at < floor(); std::invalid_argument when priority is outside [kMinPriority, kMaxPriority] or the
  /// handler is empty; std::overflow_error with 2^32 - 1 slots in use or after kMaxPushes pushes.
  EventId push(Time at, int priority, EventHandler handler);
  /// Mark a pending event dead. O(1). Returns false (and does nothing) when the id names no pending
  /// event: already fired, already cancelled, or default-constructed.
  bool cancel(EventId id);
  /// True when the id names an event that has neither fired nor been cancelled. O(1).
  bool is_pending(EventId id) const;
  /// Time of the earliest live event, or std::nullopt when none. O(1) amortized.
  std::optional<Time> next_time();
  /// Remove and return the earliest live event, or std::nullopt when none. O(1) amortized (see above).
  std::optional<Popped> pop();
  /// Like pop(), without the optional: moves the handler into `handler` and returns true, or returns
  /// false (leaving both untouched) when no live event is pending.
  bool pop_into(Time& time, EventHandler& handler);
  /// Earliest time push() accepts: the time of the last popped event (the most negative Time before
  /// the first pop).
  Time floor() const { return Time::ps(unbias(floor_)); }
  /// Number of live (pending, not cancelled) events. O(1).
  std::size_t size() const { return live_; }
  /// True when no live event is pending. O(1).
  bool empty() const { return live_ == 0; }
  /// Entries held, live or cancelled but not yet dropped (diagnostics: memory is O(held), and the
  /// sweep keeps held() <= max(2 size(), size() + 1024) after every cancel). O(1).
  std::size_t held() const { return held_; }

 private:
  /// Times are stored biased (t XOR 2^63) so that unsigned order is signed-time order.
  static constexpr std::uint64_t kBias = std::uint64_t{1} << 63;
  static std::uint64_t bias(std::int64_t t) { return static_cast<std::uint64_t>(t) ^ kBias; }
  static std::int64_t unbias(std::uint64_t u) { return static_cast<std::int64_t>(u ^ kBias); }

  struct Entry {
    std::uint64_t time;   ///< biased time
    std::uint64_t order;  ///< (priority + 2^15) << 48 | insertion sequence
    std::uint32_t slot;
  };
  struct alignas(64) Slot {
    EventHandler handler;          ///< empty when the slot is free or its event was cancelled
    std::uint32_t generation = 1;  ///< of the slot's current (or next) event id; never 0
    std::uint32_t live = 0;        ///< 1 while the event is pending
  };
  static constexpr int kBuckets = 65;

  bool is_dead(const Entry& e) const { return slots_[e.slot].live == 0; }
  /// The heap (early_ or buckets_[0]) whose front is the earliest live entry, dropping dead fronts and
  /// refilling bucket 0 as needed; nullptr when no live entry is held.
  std::vector<Entry>* live_front();
  /// Remove the front of early_ or buckets_[0].
  void remove_front(std::vector<Entry>& heap);
  /// Move the lowest non-empty bucket's minimum-time entries into bucket 0 (new base) and the rest to
  /// lower buckets. Precondition: bucket 0 is empty. Returns false when all buckets are empty.
  bool refill();
  void free_slot(std::uint32_t slot) { free_slots_.push_back(slot); }
  void compact();

  std::array<std::vector<Entry>, kBuckets> buckets_;
  std::vector<Entry> early_;      ///< binary heap by (time, order): floor_ <= time < base_
  std::uint64_t nonempty_ = 0;    ///< bit b - 1 set when buckets_[b] (b >= 1) is non-empty
  std::uint64_t base_ = kBias;    ///< biased time of bucket 0 (time 0 at the start)
  std::uint64_t floor_ = 0;       ///< biased time of the last popped event
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::uint64_t next_sequence_ = 0;
  std::size_t live_ = 0;
  std::size_t held_ = 0;  ///< entries in all buckets and early_, live or dead
};

}  // namespace epsim
