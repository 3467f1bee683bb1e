#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "sim/network/flow_network.hpp"

using epsim::FlowId;
using epsim::FlowNetwork;
using epsim::RouteHop;
using epsim::Simulator;
using epsim::Time;

namespace {
std::vector<RouteHop> path(std::initializer_list<int> links) {
  std::vector<RouteHop> r;
  for (int l : links) r.push_back(RouteHop{l, 1.0f});
  return r;
}
}  // namespace

TEST_CASE("Two flows share one link equally until one ends", "[sim][flow]") {
  // C = 100 GB/s = 1e11 B/s; S1 = 1e6 B, S2 = 3e6 B, both start at 0.
  // Both at C/2 = 5e10 B/s: flow 1 ends at t1 = S1 / (C/2) = 20 us.
  // Flow 2 then has S2 - S1 = 2e6 B left at C: t2 = t1 + 2e6 / 1e11 = 20 + 20 = 40 us (= (S1+S2)/C).
  Simulator sim;
  FlowNetwork net(sim, {1e11});
  Time t1;
  Time t2;
  FlowId f1 = net.start_flow(path({0}), 1e6, Time{}, [&] { t1 = sim.now(); });
  FlowId f2 = net.start_flow(path({0}), 3e6, Time{}, [&] { t2 = sim.now(); });
  sim.run_until(Time{});  // the coalesced re-solve at t = 0
  CHECK(net.rate(f1) == 5e10);
  CHECK(net.rate(f2) == 5e10);
  sim.run_until(Time::us(20));
  CHECK_FALSE(net.is_active(f1));
  CHECK(net.rate(f2) == 1e11);
  sim.run();
  CHECK(t1 == Time::us(20));
  CHECK(t2 == Time::us(40));
  CHECK(net.num_flows() == 0);
  CHECK(net.link_bytes()[0] == Approx(4e6));  // S1 + S2
}

TEST_CASE("A flow joining later shares from its first byte", "[sim][flow]") {
  // C = 1e11 B/s. A: 2e6 B from t = 0; B: 1e6 B started at t = 10 us.
  // A alone for 10 us sends 1e11 * 1e-5 = 1e6 B, 1e6 B left. Then both at 5e10 B/s:
  // B ends at 10 + 1e6/5e10 s = 10 + 20 = 30 us; A's 1e6 B also takes 20 us: 30 us.
  Simulator sim;
  FlowNetwork net(sim, {1e11});
  Time ta;
  Time tb;
  net.start_flow(path({0}), 2e6, Time{}, [&] { ta = sim.now(); });
  sim.schedule(Time::us(10), 0, [&] { net.start_flow(path({0}), 1e6, Time{}, [&] { tb = sim.now(); }); });
  sim.run();
  CHECK(ta == Time::us(30));
  CHECK(tb == Time::us(30));
}

TEST_CASE("Textbook three-link line: every flow gets 1/2", "[sim][flow]") {
  // Links A=0, B=1, C=2, capacity 1 B/s. Long flow over A,B,C; short flows on A and on C.
  // lambda_A = 1/2 (two flows), lambda_B = 1/1, lambda_C = 1/2: A and C saturate at 1/2, freezing all
  // three flows at 1/2 (B carries 1/2 and keeps 1/2 spare).
  // Sizes: shorts 1 B -> end at 1 / (1/2) = 2 s; long 2 B: 1 B sent by 2 s, then alone at 1 B/s
  // -> ends at 3 s.
  Simulator sim;
  FlowNetwork net(sim, {1.0, 1.0, 1.0});
  Time t_long;
  Time t_a;
  Time t_c;
  FlowId lng = net.start_flow(path({0, 1, 2}), 2.0, Time{}, [&] { t_long = sim.now(); });
  FlowId sa = net.start_flow(path({0}), 1.0, Time{}, [&] { t_a = sim.now(); });
  FlowId sc = net.start_flow(path({2}), 1.0, Time{}, [&] { t_c = sim.now(); });
  sim.run_until(Time{});
  CHECK(net.rate(lng) == 0.5);
  CHECK(net.rate(sa) == 0.5);
  CHECK(net.rate(sc) == 0.5);
  sim.run();
  CHECK(t_a == Time::s(2));
  CHECK(t_c == Time::s(2));
  CHECK(t_long == Time::s(3));
}

