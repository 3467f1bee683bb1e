// epsim evaluate, robust plan, rebalance, replica constraints and eplb on the command line (issue 16).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"

namespace {
const std::string kData = EPSIM_TEST_DATA_DIR;

// 2 nodes x 4 GPUs (written by epsim topo generate into `dir`).
std::string two_by_four(const std::string& dir) {
  std::string t = dir + "/t.json";
  REQUIRE(run_epsim("topo generate dgx-h100 --nodes 2 --gpus-per-node 4 --out " + t).exit_code == 0);
  return t;
}
}  // namespace

TEST_CASE("cli: [800,0,...] on 2 x 4 GPUs: any 100, node-local 200, eplb exits 0", "[cli][planner]") {
  std::string dir = fresh_temp_dir("replicas");
  std::string base = "plan --topology " + two_by_four(dir) + " --model " + kData + "/model_8e_2g.config.json --loads " +
                     kData + "/loads_one_hot8.json --ep 8 --redundant 8 --tokens-per-gpu 0 --objective gpu --json";
  CliResult any = run_epsim(base);
  REQUIRE(any.exit_code == 0);
  CHECK(any.out.find("\"max_gpu_tokens\": 100.0") != std::string::npos);
  CliResult local = run_epsim(base + " --replicas node-local");
  INFO(local.err);
  REQUIRE(local.exit_code == 0);
  CHECK(local.out.find("\"max_gpu_tokens\": 200.0") != std::string::npos);
  CHECK(run_epsim(base + " --algorithm eplb").exit_code == 0);
  CHECK(run_epsim(base + " --baseline eplb").exit_code == 0);
  // No groups in the model: node-local is an input error that says so.
  CliResult bad = run_epsim("plan --topology " + dir + "/t.json --model " + kData +
                            "/model_8e_nogroups.config.json --loads " + kData +
                            "/loads_one_hot8.json --ep 8 --redundant 8 --replicas node-local");
  CHECK(bad.exit_code == 1);
  CHECK(bad.err.find("no expert groups") != std::string::npos);
  CHECK(run_epsim("plan --topology " + dir + "/t.json --model " + kData + "/model_8e_2g.config.json --loads " + kData +
                  "/loads_one_hot8.json --ep 8 --replicas somewhere")
            .exit_code == 2);
}

TEST_CASE("cli: evaluate a plan on other loads, robust plan over two windows", "[cli][planner]") {
  std::string dir = fresh_temp_dir("evaluate");
  std::string topo = two_by_four(dir);
  std::string common = " --topology " + topo + " --model " + kData + "/model_8e_2g.config.json --ep 8 --redundant 8";
  REQUIRE(run_epsim("plan" + common + " --loads " + kData + "/loads_one_hot8.json --out " + dir + "/p.json").exit_code == 0);
  CliResult e = run_epsim("evaluate --plan " + dir + "/p.json --topology " + topo + " --model " + kData +
                          "/model_8e_2g.config.json --loads " + kData + "/loads_ramp8.json --baseline epsim --json");
  INFO(e.err);
  REQUIRE(e.exit_code == 0);
  CHECK(e.out.find("\"baseline_summary\"") != std::string::npos);
  // The table names the command that prints it.
  CliResult table = run_epsim("evaluate --plan " + dir + "/p.json --topology " + topo + " --model " + kData +
                              "/model_8e_2g.config.json --loads " + kData + "/loads_ramp8.json");
  REQUIRE(table.exit_code == 0);
  CHECK(table.out.find("\nepsim evaluate: EP 8, 8 experts + 8 redundant = 2 slots per GPU") != std::string::npos);
  CHECK(table.out.find("epsim plan:") == std::string::npos);
  // --tokens-per-gpu 0 keeps the loads' counts: the header says so (it said "0 tokens per GPU").
  CliResult raw = run_epsim("plan" + common + " --loads " + kData + "/loads_one_hot8.json --tokens-per-gpu 0");
  REQUIRE(raw.exit_code == 0);
  CHECK(raw.out.find("= 2 slots per GPU, the loads' own token counts,") != std::string::npos);
  // A plan of EP 8 on a 4-GPU topology: exit 1 naming both.
  REQUIRE(run_epsim("topo generate dgx-h100 --nodes 1 --gpus-per-node 4 --out " + dir + "/t4.json").exit_code == 0);
  CliResult wrong = run_epsim("evaluate --plan " + dir + "/p.json --topology " + dir + "/t4.json --model " + kData +
                              "/model_8e_2g.config.json --loads " + kData + "/loads_ramp8.json");
  CHECK(wrong.exit_code == 1);
  CHECK(wrong.err.find("EP 8") != std::string::npos);
  CliResult robust = run_epsim("plan" + common + " --loads " + kData + "/loads_one_hot8.json --loads " + kData +
                               "/loads_ramp8.json --robust max");
  INFO(robust.err);
  REQUIRE(robust.exit_code == 0);
  CHECK(robust.out.find("held-out") != std::string::npos);
  // A window with another expert count is named.
  CliResult mismatch = run_epsim("plan" + common + " --loads " + kData + "/loads_one_hot8.json --loads " + kData +
                                 "/loads_phi16.json");
  CHECK(mismatch.exit_code == 1);
  CHECK(mismatch.err.find("loads_phi16.json") != std::string::npos);
}

