#include "sim/event_queue.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

namespace epsim {

namespace {
constexpr std::size_t kArity = 4;
constexpr std::uint64_t kSequenceBits = 48;
constexpr std::uint64_t kSequenceLimit = std::uint64_t{1} << kSequenceBits;

std::uint64_t make_id(std::uint32_t slot, std::uint32_t generation) {
  return (static_cast<std::uint64_t>(slot) << 32) | generation;
}
}  // namespace

EventId EventQueue::push(Time at, int priority, EventHandler handler) {
  if (priority < kMinPriority || priority > kMaxPriority)
    throw std::invalid_argument("EventQueue::push: priority " + std::to_string(priority) +
                                " outside [-32768, 32767]");
  if (!handler) throw std::invalid_argument("EventQueue::push: empty handler");
  if (next_sequence_ >= kSequenceLimit) throw std::overflow_error("EventQueue::push: 2^48 events scheduled");

  std::uint32_t slot = 0;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(handlers_.size());
    handlers_.emplace_back();
    generations_.push_back(1);
  }
  handlers_[slot] = std::move(handler);
  const std::uint32_t generation = generations_[slot];

  std::uint64_t order = (static_cast<std::uint64_t>(priority - kMinPriority) << kSequenceBits) | next_sequence_++;
  heap_.push_back(Key{at.count_ps(), order, slot, generation});
  sift_up(heap_.size() - 1);
  ++live_;
  return EventId{make_id(slot, generation)};
}

bool EventQueue::is_pending(EventId id) const {
  auto slot = static_cast<std::uint32_t>(id.value >> 32);
  auto generation = static_cast<std::uint32_t>(id.value & 0xffffffffu);
  return generation != 0 && slot < generations_.size() && generations_[slot] == generation;
}

bool EventQueue::cancel(EventId id) {
  if (!is_pending(id)) return false;
  release_slot(static_cast<std::uint32_t>(id.value >> 32));
  --live_;
  // Dead keys stay in the heap until they reach the top; rebuild when they dominate.
  std::size_t dead = heap_.size() - live_;
  if (dead > 1024 && dead > live_) compact();
  return true;
}

void EventQueue::release_slot(std::uint32_t slot) {
  handlers_[slot] = nullptr;  // release captured resources now
  if (++generations_[slot] == 0) generations_[slot] = 1;  // 0 is reserved for "no event"
  free_slots_.push_back(slot);
}

std::optional<Time> EventQueue::next_time() {
  skip_dead_top();
  if (heap_.empty()) return std::nullopt;
  return Time::ps(heap_.front().time_ps);
}

std::optional<EventQueue::Popped> EventQueue::pop() {
  skip_dead_top();
  if (heap_.empty()) return std::nullopt;
  Key top = heap_.front();
  remove_top();
  Popped out{Time::ps(top.time_ps), std::move(handlers_[top.slot])};
  release_slot(top.slot);
  --live_;
  return out;
}

void EventQueue::skip_dead_top() {
  while (!heap_.empty() && is_dead(heap_.front())) remove_top();
}

void EventQueue::remove_top() {
  // Bottom-up deletion: move the hole at the root down along the smallest children to a leaf, then
  // sift the last key up from there (fewer comparisons than a top-down sift: the last key usually
  // belongs near the bottom).
  Key last = heap_.back();
  heap_.pop_back();
  const std::size_t n = heap_.size();
  if (n == 0) return;
  std::size_t hole = 0;
  for (;;) {
    std::size_t first = hole * kArity + 1;
    if (first >= n) break;
    std::size_t end = std::min(first + kArity, n);
    std::size_t best = first;
    for (std::size_t c = first + 1; c < end; ++c)
      if (before(heap_[c], heap_[best])) best = c;
    heap_[hole] = heap_[best];
    hole = best;
  }
  heap_[hole] = last;
  sift_up(hole);
}

void EventQueue::sift_up(std::size_t i) {
  Key k = heap_[i];
  while (i > 0) {
    std::size_t parent = (i - 1) / kArity;
    if (!before(k, heap_[parent])) break;
    heap_[i] = heap_[parent];
    i = parent;
  }
  heap_[i] = k;
}

void EventQueue::sift_down(std::size_t i) {
  const std::size_t n = heap_.size();
  Key k = heap_[i];
  for (;;) {
    std::size_t first = i * kArity + 1;
    if (first >= n) break;
    std::size_t last = std::min(first + kArity, n);
    std::size_t best = first;
    for (std::size_t c = first + 1; c < last; ++c)
      if (before(heap_[c], heap_[best])) best = c;
    if (!before(heap_[best], k)) break;
    heap_[i] = heap_[best];
    i = best;
  }
  heap_[i] = k;
}

void EventQueue::compact() {
  std::erase_if(heap_, [this](const Key& k) { return is_dead(k); });
  // Floyd's bottom-up heap construction, O(n).
  if (heap_.size() > 1)
    for (std::size_t i = (heap_.size() - 2) / kArity + 1; i-- > 0;) sift_down(i);
}

}  // namespace epsim
