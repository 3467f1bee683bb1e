#include "sim/network/flow_network.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>

namespace epsim {

namespace {
constexpr double kPsPerSecond = 1e12;
}  // namespace

FlowNetwork::FlowNetwork(Simulator& sim, std::vector<double> capacities_Bps, int event_priority)
    : sim_(sim), event_priority_(event_priority), capacity_(std::move(capacities_Bps)) {
  for (std::size_t l = 0; l < capacity_.size(); ++l)
    if (!std::isfinite(capacity_[l]) || capacity_[l] <= 0)
      throw std::invalid_argument("FlowNetwork: capacity of link " + std::to_string(l) +
                                  " must be finite and > 0 bytes/s, got " + std::to_string(capacity_[l]));
  if (event_priority < Simulator::kEarliestPriority || event_priority > Simulator::kLatestPriority)
    throw std::invalid_argument("FlowNetwork: event_priority out of range");
  links_.resize(capacity_.size());
  link_bytes_.assign(capacity_.size(), 0.0);
}

FlowNetwork::~FlowNetwork() {
  // Pending events capture `this`; cancel them so the simulator can go on without this network.
  sim_.cancel(resolve_event_);
  for (const Flow& f : flows_)
    if (f.state != State::free) sim_.cancel(f.completion);
}

FlowId FlowNetwork::start_flow(std::span<const RouteHop> route, double bytes, Time latency,
                               std::function<void()> on_complete, double share) {
  if (!std::isfinite(share) || share < 1)
    throw std::invalid_argument("FlowNetwork::start_flow: share must be finite and >= 1, got " + std::to_string(share));
  if (!std::isfinite(bytes) || bytes < 0)
    throw std::invalid_argument("FlowNetwork::start_flow: bytes must be finite and >= 0, got " + std::to_string(bytes));
  if (latency < Time{}) throw std::invalid_argument("FlowNetwork::start_flow: negative latency");
  for (const RouteHop& h : route) {
    if (h.link < 0 || static_cast<std::size_t>(h.link) >= capacity_.size())
      throw std::invalid_argument("FlowNetwork::start_flow: route link index " + std::to_string(h.link) +
                                  " out of range [0, " + std::to_string(capacity_.size()) + ")");
    if (!(h.fraction > 0.0f && h.fraction <= 1.0f))
      throw std::invalid_argument("FlowNetwork::start_flow: route fraction on link " + std::to_string(h.link) +
                                  " must be in (0, 1], got " + std::to_string(h.fraction));
  }

  std::uint32_t index = 0;
  if (!free_flows_.empty()) {
    index = free_flows_.back();
    free_flows_.pop_back();
  } else {
    index = static_cast<std::uint32_t>(flows_.size());
    flows_.emplace_back();
  }
  Flow& f = flows_[index];
  f.hops.clear();
  for (const RouteHop& h : route) f.hops.push_back(Hop{h.link, static_cast<double>(h.fraction), 0});
  f.remaining = bytes;
  f.rate = 0;
  f.last_update = sim_.now();
  f.on_complete = std::move(on_complete);
  f.state = State::waiting;
  f.frozen = false;
  f.share = share;
  f.level = 0;
  ++num_flows_;
  FlowId id{(static_cast<std::uint64_t>(index) << 32) | f.generation};

  Time first_byte = sim_.now() + latency;
  if (bytes == 0 || f.hops.empty()) {
    f.completion = sim_.schedule(first_byte, event_priority_, [this, index] { complete(index); });
  } else if (latency == Time{}) {
    activate(index);
  } else {
    f.completion = sim_.schedule(first_byte, event_priority_, [this, index] { activate(index); });
  }
  return id;
}

const FlowNetwork::Flow* FlowNetwork::find(FlowId id) const {
  auto index = static_cast<std::size_t>(id.value >> 32);
  auto generation = static_cast<std::uint32_t>(id.value & 0xffffffffu);
  if (index >= flows_.size()) return nullptr;
  const Flow& f = flows_[index];
  return (f.state != State::free && f.generation == generation) ? &f : nullptr;
}

double FlowNetwork::rate(FlowId id) const {
  const Flow* f = find(id);
  return (f && f->state == State::active) ? f->rate : 0.0;
}

bool FlowNetwork::is_active(FlowId id) const { return find(id) != nullptr; }

void FlowNetwork::activate(std::uint32_t index) {
  Flow& f = flows_[index];
  f.state = State::active;
  f.last_update = sim_.now();
  f.rate = 0;
  f.completion = EventId{};
  batch_has_join_ = true;
  for (std::uint32_t h = 0; h < f.hops.size(); ++h) {
    LinkState& link = links_[static_cast<std::size_t>(f.hops[h].link)];
    f.hops[h].position = static_cast<std::uint32_t>(link.entries.size());
    link.entries.push_back(Entry{index, h});
  }
  joined_flows_.push_back(index);
  request_resolve();
}

void FlowNetwork::complete(std::uint32_t index) {
  Flow& f = flows_[index];
  if (f.state == State::active) {
    // The completion event is authoritative: whatever is left (rounding noise) has arrived.
    for (const Hop& h : f.hops) link_bytes_[static_cast<std::size_t>(h.link)] += f.remaining * h.weight;
    f.remaining = 0;
    if (!batch_has_completion_ || f.level < batch_min_completed_level_) batch_min_completed_level_ = f.level;
    batch_has_completion_ = true;
    bool touched = false;
    for (const Hop& h : f.hops) {
      LinkState& link = links_[static_cast<std::size_t>(h.link)];
      // Only a saturated link can be another flow's bottleneck: only there can rates rise.
      if (saturated(h.link)) {
        touched_links_.push_back(h.link);
        touched = true;
      }
      auto& entries = link.entries;
      Entry moved = entries.back();
      entries[h.position] = moved;
      flows_[moved.flow].hops[moved.hop].position = h.position;
      entries.pop_back();
      // An empty link carries nothing: reset the running sum (drops its rounding drift).
      link.allocated = entries.empty() ? 0.0 : link.allocated - h.weight * f.rate;
    }
    if (touched) request_resolve();
  }
  std::function<void()> callback = std::move(f.on_complete);
  release(index);
  if (callback) callback();
}

void FlowNetwork::release(std::uint32_t index) {
  Flow& f = flows_[index];
  f.state = State::free;
  f.on_complete = nullptr;
  f.completion = EventId{};
  if (++f.generation == 0) f.generation = 1;
  free_flows_.push_back(index);
  --num_flows_;
}

void FlowNetwork::request_resolve() {
  if (!sim_.is_pending(resolve_event_))
    resolve_event_ = sim_.schedule(sim_.now(), Simulator::kLatestPriority, [this] { resolve(); });
}

bool FlowNetwork::saturated(std::int32_t link) const {
  const auto l = static_cast<std::size_t>(link);
  return links_[l].allocated >= capacity_[l] * (1.0 - 1e-9);
}

void FlowNetwork::advance(Flow& f, Time now) {
  std::int64_t dt_ps = (now - f.last_update).count_ps();
  if (dt_ps > 0 && f.rate > 0) {
    double sent = std::min(f.remaining, f.rate * static_cast<double>(dt_ps) / kPsPerSecond);
    f.remaining -= sent;
    for (const Hop& h : f.hops) link_bytes_[static_cast<std::size_t>(h.link)] += sent * h.weight;
  }
  f.last_update = now;
}

void FlowNetwork::reschedule(std::uint32_t index) {
  Flow& f = flows_[index];
  if (sim_.cancel(f.completion)) ++stats_.reschedules;
  Time at = sim_.now() + Time::from_ps_ceil(f.remaining * kPsPerSecond / f.rate);
  f.completion = sim_.schedule(at, event_priority_, [this, index] { complete(index); });
}

void FlowNetwork::take_in(std::uint32_t index, Time now) {
  Flow& f = flows_[index];
  f.mark = epoch_;
  advance(f, now);  // remaining bytes up to now at the old rate
  f.rate_before = f.rate;
  component_flows_.push_back(index);
  for (const Hop& h : f.hops) {
    LinkState& link = links_[static_cast<std::size_t>(h.link)];
    if (link.mark != epoch_) {
      link.mark = epoch_;
      component_links_.push_back(h.link);
    }
    if (link.traversed != epoch_ && saturated(h.link)) traverse(h.link);
  }
}

void FlowNetwork::traverse(std::int32_t link) {
  LinkState& l = links_[static_cast<std::size_t>(link)];
  l.traversed = epoch_;
  if (l.mark != epoch_) {
    l.mark = epoch_;
    component_links_.push_back(link);
  }
  frontier_.push_back(link);
}

bool FlowNetwork::take_in_link_flows(std::int32_t link, double floor, Time now) {
  bool added = false;
  // Index loop: take_in may not reallocate this link's entries (no flow joins or leaves here).
  const auto& entries = links_[static_cast<std::size_t>(link)].entries;
  for (std::size_t k = 0; k < entries.size(); ++k) {
    const std::uint32_t i = entries[k].flow;
    if (flows_[i].mark == epoch_ || flows_[i].level < floor) continue;
    take_in(i, now);
    added = true;
  }
  return added;
}

bool FlowNetwork::fill() {
  // Residual capacity of each link: what flows outside S leave (their rates held), i.e. capacity -
  // allocated + the old rates of S. Traversed links refresh `allocated` from their entries first.
  for (std::int32_t l : component_links_) {
    LinkState& link = links_[static_cast<std::size_t>(l)];
    if (link.traversed == epoch_) {
      double sum = 0;
      for (const Entry& e : link.entries) {
        const Flow& f = flows_[e.flow];
        sum += f.hops[e.hop].weight * (f.mark == epoch_ ? f.rate_before : f.rate);
      }
      link.allocated = sum;
    }
    link.residual = capacity_[static_cast<std::size_t>(l)] - link.allocated;
    link.weight = 0;
    link.unfrozen = 0;
  }
  for (std::uint32_t i : component_flows_) {
    Flow& f = flows_[i];
    f.frozen = false;
    for (const Hop& h : f.hops) {
      LinkState& link = links_[static_cast<std::size_t>(h.link)];
      link.residual += h.weight * f.rate_before;
      link.weight += h.weight * f.share;
      ++link.unfrozen;
    }
  }
  // Progressive filling: repeatedly saturate the link with the lowest level.
  heap_.clear();
  for (std::int32_t l : component_links_) {
    LinkState& link = links_[static_cast<std::size_t>(l)];
    if (link.unfrozen == 0) continue;
    link.level = std::max(0.0, link.residual) / link.weight;
    link.heap_key = link.level;
    heap_.emplace_back(link.level, l);
  }
  std::make_heap(heap_.begin(), heap_.end(), std::greater<>());
  while (!heap_.empty()) {
    std::pop_heap(heap_.begin(), heap_.end(), std::greater<>());
    auto [level, l] = heap_.back();
    heap_.pop_back();
    LinkState& link = links_[static_cast<std::size_t>(l)];
    if (link.unfrozen == 0) continue;
    if (level != link.level) {
      // The link's representative key is a lower bound of its level (levels rise as flows freeze
      // elsewhere): put it back at the current level. Other keys are stale.
      if (level == link.heap_key && level < link.level) {
        link.heap_key = link.level;
        heap_.emplace_back(link.level, l);
        std::push_heap(heap_.begin(), heap_.end(), std::greater<>());
      }
      continue;
    }
    // A link that was not saturated saturates now: its other flows may be bottlenecked here. Take
    // them in and start over (the caller scans them).
    if (link.traversed != epoch_) {
      traverse(l);
      frontier_.pop_back();
      if (take_in_link_flows(l, batch_floor_, sim_.now())) return false;
    }
    for (const Entry& e : link.entries) {
      Flow& f = flows_[e.flow];
      if (f.mark != epoch_ || f.frozen) continue;
      f.frozen = true;
      f.level = level;
      f.rate = level * f.share;
      for (const Hop& h : f.hops) {
        LinkState& m = links_[static_cast<std::size_t>(h.link)];
        m.residual -= h.weight * f.rate;
        m.weight -= h.weight * f.share;
        --m.unfrozen;
        if (h.link == l || m.unfrozen == 0) continue;
        // Levels never decrease (max-min); clamp rounding noise.
        double next = m.weight > 0 ? std::max(level, m.residual / m.weight) : level;
        m.level = next;
        // Lazy key: a rise keeps the (lower) representative key in the heap, re-pushed when it
        // surfaces; only a drop below it (rounding) needs a new key now.
        if (next < m.heap_key) {
          m.heap_key = next;
          heap_.emplace_back(next, h.link);
          std::push_heap(heap_.begin(), heap_.end(), std::greater<>());
        }
      }
    }
  }
  return true;
}

void FlowNetwork::resolve() {
  const Time now = sim_.now();
  ++epoch_;
  ++stats_.solves;
  component_links_.clear();
  component_flows_.clear();
  frontier_.clear();
  // Flows below the floor keep their rates (partial re-solve, see the header); 0 = re-solve all.
  batch_floor_ = (batch_has_completion_ && !batch_has_join_) ? batch_min_completed_level_ : 0.0;
  batch_has_join_ = false;
  batch_has_completion_ = false;
  for (std::int32_t l : touched_links_)
    if (links_[static_cast<std::size_t>(l)].traversed != epoch_) traverse(l);
  touched_links_.clear();
  for (std::uint32_t i : joined_flows_)
    if (flows_[i].state == State::active && flows_[i].mark != epoch_) take_in(i, now);
  joined_flows_.clear();
  for (;;) {
    while (!frontier_.empty()) {
      const std::int32_t l = frontier_.back();
      frontier_.pop_back();
      take_in_link_flows(l, batch_floor_, now);
    }
    if (fill()) break;
    ++stats_.restarts;
  }
  stats_.flows_resolved += component_flows_.size();
  // Reschedule the completions whose rate changed; keep each link's allocation current.
  for (std::uint32_t i : component_flows_) {
    Flow& f = flows_[i];
    if (f.rate == f.rate_before) continue;
    for (const Hop& h : f.hops) links_[static_cast<std::size_t>(h.link)].allocated += h.weight * (f.rate - f.rate_before);
    reschedule(i);
  }
}

}  // namespace epsim