TEST_CASE("cli: rebalance T = 4 windows every 2", "[cli][planner]") {
  std::string dir = fresh_temp_dir("rebalance");
  std::string topo = two_by_four(dir);
  std::string a = kData + "/loads_one_hot8.json", b = kData + "/loads_ramp8.json";
  CliResult r = run_epsim("rebalance --topology " + topo + " --model " + kData +
                          "/model_8e_2g.config.json --ep 8 --redundant 8 --window " + a + " --window " + b +
                          " --window " + a + " --window " + b + " --every 2 --json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("\"after_window\": 2") != std::string::npos);
  CHECK(r.out.find("\"after_window\": 4") != std::string::npos);
  CHECK(run_epsim("rebalance --topology " + topo + " --model " + kData + "/model_8e_2g.config.json --window " + a +
                  " --every -1")
            .exit_code == 2);
  // --out naming an input (a window, the model) is refused and the input kept (it was overwritten).
  const std::string copy = dir + "/window.json";
  std::filesystem::copy_file(a, copy);
  const std::string before = slurp(copy);
  CliResult over = run_epsim("rebalance --topology " + topo + " --model " + kData + "/model_8e_2g.config.json --ep 8 " +
                             "--redundant 8 --window " + copy + " --window " + b + " --every 1 --out " + copy);
  CHECK(over.exit_code == 2);
  CHECK(over.err.find("--window") != std::string::npos);
  CHECK(slurp(copy) == before);
  // With --scenario the scenario sets topology, model, ep and redundant slots: giving them too is refused.
  const std::string scenario = std::string(EPSIM_SCENARIOS_DIR) + "/deepseek-v3/prefill-ep32.json";
  for (const std::string& flag : std::vector<std::string>{"--ep 64", "--redundant 0", "--topology " + topo}) {
    CliResult r2 = run_epsim("rebalance --scenario " + scenario + " --window " + a + " " + flag);
    INFO(flag);
    CHECK(r2.exit_code == 2);
    CHECK(r2.err.find("the scenario sets it") != std::string::npos);
  }
  // The plan file's exchange kernel is the one the re-plans optimize on (it was always deepep-normal):
  // nvlink-one-sided on 2 nodes is refused naming the NVLink-only rule.
  const std::string plan = dir + "/plan.json";
  REQUIRE(run_epsim("plan --topology " + topo + " --model " + kData + "/model_8e_2g.config.json --loads " + a +
                    " --ep 8 --redundant 8 --out " + plan)
              .exit_code == 0);
  nlohmann::json pj = nlohmann::json::parse(slurp(plan));
  pj["settings"]["exchange_kernel"] = "nvlink-one-sided";
  std::ofstream(dir + "/plan_os.json") << pj.dump();
  CliResult os = run_epsim("rebalance --topology " + topo + " --model " + kData + "/model_8e_2g.config.json --ep 8 " +
                           "--redundant 8 --window " + a + " --every 1 --plan " + dir + "/plan_os.json");
  CHECK(os.exit_code == 1);
  CHECK(os.err.find("over NVLink only") != std::string::npos);
  CHECK(os.err.find(dir + "/plan_os.json: /settings/exchange_kernel: ") != std::string::npos);
  CHECK(os.err.find("[topology " + topo + "]") != std::string::npos);
}

