#pragma once
// A small topology the exchange-kernel tests share.
#include "topology/generators.hpp"

namespace epsim::test {

inline Topology one_node_of_4() {  // one DGX H100 node with 4 GPUs (NVLink 450 GB/s)
  DgxClusterOptions o;
  o.nodes = 1;
  o.gpus_per_node = 4;
  return generate_dgx_cluster(o);
}

}  // namespace epsim::test
