#include <catch2/catch.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "sim/network/network_model.hpp"

using namespace epsim;

namespace {
// n GPUs, each joined to one switch by a bidirectional link of gpu_GBps (GPU 0's link: gpu0_GBps),
// latency 1000 ns per link, so every route is gpu -> switch -> gpu with latency 2000 ns.
Topology star(int n, double gpu_GBps, double gpu0_GBps) {
  Topology t;
  t.name = "star";
  int sw = t.add_device(Device{"sw", DeviceKind::nvswitch, -1, -1, ""});
  for (int g = 0; g < n; ++g) {
    int d = t.add_device(Device{"gpu" + std::to_string(g), DeviceKind::gpu, -1, -1, "h100"});
    t.add_bidirectional(d, sw, LinkKind::nvlink, g == 0 ? gpu0_GBps : gpu_GBps, 1000.0);
  }
  return t;
}

struct Run {
  std::vector<Time> done;
  Time all_done = Time::max();
};

// Start one exchange on a fresh model and run to the end.
Run run_exchange(const std::string& model, const Topology& topo, const RouteTable& routes,
                 const std::vector<Transfer>& transfers) {
  Simulator sim;
  auto net = make_network_model(model, sim, topo, routes);
  Run r;
  r.done.assign(transfers.size(), Time::max());
  net->start_exchange(transfers, [&](std::size_t i) { r.done[i] = sim.now(); }, [&] { r.all_done = sim.now(); });
  sim.run();
  return r;
}
}  // namespace

TEST_CASE("One transfer takes S / bottleneck + latency in both models", "[sim][network]") {
  // GPU 0 attaches at 50 GB/s, GPU 1 at 100 GB/s: bottleneck 50e9 B/s. S = 1e9 B.
  // t = S / 50e9 + 2 * 1000 ns = 0.02 s + 2 us = 2e10 ps + 2e6 ps.
  Topology topo = star(2, 100.0, 50.0);
  RouteTable routes(topo);
  REQUIRE(routes.latency_ns(0, 1) == Approx(2000.0));
  const Time expected = Time::ps(20'000'000'000) + Time::us(2);
  for (std::string model : {"analytical", "flow", "flow-per-transfer"}) {
    INFO(model);
    Run r = run_exchange(model, topo, routes, {{0, 1, 1e9}});
    CHECK(r.done[0] == expected);
    CHECK(r.all_done == expected);
  }
}

TEST_CASE("Incast: 3 GPUs into 1 finishes at 3 S / bw in both models", "[sim][network]") {
  // All links 50 GB/s. GPUs 1, 2, 3 each send S = 1e9 B to GPU 0: the switch -> GPU 0 link carries
  // 3S. Flow model: each flow gets bw/3, all end at S / (bw/3) = 3S/bw; analytical: bottleneck bytes
  // 3S / bw. t = 3e9 / 50e9 s + 2 us = 0.06 s + 2 us.
  Topology topo = star(4, 50.0, 50.0);
  RouteTable routes(topo);
  const Time expected = Time::ms(60) + Time::us(2);
  for (std::string model : {"analytical", "flow", "flow-per-transfer"}) {
    INFO(model);
    Run r = run_exchange(model, topo, routes, {{1, 0, 1e9}, {2, 0, 1e9}, {3, 0, 1e9}});
    for (Time t : r.done) CHECK(t == expected);
    CHECK(r.all_done == expected);
  }
}

TEST_CASE("Concurrent exchanges share links in the flow model only", "[sim][network]") {
  // Two exchanges of one transfer 0 -> 1 (S = 1e9 B, bw 50 GB/s) started at the same time.
  // analytical: each alone, S/bw + 2 us = 20 ms + 2 us; flow: they share, 2S/bw + 2 us = 40 ms + 2 us.
  Topology topo = star(2, 50.0, 50.0);
  RouteTable routes(topo);
  for (auto [model, expected] : {std::pair<std::string, Time>{"analytical", Time::ms(20) + Time::us(2)},
                                 std::pair<std::string, Time>{"flow", Time::ms(40) + Time::us(2)},
                                 std::pair<std::string, Time>{"flow-per-transfer", Time::ms(40) + Time::us(2)}}) {
    INFO(model);
    Simulator sim;
    auto net = make_network_model(model, sim, topo, routes);
    CHECK(net->name() == model);
    std::vector<Time> ends;
    for (int k = 0; k < 2; ++k) net->start_exchange({{0, 1, 1e9}}, nullptr, [&] { ends.push_back(sim.now()); });
    sim.run();
    CHECK(ends == std::vector<Time>{expected, expected});
    // Link 0 is gpu0 -> switch (add_bidirectional returns a -> b): 2 exchanges x S.
    CHECK(net->link_bytes()[0] == Approx(2e9));
  }
}

TEST_CASE("Local, empty and zero-byte transfers complete at once", "[sim][network]") {
  Topology topo = star(2, 50.0, 50.0);
  RouteTable routes(topo);
  for (std::string model : {"analytical", "flow", "flow-per-transfer"}) {
    INFO(model);
    Run r = run_exchange(model, topo, routes, {{0, 0, 1e9}, {0, 1, 0.0}});
    CHECK(r.done == std::vector<Time>{Time{}, Time{}});
    CHECK(r.all_done == Time{});
    Run empty = run_exchange(model, topo, routes, {});
    CHECK(empty.all_done == Time{});
  }
}

TEST_CASE("Network model factory and transfer validation", "[sim][network]") {
  Topology topo = star(2, 50.0, 50.0);
  RouteTable routes(topo);
  Simulator sim;
  CHECK_THROWS_AS(make_network_model("packet", sim, topo, routes), std::invalid_argument);
  for (std::string model : {"analytical", "flow", "flow-per-transfer"}) {
    auto net = make_network_model(model, sim, topo, routes);
    CHECK(net->link_bytes().size() == static_cast<std::size_t>(topo.num_links()));
    CHECK_THROWS_AS(net->start_exchange({{0, 2, 1.0}}, nullptr, nullptr), std::invalid_argument);
    CHECK_THROWS_AS(net->start_exchange({{-1, 0, 1.0}}, nullptr, nullptr), std::invalid_argument);
    CHECK_THROWS_AS(net->start_exchange({{0, 1, -5.0}}, nullptr, nullptr), std::invalid_argument);
  }
  CHECK(sim.events_pending() == 0);
}
