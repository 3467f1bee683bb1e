// Every rejected input gives a clear message naming the file (and field) and the documented exit
// code: 2 for usage errors, 1 for invalid input. No output file is written.
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "cli_runner.hpp"

namespace {
const std::string kScenarios = EPSIM_SCENARIOS_DIR;
const std::string kData = EPSIM_TEST_DATA_DIR;
const std::string kModel = kScenarios + "/models/deepseek-v3.config.json";
const std::string kLoads = kScenarios + "/loads/deepseek-v3/prefill_in4096.json";
const std::string kTopo2 = kScenarios + "/topologies/dgx-h100-2node.json";

CliResult plan(const std::string& topo, const std::string& loads, const std::string& model, const std::string& extra) {
  return run_epsim("plan --topology " + topo + " --loads " + loads + " --model " + model + " " + extra);
}
}  // namespace

TEST_CASE("usage errors exit 2") {
  CHECK(run_epsim("").exit_code == 2);
  CHECK(run_epsim("plan --no-such-flag").exit_code == 2);
  CHECK(run_epsim("frobnicate").exit_code == 2);
  CliResult r = plan(kTopo2, kLoads, kModel, "--ep 16 --redundant 3");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--redundant 3: ") != std::string::npos);
  CHECK(r.err.find("smallest valid value is 0") != std::string::npos);
  CHECK(plan(kTopo2, kLoads, kModel, "--ep 64").exit_code == 2);  // more than the 16 GPUs
  CHECK(plan(kTopo2, kLoads, kModel, "--ep 16 --algorithm magic").exit_code == 2);
  // The node limit counts the nodes of a token's experts: it needs a trace.
  CliResult m = plan(kTopo2, kLoads, kModel, "--ep 16 --max-nodes-per-token 4");
  CHECK(m.exit_code == 2);
  CHECK(m.err.find("--max-nodes-per-token needs --trace") != std::string::npos);
  // A measured file given twice (another spelling of the same path) would count its rows twice.
  const std::string table = kData + "/comm/aic_h100_nccl_alltoall.csv";
  CliResult twice = run_epsim("calibrate " + table + " " + kData + "/comm/../comm/aic_h100_nccl_alltoall.csv --out " +
                              fresh_temp_dir("calibrate_twice") + "/c.json");
  CHECK(twice.exit_code == 2);
  CHECK(twice.err.find("is given twice") != std::string::npos);
  // No measured file: a usage error that says what to give (CLI11 said "measured is required").
  CliResult none = run_epsim("calibrate --out " + fresh_temp_dir("calibrate_none") + "/c.json");
  CHECK(none.exit_code == 2);
  CHECK(none.err.find("give at least one measured file") != std::string::npos);
  // A latency written at its floor (0 ns: the model's fixed costs already reach the rows, the 16-GPU
  // exact file's 30 us intercept is below its ring's 103.6 us) is named on stderr; an AWS csv without
  // --network ethernet gets the EFA pointer.
  const std::string dir = fresh_temp_dir("calibrate_notes");
  CliResult floor = run_epsim("calibrate " + kData + "/comm/nccl_all_reduce_16gpu_exact.txt --out " + dir + "/f.json");
  CHECK(floor.exit_code == 0);
  CHECK(floor.err.find("the Simple / LL128 step latency written is 0 ns, its floor") != std::string::npos);
  CliResult aws = run_epsim("calibrate " + std::string(EPSIM_SCENARIOS_DIR) +
                            "/measurements/nccl_tests/aws_p5_all_gather_2to32nodes.csv --gpu H100 --out " + dir + "/a.json");
  CHECK(aws.exit_code == 0);
  CHECK(aws.err.find("is an AWS nccl-tests csv, fitted as InfiniBand; for AWS EFA give --network ethernet") !=
        std::string::npos);
}