TEST_CASE("Unequal capacities: the long flow is held by the thin link", "[sim][flow]") {
  // A = 1 B/s, B = 3 B/s. Long flow over A,B; short flow on B.
  // lambda_A = 1/1 = 1, lambda_B = 3/2 = 1.5: A saturates first -> long = 1.
  // Then B: residual 3 - 1 = 2 for the short flow alone -> short = 2 (B full: 1 + 2 = 3).
  // (With B = 2: lambda_A = lambda_B = 1 and both flows get 1.)
  Simulator sim;
  FlowNetwork net(sim, {1.0, 3.0});
  FlowId lng = net.start_flow(path({0, 1}), 10.0, Time{}, [] {});
  FlowId sht = net.start_flow(path({1}), 10.0, Time{}, [] {});
  sim.run_until(Time{});
  CHECK(net.rate(lng) == 1.0);
  CHECK(net.rate(sht) == 2.0);
  // Short ends at 10/2 = 5 s; long then gets min(A, B) = 1 still: 10 B at 1 B/s ends at 10 s.
  sim.run();
  CHECK(sim.now() == Time::s(10));
}

TEST_CASE("ECMP fractions weight the shares", "[sim][flow]") {
  // Links P=0, Q=1 of 1 B/s. X splits 1/2 on P, 1/2 on Q; Y uses P only.
  // lambda_P = 1 / (0.5 + 1) = 2/3, lambda_Q = 1 / 0.5 = 2: P saturates -> X = Y = 2/3.
  // Q carries 0.5 * 2/3 = 1/3 (2/3 spare). P carries 0.5*2/3 + 2/3 = 1.
  Simulator sim;
  FlowNetwork net(sim, {1.0, 1.0});
  std::vector<RouteHop> split{{0, 0.5f}, {1, 0.5f}};
  FlowId x = net.start_flow(split, 4.0, Time{}, [] {});
  FlowId y = net.start_flow(path({0}), 4.0, Time{}, [] {});
  sim.run_until(Time{});
  CHECK(net.rate(x) == Approx(2.0 / 3.0));
  CHECK(net.rate(y) == Approx(2.0 / 3.0));
  // Both end at 4 / (2/3) = 6 s; the bytes per link are 0.5*4 + 4 = 6 on P and 0.5*4 = 2 on Q.
  sim.run();
  CHECK(sim.now() == Time::s(6));
  CHECK(net.link_bytes()[0] == Approx(6.0));
  CHECK(net.link_bytes()[1] == Approx(2.0));
}

TEST_CASE("Only the touched component is re-solved", "[sim][flow]") {
  // Links 0 and 1 carry disjoint flows: starting a flow on link 1 re-solves 1 flow, not 2, and the
  // completion event of the flow on link 0 is left alone.
  Simulator sim;
  FlowNetwork net(sim, {1.0, 1.0});
  Time t0;
  net.start_flow(path({0}), 10.0, Time{}, [&] { t0 = sim.now(); });
  sim.run_until(Time{});
  CHECK(net.stats().flows_resolved == 1);
  sim.schedule(Time::s(1), 0, [&] { net.start_flow(path({1}), 1.0, Time{}, [] {}); });
  sim.run_until(Time::s(1));
  CHECK(net.stats().solves == 2);
  CHECK(net.stats().flows_resolved == 2);  // 1 + 1
  CHECK(net.stats().reschedules == 0);
  sim.run();
  CHECK(t0 == Time::s(10));
}

TEST_CASE("A flow with share k gets k times the rate of a plain flow", "[sim][flow]") {
  // One link of 1 B/s: flow a with share 3, flow b with share 1. Level lambda = 1 / (3 + 1) = 1/4:
  // a = 3/4, b = 1/4. Sizes 3 B and 2 B: a ends at 3 / (3/4) = 4 s having let b send 1 B; b alone
  // at 1 B/s sends its last 1 B by 5 s.
  Simulator sim;
  FlowNetwork net(sim, {1.0});
  Time ta, tb;
  FlowId a = net.start_flow(path({0}), 3.0, Time{}, [&] { ta = sim.now(); }, 3.0);
  FlowId b = net.start_flow(path({0}), 2.0, Time{}, [&] { tb = sim.now(); });
  sim.run_until(Time{});
  CHECK(net.rate(a) == 0.75);
  CHECK(net.rate(b) == 0.25);
  sim.run();
  CHECK(ta == Time::s(4));
  CHECK(tb == Time::s(5));
}

