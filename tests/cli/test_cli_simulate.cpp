// Whole-command tests of `epsim simulate`: outputs, overrides, rejections and their exit codes.
#include <cmath>
#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli_runner.hpp"

namespace {
const std::string kScenarios = EPSIM_SCENARIOS_DIR;
const std::string kDecode = kScenarios + "/ep16-vs-tp8pp2/decode-ep16.json";
}  // namespace

TEST_CASE("epsim simulate writes the report and a trace of the chosen GPUs") {
  std::string dir = fresh_temp_dir("simulate_outputs");
  CliResult r = run_epsim("simulate --scenario " + kDecode + " --report " + dir + "/report.json --trace " + dir +
                          "/trace.json --trace-gpus 0,3");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("tpot") != std::string::npos);
  CHECK(r.out.find("critical path") != std::string::npos);
  auto report = nlohmann::json::parse(slurp(dir + "/report.json"));
  CHECK(report["schema"] == "epsim.report/1");
  CHECK(report["settings"]["ep"] == 16);
  CHECK(report["layers"].size() == 32);
  CHECK(report["gpus"].size() == 16);
  auto trace = nlohmann::json::parse(slurp(dir + "/trace.json"));
  bool gpu3 = false, gpu1 = false;
  for (const auto& e : trace["traceEvents"]) {
    if (e["ph"] != "X") continue;
    gpu3 = gpu3 || e["pid"] == 3;
    gpu1 = gpu1 || e["pid"] == 1;
    CHECK(e["dur"].get<double>() >= 0);
  }
  CHECK(gpu3);
  CHECK_FALSE(gpu1);
  // Identical inputs give byte-identical outputs.
  CliResult again = run_epsim("simulate --scenario " + kDecode + " --report " + dir + "/report2.json");
  REQUIRE(again.exit_code == 0);
  CHECK(slurp(dir + "/report.json") == slurp(dir + "/report2.json"));
}