TEST_CASE("bad topology files exit 1 naming the file and field") {
  struct Case {
    const char* file;
    const char* message;
  };
  const Case cases[] = {
      {"topo_unknown_device.json", "/links/1/dst: link names unknown device \"sw9\""},
      {"topo_zero_bandwidth.json", "/links/0/bandwidth_GBps: expected a number > 0"},
      {"topo_negative_bandwidth.json", "/links/0/bandwidth_GBps: expected a number > 0"},
      {"topo_infinite_bandwidth.json", "expected a finite number"},
      {"topo_duplicate_id.json", "/devices/1/id: duplicate device id \"g0\""},
      {"topo_unreachable_gpu.json", "GPU g1 cannot be reached from GPU g0"},
      {"topo_one_way.json", "cannot"},
      {"topo_unknown_kind.json", "/devices/0/kind: unknown device kind \"tpu\""},
      {"truncated.json", "not valid JSON"},
  };
  for (const Case& c : cases) {
    std::string path = kData + "/bad/" + c.file;
    CliResult r = run_epsim("topo validate " + path);
    INFO(c.file << ": " << r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find(path) != std::string::npos);
    CHECK(r.err.find(c.message) != std::string::npos);
  }
  CHECK(run_epsim("topo validate " + kData + "/bad/topo_ok.json").exit_code == 0);
}

TEST_CASE("loads that disagree with the model exit 1 naming the layer, writing no output") {
  std::string dir = fresh_temp_dir("reject_loads");
  std::string out = dir + "/plan.json";
  CliResult r = plan(kTopo2, kData + "/loads_phi16.json", kModel, "--ep 16 --out " + out);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("loads_phi16.json") != std::string::npos);
  CHECK(r.err.find("layers") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(out));
  CHECK(plan(kTopo2, kData + "/bad/truncated.json", kModel, "").exit_code == 1);
  CHECK(plan(kTopo2, kLoads, kData + "/bad/truncated.json", "").exit_code == 1);
  CHECK(plan(kTopo2, "/nonexistent.json", kModel, "").exit_code == 1);
}

TEST_CASE("an unwritable output path is an error before any work") {
  CliResult r = plan(kTopo2, kLoads, kModel, "--ep 16 --out /nonexistent-dir/plan.json");
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("/nonexistent-dir/plan.json") != std::string::npos);
}

TEST_CASE("calibrate: an empty, blank, comment-only or header-only measured file is refused naming the file, writing nothing") {
  const std::string dir = fresh_temp_dir("calibrate_empty");
  const std::string out = dir + "/c.json";
  struct Case {
    const char* name;
    const char* content;
    const char* message;
  };
  const Case cases[] = {
      {"empty.csv", "", "the file is empty (no header, no data rows)"},
      {"blank.csv", "\n  \n\t\n", "the file is empty (no header, no data rows)"},
      {"comments.csv", "# PROVENANCE: nothing\n# more\n", "the file holds only comment lines"},
      // The AIConfigurator DeepEP LL header (tests/data/comm/aic_h100_deepep_ll.csv) without its rows.
      {"header.csv", "# a comment\nframework,version,device,node_num,dispatch_avg_t_us,combine_avg_t_us\n",
       "the file has the AIConfigurator DeepEP LL header but no rows"},
      {"other.csv", "a,b\n1,2\n", "found a header none of them has"},
  };
  for (const Case& c : cases) {
    const std::string path = dir + "/" + c.name;
    std::ofstream(path) << c.content;
    CliResult r = run_epsim("calibrate " + path + " --out " + out);
    INFO(c.name << ": " << r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find(path + ": ") != std::string::npos);
    CHECK(r.err.find(c.message) != std::string::npos);
    CHECK(r.err.find("found unknown") == std::string::npos);
    CHECK_FALSE(std::filesystem::exists(out));
  }
  // Every known table's header with no rows under it (the tests/data/comm copies, data lines dropped).
  for (const char* table : {"aic_h100_deepep_ll.csv", "aic_h100_deepep_normal.csv", "aic_h100_nccl_alltoall.csv",
                            "deepep_pr521_h100_ll.csv", "deepep_pr521_h100_normal.csv", "deepep_v2_readme_normal.csv",
                            "hybrid_ep_h100.csv", "nccl_ep_ll_bf16_h100.csv", "onesided_gb200_nvl72.csv",
                            "onesided_gb200_post_quant_dispatch.csv"}) {
    std::ifstream in(kData + "/comm/" + table);
    std::string line, kept;
    bool header = false;
    while (std::getline(in, line))
      if (line.empty() || line[0] == '#' || !header) {
        header = header || (!line.empty() && line[0] != '#');
        kept += line + "\n";
      }
    const std::string path = dir + "/header_" + table;
    std::ofstream(path) << kept;
    CliResult r = run_epsim("calibrate " + path + " --out " + out);
    INFO(table << ": " << r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find(path + ": data rows under the header; the file has the ") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(out));
  }
}

