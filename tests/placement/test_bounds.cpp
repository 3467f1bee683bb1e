// Tests of the certified lower bounds (placement/bounds/bounds.hpp). Each expected value states its equation.
#include <catch2/catch.hpp>

#include <cmath>
#include <thread>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "placement/bounds/bounds.hpp"

using epsim::InputError;

namespace {
const std::vector<double> kReadmeLayer0 = {90, 132, 40, 61, 104, 165, 39, 4, 73, 56, 183, 86};
using Coef = std::vector<std::vector<std::pair<int, double>>>;
}  // namespace

TEST_CASE("GPU load bounds on the EPLB README layer 0", "[bounds]") {
  const auto b = epsim::gpu_load_lower_bounds(kReadmeLayer0, 8, 2);
  CHECK(b.average == Approx(1033.0 / 8));         // W / G = 1033 / 8 = 129.125
  CHECK(b.hottest_expert == Approx(183.0 / 5));   // 183 / min(8, 16 - 12 + 1)
  // 4 spare slots split 183, 165, 132, 104 in turn; the largest replica left is 183 / 2 = 91.5.
  CHECK(b.replica_budget == Approx(91.5));
  CHECK(b.lp == Approx(b.average).epsilon(1e-5));  // GPU symmetry: the LP equals W / G
  CHECK(b.lp <= b.average);                         // and is shaved, never above it
  CHECK(b.best == Approx(129.125));
  CHECK(b.tight == "average");
}

TEST_CASE("GPU load bounds: the replica budget can be tight", "[bounds]") {
  // 8 GPUs x 1 slot, 6 experts: 2 spare slots split the two 100s into 50s; W / G = 204 / 8 = 25.5;
  // hottest expert 100 / min(8, 3) = 33.3.
  const auto b = epsim::gpu_load_lower_bounds({100, 100, 1, 1, 1, 1}, 8, 1);
  CHECK(b.replica_budget == Approx(50.0));
  CHECK(b.hottest_expert == Approx(100.0 / 3));
  CHECK(b.best == Approx(50.0));
  CHECK(b.tight == "replica_budget");
  // A replica count is capped at G: one expert of 800 on 8 GPUs x 2 slots -> 800 / 8 = 100.
  const auto c = epsim::gpu_load_lower_bounds({800, 0, 0, 0, 0, 0, 0, 0}, 8, 2, false);
  CHECK(c.replica_budget == Approx(100.0));
  CHECK(c.lp == -1.0);
}

TEST_CASE("Link time LP couples links where the single-link bound cannot", "[bounds]") {
  // G = 2 GPUs x 1 slot, loads 30 and 10: GPU loads are L0 = 10 + 20a, L1 = 30 - 20a, a in [0, 1].
  // Link 0 carries 1 byte per token of GPU 0 at 1 B/s, link 1 1 byte per token of GPU 1 at 2 B/s.
  // LP: min max(L0, L1 / 2) -> 10 + 20a = 15 - 10a -> a = 1/6, T = 40/3 s.
  // Single link: link 0 alone can send 30 tokens to GPU 1 and 10 to GPU 0 -> 10 s.
  const Coef coef = {{{0, 1.0}}, {{1, 1.0}}};
  const auto b = epsim::link_time_lower_bound({30, 10}, 2, 1, coef, {1.0, 2.0});
  CHECK(b.single_link_s == Approx(10.0));
  CHECK(b.lp_s == Approx(40.0 / 3));
  CHECK(b.best_s == Approx(40.0 / 3));
  CHECK(b.tight == "lp");
  REQUIRE(b.gpu_loads.size() == 2);
  CHECK(b.gpu_loads[0] == Approx(40.0 / 3));
  CHECK(b.gpu_loads[1] == Approx(80.0 / 3));
  CHECK((b.bottleneck_link == 0 || b.bottleneck_link == 1));
}

