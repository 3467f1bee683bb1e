#include "sim/event_queue.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

namespace epsim {

namespace {
constexpr std::size_t kArity = 4;
constexpr std::uint64_t kPriorityShift = 48;
constexpr std::size_t kMaxSlots = 0xffffffffu;  // slot ids are 32-bit

std::uint64_t make_id(std::uint32_t slot, std::uint32_t generation) {
  return (static_cast<std::uint64_t>(slot) << 32) | generation;
}
}  // namespace

void EventQueue::reserve(std::size_t n) {
  heap_.reserve(n + kPad);
  slots_.reserve(n);
  sequence_.reserve(n);
  free_slots_.reserve(n);
}

EventId EventQueue::push(Time at, int priority, EventHandler handler) {
  if (priority < kMinPriority || priority > kMaxPriority)
    throw std::invalid_argument("EventQueue::push: priority " + std::to_string(priority) +
                                " outside [-32768, 32767]");
  if (!handler) throw std::invalid_argument("EventQueue::push: empty handler");

  std::uint32_t slot = 0;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    if (slots_.size() >= kMaxSlots) throw std::overflow_error("EventQueue::push: 2^32 - 1 slots in use");
    slot = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
    sequence_.push_back(0);
  }
  Slot& s = slots_[slot];
  s.handler = std::move(handler);
  s.live = 1;
  sequence_[slot] = next_sequence_++;

  std::uint64_t tag = (static_cast<std::uint64_t>(priority - kMinPriority) << kPriorityShift) | slot;
  heap_.push_back(Key{at.count_ps(), tag});
  sift_up(heap_size() - 1);
  ++live_;
  return EventId{make_id(slot, s.generation)};
}

bool EventQueue::is_pending(EventId id) const {
  auto slot = static_cast<std::uint32_t>(id.value >> 32);
  auto generation = static_cast<std::uint32_t>(id.value & 0xffffffffu);
  return generation != 0 && slot < slots_.size() && slots_[slot].generation == generation &&
         slots_[slot].live != 0;
}

bool EventQueue::cancel(EventId id) {
  if (!is_pending(id)) return false;
  Slot& s = slots_[static_cast<std::uint32_t>(id.value >> 32)];
  // Release captured resources now, but destroy them last: a capture's destructor may re-enter the queue.
  EventHandler doomed = std::move(s.handler);
  s.live = 0;
  if (++s.generation == 0) s.generation = 1;  // 0 is reserved for "no event"
  --live_;
  // The slot returns to the free list when its (now dead) key leaves the heap.
  // Dead keys stay in the heap until they reach the top; rebuild when they dominate.
  std::size_t dead = heap_size() - live_;
  if (dead > 1024 && dead > live_) compact();
  return true;
}

std::optional<Time> EventQueue::next_time() {
  skip_dead_top();
  if (heap_size() == 0) return std::nullopt;
  return Time::ps(top().time_ps);
}

bool EventQueue::pop_into(Time& time, EventHandler& handler) {
  skip_dead_top();
  if (heap_size() == 0) return false;
  const Key first = top();
  remove_top();
  const std::uint32_t slot = slot_of(first);
  Slot& s = slots_[slot];
  handler = std::move(s.handler);
  s.live = 0;
  if (++s.generation == 0) s.generation = 1;
  free_slots_.push_back(slot);
  --live_;
  time = Time::ps(first.time_ps);
  // The next pop reads the new top's slot (liveness, handler): start that cache miss now, so that it
  // overlaps with the handler the caller is about to run.
  if (heap_size() != 0) __builtin_prefetch(&slots_[slot_of(top())]);
  return true;
}

std::optional<EventQueue::Popped> EventQueue::pop() {
  Popped out;
  if (!pop_into(out.time, out.handler)) return std::nullopt;
  return out;
}

void EventQueue::skip_dead_top() {
  while (heap_size() != 0 && is_dead(top())) {
    free_slots_.push_back(slot_of(top()));
    remove_top();
  }
}

void EventQueue::remove_top() {
  // Bottom-up deletion: move the hole at the root down along the smallest children to a leaf, then
  // sift the last key up from there (fewer comparisons than a top-down sift: the last key usually
  // belongs near the bottom).
  Key last = heap_.back();
  heap_.pop_back();
  const std::size_t n = heap_size();
  if (n == 0) return;
  Key* h = heap();
  std::size_t hole = 0;
  for (;;) {
    std::size_t first = hole * kArity + 1;
    if (first >= n) break;
    std::size_t best = first;
    if (first + kArity <= n) {  // full group of four: a tournament the compiler can turn into cmovs
      // The grandchildren (16 keys, 256 contiguous bytes) are needed next whichever child wins.
      const std::size_t grand = first * kArity + 1;
      if (grand < n) {
        __builtin_prefetch(h + grand);
        __builtin_prefetch(h + grand + 4);
        __builtin_prefetch(h + grand + 8);
        __builtin_prefetch(h + grand + 12);
      }
      const std::size_t b01 = before(h[first + 1], h[first]) ? first + 1 : first;
      const std::size_t b23 = before(h[first + 3], h[first + 2]) ? first + 3 : first + 2;
      best = before(h[b23], h[b01]) ? b23 : b01;
    } else {
      for (std::size_t c = first + 1; c < n; ++c)
        if (before(h[c], h[best])) best = c;
    }
    h[hole] = h[best];
    hole = best;
  }
  h[hole] = last;
  sift_up(hole);
}

void EventQueue::sift_up(std::size_t i) {
  Key* h = heap();
  Key k = h[i];
  while (i > 0) {
    std::size_t parent = (i - 1) / kArity;
    if (!before(k, h[parent])) break;
    h[i] = h[parent];
    i = parent;
  }
  h[i] = k;
}

void EventQueue::sift_down(std::size_t i) {
  const std::size_t n = heap_size();
  Key* h = heap();
  Key k = h[i];
  for (;;) {
    std::size_t first = i * kArity + 1;
    if (first >= n) break;
    std::size_t last = std::min(first + kArity, n);
    std::size_t best = first;
    for (std::size_t c = first + 1; c < last; ++c)
      if (before(h[c], h[best])) best = c;
    if (!before(h[best], k)) break;
    h[i] = h[best];
    i = best;
  }
  h[i] = k;
}

void EventQueue::compact() {
  auto live_end = std::remove_if(heap_.begin() + kPad, heap_.end(), [this](const Key& k) {
    if (!is_dead(k)) return false;
    free_slots_.push_back(slot_of(k));
    return true;
  });
  heap_.erase(live_end, heap_.end());
  // Floyd's bottom-up heap construction, O(n).
  if (heap_size() > 1)
    for (std::size_t i = (heap_size() - 2) / kArity + 1; i-- > 0;) sift_down(i);
}

}  // namespace epsim