TEST_CASE("a token count below one token (or not finite, or above 1e15) is a usage error wherever it is given") {
  // The one rule (common/token_count.hpp): [1, 1e15] tokens; fractions above one are averages.
  const std::string model = kModel, topo = kTopo2;
  const std::string exchange = "predict exchange --topology " + topo + " --model " + model +
                               " --ep 16 --exchange-kernel deepep-ll --tokens-per-gpu ";
  const std::string moe = "predict moe --gpu h100 --ep 32 --model " + model + " --tokens-per-gpu ";
  const std::string plan_cmd = "plan --topology " + topo + " --loads " + kLoads + " --model " + model + " --ep 16 --tokens-per-gpu ";
  const std::string decode = kScenarios + "/deepseek-v3/decode-ep32.json", prefill = kScenarios + "/deepseek-v3/prefill-ep32.json";
  struct Case {
    std::string command;  // ends where the value goes
    std::string value;
    std::string message;
  };
  const std::vector<Case> cases = {
      {exchange, "1e-9", "--tokens-per-gpu: 1e-9: expected a number of tokens in [1, "},
      {exchange, "0.5", "--tokens-per-gpu: 0.5: expected a number of tokens in [1, "},
      {exchange, "0", "expected a number of tokens in [1, "},
      {exchange, "1e16", "expected a number of tokens in [1, "},
      {exchange, "nan", "expected a number of tokens in [1, "},
      {moe, "1e-9", "--tokens-per-gpu: 1e-9: expected a number of tokens in [1, "},
      {plan_cmd, "1e-9", "expected 0 (the loads' counts as they are) or a number of tokens in [1, "},
      {plan_cmd, "-1", "expected 0 (the loads' counts as they are) or a number of tokens in [1, "},
      {"rebalance --tokens-per-gpu ", "0.5", "expected 0 (the loads' counts as they are) or a number of tokens in [1, "},
      {"evaluate --tokens-per-gpu ", "0.5", "expected 0 (the loads' counts as they are) or a number of tokens in [1, "},
      // Scenario fields (the parameter table; the same fields are sweep axes).
      {"simulate --scenario " + prefill + " --tokens-per-gpu ", "1e-9", "/phase/tokens_per_gpu: a number in [1, "},
      {"simulate --scenario " + prefill + " --set /phase/sequence_length=", "0.5", "/phase/sequence_length: a number in [1, "},
      {"simulate --scenario " + decode + " --batch-per-gpu ", "0.5", "/phase/batch_per_gpu: a number in [1, "},
      {"simulate --scenario " + decode + " --context-length ", "0.5", "/phase/context_length: a number in [1, "},
  };
  for (const Case& c : cases) {
    CliResult r = run_epsim(c.command + c.value);
    INFO(c.command << c.value << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(c.message) != std::string::npos);
  }
  // One token, and a fraction above one (an average), are accepted.
  for (const char* v : {"1", "1.5"}) {
    CliResult r = run_epsim(exchange + v);
    INFO(v << ": " << r.err);
    CHECK(r.exit_code == 0);
  }
}

