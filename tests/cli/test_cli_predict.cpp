// epsim predict gemm | mla | moe: values from the shipped kernel tables; predict collective: the collective
// model with nccl-tests' algbw / busbw; rejected options.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"

TEST_CASE("epsim predict gemm|mla|moe", "[cli][predict]") {
  SECTION("a GEMM on a table row gives the row: fp8_block 4096 x 2048 x 7168 on H100 = 0.17220889 ms") {
    CliResult r = run_epsim("predict gemm --gpu h100 --dtype fp8_block --m 4096 --n 2048 --k 7168 --json");
    REQUIRE(r.exit_code == 0);
    auto j = nlohmann::json::parse(r.out);
    CHECK(j["time_us"].get<double>() == Approx(172.20889197455513).epsilon(1e-9));
    // TFLOP/s = 2 m n k / t = 2 x 4096 x 2048 x 7168 / 172.2089e-6 s / 1e12 = 698.4.
    CHECK(j["TFLOPs"].get<double>() == Approx(2.0 * 4096 * 2048 * 7168 / 172.20889197455513e-6 / 1e12));
    CHECK(j["notices"].empty());
  }
  SECTION("the LM head (n = 129280 beyond the table's 65536) is split and noted") {
    CliResult r = run_epsim("predict gemm --gpu h200 --dtype bf16 --m 128 --n 129280 --k 7168 --json");
    REQUIRE(r.exit_code == 0);
    CHECK(nlohmann::json::parse(r.out)["notices"].size() == 1);
  }
  SECTION("MLA and MoE answer") {
    CHECK(run_epsim("predict mla --gpu h100 --phase decode --batch 128 --context 2048").exit_code == 0);
    CHECK(run_epsim("predict moe --gpu h200 --tokens-per-gpu 4096 --ep 32 --model " + std::string(EPSIM_SCENARIOS_DIR) +
                    "/models/deepseek-v3.config.json")
              .exit_code == 0);
  }
  SECTION("bad options are usage errors") {
    for (const char* bad : {"predict gemm --m 0 --n 1 --k 1", "predict gemm --dtype int4 --m 1 --n 1 --k 1",
                            "predict gemm --gpu b200 --m 1 --n 1 --k 1", "predict mla --phase train --batch 1 --context 1",
                            "predict mla --backend triton --batch 1 --context 1"}) {
      INFO(bad);
      CHECK(run_epsim(bad).exit_code == 2);
    }
  }
  SECTION("sizes outside their ranges are usage errors naming the option (1e300 printed inf us, exit 0, and exit 3 "
          "with --json)") {
    // GEMM dimensions: whole numbers in cuBLAS's int range [1, 2^31 - 1]; MLA batch and context: token
    // counts [1, 1e15]; heads: a whole number in [1, 128] (DeepSeek-V3's 128 heads over the attention TP).
    const std::pair<const char*, const char*> cases[] = {
        {"predict gemm --m 1e300 --n 1e300 --k 1e300 --json", "--m"},
        {"predict gemm --m 1 --n 1 --k 2147483648", "--k"},
        {"predict gemm --m 0.001 --n 1 --k 1", "--m"},
        {"predict gemm --m 1 --n 1.5 --k 1", "--n"},
        {"predict mla --batch 1e300 --context 1 --json", "--batch"},
        {"predict mla --phase prefill --batch 1 --context 1e200", "--context"},
        {"predict mla --heads 0.5 --batch 1 --context 1", "--heads"},
        {"predict mla --heads 129 --batch 1 --context 1", "--heads"},
    };
    for (const auto& [bad, flag] : cases) {
      CliResult r = run_epsim(bad);
      INFO(bad << " -> " << r.exit_code << ": " << r.err);
      CHECK(r.exit_code == 2);
      CHECK(r.err.find(flag) != std::string::npos);
    }
    CHECK(run_epsim("predict gemm --m 2147483647 --n 1 --k 1 --json").exit_code == 0);
    CHECK(run_epsim("predict mla --heads 16 --batch 64 --context 4096").exit_code == 0);
  }
}

