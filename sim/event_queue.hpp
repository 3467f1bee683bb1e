#pragma once
// The pending-event set of one simulator: a 4-ary min-heap of 16-byte keys (time, priority, slot),
// laid out so that the four children of a node share one 64-byte cache line, over a slot table that holds the handlers (one 64-byte line per slot), with lazy cancellation.
//
// Order: total and deterministic, by (time, priority, insertion sequence); a smaller priority runs
// first among events at the same time; ties are broken by the order of push(). The key holds time and
// priority; the insertion sequence lives in a side array and is read only when (time, priority) tie.
//
// Complexity (n = entries in the heap, live or cancelled-but-not-yet-skipped):
//   push     O(log n)            (plus one handler move)
//   cancel   O(1)                (marks dead and destroys the handler; the heap entry is skipped when it
//                                 reaches the top)
//   pop      O(log n) amortized  (skipping dead entries; they are each popped once)
//   next_time O(1) amortized     (skips dead entries at the top)
// When dead entries outnumber live ones (and there are more than 1024), the heap is rebuilt without
// them in O(n), so memory stays O(live) and the amortized bounds hold.
//
// A slot returns to the free list only when its key leaves the heap (popped, skipped dead, or dropped
// by a rebuild), so a heap key always names the one event that owns its slot: keys need no generation.
// Slot generations exist only to make stale EventIds harmless.
#include <cstddef>
#include <cstdint>
#include <new>
#include <optional>
#include <vector>

#include "sim/event_handler.hpp"
#include "sim/time.hpp"

namespace epsim {

/// Handle to a scheduled event. Default-constructed ids name no event. Ids stay valid to pass to
/// cancel() forever: a stale id (fired or cancelled) is harmless. (Generations are 32-bit: an id is
/// only confused with a later event after 2^32 reuses of the same slot.)
struct EventId {
  std::uint64_t value = 0;
  friend bool operator==(EventId, EventId) = default;
};

// EventHandler (sim/event_handler.hpp): the move-only event callable; runs once, with no arguments.

/// Priority queue of events with lazy cancellation (see the file comment for order and complexity).
/// Not thread-safe; one queue per simulator.
class EventQueue {
 public:
  /// Smallest and largest accepted priority values (16 bits, packed with the slot into the heap key).
  static constexpr int kMinPriority = -32768;
  static constexpr int kMaxPriority = 32767;

  /// An event taken out of the queue.
  struct Popped {
    Time time;
    EventHandler handler;
  };

  /// Reserve room for n pending events (heap and slot table), to avoid regrowth.
  void reserve(std::size_t n);
  /// Add an event. O(log n). Throws std::invalid_argument when priority is outside
  /// [kMinPriority, kMaxPriority] or the handler is empty; std::overflow_error with 2^32 - 1 slots in use.
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
  /// Like pop(), without the optional: moves the handler into `handler` and returns true, or returns
  /// false (leaving both untouched) when no live event is pending. O(log n) amortized.
  bool pop_into(Time& time, EventHandler& handler);
  /// Number of live (pending, not cancelled) events. O(1).
  std::size_t size() const { return live_; }
  /// True when no live event is pending. O(1).
  bool empty() const { return live_ == 0; }

 private:
  struct Key {
    std::int64_t time_ps;
    std::uint64_t tag;  ///< (priority + 2^15) << 48 | slot (slot < 2^32)
  };
  struct alignas(64) Slot {
    EventHandler handler;          ///< empty when the slot is free or its event was cancelled
    std::uint32_t generation = 1;  ///< of the slot's current (or next) event id; never 0
    std::uint32_t live = 0;        ///< 1 while the event is pending
  };
  static std::uint32_t slot_of(const Key& k) { return static_cast<std::uint32_t>(k.tag); }
  /// Key order: time, then priority (the key's top 16 bits), then insertion sequence (side array,
  /// read only on a (time, priority) tie).
  bool before(const Key& a, const Key& b) const {
    if (a.time_ps != b.time_ps) return a.time_ps < b.time_ps;
    if ((a.tag ^ b.tag) >> 48) return a.tag < b.tag;  // priorities differ
    return sequence_[slot_of(a)] < sequence_[slot_of(b)];
  }
  bool is_dead(const Key& k) const { return slots_[slot_of(k)].live == 0; }
  void sift_up(std::size_t i);
  void sift_down(std::size_t i);
  void remove_top();
  void skip_dead_top();
  void compact();

  /// Allocator of the heap array: 64-byte aligned storage, so that with kPad leading unused keys
  /// the four 16-byte children of every node fill exactly one cache line.
  template <class T>
  struct LineAllocator {
    using value_type = T;
    LineAllocator() = default;
    template <class U>
    LineAllocator(const LineAllocator<U>&) noexcept {}  // NOLINT(google-explicit-constructor)
    T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{64})); }
    void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, std::align_val_t{64}); }
    template <class U>
    bool operator==(const LineAllocator<U>&) const noexcept { return true; }
  };
  /// Unused keys before the root: node i lives at heap_[kPad + i], its children 4i+1..4i+4 at
  /// byte offset 64 (i + 1) of the array.
  static constexpr std::size_t kPad = 3;
  std::size_t heap_size() const { return heap_.size() - kPad; }
  Key* heap() { return heap_.data() + kPad; }
  const Key& top() const { return heap_[kPad]; }

  std::vector<Key, LineAllocator<Key>> heap_ = std::vector<Key, LineAllocator<Key>>(kPad);
  std::vector<Slot> slots_;
  std::vector<std::uint64_t> sequence_;  ///< insertion sequence of slot i's event (read on ties only)
  std::vector<std::uint32_t> free_slots_;
  std::uint64_t next_sequence_ = 0;
  std::size_t live_ = 0;
};

}  // namespace epsim