TEST_CASE("calibrate: a kernel row on more SMs than the GPU has is refused naming the file, the GPU and the row") {
  // Hybrid-EP's table with its EP 16, 16-SM row changed to 200 SMs: an H100 has 132 (model/gpu_spec.cpp).
  const std::string dir = fresh_temp_dir("calibrate_sms");
  std::ifstream in(kData + "/comm/hybrid_ep_h100.csv");
  std::ofstream out(dir + "/hep.csv");
  for (std::string line; std::getline(in, line);) out << (line.rfind("16,16,", 0) == 0 ? "16,200," + line.substr(6) : line) << "\n";
  out.close();
  CliResult r = run_epsim("calibrate " + dir + "/hep.csv --gpu h100 --out " + dir + "/c.json");
  CHECK(r.exit_code == 1);
  CHECK(r.err.find(dir + "/hep.csv: rows of the H100, which has 132 SMs; found one on 200 SMs") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir + "/c.json"));
  // The table as published (4-16 SMs) calibrates.
  CHECK(run_epsim("calibrate " + kData + "/comm/hybrid_ep_h100.csv --gpu h100 --out " + dir + "/c.json").exit_code == 0);
}

TEST_CASE("a number option given with a unit suffix is a usage error that says how to write it") {
  // CLI11 said only "Could not convert: --nccl-buffsize = 8M".
  CliResult r = run_epsim("predict collective --topology " + kTopo2 + " --op all_reduce --bytes 1048576 --nccl-buffsize 8M");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--nccl-buffsize = 8M: expected a number in decimal digits (e.g. 8388608 or 8.4e6)") != std::string::npos);
  CHECK(run_epsim("predict collective --topology " + kTopo2 + " --op all_reduce --bytes 1M").exit_code == 2);
}

TEST_CASE("an oversized --set value is echoed clipped, with its length") {
  const std::string value(5000, '9');
  CliResult r = run_epsim("simulate --scenario " + kScenarios + "/ep16-vs-tp8pp2/prefill-tp8pp2.json --set /nccl_buffsize_bytes=" + value);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("... (5000 characters)': expected an integer in decimal digits in [65536, 1073741824]") != std::string::npos);
  CHECK(r.err.size() < 400);  // before: 10 KB (the value twice)
}

TEST_CASE("every error echoes a huge argument clipped, with the same usage-error prefix") {
  // A fresh-user trial: 100 KB arguments to --topology, --op, --exchange-kernel, --out came back whole.
  const std::string huge(100000, 'q');
  for (const std::string& cmd : {"predict collective --topology " + huge + " --op all_reduce --bytes 1024",
                                 "predict collective --topology " + kTopo2 + " --op " + huge + " --bytes 1024",
                                 "plan --topology " + kTopo2 + " --loads " + kLoads + " --model " + kModel + " --exchange-kernel " + huge,
                                 "plan --topology " + kTopo2 + " --loads " + kLoads + " --model " + kModel + " --tokens-per-gpu -3"}) {
    CliResult r = run_epsim(cmd);
    INFO(r.err.substr(0, 300));
    CHECK((r.exit_code == 1 || r.exit_code == 2));
    CHECK(r.err.size() < 2000);
    CHECK(r.err.rfind("epsim: ", 0) == 0);  // "epsim: usage error: ..." or "epsim: error: ..."
  }
}

TEST_CASE("calibrate checks --gpu before it reads any file") {
  // A fresh-user trial: the file summary went to stdout before the usage error.
  CliResult r = run_epsim("calibrate " + kData + "/comm/hybrid_ep_h100.csv --gpu zz --out " + fresh_temp_dir("calibrate_gpu") + "/c.json");
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err.find("--gpu: a GPU epsim knows") != std::string::npos);
}

TEST_CASE("calibrate refuses a pipe (it reads each measured file more than once), naming it") {
  // A FIFO stands for a pipe or a process substitution (<(...) is /dev/fd/N, a pipe). calibrate checks
  // the file's type before it opens it, so nothing needs to write into the FIFO.
  const std::string dir = fresh_temp_dir("calibrate_fifo");
  const std::string fifo = dir + "/all_reduce_perf.txt";
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  CliResult r = run_epsim("calibrate " + fifo + " --out " + dir + "/c.json");
  CHECK(r.exit_code == 1);
  CHECK(r.err.find(fifo + ": a regular file (calibrate reads each measured file more than once") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir + "/c.json"));
}