TEST_CASE("epsim simulate overrides the schedule and the network") {
  CliResult r = run_epsim("simulate --scenario " + kDecode + " --schedule serial --network flow --json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["settings"]["schedule"] == "serial");
  CHECK(j["settings"]["network"] == "flow");
}

TEST_CASE("calibrate says which phase of a kernel a one-direction table leaves at the defaults") {
  // The one-sided payload table has dispatch rows only: its combine is written at the kernel's defaults.
  const std::string dir = fresh_temp_dir("calibrate_one_phase");
  CliResult r = run_epsim("calibrate " EPSIM_TEST_DATA_DIR "/comm/onesided_gb200_post_quant_dispatch.csv --out " + dir +
                          "/c.json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("nvlink-one-sided: no combine rows, written at the kernel's defaults") != std::string::npos);
  // Both phases fitted: no such line.
  CliResult both = run_epsim("calibrate " EPSIM_TEST_DATA_DIR "/comm/onesided_gb200_nvl72.csv --out " + dir + "/d.json");
  REQUIRE(both.exit_code == 0);
  CHECK(both.out.find("written at the kernel's defaults") == std::string::npos);
}

TEST_CASE("calibrate says when a kernel's rows are at one token count, or fewer than its fitted fields") {
  // Hybrid-EP's table: every row at 4096 tokens per GPU, so a fixed cost and a rate trade off.
  const std::string dir = fresh_temp_dir("calibrate_one_count");
  CliResult r = run_epsim("calibrate " EPSIM_TEST_DATA_DIR "/comm/hybrid_ep_h100.csv --out " + dir + "/h.json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("hybrid-ep: every row at one token count") != std::string::npos);
  CHECK(r.out.find("not determined") == std::string::npos);  // 9 rows a phase for 5 fields
  // One row: 1 row a phase for the 5 fields.
  {
    std::ofstream(dir + "/one.csv")
        << "ranks,sm_count,torchapi_dispatch_fp8_GBps,torchapi_dispatch_bf16_GBps,torchapi_combine_GBps,"
           "kernelonly_dispatch_fp8_GBps,kernelonly_dispatch_bf16_GBps,kernelonly_combine_GBps\n16,4,1,1,1,34,44,52\n";
  }
  CliResult one = run_epsim("calibrate " + dir + "/one.csv --out " + dir + "/o.json");
  REQUIRE(one.exit_code == 0);
  // One token count: the latency and its per-node growth keep their defaults, 3 fields are fitted.
  CHECK(one.out.find("hybrid-ep: every row at one token count: its fixed cost and its rate trade off, so the latency "
                     "keeps its default") != std::string::npos);
  CHECK(one.out.find("hybrid-ep: 1 row of a phase for 3 fitted fields: the fit is not determined by its rows") !=
        std::string::npos);
  // Rows at many token counts (AIConfigurator's LL table): neither line.
  CliResult many = run_epsim("calibrate " EPSIM_TEST_DATA_DIR "/comm/aic_h100_deepep_ll.csv --out " + dir + "/l.json");
  REQUIRE(many.exit_code == 0);
  CHECK(many.out.find("one token count") == std::string::npos);
  CHECK(many.out.find("not determined") == std::string::npos);
  // An all-to-all's rows differ by size, not by tokens: 3 sizes are not "one token count".
  CliResult a2a = run_epsim("calibrate " EPSIM_TEST_DATA_DIR "/comm/nccl_alltoall_2x4gpu.txt --gpu H100 --out " + dir + "/a.json");
  REQUIRE(a2a.exit_code == 0);
  CHECK(a2a.out.find("every row at one") == std::string::npos);
}

TEST_CASE("an exchange kernel on every SM of the GPU is refused naming the calibration field") {
  const std::string dir = fresh_temp_dir("kernel_all_sms");
  std::ofstream(dir + "/c.json") << R"({"schema":"epsim.calibration/2","exchange_kernels":{"hybrid-ep":{"sms":132}}})";
  CliResult r = run_epsim("simulate --scenario " + kScenarios + "/deepseek-v3/prefill-ep32.json --set /exchange_kernel=hybrid-ep "
                          "--calibration " + dir + "/c.json");
  CHECK(r.exit_code == 1);
  CHECK(r.err.find(dir + "/c.json: /exchange_kernels/hybrid-ep/sms: 132 SMs for the exchange kernel hybrid-ep: at most "
                   "131 on the H100 (132 SMs, one left to compute)") != std::string::npos);
  // 131 leaves one SM: accepted (the compute runs 132x slower while the kernel holds them).
  std::ofstream(dir + "/d.json") << R"({"schema":"epsim.calibration/2","exchange_kernels":{"hybrid-ep":{"sms":131}}})";
  CliResult ok = run_epsim("simulate --scenario " + kScenarios + "/deepseek-v3/prefill-ep32.json --set /exchange_kernel=hybrid-ep "
                           "--calibration " + dir + "/d.json");
  INFO(ok.err);
  CHECK(ok.exit_code == 0);
}

TEST_CASE("deepep-ll with NVLink disabled (calibration): analytical honours it, the flow models refuse it") {
  // A calibration fitted on DeepEP PR 521's LL rows (which ran with NVLink off), then with
  // nvlink_for_same_node false: same-node peers go through the NICs, so decode's exchanges slow down.
  std::string dir = fresh_temp_dir("simulate_ll_no_nvlink");
  CliResult cal = run_epsim("calibrate " EPSIM_TEST_DATA_DIR "/comm/deepep_pr521_h100_ll.csv --gpu H100 --out " +
                            dir + "/on.json");
  INFO(cal.err);
  REQUIRE(cal.exit_code == 0);
  auto j = nlohmann::json::parse(slurp(dir + "/on.json"));
  CHECK(j["exchange_kernels"]["deepep-ll"]["nvlink_for_same_node"] == true);
  j["exchange_kernels"]["deepep-ll"]["nvlink_for_same_node"] = false;
  std::ofstream(dir + "/off.json") << j.dump();
  auto dispatch_us = [&](const std::string& file) {  // GPU 0's dispatch time in the step breakdown
    // 256 sequences per GPU: exchanges large enough that bytes, not the kernel's fixed latency (the
    // calibration keeps the default: PR 521's rows are all at 128 tokens), set their time.
    CliResult r = run_epsim("simulate --scenario " + kDecode + " --batch-per-gpu 256 --calibration " + dir + "/" + file +
                            " --json");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return nlohmann::json::parse(r.out)["step"]["dispatch_us"].get<double>();
  };
  // EP 16 on 2 nodes: through the NIC GPU 0 sends 15 peers' bytes instead of 8; its NIC bounds both.
  CHECK(dispatch_us("off.json") > 1.4 * dispatch_us("on.json"));  // 4592 against 3140 us
  CliResult flow = run_epsim("simulate --scenario " + kDecode + " --calibration " + dir + "/off.json --network flow");
  CHECK(flow.exit_code == 1);
  // The scenario's field, the calibration file and its field's pointer; the flag that avoids it.
  CHECK(flow.err.find(kDecode + ": /network flow: ") != std::string::npos);
  CHECK(flow.err.find("calibration " + dir + "/off.json: /exchange_kernels/deepep-ll/nvlink_for_same_node is false") !=
        std::string::npos);
  CHECK(flow.err.find("run it with --network analytical") != std::string::npos);
}

TEST_CASE("nvlink-one-sided across nodes is refused naming where the kernel and the topology were given") {
  const std::string dir = fresh_temp_dir("one_sided_context");
  const std::string topo = kScenarios + "/topologies/dgx-h100-2node.json";
  const std::string model = kScenarios + "/models/deepseek-v3.config.json";
  const std::string loads = kScenarios + "/loads/deepseek-v3/prefill_in4096.json";
  const std::string rule = "over NVLink only";
  // --exchange-kernel of plan and predict exchange, and the topology file.
  for (const std::string& cmd :
       {"plan --topology " + topo + " --model " + model + " --loads " + loads + " --ep 16 --exchange-kernel nvlink-one-sided",
        "predict exchange --topology " + topo + " --model " + model +
            " --ep 16 --tokens-per-gpu 128 --exchange-kernel nvlink-one-sided"}) {
    CliResult r = run_epsim(cmd);
    INFO(cmd << ": " << r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("error: --exchange-kernel nvlink-one-sided: exchange kernel nvlink-one-sided") != std::string::npos);
    CHECK(r.err.find(rule) != std::string::npos);
    CHECK(r.err.find("[topology " + topo + "]") != std::string::npos);
  }
  // A scenario's /exchange_kernel (in the file, or set by the flag), and the scenario's topology file.
  auto doc = nlohmann::json::parse(slurp(kDecode));
  for (const char* k : {"topology", "model", "gemm_efficiency"})
    doc[k] = kScenarios + "/ep16-vs-tp8pp2/" + doc[k].get<std::string>();
  doc["exchange_kernel"] = "nvlink-one-sided";
  const std::string scenario = dir + "/one_sided.json";
  std::ofstream(scenario) << doc.dump();
  CliResult in_file = run_epsim("simulate --scenario " + scenario);
  INFO(in_file.err);
  CHECK(in_file.exit_code == 1);
  CHECK(in_file.err.find(scenario + ": /exchange_kernel: exchange kernel nvlink-one-sided") != std::string::npos);
  CHECK(in_file.err.find("[topology " + doc["topology"].get<std::string>() + "]") != std::string::npos);
  CliResult by_flag = run_epsim("simulate --scenario " + kDecode + " --exchange-kernel nvlink-one-sided");
  INFO(by_flag.err);
  CHECK(by_flag.exit_code == 1);
  CHECK(by_flag.err.find(kDecode + ": /exchange_kernel (with the command-line overrides --exchange-kernel "
                                   "nvlink-one-sided): ") != std::string::npos);
  CHECK(by_flag.err.find(rule) != std::string::npos);
  // evaluate: the plan file's /settings/exchange_kernel.
  const std::string plan = dir + "/plan.json";
  REQUIRE(run_epsim("plan --topology " + topo + " --model " + model + " --loads " + loads + " --ep 16 --out " + plan)
              .exit_code == 0);
  auto pj = nlohmann::json::parse(slurp(plan));
  pj["settings"]["exchange_kernel"] = "nvlink-one-sided";
  std::ofstream(dir + "/plan_os.json") << pj.dump();
  CliResult ev = run_epsim("evaluate --topology " + topo + " --model " + model + " --loads " + loads + " --plan " + dir +
                           "/plan_os.json");
  INFO(ev.err);
  CHECK(ev.exit_code == 1);
  CHECK(ev.err.find(dir + "/plan_os.json: /settings/exchange_kernel: exchange kernel nvlink-one-sided") != std::string::npos);
  CHECK(ev.err.find("[topology " + topo + "]") != std::string::npos);
}

TEST_CASE("epsim simulate rejections") {
  std::string dir = fresh_temp_dir("simulate_rejections");
  SECTION("unwritable report path: exit 1 before any work") {
    CliResult r = run_epsim("simulate --scenario " + kDecode + " --report " + dir + "/no/such/dir/report.json");
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("no/such/dir") != std::string::npos);
  }
  SECTION("unknown schedule: usage error") {
    CliResult r = run_epsim("simulate --scenario " + kDecode + " --schedule eager");
    CHECK(r.exit_code == 2);
  }
  SECTION("trace GPU outside the scenario: usage error") {
    CliResult r = run_epsim("simulate --scenario " + kDecode + " --trace-gpus 0,16");
    CHECK(r.exit_code == 2);
  }
  SECTION("a scenario whose sizes do not multiply: exit 1 naming the field") {
    auto doc = nlohmann::json::parse(slurp(kDecode));
    doc["parallel"]["ep"] = 8;
    for (const char* k : {"topology", "model", "gemm_efficiency"})
      doc[k] = kScenarios + "/ep16-vs-tp8pp2/" + doc[k].get<std::string>();
    std::ofstream(dir + "/bad.json") << doc.dump();
    CliResult r = run_epsim("simulate --scenario " + dir + "/bad.json");
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("/parallel/ep") != std::string::npos);
  }
  SECTION("empty or zero overrides given on the command line: usage errors, not ignored") {
    for (const char* bad : {"--network ''", "--network flowx", "--schedule ''", "--chunks 0", "--chunks 65"}) {
      INFO(bad);
      CliResult r = run_epsim("simulate --scenario " + kDecode + " " + bad);
      CHECK(r.exit_code == 2);
    }
  }
  SECTION("a one-GPU scenario runs with the default trace GPUs (0,1 clipped to GPU 0)") {
    std::ofstream(dir + "/one.topo.json")
        << R"({"schema": "epsim.topology/1", "name": "one", "hosts": ["node0"], "devices": [{"id": "node0/gpu0",
             "kind": "gpu", "model": "h100", "host": "node0", "rail": 0}], "links": []})";
    nlohmann::json doc = {{"schema", "epsim.scenario/1"},
                          {"topology", dir + "/one.topo.json"},
                          {"model", kScenarios + "/models/qwen3-30b-a3b.config.json"},
                          {"gemm_efficiency", kScenarios + "/measurements/deepgemm_grouped_fp8_h800.csv"},
                          {"parallel", {{"dp", 1}, {"ep", 1}}},
                          {"phase", {{"kind", "prefill"}, {"sequence_length", 2048}, {"batch", 2}, {"micro_batches", 2}}},
                          {"precision", "fp8"}};
    std::ofstream(dir + "/one.json") << doc.dump();
    CliResult r = run_epsim("simulate --scenario " + dir + "/one.json --trace " + dir + "/one.trace.json");
    CHECK(r.exit_code == 0);
    CliResult explicit_gpu1 = run_epsim("simulate --scenario " + dir + "/one.json --trace-gpus 0,1");
    CHECK(explicit_gpu1.exit_code == 2);  // asked for explicitly: still an error
  }
  SECTION("a topology too slow to be physical: exit 1 naming the topology file and the range, no report") {
    // Links at 1e-12 GB/s would take a 7 KB token copy ~7e15 s, past int64 picoseconds (~106 days); the
    // topology reader refuses bandwidths below 1e-3 GB/s (docs/limits.md) before any simulation.
    auto doc = nlohmann::json::parse(slurp(kDecode));
    auto topo = nlohmann::json::parse(slurp(kScenarios + "/ep16-vs-tp8pp2/" + doc["topology"].get<std::string>()));
    for (auto& link : topo["links"]) link["bandwidth_GBps"] = 1e-12;
    std::ofstream(dir + "/slow.topo.json") << topo.dump();
    doc["topology"] = dir + "/slow.topo.json";
    for (const char* k : {"model", "gemm_efficiency"}) doc[k] = kScenarios + "/ep16-vs-tp8pp2/" + doc[k].get<std::string>();
    std::ofstream(dir + "/slow.json") << doc.dump();
    CliResult r = run_epsim("simulate --scenario " + dir + "/slow.json --report " + dir + "/slow.report.json");
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("slow.topo.json") != std::string::npos);
    CHECK(r.err.find("bandwidth_GBps") != std::string::npos);
    CHECK(r.err.find("0.001 to 100000 GB/s") != std::string::npos);
    CHECK_FALSE(std::ifstream(dir + "/slow.report.json").good());  // no half-written report
  }
  SECTION("missing scenario file: exit 1") {
    CliResult r = run_epsim("simulate --scenario " + dir + "/missing.json");
    CHECK(r.exit_code == 1);
  }
}

