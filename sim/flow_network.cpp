#include "sim/flow_network.hpp"

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
                               std::function<void()> on_complete) {
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
  touch_links(f);
}

void FlowNetwork::complete(std::uint32_t index) {
  Flow& f = flows_[index];
  if (f.state == State::active) {
    // The completion event is authoritative: whatever is left (rounding noise) has arrived.
    for (const Hop& h : f.hops) link_bytes_[static_cast<std::size_t>(h.link)] += f.remaining * h.weight;
    f.remaining = 0;
    if (!batch_has_completion_ || f.rate < batch_min_completed_rate_) batch_min_completed_rate_ = f.rate;
    batch_has_completion_ = true;
    for (const Hop& h : f.hops) {
      auto& entries = links_[static_cast<std::size_t>(h.link)].entries;
      Entry moved = entries.back();
      entries[h.position] = moved;
      flows_[moved.flow].hops[moved.hop].position = h.position;
      entries.pop_back();
    }
    touch_links(f);
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

void FlowNetwork::touch_links(const Flow& flow) {
  for (const Hop& h : flow.hops) touched_links_.push_back(h.link);
  if (!sim_.is_pending(resolve_event_))
    resolve_event_ = sim_.schedule(sim_.now(), Simulator::kLatestPriority, [this] { resolve(); });
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

void FlowNetwork::resolve() {
  const Time now = sim_.now();
  ++epoch_;
  ++stats_.solves;

  // 1. The union of the components that contain a touched link (BFS over link -> flows -> links).
  component_links_.clear();
  component_flows_.clear();
  for (std::int32_t l : touched_links_) {
    LinkState& link = links_[static_cast<std::size_t>(l)];
    if (link.mark != epoch_) {
      link.mark = epoch_;
      component_links_.push_back(l);
    }
  }
  touched_links_.clear();
  // Flows below `floor` keep their rates (partial re-solve, see the header); 0 = re-solve all.
  const double floor = (batch_has_completion_ && !batch_has_join_) ? batch_min_completed_rate_ : 0.0;
  batch_has_join_ = false;
  batch_has_completion_ = false;
  for (std::size_t next = 0; next < component_links_.size(); ++next) {
    for (const Entry& e : links_[static_cast<std::size_t>(component_links_[next])].entries) {
      Flow& f = flows_[e.flow];
      if (f.mark == epoch_ || f.rate < floor) continue;
      f.mark = epoch_;
      component_flows_.push_back(e.flow);
      for (const Hop& h : f.hops) {
        LinkState& other = links_[static_cast<std::size_t>(h.link)];
        if (other.mark != epoch_) {
          other.mark = epoch_;
          component_links_.push_back(h.link);
        }
      }
    }
  }
  stats_.flows_resolved += component_flows_.size();

  // 2. Bring remaining bytes up to now at the old rates.
  old_rates_.resize(component_flows_.size());
  for (std::size_t k = 0; k < component_flows_.size(); ++k) {
    Flow& f = flows_[component_flows_[k]];
    advance(f, now);
    old_rates_[k] = f.rate;
    f.frozen = false;
  }

  // 3. Progressive filling: repeatedly saturate the link with the lowest level.
  using Item = std::pair<double, std::int32_t>;  // (level, link); min-heap with ties by link index
  std::vector<Item> heap;
  heap.reserve(component_links_.size());
  for (std::int32_t l : component_links_) {
    LinkState& link = links_[static_cast<std::size_t>(l)];
    link.residual = capacity_[static_cast<std::size_t>(l)];
    link.weight = 0;
    link.unfrozen = 0;
    for (const Entry& e : link.entries) {
      Flow& f = flows_[e.flow];
      const double w = f.hops[e.hop].weight;
      if (f.mark == epoch_) {  // re-solved
        link.weight += w;
        ++link.unfrozen;
      } else {  // below the floor: keeps its rate
        f.frozen = true;
        link.residual -= w * f.rate;
      }
    }
    if (link.unfrozen == 0) continue;
    link.level = link.residual / link.weight;
    link.heap_key = link.level;
    heap.emplace_back(link.level, l);
  }
  std::make_heap(heap.begin(), heap.end(), std::greater<>());
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<>());
    auto [level, l] = heap.back();
    heap.pop_back();
    LinkState& link = links_[static_cast<std::size_t>(l)];
    if (link.unfrozen == 0) continue;
    if (level != link.level) {
      // The link's representative key is a lower bound of its level (levels rise as flows freeze
      // elsewhere): put it back at the current level. Other keys are stale.
      if (level == link.heap_key && level < link.level) {
        link.heap_key = link.level;
        heap.emplace_back(link.level, l);
        std::push_heap(heap.begin(), heap.end(), std::greater<>());
      }
      continue;
    }
    for (const Entry& e : link.entries) {
      Flow& f = flows_[e.flow];
      if (f.frozen) continue;
      f.frozen = true;
      f.rate = level;
      for (const Hop& h : f.hops) {
        LinkState& m = links_[static_cast<std::size_t>(h.link)];
        m.residual -= h.weight * level;
        m.weight -= h.weight;
        --m.unfrozen;
        if (h.link == l || m.unfrozen == 0) continue;
        // Levels never decrease (max-min); clamp rounding noise.
        double next = m.weight > 0 ? std::max(level, m.residual / m.weight) : level;
        m.level = next;
        // Lazy key: a rise keeps the (lower) representative key in the heap, re-pushed when it
        // surfaces; only a drop below it (rounding) needs a new key now.
        if (next < m.heap_key) {
          m.heap_key = next;
          heap.emplace_back(next, h.link);
          std::push_heap(heap.begin(), heap.end(), std::greater<>());
        }
      }
    }
  }

  // 4. Reschedule the completions whose rate changed.
  for (std::size_t k = 0; k < component_flows_.size(); ++k)
    if (flows_[component_flows_[k]].rate != old_rates_[k]) reschedule(component_flows_[k]);
}

}  // namespace epsim