TEST_CASE("Latency delays the first byte, zero bytes complete after the latency", "[sim][flow]") {
  // 1e6 B at 1e11 B/s after 1 us: 1 + 1e6/1e11 s = 1 + 10 = 11 us.
  Simulator sim;
  FlowNetwork net(sim, {1e11});
  Time t_data;
  Time t_zero;
  Time t_local;
  FlowId f = net.start_flow(path({0}), 1e6, Time::us(1), [&] { t_data = sim.now(); });
  net.start_flow(path({0}), 0.0, Time::ns(700), [&] { t_zero = sim.now(); });
  net.start_flow({}, 5e6, Time::ns(300), [&] { t_local = sim.now(); });  // empty route: no link
  sim.run_until(Time::ns(500));
  CHECK(net.rate(f) == 0.0);  // not joined yet
  sim.run();
  CHECK(t_data == Time::us(11));
  CHECK(t_zero == Time::ns(700));
  CHECK(t_local == Time::ns(300));
}

TEST_CASE("Flow network rejects bad inputs", "[sim][flow]") {
  Simulator sim;
  CHECK_THROWS_AS(FlowNetwork(sim, {1.0, 0.0}), std::invalid_argument);
  CHECK_THROWS_AS(FlowNetwork(sim, {std::numeric_limits<double>::infinity()}), std::invalid_argument);
  FlowNetwork net(sim, {1.0});
  CHECK_THROWS_AS(net.start_flow(path({1}), 1.0, Time{}, [] {}), std::invalid_argument);
  CHECK_THROWS_AS(net.start_flow(std::vector<RouteHop>{{0, 0.0f}}, 1.0, Time{}, [] {}), std::invalid_argument);
  CHECK_THROWS_AS(net.start_flow(std::vector<RouteHop>{{0, 1.5f}}, 1.0, Time{}, [] {}), std::invalid_argument);
  CHECK_THROWS_AS(net.start_flow(path({0}), -1.0, Time{}, [] {}), std::invalid_argument);
  CHECK_THROWS_AS(net.start_flow(path({0}), std::numeric_limits<double>::quiet_NaN(), Time{}, [] {}),
                  std::invalid_argument);
  CHECK_THROWS_AS(net.start_flow(path({0}), 1.0, -Time::ns(1), [] {}), std::invalid_argument);
  CHECK_THROWS_AS(net.start_flow(path({0}), 1.0, Time{}, [] {}, 0.5), std::invalid_argument);
  CHECK_THROWS_AS(net.start_flow(path({0}), 1.0, Time{}, [] {}, std::numeric_limits<double>::infinity()),
                  std::invalid_argument);
  CHECK(net.num_flows() == 0);
}

TEST_CASE("Destroying a flow network cancels its pending events", "[sim][flow]") {
  Simulator sim;
  bool fired = false;
  {
    FlowNetwork net(sim, {1.0});
    net.start_flow(path({0}), 1.0, Time::ns(1), [&] { fired = true; });
  }
  sim.run();
  CHECK_FALSE(fired);
  CHECK(sim.events_executed() == 0);
}

