#include "placement/algorithms/replica_packing.hpp"

#include <algorithm>
#include <queue>
#include <random>

#include <fmt/format.h>

#include "common/error.hpp"

namespace epsim {

namespace {

std::size_t sz(int v) { return static_cast<std::size_t>(v); }

struct Score {
  double max = 0;
  double squares = 0;
  bool operator<=(const Score& o) const {
    const double tol = 1e-12 * std::max(1.0, o.max);
    if (max < o.max - tol) return true;
    if (max > o.max + tol) return false;
    return squares <= o.squares * (1 + 1e-12);
  }
};

// Scores replica counts by the packing of their replicas. Keeps the experts sorted by replica size
// (decreasing, ties: lower expert first) and updates that order when a count changes.
class Packer {
 public:
  Packer(const std::vector<double>& load, int G, int S, const std::vector<int>& r)
      : load_(load), G_(G), S_(S), r_(r), order_(load.size()) {
    for (std::size_t e = 0; e < order_.size(); ++e) order_[e] = static_cast<int>(e);
    std::sort(order_.begin(), order_.end(), [&](int x, int y) { return before(x, y); });
  }

  const std::vector<int>& counts() const { return r_; }

  /// Change the replica count of expert e by delta and keep the order sorted.
  void change(int e, int delta) {
    order_.erase(std::find(order_.begin(), order_.end(), e));
    r_[sz(e)] += delta;
    order_.insert(std::lower_bound(order_.begin(), order_.end(), e, [&](int x, int y) { return before(x, y); }), e);
  }

  /// The packing's score (largest GPU load, sum of squared GPU loads). S = 2: the sorted pairing
  /// (item i with item 2G+1-i, empty slots as 0), which is what the greedy packing gives there.
  Score score() {
    if (S_ == 2) return pairing();
    return pack(false, nullptr);
  }

  /// Replicas in decreasing size, each onto the least-loaded GPU with a free slot (ties: lower
  /// GPU); with `distinct`, skipping GPUs that hold the expert. placed receives (GPU, expert).
  Score pack(bool distinct, std::vector<std::pair<int, int>>* placed) {
    using Bin = std::pair<double, int>;  // (load, gpu)
    std::priority_queue<Bin, std::vector<Bin>, std::greater<>> heap;
    std::vector<int> used(sz(G_), 0);
    std::vector<double> tokens(sz(G_), 0.0);
    for (int g = 0; g < G_; ++g) heap.push({0.0, g});
    std::vector<Bin> skipped;
    std::vector<std::vector<int>> held(distinct ? sz(G_) : 0);
    for (int e : order_) {
      const double size = share(e);
      for (int k = 0; k < r_[sz(e)]; ++k) {
        skipped.clear();
        int g = -1;
        while (!heap.empty()) {
          Bin b = heap.top();
          heap.pop();
          if (distinct && std::find(held[sz(b.second)].begin(), held[sz(b.second)].end(), e) != held[sz(b.second)].end()) {
            skipped.push_back(b);
            continue;
          }
          g = b.second;
          break;
        }
        for (const Bin& b : skipped) heap.push(b);
        if (g < 0) throw InputError(fmt::format("replica packing: no GPU left for a replica of expert {}", e));
        tokens[sz(g)] += size;
        if (++used[sz(g)] < S_) heap.push({tokens[sz(g)], g});
        if (distinct) held[sz(g)].push_back(e);
        if (placed) placed->emplace_back(g, e);
      }
    }
    Score s;
    for (double t : tokens) s.max = std::max(s.max, t), s.squares += t * t;
    return s;
  }

 private:
  double share(int e) const { return load_[sz(e)] / r_[sz(e)]; }
  bool before(int x, int y) const {
    const double a = share(x), b = share(y);
    return a != b ? a > b : x < y;
  }

  Score pairing() const {
    // Items in decreasing order as runs (size, count); the tail is padded with empty slots (0).
    std::vector<std::pair<double, int>> runs;
    int n = 0;
    for (int e : order_) runs.emplace_back(share(e), r_[sz(e)]), n += r_[sz(e)];
    if (2 * G_ > n) runs.emplace_back(0.0, 2 * G_ - n);
    // Walk the first G items from the front and the last G from the back, pairing i with 2G+1-i.
    Score s;
    std::size_t fi = 0, bi = runs.size() - 1;
    int fleft = runs[0].second, bleft = runs.back().second;
    for (int i = 0; i < G_; ++i) {
      while (fleft == 0) fleft = runs[++fi].second;
      while (bleft == 0) bleft = runs[--bi].second;
      const double t = runs[fi].first + runs[bi].first;
      s.max = std::max(s.max, t);
      s.squares += t * t;
      --fleft;
      --bleft;
    }
    return s;
  }

  const std::vector<double>& load_;
  int G_, S_;
  std::vector<int> r_;
  std::vector<int> order_;
};

}  // namespace

LayerPlacement place_replica_packing(const PlacementProblem& p) {
  const int E = p.num_experts(), G = p.num_gpus, S = p.slots_per_gpu;
  if (G * S <= E) throw InputError("replica packing needs spare slots");
  // Start: the greedy rule (next replica to the largest load per replica, at most G each).
  std::vector<int> r(sz(E), 1);
  for (int spare = G * S - E; spare > 0; --spare) {
    int best = -1;
    for (int e = 0; e < E; ++e)
      if (r[sz(e)] < G && (best < 0 || p.load[sz(e)] / r[sz(e)] > p.load[sz(best)] / r[sz(best)])) best = e;
    if (best < 0) break;
    ++r[sz(best)];
  }
  Packer packer(p.load, G, S, r);
  Score best = packer.score();
  std::mt19937_64 rng(p.seed ^ 0x9e3779b97f4a7c15ULL);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<std::uint64_t>(n)); };
  int total = 0;
  for (int x : r) total += x;
  // Try moving one replica from b to a (b = -1: an empty slot); keep it when the score does not
  // get worse.
  auto attempt = [&](int a, int b) {
    const auto& c = packer.counts();
    if (a == b || c[sz(a)] >= G || (b >= 0 && c[sz(b)] < 2)) return;
    packer.change(a, +1);
    if (b >= 0) packer.change(b, -1);
    Score s = packer.score();
    if (s <= best) {
      best = s;
      if (b < 0) ++total;
      return;
    }
    packer.change(a, -1);
    if (b >= 0) packer.change(b, +1);
  };
  const int moves = std::min(3000, 10 * E);
  for (int m = 0; m < moves; ++m) {
    int a = pick(E);
    if (m % 2 == 0) {  // half of the time the expert with the largest replica that may grow
      const auto& c = packer.counts();
      for (int e = 0; e < E; ++e)
        if (c[sz(e)] < G && p.load[sz(e)] / c[sz(e)] > p.load[sz(a)] / c[sz(a)]) a = e;
    }
    attempt(a, total < G * S ? -1 : pick(E));
    attempt(pick(E), a);  // the reverse direction: a gives a replica to a random expert
  }
  std::vector<std::pair<int, int>> placed;
  packer.pack(true, &placed);
  LayerPlacement pl{G, S, std::vector<int>(sz(G * S), -1)};
  std::vector<int> used(sz(G), 0);
  for (const auto& [g, e] : placed) pl.slot_expert[sz(g * S + used[sz(g)]++)] = e;
  return pl;
}

}  // namespace epsim