TEST_CASE("epsim predict collective: time, algbw and busbw by nccl-tests' formulas", "[cli][predict]") {
  const std::string topo = std::string(EPSIM_SCENARIOS_DIR) + "/topologies/dgx-h100-2node.json";
  const std::string dir = fresh_temp_dir("predict_collective");
  const std::string cal = dir + "/cal.json";
  {
    std::ofstream f(cal);
    f << R"({"schema":"epsim.calibration/2","gpu":"NVIDIA H100 80GB HBM3",
             "links":{"nvlink":{"bandwidth_GBps":300,"latency_ns":1000},"infiniband":{"bandwidth_GBps":40,"latency_ns":2000}}})";
  }
  SECTION("all_gather of 1 GB on 16 GPUs of 2 nodes: the ring, calibrated") {
    CliResult r = run_epsim("predict collective --topology " + topo + " --op all_gather --bytes 1e9 --calibration " + cal +
                            " --json");
    REQUIRE(r.exit_code == 0);
    auto j = nlohmann::json::parse(r.out);
    // Ring bus bandwidth = min(NVLink neighbour 300 GB/s, 8 rails x min(IB 40, PCIe 64 x 0.75)) = 300 GB/s;
    // t = 8.4 + 15/16 x 1e9 B / 300 GB/s + 14 NVLink steps x max(1 us calibrated, 3 x 1 us host overhead
    // of a multi-host Simple step, NCCL getNetOverhead) + 1 network step x 2 us = 3177.4 us. (LL128 at
    // 0.92 of the bandwidth costs 14 + 3397 + ... more, LL is capped at 39 GB/s.)
    CHECK(j["algorithm"] == "ring");
    CHECK(j["protocol"] == "Simple");
    CHECK(j["time_us"].get<double>() == Approx(3177.4).epsilon(1e-9));
    // algbw = 1e9 B / 3177.4 us = 314.7227 GB/s; busbw = algbw x (n-1)/n = x 15/16 = 295.0526 GB/s.
    CHECK(j["algbw_GBps"].get<double>() == Approx(314.7227).epsilon(1e-6));
    CHECK(j["busbw_GBps"].get<double>() == Approx(295.0526).epsilon(1e-6));
    CHECK(j["notices"].empty());
  }
  SECTION("a calibration with no figures for the links the collective crosses is noted") {
    // Exchange-kernel figures only; and the 2-node calibration above on one node's 8 GPUs does give nvlink.
    const std::string kernels_only = dir + "/kernels_only.json";
    {
      std::ofstream f(kernels_only);
      f << R"({"schema":"epsim.calibration/2","exchange_kernels":{}})";
    }
    CliResult r = run_epsim("predict collective --topology " + topo + " --op all_reduce --bytes 1048576 --json --calibration " +
                            kernels_only);
    REQUIRE(r.exit_code == 0);
    auto j = nlohmann::json::parse(r.out);
    REQUIRE(j["notices"].size() == 1);
    CHECK(j["notices"][0].get<std::string>().find("holds no link figures for the links this collective crosses "
                                                  "(nvlink, infiniband)") != std::string::npos);
    CliResult one_node = run_epsim("predict collective --topology " + topo +
                                   " --op all_reduce --bytes 1048576 --gpus 8 --json --calibration " + cal);
    REQUIRE(one_node.exit_code == 0);
    CHECK(nlohmann::json::parse(one_node.out)["notices"].empty());
  }
  SECTION("a calibration of another network kind and an uncalibrated Ethernet network are noted") {
    const std::string efa = std::string(EPSIM_SCENARIOS_DIR) + "/calibrations/aws-p5-efa.json";
    CliResult r = run_epsim("predict collective --topology " + topo + " --op all_reduce --bytes 8 --json --calibration " + efa);
    REQUIRE(r.exit_code == 0);
    auto j = nlohmann::json::parse(r.out);
    REQUIRE(j["notices"].size() == 1);
    CHECK(j["notices"][0].get<std::string>().find("network figures for ethernet only") != std::string::npos);
    const std::string p5 = dir + "/p5.json";
    REQUIRE(run_epsim("topo generate p5 --nodes 2 --out " + p5).exit_code == 0);
    CliResult e = run_epsim("predict collective --topology " + p5 + " --op all_reduce --bytes 8 --json");
    REQUIRE(e.exit_code == 0);
    CHECK(nlohmann::json::parse(e.out)["notices"][0].get<std::string>().find("priced as RoCE") != std::string::npos);
    CliResult ok = run_epsim("predict collective --topology " + p5 + " --op all_reduce --bytes 8 --json --calibration " + efa);
    REQUIRE(ok.exit_code == 0);
    CHECK(nlohmann::json::parse(ok.out)["notices"].empty());
    // An ethernet section with only Tree's fraction sets no rate or latency: still priced as RoCE.
    std::ofstream(dir + "/tree_only.json")
        << R"({"schema":"epsim.calibration/2","links":{"ethernet":{"tree_bandwidth_fraction":0.5}}})";
    CliResult tree_only = run_epsim("predict collective --topology " + p5 + " --op all_reduce --bytes 8 --json --calibration " +
                                    dir + "/tree_only.json");
    REQUIRE(tree_only.exit_code == 0);
    CHECK(nlohmann::json::parse(tree_only.out)["notices"][0].get<std::string>().find("priced as RoCE") != std::string::npos);
    // The all-to-all too: the nccl kernel prices an uncalibrated Ethernet as RoCE.
    CliResult a2a = run_epsim("predict collective --topology " + p5 + " --op alltoall --bytes 1e6 --json");
    REQUIRE(a2a.exit_code == 0);
    CHECK(nlohmann::json::parse(a2a.out)["notices"][0].get<std::string>().find("priced as RoCE") != std::string::npos);
    CHECK(nlohmann::json::parse(a2a.out)["notices"][0].get<std::string>().find("alltoall_perf run over EFA") != std::string::npos);
    // A calibration with the nccl kernel's figures prices it: no RoCE notice (a fresh-user trial got one
    // recommending aws-p5-efa.json, which has no nccl figures).
    std::ofstream(dir + "/nccl_eth.json")
        << R"({"schema":"epsim.calibration/2","exchange_kernels":{"nccl":{"dispatch":{"ethernet_efficiency":0.7}}}})";
    CliResult a2a_cal = run_epsim("predict collective --topology " + p5 + " --op alltoall --bytes 1e6 --json --calibration " +
                                  dir + "/nccl_eth.json");
    REQUIRE(a2a_cal.exit_code == 0);
    CHECK(nlohmann::json::parse(a2a_cal.out)["notices"].empty());
  }
  SECTION("--nccl-buffsize sets the collectives' pipeline step (NCCL_BUFFSIZE / NCCL_STEPS 8)") {
    // AWS p5, 32 nodes, all_reduce of 256 MiB with the shipped EFA calibration: the table's runs set
    // NCCL_BUFFSIZE = 8 MiB (1 MiB steps), which docs/validation.md's held-out row uses: busbw 147.2 GB/s
    // (hierarchical, its fill 16 channels x 1 MiB). NCCL's default 4 MiB (512 KiB steps) fills half as
    // much: 179.5 GB/s.
    const std::string efa = std::string(EPSIM_SCENARIOS_DIR) + "/calibrations/aws-p5-efa.json";
    const std::string p5 = dir + "/p5_32.json";
    REQUIRE(run_epsim("topo generate p5 --nodes 32 --out " + p5).exit_code == 0);
    const std::string args = "predict collective --topology " + p5 + " --op all_reduce --bytes 268435456 --json --calibration " + efa;
    CliResult run = run_epsim(args + " --nccl-buffsize 8388608");
    REQUIRE(run.exit_code == 0);
    CHECK(nlohmann::json::parse(run.out)["busbw_GBps"].get<double>() == Approx(147.17).epsilon(0.002));
    CliResult def = run_epsim(args);
    REQUIRE(def.exit_code == 0);
    CHECK(nlohmann::json::parse(def.out)["busbw_GBps"].get<double>() == Approx(179.45).epsilon(0.002));
    CHECK(run_epsim(args + " --nccl-buffsize 4194304").out == def.out);
  }
  SECTION("alltoall: the nccl kernel; busbw = algbw x (n-1)/n; a calibration without it is noted") {
    CliResult r = run_epsim("predict collective --topology " + topo + " --op alltoall --bytes 1e8 --gpus 8 --json --calibration " + cal);
    REQUIRE(r.exit_code == 0);
    auto j = nlohmann::json::parse(r.out);
    const double t = j["time_us"].get<double>();
    CHECK(t > 0);
    CHECK(j["algbw_GBps"].get<double>() == Approx(1e8 / (t * 1e3)));
    CHECK(j["busbw_GBps"].get<double>() == Approx(1e8 / (t * 1e3) * 7.0 / 8.0));
    REQUIRE(j["notices"].size() == 1);
    CHECK(j["notices"][0].get<std::string>().find("no parameters for exchange kernel nccl") != std::string::npos);
  }
  SECTION("bad options are usage errors") {
    // 1e308 B overflowed the time to inf (exit 3 for alltoall, "inf us" / null for all_reduce); a collective of
    // 0 or 1 GPU has no time to divide by (--gpus 0 used to mean "all").
    for (const char* bad : {"--op broadcast --bytes 1", "--op all_reduce --bytes 0", "--op all_reduce --bytes 0.5",
                            "--op all_reduce --bytes 1.5", "--op all_reduce --bytes 1 --gpus 17",
                            "--op alltoall --bytes 1e308", "--op all_reduce --bytes 1e308 --json",
                            "--op all_reduce --bytes 1e9 --gpus 0", "--op all_reduce --bytes 1e9 --gpus 1",
                            "--op alltoall --bytes 1e9 --gpus 1", "--op all_reduce --bytes 1e9 --nccl-buffsize 1000",
                            "--op all_reduce --bytes 1e9 --nccl-buffsize 2e9",
                            "--op all_reduce --bytes 1e9 --nccl-buffsize 65536.5",
                            "--op alltoall --bytes 1e9 --nccl-buffsize 8388608"}) {
      INFO(bad);
      CHECK(run_epsim("predict collective --topology " + topo + " " + std::string(bad)).exit_code == 2);
    }
  }
}