TEST_CASE("A completion re-solves only the flows at or above its rate", "[sim][flow]") {
  // Link 0 (capacity 1 B/s): flows a and b. Link 1 (capacity 10 B/s): flows b, c, d.
  // Max-min: link 0 saturates first at 1/2, so a = b = 0.5; link 1 then gives c = d = (10 - 0.5) / 2
  // = 4.75. c (4.75 B) completes at t = 1 s. Its rate 4.75 is the floor: a and b (0.5 < 4.75) keep
  // their rates without being re-solved; only d is, and gets 10 - 0.5 = 9.5.
  // Then d has 14.25 - 4.75 = 9.5 B left at 9.5 B/s: done at 2 s; a and b (1 B at 0.5): done at 2 s.
  Simulator sim;
  FlowNetwork net(sim, {1.0, 10.0});
  Time ta, tb, tc, td;
  FlowId a = net.start_flow(path({0}), 1.0, Time{}, [&] { ta = sim.now(); });
  FlowId b = net.start_flow(path({0, 1}), 1.0, Time{}, [&] { tb = sim.now(); });
  FlowId c = net.start_flow(path({1}), 4.75, Time{}, [&] { tc = sim.now(); });
  FlowId d = net.start_flow(path({1}), 14.25, Time{}, [&] { td = sim.now(); });
  sim.run_until(Time{});
  CHECK(net.rate(a) == 0.5);
  CHECK(net.rate(b) == 0.5);
  CHECK(net.rate(c) == 4.75);
  CHECK(net.rate(d) == 4.75);
  const auto resolved_before = net.stats().flows_resolved;  // 4: the joins re-solve everything
  CHECK(resolved_before == 4);
  sim.run_until(Time::s(1));
  CHECK(tc == Time::s(1));
  CHECK(net.rate(d) == 9.5);
  CHECK(net.rate(a) == 0.5);
  CHECK(net.rate(b) == 0.5);
  CHECK(net.stats().flows_resolved - resolved_before == 1);  // d only
  sim.run();
  CHECK(ta == Time::s(2));
  CHECK(tb == Time::s(2));
  CHECK(td == Time::s(2));
}

TEST_CASE("A completion below other rates re-solves them all", "[sim][flow]") {
  // Same links; a (0.5 B) completes first, at 1 s, with the lowest rate 0.5: every connected flow
  // is at or above it, so b, c, d are re-solved. Levels: link 0 (b alone) 1 / 1 = 1, link 1 (b, c,
  // d) 10 / 3; link 0 saturates first: b = 1, then c = d = (10 - 1) / 2 = 4.5.
  Simulator sim;
  FlowNetwork net(sim, {1.0, 10.0});
  FlowId b = net.start_flow(path({0, 1}), 100.0, Time{}, [] {});
  net.start_flow(path({0}), 0.5, Time{}, [] {});
  FlowId c = net.start_flow(path({1}), 100.0, Time{}, [] {});
  FlowId d = net.start_flow(path({1}), 100.0, Time{}, [] {});
  sim.run_until(Time{});
  const auto resolved_before = net.stats().flows_resolved;
  sim.run_until(Time::s(1));
  CHECK(net.stats().flows_resolved - resolved_before == 3);
  CHECK(net.rate(b) == 1.0);
  CHECK(net.rate(c) == 4.5);
  CHECK(net.rate(d) == 4.5);
}

