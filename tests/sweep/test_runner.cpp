// The runner: results independent of -j and shards, resume without re-running, cancellation,
// errors, and merge.
#include <catch2/catch.hpp>

#include <atomic>
#include <limits>
#include <mutex>
#include <set>

#include "common/error.hpp"
#include "sweep/merge.hpp"
#include "sweep/plan_evaluator.hpp"
#include "sweep/results_store.hpp"
#include "sweep/runner.hpp"
#include "sweep_test_util.hpp"

using namespace epsim;
using epsim::test::fresh_dir;
using epsim::test::parse_spec;
using epsim::test::phi_spec_json;
using epsim::test::read_text;

namespace {

// A fast evaluator that counts its calls: alltoall_us = 1.5 x index; skips indices divisible by 5.
struct CountingEvaluator {
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
  Evaluator evaluator() const {
    auto c = calls;
    return Evaluator{"count", [c](const SweepPoint& p) {
                       ++*c;
                       PointResult r;
                       if (p.index % 5 == 0) r.skipped_reason = "every fifth point, for the test";
                       else r.metrics = {{"alltoall_us", 1.5 * static_cast<double>(p.index)}, {"busiest_link", "a,b"}};
                       return r;
                     }};
  }
};

SweepSpec counting_spec() {  // 4 x 3 x 2 = 24 points
  return parse_spec(phi_spec_json({{"ep", {1, 2, 4, 8}}, {"tokens_per_gpu", {1, 2, 3}}, {"placement", {"greedy", "epsim"}}}));
}

SweepSpec phi_plan_spec() {  // 2 x 3 x 2 = 12 points; EP 3 is skipped (16 experts do not divide)
  return parse_spec(phi_spec_json({{"oversubscription", {1, 2}}, {"ep", {3, 8, 16}}, {"placement", {"greedy", "epsim"}}}));
}

SweepRunOptions options(const std::filesystem::path& out, int threads, Shard shard = {}) {
  SweepRunOptions o;
  o.out = out;
  o.threads = threads;
  o.shard = shard;
  o.plots = false;
  return o;
}

}  // namespace

TEST_CASE("the plan sweep CSV is identical with -j 1, -j 2 and two merged shards", "[sweep][runner]") {
  SweepSpec spec = phi_plan_spec();
  auto j1 = fresh_dir("j1"), j2 = fresh_dir("j2"), s0 = fresh_dir("s0"), s1 = fresh_dir("s1");
  SweepRunResult r1 = run_sweep(spec, make_plan_evaluator(), options(j1, 1));
  CHECK(r1.progress.evaluated == 12);
  CHECK(r1.progress.skipped == 4);  // EP 3 (16 experts do not divide) x 2 oversubscriptions x 2 algorithms
  run_sweep(spec, make_plan_evaluator(), options(j2, 2));
  run_sweep(spec, make_plan_evaluator(), options(s0, 2, Shard{0, 2}));
  run_sweep(spec, make_plan_evaluator(), options(s1, 1, Shard{1, 2}));
  std::string csv1 = read_text(j1 / "sweep.csv");
  REQUIRE(!csv1.empty());
  CHECK(read_text(j2 / "sweep.csv") == csv1);
  CHECK(!read_text(s0 / "shard-0-of-2.csv").empty());
  MergeResult m = merge_results(s0, {s0, s1}, false);
  CHECK(m.points == 12);
  CHECK(m.copied == 6);
  CHECK(read_text(s0 / "sweep.csv") == csv1);
  // Into a new folder (it takes the shards' manifest).
  auto merged = fresh_dir("merged");
  CHECK(merge_results(merged, {s1, s0}, false).copied == 12);
  CHECK(read_text(merged / "sweep.csv") == csv1);
  // Shard CSVs hold exactly their own points.
  std::string shard1 = read_text(s1 / "shard-1-of-2.csv");
  CHECK(shard1.find("\n1,") != std::string::npos);
  CHECK(shard1.find("\n0,") == std::string::npos);
}

TEST_CASE("resume does not re-run finished points", "[sweep][runner]") {
  SweepSpec spec = counting_spec();
  auto out = fresh_dir("resume");
  CountingEvaluator first;
  // Run only shard 0/2 (12 points) into the folder, then the whole grid: 12 more calls, not 24.
  run_sweep(spec, first.evaluator(), options(out, 2, Shard{0, 2}));
  CHECK(first.calls->load() == 12);
  CountingEvaluator second;
  SweepRunResult r = run_sweep(spec, second.evaluator(), options(out, 2));
  CHECK(second.calls->load() == 12);
  CHECK(r.progress.reused == 12);
  CHECK(r.progress.evaluated == 12);
  CHECK(r.progress.skipped == 5);  // indices 0, 5, 10, 15, 20
  CountingEvaluator third;
  run_sweep(spec, third.evaluator(), options(out, 2));
  CHECK(third.calls->load() == 0);
  // Same CSV as a fresh single run.
  auto fresh = fresh_dir("resume_fresh");
  CountingEvaluator fourth;
  run_sweep(spec, fourth.evaluator(), options(fresh, 1));
  CHECK(read_text(out / "sweep.csv") == read_text(fresh / "sweep.csv"));
}