TEST_CASE("Link time bound: single link tight, repeated link ids add up, idle links", "[bounds]") {
  // Only GPU 0 sends, 0.5 + 0.5 bytes/token on link 0 at 1 B/s: GPU 1 can take at most 30 tokens
  // (one slot, hottest expert), so GPU 0 computes >= 10 tokens -> 10 s. LP gives the same.
  const Coef coef = {{{0, 0.5}, {0, 0.5}}, {}};
  const auto b = epsim::link_time_lower_bound({30, 10}, 2, 1, coef, {1.0});
  CHECK(b.single_link_s == Approx(10.0));
  CHECK(b.lp_s == Approx(10.0).epsilon(1e-5));
  CHECK(b.tight == "single_link");
  CHECK(b.bottleneck_link == 0);
  // No bytes anywhere: bound 0.
  const auto z = epsim::link_time_lower_bound({30, 10}, 2, 1, {{}, {}}, {1.0});
  CHECK(z.best_s == 0.0);
  CHECK(z.bottleneck_link == -1);
}

TEST_CASE("GLPK bounds can be solved from two threads at once", "[bounds][threads]") {
  // GLPK 5.0 keeps its environment in thread-local storage; each thread builds its own problem.
  const Coef coef = {{{0, 1.0}}, {{1, 1.0}}};
  std::vector<double> got(2, 0.0);
  auto work = [&](std::size_t k) {
    double s = 0.0;
    for (int i = 0; i < 50; ++i) {
      s += epsim::gpu_load_lower_bounds(kReadmeLayer0, 8, 2).lp;
      s += epsim::link_time_lower_bound({30, 10}, 2, 1, coef, {1.0, 2.0}).lp_s;
    }
    got[k] = s;
    epsim::release_lp_solver_thread_state();  // free this thread's GLPK environment
  };
  std::thread a(work, 0), b(work, 1);
  a.join();
  b.join();
  CHECK(got[0] == Approx(50 * (129.125 + 40.0 / 3)).epsilon(1e-5));
  CHECK(got[1] == got[0]);
}

TEST_CASE("Bounds reject invalid input", "[bounds][errors]") {
  CHECK_THROWS_WITH(epsim::gpu_load_lower_bounds({}, 2, 1), Catch::Contains("no expert loads"));
  CHECK_THROWS_WITH(epsim::gpu_load_lower_bounds({1, -1}, 2, 1), Catch::Contains("load[1]"));
  CHECK_THROWS_AS(epsim::gpu_load_lower_bounds({1, std::nan("")}, 2, 1), InputError);
  CHECK_THROWS_AS(epsim::gpu_load_lower_bounds({1, INFINITY}, 2, 1), InputError);
  CHECK_THROWS_WITH(epsim::gpu_load_lower_bounds({1, 2}, 0, 1), Catch::Contains("num_gpus = 0"));
  CHECK_THROWS_WITH(epsim::gpu_load_lower_bounds({1, 2}, 2, 0), Catch::Contains("slots_per_gpu = 0"));
  CHECK_THROWS_WITH(epsim::gpu_load_lower_bounds({1, 2, 3}, 1, 2), Catch::Contains("cannot hold 3 experts"));
  const Coef ok = {{{0, 1.0}}, {{0, 1.0}}};
  CHECK_THROWS_WITH(epsim::link_time_lower_bound({1, 2}, 2, 1, {{{0, 1.0}}}, {1.0}), Catch::Contains("coef has 1"));
  CHECK_THROWS_WITH(epsim::link_time_lower_bound({1, 2}, 2, 1, {{{1, 1.0}}, {}}, {1.0}),
                    Catch::Contains("names link 1"));
  CHECK_THROWS_WITH(epsim::link_time_lower_bound({1, 2}, 2, 1, {{{-1, 1.0}}, {}}, {1.0}),
                    Catch::Contains("names link -1"));
  CHECK_THROWS_WITH(epsim::link_time_lower_bound({1, 2}, 2, 1, {{{0, -1.0}}, {}}, {1.0}),
                    Catch::Contains("bytes/token"));
  CHECK_THROWS_WITH(epsim::link_time_lower_bound({1, 2}, 2, 1, ok, {0.0}), Catch::Contains("link_bw_Bps[0]"));
  CHECK_THROWS_AS(epsim::link_time_lower_bound({1, 2}, 2, 1, ok, {std::nan("")}), InputError);
  CHECK_THROWS_AS(epsim::link_time_lower_bound({1, 2, 3}, 2, 1, ok, {1.0}), InputError);
  CHECK_THROWS_AS(epsim::link_time_lower_bound({1, -2}, 2, 1, ok, {1.0}), InputError);
}