TEST_CASE("cli: a plan records its calibration, evaluate and rebalance use it, old plans keep working",
          "[cli][planner][calibration]") {
  std::string dir = fresh_temp_dir("plan_calibration");
  std::string topo = two_by_four(dir);
  const std::string model = " --model " + kData + "/model_8e_2g.config.json";
  const std::string a = kData + "/loads_one_hot8.json";
  // InfiniBand of 5 GB/s per GPU (one NIC per GPU: 5 GB/s per NIC link, efficiency 5 / 50 = 0.1).
  const std::string cal = dir + "/c.json";
  std::ofstream(cal) << R"({"schema":"epsim.calibration/2","links":{"infiniband":{"bandwidth_GBps":5}}})";
  const std::string plan = dir + "/p.json";
  CliResult made = run_epsim("plan --topology " + topo + model + " --loads " + a + " --ep 8 --redundant 8 --calibration " +
                             cal + " --out " + plan + " --json");
  INFO(made.err);
  REQUIRE(made.exit_code == 0);
  nlohmann::json pj = nlohmann::json::parse(slurp(plan));
  CHECK(pj["settings"]["calibration"]["file"] == cal);
  CHECK(pj["settings"]["calibration"]["fnv1a64"].get<std::string>().size() == 16);
  const double planned_us = nlohmann::json::parse(made.out)["summary"]["sum_link_us"].get<double>();
  // Of which the bandwidth part: the busiest NIC link carries half of a GPU's 4096 tokens x (1056 B
  // dispatch + 2048 B combine) = 6356992 B at 5 GB/s = 1271.3984 us; the rest is the kernel's latency.
  CHECK(planned_us == Approx(1271.3984 + 85.0));

  const std::string eval = "evaluate --topology " + topo + model + " --loads " + a + " --json --plan ";
  auto link_us = [](const CliResult& r) { return nlohmann::json::parse(r.out)["summary"]["sum_link_us"].get<double>(); };
  // evaluate on the plan's own loads gives the plan's own figure: the recorded calibration is used.
  CliResult e = run_epsim(eval + plan);
  INFO(e.err);
  REQUIRE(e.exit_code == 0);
  CHECK(nlohmann::json::parse(e.out)["calibration"] == cal);
  CHECK(link_us(e) == Approx(planned_us));
  CHECK(e.err.find("no parameters for exchange kernel deepep-normal") != std::string::npos);

  // A plan file from before settings.calibration: read as before, the kernel's defaults (InfiniBand at
  // 0.95 x 50 GB/s: a shorter time), and --calibration gives the calibrated figure back.
  pj["settings"].erase("calibration");
  const std::string old_plan = dir + "/old.json";
  std::ofstream(old_plan) << pj.dump();
  CliResult old = run_epsim(eval + old_plan);
  INFO(old.err);
  REQUIRE(old.exit_code == 0);
  CHECK_FALSE(nlohmann::json::parse(old.out).contains("calibration"));
  CHECK(link_us(old) < planned_us / 4);
  CliResult given = run_epsim(eval + old_plan + " --calibration " + cal);
  REQUIRE(given.exit_code == 0);
  CHECK(link_us(given) == Approx(planned_us));

  // rebalance from the plan: its re-plans and iteration cost run under the recorded calibration too.
  const std::string reb = "rebalance --topology " + topo + model + " --ep 8 --redundant 8 --window " + a +
                          " --every 0 --json --plan ";
  auto static_us = [](const CliResult& r) {
    return nlohmann::json::parse(r.out)["windows"][0]["static_iteration_us"].get<double>();
  };
  CliResult rc = run_epsim(reb + plan), ro = run_epsim(reb + old_plan);
  INFO(rc.err);
  REQUIRE(rc.exit_code == 0);
  REQUIRE(ro.exit_code == 0);
  CHECK(rc.err.find("calibration " + cal) != std::string::npos);
  CHECK(static_us(rc) > 4 * static_us(ro));

  // The calibration changed since the plan: a warning naming both files, its current contents used.
  std::ofstream(cal) << R"({"schema":"epsim.calibration/2","links":{"infiniband":{"bandwidth_GBps":10}}})";
  CliResult changed = run_epsim(eval + plan);
  REQUIRE(changed.exit_code == 0);
  CHECK(changed.err.find("warning: calibration " + cal + " changed since plan " + plan + " was made") !=
        std::string::npos);
  CHECK(link_us(changed) < planned_us);
  // Missing: an input error naming the plan file and the field, never the defaults in silence.
  std::filesystem::remove(cal);
  CliResult missing = run_epsim(eval + plan);
  CHECK(missing.exit_code == 1);
  CHECK(missing.err.find(plan) != std::string::npos);
  CHECK(missing.err.find("/settings/calibration/file") != std::string::npos);
  CHECK(run_epsim(reb + plan).exit_code == 1);
  // A malformed record is named.
  pj["settings"]["calibration"] = {{"file", cal}, {"fnv1a64", "xyz"}};
  std::ofstream(dir + "/bad.json") << pj.dump();
  CliResult bad = run_epsim(eval + dir + "/bad.json");
  CHECK(bad.exit_code == 1);
  CHECK(bad.err.find("/settings/calibration/fnv1a64") != std::string::npos);
}