// Every scenario shipped in scenarios/ (schema epsim.scenario/1) simulates with the analytical network:
// exit 0, a report with a positive finite iteration time. Catches a layout (EP, TP x PP, training) that a
// change breaks although no unit test covers its shipped form.
TEST_CASE("every shipped scenario simulates", "[cli][simulate][scenarios]") {
  const std::vector<std::string> shipped = {
      "deepseek-v3/decode-ep32.json",     "deepseek-v3/prefill-ep32.json",    "deepseek-v3/prefill-ep256.json",
      "deepseek-v3/train-ep32-pp8.json",  "ep16-vs-tp8pp2/decode-ep16.json",  "ep16-vs-tp8pp2/decode-tp8pp2.json",
      "ep16-vs-tp8pp2/prefill-ep16.json", "ep16-vs-tp8pp2/prefill-tp8pp2.json"};
  std::string dir = fresh_temp_dir("simulate_shipped");
  for (const std::string& name : shipped) {
    CliResult r = run_epsim("simulate --scenario " + kScenarios + "/" + name + " --network analytical --report " + dir +
                            "/report.json");
    INFO(name << ": " << r.err);
    REQUIRE(r.exit_code == 0);
    auto report = nlohmann::json::parse(slurp(dir + "/report.json"));
    const double iteration_us = report["iteration_us"].get<double>();
    CHECK(std::isfinite(iteration_us));
    CHECK(iteration_us > 0);
  }
}