TEST_CASE("cancellation stops scheduling and keeps finished points", "[sweep][runner]") {
  SweepSpec spec = counting_spec();
  auto out = fresh_dir("cancel");
  std::atomic<bool> cancel{false};
  std::atomic<int> calls{0};
  Evaluator ev{"cancel-after-5", [&](const SweepPoint& p) {
                 if (++calls == 5) cancel = true;  // as if SIGINT arrived during the fifth point
                 PointResult r;
                 r.metrics = {{"alltoall_us", static_cast<double>(p.index)}};
                 return r;
               }};
  SweepRunOptions o = options(out, 1);
  o.cancel = &cancel;
  SweepRunResult r = run_sweep(spec, ev, o);
  CHECK(r.cancelled);
  CHECK(r.progress.evaluated == 5);
  CHECK(calls == 5);
  auto stored = read_all_points(out, spec.num_points());
  CHECK(stored.size() == 5);
  // The CSV of what is done: header + 5 rows.
  std::string csv = read_text(out / "sweep.csv");
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 6);
  // Resuming finishes the rest only.
  std::atomic<int> more{0};
  Evaluator rest{"rest", [&](const SweepPoint&) {
                   ++more;
                   return PointResult{};
                 }};
  SweepRunResult r2 = run_sweep(spec, rest, options(out, 2));
  CHECK_FALSE(r2.cancelled);
  CHECK(more == 19);
}

TEST_CASE("an evaluator error stops the sweep and keeps finished points", "[sweep][runner]") {
  SweepSpec spec = counting_spec();
  auto out = fresh_dir("error");
  Evaluator ev{"fails-at-3", [](const SweepPoint& p) {
                 if (p.index == 3) throw InputError("model.json", "/hidden_size", "a positive integer");
                 return PointResult{};
               }};
  CHECK_THROWS_WITH(run_sweep(spec, ev, options(out, 1)), Catch::Contains("model.json: /hidden_size"));
  CHECK(read_all_points(out, spec.num_points()).size() == 3);
}

TEST_CASE("a results folder of another sweep is refused", "[sweep][runner][rejections]") {
  auto out = fresh_dir("other");
  CountingEvaluator c;
  run_sweep(counting_spec(), c.evaluator(), options(out, 1));
  SweepSpec other = parse_spec(phi_spec_json({{"ep", {1, 2}}}));
  CHECK_THROWS_WITH(run_sweep(other, c.evaluator(), options(out, 1)), Catch::Contains("different sweep"));
  CHECK_THROWS_AS(run_sweep(counting_spec(), c.evaluator(), options(out, 0)), UsageError);
  // Same name and axes, another base scenario (e.g. another network or NIC bandwidth): refused, not
  // resumed with the old points' numbers.
  SweepSpec changed_base = counting_spec();
  changed_base.base["network"] = "flow";
  CHECK_THROWS_WITH(run_sweep(changed_base, c.evaluator(), options(out, 1)), Catch::Contains("different sweep"));
}

TEST_CASE("merge refuses folders of different sweeps and conflicting points", "[sweep][runner][rejections]") {
  auto a = fresh_dir("merge_a"), b = fresh_dir("merge_b"), c = fresh_dir("merge_c");
  CountingEvaluator ev;
  run_sweep(counting_spec(), ev.evaluator(), options(a, 1, Shard{0, 2}));
  run_sweep(parse_spec(phi_spec_json({{"ep", {1, 2}}})), ev.evaluator(), options(b, 1));
  CHECK_THROWS_WITH(merge_results(a, {a, b}, false), Catch::Contains("different sweep"));
  CHECK_THROWS_WITH(merge_results(fresh_dir("merge_new"), {a, b}, false), Catch::Contains("different sweeps"));
  CHECK_THROWS_WITH(merge_results(a, {a, fresh_dir("merge_none")}, false), Catch::Contains("sweep.json"));
  // Same point, different record.
  run_sweep(counting_spec(), ev.evaluator(), options(c, 1, Shard{0, 2}));
  Json rec = read_all_points(c, 24).at(2);
  rec["metrics"]["alltoall_us"] = 99.0;
  write_point(c, rec);
  CHECK_THROWS_WITH(merge_results(a, {a, c}, false), Catch::Contains("two different results of point 2"));
}

TEST_CASE("a point record holding inf or NaN is never written (an internal error naming the field)", "[sweep][runner]") {
  auto c = fresh_dir("nan_point");
  CountingEvaluator ev;
  run_sweep(counting_spec(), ev.evaluator(), options(c, 1, Shard{0, 2}));
  Json rec = read_all_points(c, 24).at(2);
  const Json kept = rec;
  rec["metrics"]["alltoall_us"] = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(write_point(c, rec), Catch::Contains("/metrics/alltoall_us"));
  CHECK(read_all_points(c, 24).at(2) == kept);  // the point file is left as it was
}
