// Regression tests for every bug the fuzzers (fuzz/) and the hardening review found: each input that
// crashed, overflowed or escaped as a non-epsim exception now gives a result or an InputError.
#include <cmath>
#include <filesystem>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "hardening_support.hpp"
#include "model/moe_model.hpp"
#include "placement/plan.hpp"
#include "topology/routing.hpp"
#include "topology/topology_json.hpp"
#include "topology/validate.hpp"

using namespace hardening;
using Json = nlohmann::json;

// PXN routing kept a dense (host x rail) table sized num_hosts * (max rail + 1) in int arithmetic: a
// file with 2000 hosts and a GPU on rail 2^20 overflowed int (undefined behaviour) and asked for
// gigabytes; the table is now a hash map over the GPUs' (host, rail) pairs.
TEST_CASE("regression: PXN routes with many hosts and a large rail index") {
  Json t = {{"hosts", Json::array()}, {"devices", Json::array()}, {"links", Json::array()}};
  for (int h = 0; h < 2000; ++h) t["hosts"].push_back(fmt::format("h{}", h));
  t["devices"].push_back({{"id", "leaf"}, {"kind", "leaf"}});
  for (int h : {1998, 1999}) {
    std::string host = fmt::format("h{}", h);
    t["devices"].push_back({{"id", host + "/gpu"}, {"kind", "gpu"}, {"host", host}, {"rail", 1 << 20}});
    t["devices"].push_back({{"id", host + "/nic"}, {"kind", "nic"}, {"host", host}, {"rail", h - 1998}});
    t["links"].push_back({{"src", host + "/gpu"}, {"dst", host + "/nic"}, {"kind", "pcie"}, {"bandwidth_GBps", 64}});
    t["links"].push_back({{"src", host + "/nic"}, {"dst", "leaf"}, {"kind", "infiniband"}, {"bandwidth_GBps", 50}});
  }
  epsim::Topology topo = epsim::topology_from_json(t, "pxn.json");
  epsim::validate_topology(topo, "pxn.json");
  epsim::RouteTable routes(topo, epsim::RoutingOptions{epsim::RoutingPolicy::pxn});
  CHECK(routes.route(0, 1).size() == 4);  // gpu -> nic -> leaf -> nic -> gpu (no GPU on the proxy rail)

  std::string dir = fresh_temp_dir("hard_pxn");
  std::string path = write_file(dir, "pxn.json", t.dump());
  CHECK(run_epsim("topo validate " + path).exit_code == 0);
}

// Rescaling loads divided by their sum: a layer of denormal counts made the scale infinite (and the
// zero counts NaN = 0 x inf), counts near 1e308 made the sum infinite. Shares are now taken relative to
// the largest count when the direct scale is not finite.
TEST_CASE("regression: rescaling extreme expert counts stays finite") {
  epsim::MoeModel model;
  model.top_k = 2;
  for (const std::vector<double>& count : {std::vector<double>{5e-324, 0, 0, 1e-320},
                                           std::vector<double>{1.7e308, 1.7e308, 0, 1}}) {
    auto scaled = epsim::scaled_layer_load(count, model, 4, 100);
    double sum = 0;
    for (double v : scaled) {
      CHECK(std::isfinite(v));
      sum += v;
    }
    CHECK(sum == Approx(100.0 * 4 * 2));  // tokens_per_gpu x EP x top_k
  }
}

// The top-k check named "num_experts_per_tok" even when the file used "moe_topk", so the message
// pointed at a field that is not in the file (and said it was missing).
TEST_CASE("regression: top-k above the experts names the key the file uses") {
  Json m = {{"num_hidden_layers", 2}, {"hidden_size", 64}, {"num_experts", 4}, {"moe_topk", 8},
            {"intermediate_size", 32}, {"num_attention_heads", 4}};
  CHECK_THROWS_WITH(epsim::moe_model_from_json(m, "m.json"), Catch::Matchers::Contains("m.json: /moe_topk: top-k 8"));
}

// ParallelConfig::gpus() = dp x tp x pp in int: a scenario with dp 2^20, tp 1024, pp 1024 (each within
// its own range) overflowed int (UBSan: signed integer overflow in `epsim simulate`, found by the
// ASan/UBSan run). The product is now checked in 64 bits against kMaxRoutedGpus when the scenario is
// parsed: exit 1 naming the file and /parallel.
TEST_CASE("regression: dp x tp x pp beyond int is refused at /parallel") {
  std::string dir = fresh_temp_dir("hard_parallel_overflow");
  Json s = Json::parse(slurp(std::string(EPSIM_FUZZ_CORPUS_DIR) + "/fuzz_scenario/regression_parallel_overflow.json"));
  for (const char* key : {"topology", "model", "gemm_efficiency"}) s.erase(key);
  s["topology"] = kTopo2;
  s["model"] = kPhiModel;
  s["gemm_efficiency"] = kScenarios + "/measurements/deepgemm_grouped_fp8_h800.csv";
  std::string path = write_file(dir, "scenario.json", s.dump());
  CliResult r = run_epsim("simulate --scenario " + path);
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(has(r.err, "scenario.json: /parallel"));
  CHECK(has(r.err, "at most 16384 GPUs"));
  // 1024 x 16 x 1 = 16384 GPUs is within the cap: parsed (then refused against the 16-GPU topology).
  s["parallel"] = {{"dp", 1024}, {"tp", 16}, {"pp", 1}};
  CliResult fits = run_epsim("simulate --scenario " + write_file(dir, "fits.json", s.dump()));
  CHECK(fits.exit_code == 1);
  CHECK(has(fits.err, "GPUs at most the 16 GPUs"));
}

namespace {
// `epsim topo import` of a fuzz_nccl_xml corpus file (with --gpu h100) must fail with exit 1, naming the
// file and `expected`, and write no output.
void expect_import_refused(const std::string& corpus_file, int nodes, const std::string& expected) {
  const std::string xml = std::string(EPSIM_FUZZ_CORPUS_DIR) + "/fuzz_nccl_xml/" + corpus_file;
  std::string dir = fresh_temp_dir("hard_nccl_import");
  CliResult r = run_epsim("topo import " + xml + " --nodes " + std::to_string(nodes) + " --gpu h100 --out " + dir + "/t.json");
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(has(r.err, corpus_file));
  CHECK(has(r.err, expected));
  CHECK_FALSE(std::filesystem::exists(dir + "/t.json"));
}
}  // namespace

// fuzz_nccl_xml: a dump with two <cpu numaid="1"> (and repeated <pci busid>) built two devices with one
// id and escaped as a non-epsim exception ("duplicate device id"); it is now an InputError naming the
// file and the repeated element.
TEST_CASE("regression: an NCCL topology dump that repeats a cpu numaid is refused") {
  expect_import_refused("regression_duplicate_cpu_numaid.xml", 2, "<cpu numaid=\"1\"> appears twice");
}

// fuzz_nccl_xml (CI, 2026-12-04): two <pci> switches whose busid attribute is misspelt (so absent) were
// both named node0/pci, and "duplicate device id" escaped as a non-epsim exception: the uniqueness check
// skipped empty busids. It is now an InputError naming the file and the missing attribute.
TEST_CASE("regression: an NCCL topology dump with two PCIe switches without busid is refused") {
  expect_import_refused("regression_switches_without_busid.xml", 1, "two <pci> elements without busid");
}