namespace {
// Reference fluid simulation for the differential test: max-min rates recomputed from scratch by
// naive progressive filling at every start and completion, times in double seconds.
struct RefFlow {
  std::vector<RouteHop> route;
  double start_s = 0;
  double bytes = 0;
  double share = 1;
};

std::vector<double> reference_max_min(const std::vector<double>& cap, const std::vector<RefFlow>& flows,
                                      const std::vector<int>& active) {
  std::vector<double> rate(flows.size(), 0.0);
  std::vector<char> frozen(flows.size(), 1);
  for (int f : active) frozen[static_cast<std::size_t>(f)] = 0;
  std::vector<double> residual = cap;
  for (;;) {
    // Smallest level over links with unfrozen flows: (residual) / (sum of unfrozen weights).
    double best = std::numeric_limits<double>::infinity();
    int best_link = -1;
    for (std::size_t l = 0; l < cap.size(); ++l) {
      double w = 0;
      for (int f : active)
        if (!frozen[static_cast<std::size_t>(f)])
          for (const RouteHop& h : flows[static_cast<std::size_t>(f)].route)
            if (h.link == static_cast<int>(l)) w += h.fraction * flows[static_cast<std::size_t>(f)].share;
      if (w > 0 && residual[l] / w < best) {
        best = residual[l] / w;
        best_link = static_cast<int>(l);
      }
    }
    if (best_link < 0) return rate;
    for (int f : active) {
      auto& fl = flows[static_cast<std::size_t>(f)];
      if (frozen[static_cast<std::size_t>(f)]) continue;
      bool on = false;
      for (const RouteHop& h : fl.route) on = on || h.link == best_link;
      if (!on) continue;
      frozen[static_cast<std::size_t>(f)] = 1;
      rate[static_cast<std::size_t>(f)] = best * fl.share;
      for (const RouteHop& h : fl.route) residual[static_cast<std::size_t>(h.link)] -= best * fl.share * h.fraction;
    }
  }
}

std::vector<double> reference_completions(const std::vector<double>& cap, const std::vector<RefFlow>& flows) {
  std::vector<double> done(flows.size(), -1.0), remaining(flows.size());
  for (std::size_t f = 0; f < flows.size(); ++f) remaining[f] = flows[f].bytes;
  double now = 0;
  for (;;) {
    std::vector<int> active;
    double next_start = std::numeric_limits<double>::infinity();
    for (std::size_t f = 0; f < flows.size(); ++f) {
      if (done[f] >= 0) continue;
      if (flows[f].start_s <= now) active.push_back(static_cast<int>(f));
      else next_start = std::min(next_start, flows[f].start_s);
    }
    if (active.empty() && !std::isfinite(next_start)) return done;
    std::vector<double> rate = reference_max_min(cap, flows, active);
    double next = next_start;
    for (int f : active) next = std::min(next, now + remaining[static_cast<std::size_t>(f)] / rate[static_cast<std::size_t>(f)]);
    for (int f : active) {
      auto k = static_cast<std::size_t>(f);
      remaining[k] -= rate[k] * (next - now);
      if (remaining[k] <= 1e-9 * flows[k].bytes) done[k] = next;
    }
    now = next;
  }
}
}  // namespace

TEST_CASE("Incremental re-solves match a from-scratch max-min reference on random networks", "[sim][flow]") {
  // Random networks (explicit seeds): 12 links of 1..10 GB/s, 60 flows over 1..4 random links with
  // random ECMP-like fractions, random sizes and start times, a quarter with max-min shares 2..7. The reference recomputes every rate from
  // scratch at every start and completion; the FlowNetwork re-solves partially (completion floors,
  // saturated-link traversal). Every completion time must agree to 1e-6 relative (the network rounds
  // each completion up to the ps and carries remaining bytes across rate changes).
  for (std::uint64_t seed : {1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u}) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u01(0.0, 1.0);
    const int num_links = 12;
    std::vector<double> cap;
    for (int l = 0; l < num_links; ++l) cap.push_back(1e9 * (1.0 + 9.0 * u01(rng)));
    std::vector<RefFlow> flows(60);
    for (RefFlow& f : flows) {
      const int hops = 1 + static_cast<int>(rng() % 4);
      std::vector<int> links;
      while (static_cast<int>(links.size()) < hops) {
        int l = static_cast<int>(rng() % num_links);
        if (std::find(links.begin(), links.end(), l) == links.end()) links.push_back(l);
      }
      for (int l : links) f.route.push_back(RouteHop{l, u01(rng) < 0.3 ? 0.5f : 1.0f});
      f.bytes = 1e6 * (0.1 + 10.0 * u01(rng));
      f.share = u01(rng) < 0.25 ? 1.0 + static_cast<double>(rng() % 7) : 1.0;  // a quarter weigh 2..7
      // A third of the flows start together at 0, the rest at random microseconds.
      f.start_s = u01(rng) < 0.33 ? 0.0 : 1e-6 * std::floor(2000.0 * u01(rng));
    }
    const std::vector<double> expected = reference_completions(cap, flows);
    Simulator sim;
    FlowNetwork net(sim, cap);
    std::vector<double> got(flows.size(), -1.0);
    for (std::size_t i = 0; i < flows.size(); ++i) {
      sim.schedule(Time::from_ps_rounded(flows[i].start_s * 1e12), 0, [&, i] {
        net.start_flow(flows[i].route, flows[i].bytes, Time{}, [&, i] { got[i] = sim.now().to_seconds(); },
                       flows[i].share);
      });
    }
    sim.run();
    INFO("seed " << seed);
    for (std::size_t i = 0; i < flows.size(); ++i) {
      INFO("flow " << i);
      CHECK(got[i] == Approx(expected[i]).epsilon(1e-6));
    }
  }
}