TEST_CASE("cli: a layer whose loads are all 0 is priced as uniform routing, with a note", "[cli][planner]") {
  std::string dir = fresh_temp_dir("zero_loads");
  const std::string loads = dir + "/zero8.json";
  std::ofstream(loads) << R"({"logical_count": [[0, 0, 0, 0, 0, 0, 0, 0]]})";
  const std::string cmd = "plan --topology " + two_by_four(dir) + " --model " + kData + "/model_8e_2g.config.json --loads " + loads;
  CliResult r = run_epsim(cmd);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  // Priced as uniform routing, as simulate and predict exchange route it: the exchange is not 0.
  CHECK(r.out.find("note (layer 0): every expert's load is 0 in this layer (no routed tokens): priced as uniform "
                   "routing over the experts") != std::string::npos);
  CHECK(r.out.find("all-to-all time over 1 MoE layers") != std::string::npos);
  // With --tokens-per-gpu 0 the counts are taken as they are: nothing is exchanged, and it says so.
  CliResult raw = run_epsim(cmd + " --tokens-per-gpu 0");
  REQUIRE(raw.exit_code == 0);
  CHECK(raw.out.find("with --tokens-per-gpu 0 (counts as they are) nothing is exchanged") != std::string::npos);
  // plan.json carries it on the layer.
  REQUIRE(run_epsim(cmd + " --out " + dir + "/plan.json").exit_code == 0);
  std::ifstream in(dir + "/plan.json");
  const nlohmann::json plan = nlohmann::json::parse(in);
  CHECK(plan.at("layers").at(0).at("note").get<std::string>().starts_with("every expert's load is 0"));
}
