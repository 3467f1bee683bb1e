#include "placement/rebalance/assignment.hpp"

#include <limits>
#include <stdexcept>

namespace epsim {

std::vector<int> max_weight_assignment(const std::vector<std::vector<double>>& weight) {
  const int n = static_cast<int>(weight.size());
  for (const auto& row : weight)
    if (static_cast<int>(row.size()) != n) throw std::invalid_argument("max_weight_assignment: matrix is not square");
  if (n == 0) return {};
  // Hungarian method with potentials on the cost -weight (rows and columns 1-based, 0 = virtual).
  const double inf = std::numeric_limits<double>::infinity();
  auto cost = [&](int i, int j) { return -weight[static_cast<std::size_t>(i - 1)][static_cast<std::size_t>(j - 1)]; };
  std::vector<double> u(static_cast<std::size_t>(n) + 1, 0.0), v(static_cast<std::size_t>(n) + 1, 0.0);
  std::vector<int> p(static_cast<std::size_t>(n) + 1, 0), way(static_cast<std::size_t>(n) + 1, 0);
  for (int i = 1; i <= n; ++i) {
    p[0] = i;
    int j0 = 0;
    std::vector<double> minv(static_cast<std::size_t>(n) + 1, inf);
    std::vector<char> used(static_cast<std::size_t>(n) + 1, 0);
    do {
      used[static_cast<std::size_t>(j0)] = 1;
      const int i0 = p[static_cast<std::size_t>(j0)];
      double delta = inf;
      int j1 = 0;
      for (int j = 1; j <= n; ++j) {
        if (used[static_cast<std::size_t>(j)]) continue;
        const double cur = cost(i0, j) - u[static_cast<std::size_t>(i0)] - v[static_cast<std::size_t>(j)];
        if (cur < minv[static_cast<std::size_t>(j)]) minv[static_cast<std::size_t>(j)] = cur, way[static_cast<std::size_t>(j)] = j0;
        if (minv[static_cast<std::size_t>(j)] < delta) delta = minv[static_cast<std::size_t>(j)], j1 = j;
      }
      for (int j = 0; j <= n; ++j) {
        if (used[static_cast<std::size_t>(j)]) {
          u[static_cast<std::size_t>(p[static_cast<std::size_t>(j)])] += delta;
          v[static_cast<std::size_t>(j)] -= delta;
        } else {
          minv[static_cast<std::size_t>(j)] -= delta;
        }
      }
      j0 = j1;
    } while (p[static_cast<std::size_t>(j0)] != 0);
    do {
      const int j1 = way[static_cast<std::size_t>(j0)];
      p[static_cast<std::size_t>(j0)] = p[static_cast<std::size_t>(j1)];
      j0 = j1;
    } while (j0 != 0);
  }
  std::vector<int> item_of(static_cast<std::size_t>(n), -1);
  for (int j = 1; j <= n; ++j) item_of[static_cast<std::size_t>(p[static_cast<std::size_t>(j)] - 1)] = j - 1;
  return item_of;
}

}  // namespace epsim
