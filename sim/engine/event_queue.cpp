#include "sim/engine/event_queue.hpp"

#include <algorithm>
#include <bit>
#include <stdexcept>
#include <string>
#include <utility>

namespace epsim {

namespace {
constexpr std::uint64_t kPriorityShift = 48;
constexpr std::size_t kMaxSlots = 0xffffffffu;  // slot ids are 32-bit

std::uint64_t make_id(std::uint32_t slot, std::uint32_t generation) {
  return (static_cast<std::uint64_t>(slot) << 32) | generation;
}

/// Heap comparator of early_ and bucket 0 ("a comes out after b"; std heaps are max-heaps). In
/// bucket 0 all times are equal, so only `order` (priority, then sequence) decides.
struct After {
  template <class E>
  bool operator()(const E& a, const E& b) const {
    return a.time != b.time ? a.time > b.time : a.order > b.order;
  }
};

/// Radix bucket of biased time t relative to the base: 0 when equal, else 1 + the index of the
/// highest differing bit (1..64).
int bucket_of(std::uint64_t t, std::uint64_t base) { return std::bit_width(t ^ base); }

/// refill() prefetches the slots of all entries of the bucket it splits when there are at most this
/// many: they all come out before any other held entry. (Tuned on bench_event_queue, see docs/engine.md.)
constexpr std::size_t kPrefetchEntries = 64;

/// refill() frees a split bucket's array when its capacity exceeds this many entries.
constexpr std::size_t kKeepCapacity = 4096;
}  // namespace

void EventQueue::reserve(std::size_t n) {
  slots_.reserve(n);
  free_slots_.reserve(n);
}

EventId EventQueue::push(Time at, int priority, EventHandler handler) {
  const std::uint64_t t = bias(at.count_ps());
  if (t < floor_)
    throw std::logic_error("EventQueue::push: time " + std::to_string(at.count_ps()) +
                           " ps is before the last popped event (" + std::to_string(unbias(floor_)) + " ps)");
  if (priority < kMinPriority || priority > kMaxPriority)
    throw std::invalid_argument("EventQueue::push: priority " + std::to_string(priority) +
                                " outside [-32768, 32767]");
  if (!handler) throw std::invalid_argument("EventQueue::push: empty handler");
  if (next_sequence_ >= kMaxPushes) throw std::overflow_error("EventQueue::push: 2^48 pushes in one queue");

  std::uint32_t slot = 0;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    if (slots_.size() >= kMaxSlots) throw std::overflow_error("EventQueue::push: 2^32 - 1 slots in use");
    slot = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& s = slots_[slot];
  s.handler = std::move(handler);
  s.live = 1;

  const Entry e{t, (static_cast<std::uint64_t>(priority - kMinPriority) << kPriorityShift) | next_sequence_++,
                slot};
  if (t < base_) {
    early_.push_back(e);
    std::push_heap(early_.begin(), early_.end(), After{});
  } else if (t == base_) {
    buckets_[0].push_back(e);
    std::push_heap(buckets_[0].begin(), buckets_[0].end(), After{});
  } else {
    const int b = bucket_of(t, base_);
    buckets_[b].push_back(e);
    nonempty_ |= std::uint64_t{1} << (b - 1);
  }
  ++held_;
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
  // The slot returns to the free list when its (now dead) entry is dropped. Sweep when dead entries
  // dominate.
  const std::size_t dead = held_ - live_;
  if (dead > 1024 && dead > live_) compact();
  return true;
}

void EventQueue::remove_front(std::vector<Entry>& heap) {
  std::pop_heap(heap.begin(), heap.end(), After{});
  heap.pop_back();
  --held_;
}

bool EventQueue::refill() {
  if (nonempty_ == 0) return false;
  const int b = std::countr_zero(nonempty_) + 1;
  std::vector<Entry>& src = buckets_[b];
  std::uint64_t m = src.front().time;
  for (const Entry& e : src) m = std::min(m, e.time);
  base_ = m;
  if (src.size() <= kPrefetchEntries)
    for (const Entry& e : src) __builtin_prefetch(&slots_[e.slot]);
  // Every entry of bucket b shares the bits of m above bit b - 1, so it lands in a bucket below b
  // (bucket 0 when its time equals m).
  std::uint64_t bits = 0;
  for (const Entry& e : src) {
    const int j = bucket_of(e.time, m);
    buckets_[j].push_back(e);
    bits |= std::uint64_t{1} << j;
  }
  // A large bucket is split rarely (it collected entries over a long span): give its memory back so
  // that the buckets' capacities stay O(held) rather than the sum of every bucket's peak.
  if (src.capacity() > kKeepCapacity)
    std::vector<Entry>().swap(src);
  else
    src.clear();
  nonempty_ = (nonempty_ & ~(std::uint64_t{1} << (b - 1))) | (bits >> 1);
  std::vector<Entry>& zero = buckets_[0];
  if (zero.size() > 1) std::make_heap(zero.begin(), zero.end(), After{});
  return true;
}

std::vector<EventQueue::Entry>* EventQueue::live_front() {
  for (;;) {
    std::vector<Entry>* heap = &early_;
    if (early_.empty()) {
      heap = &buckets_[0];
      if (heap->empty() && !refill()) return nullptr;
    }
    const std::uint32_t slot = heap->front().slot;
    if (slots_[slot].live != 0) return heap;
    free_slot(slot);
    remove_front(*heap);
  }
}

std::optional<Time> EventQueue::next_time() {
  const std::vector<Entry>* heap = live_front();
  if (heap == nullptr) return std::nullopt;
  return Time::ps(unbias(heap->front().time));
}

bool EventQueue::pop_into(Time& time, EventHandler& handler) {
  std::vector<Entry>* heap = live_front();
  if (heap == nullptr) return false;
  const Entry first = heap->front();
  remove_front(*heap);
  Slot& s = slots_[first.slot];
  handler = std::move(s.handler);
  s.live = 0;
  if (++s.generation == 0) s.generation = 1;
  free_slot(first.slot);
  --live_;
  floor_ = first.time;
  time = Time::ps(unbias(first.time));
  // Find the next front now and start the cache miss on its slot (liveness, handler), so that it
  // overlaps with the handler the caller is about to run.
  if (early_.empty() && buckets_[0].empty()) refill();
  if (!early_.empty())
    __builtin_prefetch(&slots_[early_.front().slot]);
  else if (!buckets_[0].empty())
    __builtin_prefetch(&slots_[buckets_[0].front().slot]);
  return true;
}

std::optional<EventQueue::Popped> EventQueue::pop() {
  Popped out;
  if (!pop_into(out.time, out.handler)) return std::nullopt;
  return out;
}

void EventQueue::compact() {
  auto sweep = [this](std::vector<Entry>& v) {
    auto end = std::remove_if(v.begin(), v.end(), [this](const Entry& e) {
      if (!is_dead(e)) return false;
      free_slot(e.slot);
      return true;
    });
    held_ -= static_cast<std::size_t>(v.end() - end);
    v.erase(end, v.end());
  };
  sweep(early_);
  std::make_heap(early_.begin(), early_.end(), After{});
  sweep(buckets_[0]);
  std::make_heap(buckets_[0].begin(), buckets_[0].end(), After{});
  nonempty_ = 0;
  for (int b = 1; b < kBuckets; ++b) {
    sweep(buckets_[b]);
    if (!buckets_[b].empty()) nonempty_ |= std::uint64_t{1} << (b - 1);
  }
}

}  // namespace epsim