TEST_CASE("simulate: a file a command-line flag gave is named with the flag, not the scenario") {
  const std::string scenario = std::string(EPSIM_SCENARIOS_DIR) + "/deepseek-v3/prefill-ep32.json";
  CliResult r = run_epsim("simulate --scenario " + scenario + " --calibration /nonexistent/epsim_c.json");
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("/nonexistent/epsim_c.json: ") != std::string::npos);
  CHECK(r.err.find("(given by --calibration on the command line)") != std::string::npos);
  CHECK(r.err.find("names at /calibration") == std::string::npos);
  CliResult s = run_epsim("simulate --scenario " + scenario + " --set /calibration=/nonexistent/epsim_c.json");
  CHECK(s.err.find("(given by --set /calibration=/nonexistent/epsim_c.json on the command line)") != std::string::npos);
}

TEST_CASE("wire bytes per element above 64 are refused wherever they are given, not an internal error") {
  // 1e300 bytes per element overflowed the link loads ("internal error: phase_time: negative or
  // non-finite load", exit 3). The one bound, comm/exchange_kernel.hpp kMaxWireBytesPerElement = 64.
  for (const char* flag : {"--dispatch-bytes-per-element", "--combine-bytes-per-element"}) {
    const CliResult r = plan(kTopo2, kLoads, kModel, std::string("--ep 16 ") + flag + " 1e300");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(flag) != std::string::npos);
    CHECK(r.err.find("internal error") == std::string::npos);
    CHECK(plan(kTopo2, kLoads, kModel, std::string("--ep 16 ") + flag + " 64").exit_code == 0);
  }
  const std::string scenario = kScenarios + "/deepseek-v3/prefill-ep32.json";
  for (const char* field : {"/dispatch_bytes_per_element", "/combine_bytes_per_element"}) {
    const CliResult s = run_epsim("simulate --scenario " + scenario + " --set " + field + "=1e300");
    CHECK(s.exit_code == 2);
    CHECK(s.err.find(field) != std::string::npos);
    CHECK(s.err.find("(0, 64]") != std::string::npos);
  }
  const CliResult p = run_epsim("predict exchange --topology " + kTopo2 + " --model " + kModel +
                                " --ep 16 --tokens-per-gpu 128 --exchange-kernel nccl --dispatch-bytes-per-element 65");
  CHECK(p.exit_code == 2);
  CHECK(p.err.find("(0, 64]") != std::string::npos);
}

TEST_CASE("a failed write to standard output is an error (exit 1), not success or an internal error") {
  // /dev/full refuses every write (ENOSPC). Before: simulate --json said "internal error: cannot write
  // to file" (exit 3) and plan's table, still buffered at exit, was lost with exit 0.
  if (!std::filesystem::exists("/dev/full")) {
    WARN("no /dev/full here: not checked");
    return;
  }
  const std::string err = (std::filesystem::temp_directory_path() / "epsim_dev_full.err").string();
  auto run = [&](const std::string& args) {
    const int status = std::system((std::string(EPSIM_BIN) + " " + args + " > /dev/full 2>" + err).c_str());
    std::ifstream in(err);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return std::pair<int, std::string>{WEXITSTATUS(status), text};
  };
  for (const std::string& args :
       {"simulate --json --scenario " + kScenarios + "/deepseek-v3/decode-ep32.json",
        "plan --topology " + kTopo2 + " --loads " + kLoads + " --model " + kModel + " --ep 16",
        "topo show " + kTopo2}) {
    const auto [code, text] = run(args);
    CHECK(code == 1);
    CHECK(text.find("writing standard output") != std::string::npos);
    CHECK(text.find("internal error") == std::string::npos);
  }
  std::filesystem::remove(err);
}

