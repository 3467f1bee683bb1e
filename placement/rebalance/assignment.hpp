#pragma once
// The linear assignment problem (Hungarian method): which new item goes to which old position.
#include <vector>

namespace epsim {

/// Maximum-weight perfect assignment of an n x n weight matrix (weight[i][j] = value of giving
/// position i the item j; finite). Returns item_of[i]. O(n^3) time, O(n^2) memory (the matrix).
/// Deterministic: among optimal assignments, the one the method reaches from row 0 up.
/// Throws std::invalid_argument when the matrix is not square.
std::vector<int> max_weight_assignment(const std::vector<std::vector<double>>& weight);

}  // namespace epsim