TEST_CASE("epsim predict exchange: dispatch and combine of one layer, bytes per GPU, bottleneck", "[cli][predict]") {
  const std::string topo = std::string(EPSIM_SCENARIOS_DIR) + "/topologies/dgx-h100-2node.json";
  const std::string model = std::string(EPSIM_SCENARIOS_DIR) + "/models/deepseek-v3.config.json";
  const std::string loads = std::string(EPSIM_SCENARIOS_DIR) + "/loads/deepseek-v3/prefill_in4096.json";
  const std::string base = "predict exchange --topology " + topo + " --model " + model + " ";
  SECTION("EP larger than the experts: the ranks without an expert are named; 1 token, not 1 tokens") {
    const std::string mixtral = std::string(EPSIM_SCENARIOS_DIR) + "/models/mixtral-8x7b-v0.1.config.json";
    CliResult r = run_epsim("predict exchange --topology " + topo + " --model " + mixtral +
                            " --ep 16 --tokens-per-gpu 1 --exchange-kernel deepep-ll");
    REQUIRE(r.exit_code == 0);
    // Contiguous placement of 8 experts over 16 ranks: one slot per rank, experts on 8 of them.
    CHECK(r.err.find("EP ranks without an expert: 8 of 16") != std::string::npos);
    // 8 experts over 16 ranks: 0 or 1 each; (8 + 8) % 16 == 0.
    CHECK(r.err.find("EP 16 does not divide the 8 experts (contiguous placement: ranks hold 0 or 1); ") !=
          std::string::npos);
    CHECK(r.err.find("--redundant 8 ") != std::string::npos);
    CHECK(r.out.find(", 1 token per GPU,") != std::string::npos);
    CliResult full = run_epsim(base + "--ep 16 --tokens-per-gpu 128 --exchange-kernel deepep-ll");
    REQUIRE(full.exit_code == 0);
    CHECK(full.err.find("without an expert") == std::string::npos);
  }
  SECTION("EP not dividing the experts: a notice with the uneven counts and the redundant slots that even them") {
    // 256 experts over EP 3: contiguous floor(e x 3 / 256) gives ranks 86, 85, 85; the fuller ranks get
    // 1/85 = 1.2% more tokens; (256 + 2) % 3 == 0, so --redundant 2 evens them.
    CliResult r = run_epsim(base + "--ep 3 --tokens-per-gpu 128 --exchange-kernel deepep-ll --json");
    REQUIRE(r.exit_code == 0);
    const auto notices = nlohmann::json::parse(r.out)["notices"];
    REQUIRE(notices.size() == 1);
    const std::string n = notices[0].get<std::string>();
    CHECK(n.find("EP 3 does not divide the 256 experts") != std::string::npos);
    CHECK(n.find("ranks hold 85 or 86") != std::string::npos);
    CHECK(n.find("1.2% more tokens") != std::string::npos);
    CHECK(n.find("--redundant 2 ") != std::string::npos);
    CliResult even = run_epsim(base + "--ep 16 --tokens-per-gpu 128 --exchange-kernel deepep-ll");
    REQUIRE(even.exit_code == 0);
    CHECK(even.err.find("does not divide") == std::string::npos);
  }
  SECTION("nccl, uniform routing: every GPU sends tokens x top-k x (EP-1)/EP copies of hidden bytes") {
    CliResult r = run_epsim(base + "--ep 16 --tokens-per-gpu 4096 --exchange-kernel nccl --json");
    REQUIRE(r.exit_code == 0);
    auto j = nlohmann::json::parse(r.out);
    REQUIRE(j["layers"].size() == 1);
    CHECK(j["layers"][0]["layer"] == 3);  // the first MoE layer stands for all: uniform routing, contiguous
    CHECK(j["layers_alike"] == true);
    const auto& d = j["layers"][0]["dispatch"];
    // nccl sends one copy per (token, expert) selection, no header: 4096 x 8 x 15/16 x 7392 B (FP8 with
    // its per-128 FP32 scales: 7168 x 1.03125) = 227082240 B leave each GPU (over NVLink to its node, over
    // PCIe to its NIC for the other node); the combine returns them in BF16: 4096 x 8 x 15/16 x 14336 B.
    CHECK(d["gpu_sent_bytes_mean"].get<double>() == Approx(227082240.0));
    CHECK(d["gpu_sent_bytes_max"].get<double>() == Approx(227082240.0));
    CHECK(j["layers"][0]["combine"]["gpu_sent_bytes_mean"].get<double>() == Approx(440401920.0));
    CHECK(d["time_us"].get<double>() > 0);
    CHECK(j["layers"][0]["combine"]["time_us"].get<double>() > d["time_us"].get<double>());
    CHECK(d["bottleneck"] == "link");
    CHECK(j["dispatch_us_mean"].get<double>() == Approx(d["time_us"].get<double>()));
  }
  SECTION("deepep-normal on one node: calibrate on one-node rows sets its one-node phases, which predict reads") {
    // AIConfigurator's one-node H200 table (0.5.12): every row on one node, so calibrate fits
    // /exchange_kernels/deepep-normal/one_node and keeps the multi-node phases at their defaults.
    const std::string dir = fresh_temp_dir("one_node_phases");
    CliResult cal = run_epsim("calibrate " + std::string(EPSIM_TEST_DATA_DIR) +
                              "/comm/aic_h200_deepep_normal_1node_0512.csv --out " + dir + "/c.json");
    REQUIRE(cal.exit_code == 0);
    CHECK(cal.out.find("one-node rows fit its one-node phases (one_node), 0 multi-node rows its other phases: kept at "
                       "the defaults") != std::string::npos);
    const auto written = nlohmann::json::parse(slurp(dir + "/c.json"))["exchange_kernels"]["deepep-normal"];
    REQUIRE(written.contains("one_node"));
    CHECK(written["combine"]["sm_rate_GBps"].get<double>() == Approx(3350.0 / 132 / 2));  // the default, kept
    REQUIRE(run_epsim("topo generate dgx-h200 --nodes 1 --out " + dir + "/t1.json").exit_code == 0);
    const std::string args = "predict exchange --topology " + dir + "/t1.json --model " + model +
                             " --ep 8 --tokens-per-gpu 4096 --exchange-kernel deepep-normal --json";
    CliResult def = run_epsim(args), fitted = run_epsim(args + " --calibration " + dir + "/c.json");
    REQUIRE(def.exit_code == 0);
    REQUIRE(fitted.exit_code == 0);
    const double t_def = nlohmann::json::parse(def.out)["combine_us_mean"].get<double>();
    const double t_fit = nlohmann::json::parse(fitted.out)["combine_us_mean"].get<double>();
    CHECK(t_fit != Approx(t_def).epsilon(0.01));  // the calibrated one-node phases are used
    // On two nodes the same file changes nothing: its multi-node phases are the defaults.
    const std::string two = base + "--ep 16 --tokens-per-gpu 4096 --exchange-kernel deepep-normal --json";
    const auto calibrated_two = nlohmann::json::parse(run_epsim(two + " --calibration " + dir + "/c.json").out);
    CHECK(nlohmann::json::parse(run_epsim(two).out)["combine_us_mean"].get<double>() ==
          Approx(calibrated_two["combine_us_mean"].get<double>()));
    // An H200 calibration on the H100 cluster: the warning is one of --json's notices too.
    bool warned = false;
    for (const auto& n : calibrated_two["notices"])
      warned = warned || n.get<std::string>().find("(H200), the GPUs here are H100") != std::string::npos;
    CHECK(warned);
  }
  SECTION("loads: one entry per MoE layer (58), the slowest named; --layer picks one") {
    CliResult r = run_epsim(base + "--ep 16 --tokens-per-gpu 4096 --exchange-kernel deepep-normal --loads " + loads + " --json");
    REQUIRE(r.exit_code == 0);
    auto j = nlohmann::json::parse(r.out);
    CHECK(j["layers"].size() == 58);
    const int worst = j["worst_layer"].get<int>();
    CliResult one = run_epsim(base + "--ep 16 --tokens-per-gpu 4096 --exchange-kernel deepep-normal --loads " + loads +
                              " --json --layer " + std::to_string(worst));
    REQUIRE(one.exit_code == 0);
    auto k = nlohmann::json::parse(one.out);
    REQUIRE(k["layers"].size() == 1);
    CHECK(k["layers"][0]["dispatch"]["time_us"].get<double>() ==
          Approx(j["layers"][worst - 3]["dispatch"]["time_us"].get<double>()));  // layers 3.. are MoE
  }
  SECTION("a plan's replica choice is used (as simulate uses it) unless --replica-choice overrides it") {
    const std::string dir = fresh_temp_dir("predict_exchange_lp");
    REQUIRE(run_epsim("plan --topology " + topo + " --model " + model + " --loads " + loads +
                      " --ep 16 --redundant 16 --replica-choice lp --out " + dir + "/plan.json")
                .exit_code == 0);
    const std::string q = base + "--tokens-per-gpu 4096 --exchange-kernel deepep-normal --loads " + loads + " --plan " +
                          dir + "/plan.json --layer 10 --json";
    CliResult lp = run_epsim(q), rule = run_epsim(q + " --replica-choice rule");
    REQUIRE(lp.exit_code == 0);
    REQUIRE(rule.exit_code == 0);
    auto a = nlohmann::json::parse(lp.out), b = nlohmann::json::parse(rule.out);
    CHECK(a["replica_choice"] == "lp");
    CHECK(b["replica_choice"] == "rule");
    // The LP never leaves the busiest GPU with more selections than the equal split.
    CHECK(a["layers"][0]["rank_selections_max"].get<double>() <= b["layers"][0]["rank_selections_max"].get<double>() * (1 + 1e-9));
  }
  SECTION("a calibration without the kernel's parameters falls back to its defaults with one notice") {
    const std::string dir = fresh_temp_dir("predict_exchange");
    {
      std::ofstream f(dir + "/cal.json");
      f << R"({"schema":"epsim.calibration/2","gpu":"NVIDIA H100 80GB HBM3","links":{}})";
    }
    CliResult r = run_epsim(base + "--ep 16 --tokens-per-gpu 128 --exchange-kernel deepep-ll --json --calibration " + dir +
                            "/cal.json");
    REQUIRE(r.exit_code == 0);
    auto j = nlohmann::json::parse(r.out);
    REQUIRE(j["notices"].size() == 1);
    CHECK(j["notices"][0].get<std::string>().find("no parameters for exchange kernel deepep-ll") != std::string::npos);
  }
  SECTION("bad options are usage errors naming the option") {
    const std::pair<const char*, const char*> bad[] = {
        {"--ep 16 --tokens-per-gpu 64 --exchange-kernel deep", "expected one of: nccl, deepep-normal"},
        {"--ep 16 --tokens-per-gpu 0 --exchange-kernel nccl", "--tokens-per-gpu"},
        {"--ep 16 --tokens-per-gpu 1e300 --exchange-kernel nccl", "--tokens-per-gpu"},
        {"--ep 0 --tokens-per-gpu 64 --exchange-kernel nccl", "--ep 0"},
        {"--ep 17 --tokens-per-gpu 64 --exchange-kernel nccl", "--ep 17"},
        {"--tokens-per-gpu 64 --exchange-kernel nccl", "--ep"},
        {"--ep 16 --tokens-per-gpu 64 --exchange-kernel nccl --layer 0", "--layer 0"},
        {"--ep 16 --tokens-per-gpu 64 --exchange-kernel nccl --dispatch-bytes-per-element 0", "--dispatch-bytes-per-element"},
        {"--ep 16 --tokens-per-gpu 64 --exchange-kernel nccl --loads a.json --trace b.json", "--trace"},
        {"--ep 16 --tokens-per-gpu 64 --exchange-kernel nccl --sampled-tokens 20000", "--sampled-tokens"},
        {"--ep 16 --tokens-per-gpu 64 --exchange-kernel nccl --replica-choice best", "rule or lp"},
        {"--ep 16 --tokens-per-gpu 64 --exchange-kernel nccl --seed -1", "--seed"}};
    for (const auto& [args, what] : bad) {
      INFO(args);
      CliResult r = run_epsim(base + args);
      CHECK(r.exit_code == 2);
      CHECK(r.err.find(what) != std::string::npos);
    }
  }
}
