#include "sim/engine/simulator.hpp"

#include <stdexcept>
#include <string>
#include <utility>

namespace epsim {

EventId Simulator::schedule(Time at, int priority, EventHandler handler) {
  if (at < now_)
    throw std::logic_error("Simulator::schedule: time " + std::to_string(at.count_ps()) +
                           " ps is before now (" + std::to_string(now_.count_ps()) + " ps)");
  return queue_.push(at, priority, std::move(handler));
}

bool Simulator::step() {
  EventHandler handler;
  Time at;
  if (!queue_.pop_into(at, handler)) return false;
  now_ = at;
  ++executed_;
  handler();
  return true;
}

void Simulator::run() {
  while (step()) {
  }
}

void Simulator::run_until(Time limit) {
  if (limit < now_)
    throw std::logic_error("Simulator::run_until: limit " + std::to_string(limit.count_ps()) +
                           " ps is before now (" + std::to_string(now_.count_ps()) + " ps)");
  for (;;) {
    auto next = queue_.next_time();
    if (!next || *next > limit) break;
    step();
  }
  now_ = limit;
}

}  // namespace epsim
