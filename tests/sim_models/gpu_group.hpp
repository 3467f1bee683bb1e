#pragma once
// GPU groups of the collective tests: ranks 0..n-1 (on generate_dgx_cluster topologies, the first n
// GPUs in host order).
#include <numeric>
#include <vector>

namespace epsim::test {

inline std::vector<int> first_gpus(int n) {
  std::vector<int> g(static_cast<std::size_t>(n));
  std::iota(g.begin(), g.end(), 0);
  return g;
}

}  // namespace epsim::test
