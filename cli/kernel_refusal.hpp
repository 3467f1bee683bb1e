#pragma once
// Where an exchange kernel's refusal came from: comm/ says why a kernel cannot run (naming the kernel,
// GPUs and link, comm/exchange_kernel.hpp ExchangeKernelRefusal) but not which file, JSON pointer or
// flag chose the kernel and the topology; each command adds them here.
#include <string>

#include <fmt/format.h>

#include "comm/exchange_kernel.hpp"
#include "common/error.hpp"

namespace epsim::cli {

/// Runs f() and returns what it returns. An ExchangeKernelRefusal from it is rethrown as an InputError:
/// outside_nvlink_domain prefixed with `kernel_from` (where the kernel was chosen: "FILE: /exchange_kernel",
/// "--exchange-kernel nvlink-one-sided") and followed by the topology (`topology`: its file); flow_network
/// (its message names the scenario and calibration fields) followed by the flag that avoids it.
template <class F>
decltype(auto) with_kernel_context(const std::string& kernel_from, const std::string& topology, F&& f) {
  try {
    return f();
  } catch (const ExchangeKernelRefusal& e) {
    if (e.cause() == ExchangeKernelRefusal::Cause::flow_network)
      throw InputError(fmt::format("{}; run it with --network analytical", e.what()));
    throw InputError(fmt::format("{}: {} [topology {}]", kernel_from, e.what(), topology));
  }
}

}  // namespace epsim::cli