TEST_CASE("epsim simulate of a disaggregated pair reports both pools and the balanced pair") {
  std::string dir = fresh_temp_dir("simulate_pair");
  const std::string pair = kScenarios + "/deepseek-v3/pd-prefill-ep32.json";
  CliResult r = run_epsim("simulate --scenario " + pair + " --report " + dir + "/report.json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("prefill pool") != std::string::npos);
  CHECK(r.out.find("decode pool (") != std::string::npos);
  CHECK(r.out.find("prefill nodes per decode node") != std::string::npos);
  auto report = nlohmann::json::parse(slurp(dir + "/report.json"));
  CHECK(report["settings"]["phase"] == "prefill");
  const auto& d = report["disaggregation"];
  CHECK(d["decode"]["settings"]["phase"] == "decode");
  CHECK(d["input_tokens_per_request"] == 4096);
  CHECK(d["output_tokens_per_request"] == 100);
  // DeepSeek-V3's BF16 KV cache: (kv_lora 512 + rope 64) x 2 B x 61 layers = 70,272 B per token.
  CHECK(d["kv_transfer"]["bytes_per_token"] == 70272);
  // The pool rates are the pools' own per-node throughputs (the NICs are not saturated here).
  CHECK(d["prefill_input_tokens_per_s_per_node"].get<double>() ==
        Approx(report["throughput_tokens_per_s_per_node"].get<double>()).margin(1e-3));
  CHECK(d["decode_output_tokens_per_s_per_node"].get<double>() ==
        Approx(d["decode"]["throughput_tokens_per_s_per_node"].get<double>()).margin(1e-3));
  // The balanced pair: 1 / (1 / r_p + 1 / r_d) requests/s per node.
  const double rp = d["prefill_requests_per_s_per_node"].get<double>(), rd = d["decode_requests_per_s_per_node"].get<double>();
  CHECK(d["requests_per_s_per_node"].get<double>() == Approx(1 / (1 / rp + 1 / rd)).epsilon(1e-4));
}

TEST_CASE("calibrate --network ethernet / --topology of an EFA cluster: the ethernet efficiency is fitted") {
  // DeepEP PR 521's LL rows (2-8 nodes): declared Ethernet, the kernels' ethernet_efficiency is fitted and
  // InfiniBand's keeps the default; by default (InfiniBand) the reverse.
  std::string dir = fresh_temp_dir("calibrate_network");
  const std::string rows = EPSIM_TEST_DATA_DIR "/comm/deepep_pr521_h100_ll.csv --gpu H100 --out " + dir;
  auto fitted = [&](const std::string& args, const std::string& file) {
    CliResult r = run_epsim("calibrate " + rows + "/" + file + " " + args);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return nlohmann::json::parse(slurp(dir + "/" + file))["exchange_kernels"]["deepep-ll"]["dispatch"];
  };
  const nlohmann::json ib = fitted("", "ib.json"), eth = fitted("--network ethernet", "eth.json");
  const double def_eth = ib["ethernet_efficiency"].get<double>(), def_ib = eth["infiniband_efficiency"].get<double>();
  CHECK(eth["ethernet_efficiency"].get<double>() != def_eth);
  CHECK(eth["ethernet_efficiency"].get<double>() == Approx(ib["infiniband_efficiency"].get<double>()));
  CHECK(ib["infiniband_efficiency"].get<double>() != def_ib);
  // The network kind of a topology: the AWS p5 preset's links are ethernet.
  REQUIRE(run_epsim("topo generate p5 --nodes 2 --out " + dir + "/p5.json").exit_code == 0);
  CHECK(fitted("--topology " + dir + "/p5.json", "p5cal.json") == eth);
  // Refused: an unknown kind, a kind the topology lacks.
  CliResult bad = run_epsim("calibrate " + rows + "/x.json --network nvlink");
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("expected infiniband or ethernet") != std::string::npos);
  CliResult clash = run_epsim("calibrate " + rows + "/x.json --network infiniband --topology " + dir + "/p5.json");
  CHECK(clash.exit_code == 2);
  CHECK(clash.err.find("has no infiniband links") != std::string::npos);
}

