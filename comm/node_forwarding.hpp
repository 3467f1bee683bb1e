#pragma once
// DeepEP-style node forwarding (normal kernels): a token is sent once per destination node over
// the source's rail to the rail peer on that node (the GPU with the source's local index), which
// forwards it over NVLink to the node's GPUs that host the token's experts.
#include <span>
#include <vector>

#include "topology/routing.hpp"

namespace epsim {

/// How a token reaches the GPUs that host its experts.
enum class TokenDelivery {
  per_gpu,          ///< one copy per destination GPU, each along route(src, gpu)
  node_forwarding,  ///< one copy per destination node to the rail peer, then NVLink fan-out
};

/// Add the bytes one token puts on every link to `link_bytes` (size topology().num_links()).
/// src_gpu: GPU rank of the token; dst_gpus: GPU ranks hosting its experts (duplicates and src_gpu
/// itself cost nothing); bytes: bytes of the token on the wire.
/// node_forwarding: for each destination host H other than src's host, route(src, rail_peer(src, H))
/// carries `bytes` once, then route(peer, g) carries `bytes` for each other destination GPU g on H;
/// destinations on src's host get route(src, g). Hosts without a rail peer (no host/rail data) fall
/// back to per_gpu delivery. Routes use the table's policy. Throws std::out_of_range on a GPU rank
/// out of range.
void add_token_link_bytes(const RouteTable& routes, int src_gpu, std::span<const int> dst_gpus, double bytes,
                          TokenDelivery delivery, RouteScratch& scratch, std::vector<double>& link_bytes);

/// Bytes of `link_bytes` on links that leave `host` (link source on the host, destination not).
double bytes_leaving_host(const Topology& topology, int host, const std::vector<double>& link_bytes);

}  // namespace epsim