TEST_CASE("scenario overrides: --set reads a quoted JSON string as the string, and numbers only in decimal notation") {
  const std::string scenario = kScenarios + "/deepseek-v3/decode-ep32.json";
  // --set '/network="flow"' was refused as the choice "\"flow\"": a JSON string's quotes are removed.
  const CliResult quoted = run_epsim("simulate --json --scenario " + scenario + " --set '/network=\"flow\"'");
  const CliResult plain = run_epsim("simulate --json --scenario " + scenario + " --set /network=flow");
  CHECK(quoted.exit_code == 0);
  CHECK(quoted.out == plain.out);
  // strtod reads "0x10" as 16 and "nan" as NaN: a number field and a number flag take decimal notation.
  for (const char* bad : {"0x10", "nan", "inf"}) {
    const CliResult r = run_epsim("simulate --scenario " + scenario + " --set /phase/batch_per_gpu=" + bad);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("expected a number") != std::string::npos);
    const CliResult b = run_epsim("predict collective --topology " + kTopo2 + " --op all_reduce --bytes " + bad);
    CHECK(b.exit_code == 2);
  }
  const CliResult hex = run_epsim("predict collective --topology " + kTopo2 + " --op all_reduce --bytes 0x10");
  CHECK(hex.err.find("'0x10': expected a number in decimal notation") != std::string::npos);
  CHECK(run_epsim("predict collective --topology " + kTopo2 + " --op all_reduce --bytes 8.4e6").exit_code == 0);
}

TEST_CASE("a scenario's generated cluster past the routed-GPU cap and a sequence longer than the batch are refused") {
  // 65,536 nodes were built (6 s, 1.2 GB) before routing refused them; now the field's range (4096 nodes,
  // 72 GPUs per node: topo generate's) and nodes x GPUs <= 16384 are checked first.
  const std::string decode = kScenarios + "/deepseek-v3/decode-ep32.json";
  const CliResult big = run_epsim("simulate --scenario " + decode + " --set '/topology={\"nodes\":4096}'");
  CHECK(big.exit_code == 1);
  CHECK(big.err.find("4096 nodes x 8 GPUs: epsim routes at most 16384 GPUs") != std::string::npos);
  const CliResult range = run_epsim("simulate --scenario " + decode + " --set '/topology={\"nodes\":65536}'");
  CHECK(range.exit_code == 2);
  CHECK(range.err.find("/topology/nodes: expected an integer in [1, 4096]") != std::string::npos);
  // sequence_length 8192 of 4096 tokens per GPU made a batch of half a sequence, priced faster than one.
  const CliResult seq =
      run_epsim("simulate --scenario " + kScenarios + "/deepseek-v3/prefill-ep32.json --set /phase/sequence_length=8192");
  CHECK(seq.exit_code == 2);
  CHECK(seq.err.find("/phase/sequence_length: at most tokens_per_gpu (4096)") != std::string::npos);
}

TEST_CASE("simulate says when the topology's GPUs are another model than the simulated one") {
  // An imported DGX A100 dump ran with H100 figures without a word. Here: a generated H200 cluster
  // simulated as the h100 the scenario names; the note counts the GPUs and names the first.
  const std::string decode = kScenarios + "/deepseek-v3/decode-ep32.json";
  const CliResult r = run_epsim("simulate --scenario " + decode +
                                " --set '/topology={\"nodes\":4,\"gpu_model\":\"h200\"}' --set /gpu=h100");
  CHECK(r.exit_code == 0);
  CHECK((r.out + r.err).find("32 of its 32 GPUs are another model than the simulated H100 (first node0/gpu0 (h200))") !=
        std::string::npos);
  const CliResult same = run_epsim("simulate --scenario " + decode +
                                   " --set '/topology={\"nodes\":4,\"gpu_model\":\"h200\"}' --set /gpu=h200");
  CHECK(same.exit_code == 0);
  CHECK((same.out + same.err).find("another model") == std::string::npos);
}

TEST_CASE("trace generate on loads whose every count is zero is refused naming the file, writing nothing") {
  // It wrote {"layers":[]} ("layer -1" in its summary), which plan --trace then took (exit 0).
  const auto dir = std::filesystem::temp_directory_path() / "epsim_zero_loads";
  std::filesystem::create_directories(dir);
  const std::string loads = (dir / "zero.json").string(), out = (dir / "trace.json").string();
  std::ofstream(loads) << R"({"logical_count": [[0, 0, 0, 0, 0, 0, 0, 0]]})";
  const CliResult r = run_epsim("trace generate --loads " + loads + " --model " + kData +
                                "/model_8e_2g.config.json --tokens-per-gpu 64 --ep 8 --out " + out);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find(loads + ": every MoE layer's counts are zero") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(out));
  std::filesystem::remove_all(dir);
}