TEST_CASE("calibrate notes that a multi-node all_reduce file is fitted as a ring's line") {
  // NCCL runs a 2-node all_reduce's large sizes as an NVLS tree, faster than a ring's rail sum: the fitted
  // per-GPU figure can exceed the NIC (58.7 GB/s on 50 GB/s InfiniBand for h100_all_reduce_2node_ib.txt).
  std::string dir = fresh_temp_dir("calibrate_allreduce_note");
  CliResult r = run_epsim("calibrate " EPSIM_TEST_DATA_DIR "/comm/nccl_all_reduce_16gpu_exact.txt --gpu H100 --out " +
                          dir + "/c.json");
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("an all_reduce across nodes is fitted as a ring's line") != std::string::npos);
  CliResult one = run_epsim("calibrate " EPSIM_TEST_DATA_DIR "/comm/nccl_all_reduce_8gpu_exact.txt --gpu H100 --out " +
                            dir + "/one.json");
  REQUIRE(one.exit_code == 0);
  CHECK(one.err.find("fitted as a ring's line") == std::string::npos);  // one node: no such note
}

TEST_CASE("calibrate warns when a kernel's fit is worse than its defaults on the fit's own rows") {
  // Three one-node alltoall rows at 40-78 GB/s (an NVLink node moves ~300): no nccl parameter set
  // reproduces them, and the fit (least squared log error, NVLink efficiency at its 0.05 floor) ends with
  // a mean |error| of 131% against the defaults' 84%. Written, with a warning naming both.
  std::string dir = fresh_temp_dir("calibrate_worse_fit");
  std::ofstream(dir + "/onenode_alltoall.csv")
      << "Nodes,GPUs,size(MB),iterations,blocking,out algbw(GB/s),out busbw(GB/s),in algbw(GB/s),in busbw(GB/s)\n"
         "1,8,32,100,false,40.0,37.5,40.0,37.5\n1,8,128,100,false,60.0,56.25,60.0,56.25\n"
         "1,8,2048,100,false,78.0,73.1,78.0,73.1\n";
  CliResult r = run_epsim("calibrate " + dir + "/onenode_alltoall.csv --gpu H100 --network ethernet --out " + dir + "/c.json");
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("warning: kernel nccl: the fit's mean |error| on its own rows") != std::string::npos);
  CHECK(std::filesystem::exists(dir + "/c.json"));
  // A fit that helps says nothing (the AIConfigurator alltoall rows: 16.6% -> a few %).
  CliResult good = run_epsim("calibrate " EPSIM_TEST_DATA_DIR "/comm/aic_h100_nccl_alltoall.csv --out " + dir + "/g.json");
  REQUIRE(good.exit_code == 0);
  CHECK(good.err.find("the fit's mean |error|") == std::string::npos);
}
