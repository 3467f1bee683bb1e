#pragma once
// The legs one (source, destination) share of an exchange takes under a kernel's delivery, as
// (from GPU, to GPU, bytes) transfers: what a flow or per-transfer network model moves. The same legs
// as EpLinkModel's rows (comm/link_load.hpp), with the same de-duplication weights.
#include <tuple>
#include <vector>

#include "comm/exchange_kernel.hpp"
#include "comm/link_load.hpp"
#include "topology/routing.hpp"

namespace epsim {

/// One leg: bytes from GPU rank src to GPU rank dst.
struct KernelLeg {
  int src = 0;
  int dst = 0;
  double bytes = 0;
};

/// Append the legs of `bytes` (selections x bytes per copy) that source GPU s sends to destination GPU d
/// in dispatch (or d returns to s in combine: every leg reversed), in the EP group base..base+ep-1.
template <class Out>
void kernel_legs(ExchangeKernelKind kind, const RouteTable& routes, int base, int ep, int s, int d, double bytes,
                 const ExchangeRouting& routing, bool dispatch, std::vector<Out>& out);

/// Latency terms of the kernel's closed form for one direction in the EP group base..base+ep-1 (plus
/// deepep-normal's notify before a dispatch), us: what a network model waits before the legs start.
double kernel_latency_us(const ExchangeKernelParams& kernel, bool dispatch, const Topology& topology, int base, int ep,
                         int experts);

// ---- implementation

template <class Out>
void kernel_legs(ExchangeKernelKind kind, const RouteTable& routes, int base, int ep, int s, int d, double bytes,
                 const ExchangeRouting& routing, bool dispatch, std::vector<Out>& out) {
  auto push = [&](int a, int b, double w) {
    if (a == b || !(bytes * w > 0)) return;
    if (dispatch) out.push_back(Out{a, b, bytes * w});
    else out.push_back(Out{b, a, bytes * w});
  };
  const Topology& topo = routes.topology();
  const int hs = topo.gpu_host(s), hd = topo.gpu_host(d);
  auto in_group = [&](int g) { return g >= base && g < base + ep ? g : -1; };
  switch (kernel_delivery(kind)) {
    case KernelDelivery::per_expert: push(s, d, 1.0); return;
    case KernelDelivery::per_gpu: push(s, d, routing.gpu_factor); return;
    case KernelDelivery::node_forwarding: {
      const int p = hs == hd || hd < 0 ? -1 : in_group(routes.rail_peer(s, hd));
      if (p < 0) {
        push(s, d, routing.gpu_factor);
      } else if (dispatch) {
        push(s, p, routing.node_factor);
        push(p, d, routing.gpu_factor);
      } else {  // combine: d -> p (gpu share), p -> s (node share); push reverses each leg
        push(p, d, routing.gpu_factor);
        push(s, p, routing.node_factor);
      }
      return;
    }
    case KernelDelivery::two_phase: {
      const int q = hs == hd || hs < 0 ? -1 : in_group(routes.rail_peer(d, hs));
      if (q < 0) {
        push(s, d, 1.0);
      } else {
        push(s, q, 1.0);
        push(q, d, 1.0);
      }
      return;
    }
  }
}

}  // namespace epsim
