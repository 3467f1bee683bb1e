// Issue 17, item by item: every fault found by trying to break each command, as a CLI test with the
// exit code and the message's key words (or a unit test where the CLI cannot reach it). Items 1-17 as
// numbered in the issue (item 11, sweep axes, is the lead's); item 5 is in
// tests/sim_workload/test_repeated_micro_batches.cpp, the JSON reader's checks in tests/common.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "hardening_support.hpp"
#include "model/trace.hpp"
#include "topology/nccl_xml.hpp"
#include "topology/topology_json.hpp"
#include "topology/topology_summary.hpp"
#include "topology/validate.hpp"

using namespace hardening;
using Json = nlohmann::json;

namespace {

const std::string kIbm = kScenarios + "/nccl_xml/ibmcloud_gx3d_8xh100.xml";
const std::string kTiny = std::string(EPSIM_FUZZ_INPUTS_DIR) + "/tiny_scenario.json";

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  return s;
}
std::string replace_first(std::string s, const std::string& from, const std::string& to) {
  const std::size_t at = s.find(from);
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

// A scenario whose files are absolute (so that it can live in a temporary folder).
std::string tiny_scenario_in(const std::string& dir, const std::string& name = "s.json") {
  Json s = Json::parse(slurp(kTiny));
  const std::string inputs = EPSIM_FUZZ_INPUTS_DIR;
  for (const char* k : {"topology", "model", "loads", "gemm_efficiency"}) s[k] = inputs + "/" + s[k].get<std::string>();
  return write_file(dir, name, s.dump(1));
}

}  // namespace

TEST_CASE("issue 17 item 1: deep nesting is a named error in every reader, never a crash", "[issue17]") {
  std::string dir = fresh_temp_dir("i17_deep");
  // NCCL XML: <pci> 20,000 deep crashed the property-tree reader.
  std::string xml = "<system version=\"1\"><cpu numaid=\"0\">";
  for (int i = 0; i < 20000; ++i) xml += "<pci busid=\"0000:00:00.0\" class=\"0x060400\">";
  for (int i = 0; i < 20000; ++i) xml += "</pci>";
  xml += "</cpu></system>";
  CliResult r = run_epsim("topo import " + write_file(dir, "xd.xml", xml) + " --nodes 2 --out " + dir + "/o.json");
  CHECK(r.exit_code == 1);
  CHECK(has(r.err, "xd.xml"));
  CHECK(has(r.err, "nested at most 64 deep"));
  CHECK_FALSE(std::filesystem::exists(dir + "/o.json"));
  // A sweep spec whose base holds an array nested 100,000 deep (was SIGSEGV with 2 GB resident).
  std::string spec = R"({"schema": "epsim.sweep/2", "base": {"x": )" + std::string(100000, '[') + std::string(100000, ']') +
                     R"(}, "axes": {"ep": [8]}})";
  r = run_epsim("sweep " + write_file(dir, "deep.json", spec) + " --out " + dir + "/results");
  CHECK(r.exit_code == 1);
  CHECK(has(r.err, "deep.json"));
  CHECK(has(r.err, "nesting deeper than 64"));
  CHECK_FALSE(std::filesystem::exists(dir + "/results"));
}

TEST_CASE("issue 17 item 2: topo generate --cores 0 is a usage error", "[issue17]") {
  std::string dir = fresh_temp_dir("i17_cores");
  CliResult r = run_epsim("topo generate dgx-h100 --cores 0 --out " + dir + "/g.json");
  CHECK(r.exit_code == 2);
  CHECK(has(r.err, "--cores must be in [1, 4096], got 0"));
}

TEST_CASE("issue 17 items 3-4: trace generate sizes are checked against the limits before allocating", "[issue17]") {
  std::string dir = fresh_temp_dir("i17_trace");
  auto gen = [&](const std::string& flags) {
    return run_epsim("trace generate --loads " + kLoads + " --model " + kModel + " --out " + dir + "/t.json " + flags);
  };
  // 32 x 1e9 tokens per layer passes int (was bad_alloc, exit 3); the estimate is in the message.
  CliResult r = gen("--tokens-per-gpu 1000000000 --ep 32");
  CHECK(r.exit_code == 1);
  CHECK(has(r.err, "at most 2147483647 tokens per layer"));
  CHECK(has(r.err, "GiB in memory"));
  r = gen("--tokens-per-gpu 1000000 --ep 4096");
  CHECK(r.exit_code == 1);
  CHECK(has(r.err, "tokens per layer"));
  // 20M tokens per GPU x 32 (was 20 GB resident after 300 s): 3.3e11 ids > 2^27.
  r = gen("--tokens-per-gpu 20000000 --ep 32");
  CHECK(r.exit_code == 1);
  CHECK(has(r.err, "at most 134217728 ids"));
  CHECK(has(r.err, "docs/limits.md"));
  // --max-iterations above 1000 (ran over 300 s with no output).
  r = gen("--tokens-per-gpu 16 --ep 4 --max-iterations 1000000000");
  CHECK(r.exit_code == 2);
  CHECK(has(r.err, "--max-iterations"));
  CHECK_FALSE(std::filesystem::exists(dir + "/t.json"));
}

TEST_CASE("issue 17 item 6: a loads file of zeros far above the parse budget is refused before parsing", "[issue17]") {
  // A 600 MB (sparse) file is refused by its size before a byte is read (a 500 MB file of zeros was
  // parsed to 8.1 GB before); a file under the size cap whose parsed form would pass 2 GiB is refused by
  // the estimate before parsing (tests/common "check_json_text", and the bad-input sweep's "huge" case).
  std::string dir = fresh_temp_dir("i17_huge");
  std::string path = dir + "/zeros.json";
  { std::ofstream(path) << "{\"logical_count\": [[0"; }
  std::filesystem::resize_file(path, 600ull << 20);
  CliResult r = plan(kTopo2, path, kPhiModel, "--ep 16");
  CHECK(r.exit_code == 1);
  CHECK(has(r.err, "a file of at most 512 MiB"));
}

TEST_CASE("issue 17 item 7: physical ranges of links, no inf or NaN reaches an output", "[issue17]") {
  std::string dir = fresh_temp_dir("i17_ranges");
  Json t = Json::parse(slurp(kTopo2));
  Json lat = t, bw = t, tiny = t;
  lat["links"][0]["latency_ns"] = 1.7e308;
  bw["links"][0]["bandwidth_GBps"] = 1e-320;
  tiny["links"][0]["bandwidth_GBps"] = 1e-300;
  CliResult r = plan(write_file(dir, "lat.json", lat.dump()), kPhiLoads, kPhiModel, "--ep 16");
  CHECK(r.exit_code == 1);
  CHECK(has(r.err, "/links/0/latency_ns: expected a latency of 0 to 1000000000 ns"));
  for (const auto& [name, doc] : {std::pair<std::string, Json>{"bw.json", bw}, {"tiny.json", tiny}}) {
    r = run_epsim("topo validate " + write_file(dir, name, doc.dump()));
    CHECK(r.exit_code == 1);
    CHECK(has(r.err, "/links/0/bandwidth_GBps: expected a bandwidth of 0.001 to 100000 GB/s"));
  }
  // The generators and the import take the same ranges for their bandwidth options.
  CHECK(run_epsim("topo generate dgx-h100 --nodes 2 --nic-GBps 1e-9 --out " + dir + "/g.json").exit_code == 2);
  CHECK(run_epsim("topo import " + kIbm + " --nodes 2 --nic-GBps 1e9 --out " + dir + "/g.json").exit_code == 2);
  // A plan's outputs hold no null where a number belongs (inf/NaN would be written as null).
  r = plan(kTopo2, kPhiLoads, kPhiModel, "--ep 16 --json");
  REQUIRE(r.exit_code == 0);
  CHECK_FALSE(has(r.out, "null"));
  CHECK_FALSE(has(r.out, "nan"));
  CHECK_FALSE(has(r.out, "inf"));
}

TEST_CASE("issue 17 item 8: a duplicate key is refused in every JSON input, naming it", "[issue17]") {
  std::string dir = fresh_temp_dir("i17_dup");
  std::string topo = replace_first(slurp(kTopo2), "\"bandwidth_GBps\":", "\"bandwidth_GBps\": 450, \"bandwidth_GBps\":");
  CliResult r = plan(write_file(dir, "t.json", topo), kPhiLoads, kPhiModel, "--ep 16");
  CHECK(r.exit_code == 1);
  CHECK(has(r.err, "t.json: /links/0/bandwidth_GBps"));
  CHECK(has(r.err, "\"bandwidth_GBps\" appears twice"));
  std::string model = replace_first(slurp(kPhiModel), "{", "{\"hidden_size\": 1, ");
  r = plan(kTopo2, kPhiLoads, write_file(dir, "m.json", model), "--ep 16");
  CHECK(r.exit_code == 1);
  CHECK(has(r.err, "m.json: /hidden_size"));
  std::string scenario = replace_first(slurp(tiny_scenario_in(dir)), "{", "{\"chunks\": 4, ");
  r = run_epsim("simulate --scenario " + write_file(dir, "s2.json", scenario));
  CHECK(r.exit_code == 1);
  CHECK(has(r.err, "s2.json: /chunks"));
}

TEST_CASE("issue 17 item 9: NCCL XML import warns on assumptions, drops or refuses the meaningless", "[issue17]") {
  std::string dir = fresh_temp_dir("i17_xml");
  const std::string ibm = slurp(kIbm);
  const std::string out = dir + "/o.json";
  auto import = [&](const std::string& name, const std::string& xml, const std::string& flags = "--nodes 2") {
    return run_epsim("topo import " + write_file(dir, name, xml) + " " + flags + " --out " + out);
  };
  // sm="0": refused unless a GPU model is given, then taken from it with a warning.
  CliResult r = import("sm0.xml", replace_all(ibm, "sm=\"90\"", "sm=\"0\""));
  CHECK(r.exit_code == 1);
  CHECK(has(r.err, "sm \"0\" or none"));
  r = import("sm0.xml", replace_all(ibm, "sm=\"90\"", "sm=\"0\""), "--nodes 2 --gpu h200");
  CHECK(r.exit_code == 0);
  CHECK(has(r.err, "GPUs without sm (first 0000:a4:00.0) taken as h200 (sm 90)"));
  CHECK(has(slurp(out), "\"model\": \"h200\""));
  // The sm attribute names the GPU (sm 80 = A100) even when another model is given, with a warning.
  r = import("sm80.xml", replace_all(ibm, "sm=\"90\"", "sm=\"80\""), "--nodes 2 --gpu h100");
  CHECK(r.exit_code == 0);
  CHECK(has(r.err, "the GPU model h100 does not match sm 80"));
  CHECK(has(slurp(out), "\"model\": \"a100\""));
  CHECK_FALSE(has(slurp(out), "\"model\": \"h100\""));
  // count="0" and an NVLink to the GPU itself (Azure NC A100 v4 dumps) are dropped with a warning, and
  // what is written passes topo validate.
  r = import("c0.xml", replace_first(ibm, "count=\"5\"", "count=\"0\""));
  CHECK(r.exit_code == 0);
  CHECK(has(r.err, "count=\"0\"> of GPU 0000:a4:00.0 dropped"));
  std::string self = replace_first(ibm, "<nvlink target=\"0000:f5:00.0\" count=\"5\" tclass=\"0x068000\"/>",
                                   "<nvlink target=\"0000:a4:00.0\" count=\"5\" tclass=\"0x030200\"/>");
  r = import("self.xml", self);
  CHECK(r.exit_code == 0);
  CHECK(has(r.err, "targets the GPU itself: dropped"));
  CHECK(run_epsim("topo validate " + out).exit_code == 0);
  // An NVLink to an unknown target is named and ignored.
  r = import("unknown.xml", replace_first(ibm, "target=\"0000:f5:00.0\" count=\"5\" tclass=\"0x068000\"",
                                          "target=\"0000:99:00.0\" count=\"5\" tclass=\"0x030200\""));
  CHECK(r.exit_code == 0);
  CHECK(has(r.err, "<nvlink target=\"0000:99:00.0\""));
  CHECK(has(r.err, "ignored"));
  // A mismatched closing tag is malformed XML.
  r = import("mismatch.xml", replace_first(ibm, "</gpu>", "</pci>"));
  CHECK(r.exit_code == 1);
  CHECK(has(r.err, "</pci> does not match <gpu> opened at line 10"));
  // NICs without a speed: the assumed speed is named.
  r = import("nospeed.xml", replace_all(ibm, " speed=\"200000\"", ""));
  CHECK(r.exit_code == 0);
  // Said once for the file's 8 <net> (docs/topology.md: once per kind, with a count and the first).
  CHECK(has(r.err, "8 <net> without a speed (first mlx5_7) taken at 50 GB/s"));
  CHECK(r.err.find("<net mlx5_0>") == std::string::npos);
  // PCIe links without a width are assumed x16, said once; the dump's virtual bridges (2.5 GT/s x1,
  // 0.1875 GB/s in NCCL's units) are kept and named once.
  r = import("ibm.xml", ibm);
  CHECK(has(r.err, "16 <pci> with link_width 0 or none (first 0000:a3:00.0) taken as x16"));
  CHECK(has(r.err, "8 <pci> links slower than 0.75 GB/s (first 0000:a1:00.0: 2.5 GT/s PCIe x1 = 0.1875 GB/s)"));
  // An sm epsim has no model for is labelled by it and said so, with the NVLink figure NCCL gives it.
  r = import("sm999.xml", replace_all(ibm, "sm=\"90\"", "sm=\"999\""));
  CHECK(r.exit_code == 0);
  CHECK(has(r.err, "has sm 999, no GPU model epsim has figures for"));
  CHECK(has(r.err, "labelled sm999, NVLink at NCCL's figure for that sm (40.1 GB/s per link)"));
}

TEST_CASE("issue 17 item 10: command-line values are checked (nan, negative, 0, -1 wrap, empty path)", "[issue17]") {
  std::string dir = fresh_temp_dir("i17_values");
  struct Case {
    std::string args;
    std::string words;
  };
  const std::string p = "plan --topology " + kTopo2 + " --loads " + kPhiLoads + " --model " + kPhiModel + " ";
  const std::string t = "trace generate --loads " + kPhiLoads + " --model " + kPhiModel + " --ep 4 --tokens-per-gpu 16 --out " +
                        dir + "/t.json ";
  const std::vector<Case> cases = {
      {p + "--ep 16 --weight-bytes-per-element nan", "--weight-bytes-per-element: nan: expected a finite number > 0"},
      {p + "--ep 16 --weight-bytes-per-element -1", "--weight-bytes-per-element"},
      {p + "--ep 16 --hbm-GiB inf", "--hbm-GiB"},
      {p + "--ep 16 --hbm-reserve-GiB 80", "--hbm-reserve-GiB 80 must be below --hbm-GiB 80"},
      {p + "--ep 0", "--ep: Value 0 not in range"},
      {p + "--ep 16 --seed -1", "--seed: -1: expected an integer >= 0"},
      {p + "--ep 16 --out ''", "--out: an empty path"},
      {t + "--tolerance nan", "--tolerance: nan"},
      {t + "--tolerance -1", "--tolerance: -1"},
      {t + "--min-target inf", "--min-target: inf"},
      {t + "--max-iterations -1", "--max-iterations"},
      {t + "--seed -1", "--seed: -1"},
      {"simulate --scenario ''", "--scenario: an empty path"},
      {"topo validate ''", "an empty path"},
  };
  for (const Case& c : cases) {
    CliResult r = run_epsim(c.args);
    INFO(c.args << " -> " << r.exit_code << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, c.words));
  }
  CHECK_FALSE(std::filesystem::exists(dir + "/t.json"));
  // A fractional load and both load formats in one file are invalid input.
  Json half = Json::parse(slurp(kPhiLoads));
  half["logical_count"][0][3] = 0.5;
  CliResult r = plan(kTopo2, write_file(dir, "half.json", half.dump()), kPhiModel, "--ep 16");
  CHECK(r.exit_code == 1);
  CHECK(has(r.err, "/logical_count/0/3: a whole token count"));
  Json both = Json::parse(slurp(kPhiLoads));
  both["per_source_count"] = Json::array({Json::array({both["logical_count"][0]})});
  r = plan(kTopo2, write_file(dir, "both.json", both.dump()), kPhiModel, "--ep 16");
  CHECK(r.exit_code == 1);
  CHECK(has(r.err, "both.json: /per_source_count"));
  r = run_epsim("trace generate --loads " + dir + "/both.json --model " + kPhiModel + " --ep 4 --tokens-per-gpu 16 --out " +
                dir + "/t.json");
  CHECK(r.exit_code == 1);
  CHECK(has(r.err, "either \"logical_count\" or \"per_source_count\", not both"));
  // A trace that misses its tolerance says so (exit 0, a warning).
  r = run_epsim("trace generate --loads " + kPhiLoads + " --model " + kPhiModel +
                " --ep 2 --tokens-per-gpu 64 --tolerance 0.0001 --min-target 1 --max-iterations 2 --out " + dir + "/t.json");
  CHECK(r.exit_code == 0);
  CHECK(has(r.err, "warning: the trace misses the loads"));
  CHECK(has(r.err, "above the tolerance 0.0001"));
}

TEST_CASE("issue 17 item 12: topo validate warns on an unused NIC, topo show leaves it out", "[issue17]") {
  std::string dir = fresh_temp_dir("i17_nic");
  const std::string topo = dir + "/shared.json";
  REQUIRE(run_epsim("topo import " + kData + "/nccl_shared_nic.xml --nodes 2 --out " + topo).exit_code == 0);
  CliResult r = run_epsim("topo validate " + topo);
  CHECK(r.exit_code == 0);
  CHECK(has(r.err, "NIC node0/nic1 (rail 1) is unused"));
  CHECK(has(r.err, "node0/gpu0, node0/gpu1 share rail 0"));
  // Network per GPU: NIC0's 50 GB/s shared by 2 GPUs = 25 GB/s (was (50 + 50) / 2 = 50).
  r = run_epsim("topo show " + topo);
  CHECK(has(r.out, "network 25.0 GB/s"));
  // A DGX (one NIC per GPU) and AWS p5 (4 NICs per GPU, none shared) have no unused NIC.
  CHECK(epsim::unused_nics(epsim::load_topology(kTopo2)).empty());
  epsim::NcclImportOptions o;
  o.nodes = 2;
  o.gpu_model = "h100";
  CHECK(epsim::unused_nics(epsim::import_nccl_xml(kScenarios + "/nccl_xml/aws_p5_48xlarge.xml", o).topology).empty());
}

TEST_CASE("issue 17 items 13-15: no output is an input, no two outputs are one file, symlinks are written through", "[issue17]") {
  std::string dir = fresh_temp_dir("i17_paths");
  const std::string loads = write_file(dir, "x.json", slurp(kPhiLoads));
  const std::string before = slurp(loads);
  struct Case {
    std::string args;
    std::string words;
  };
  const std::string scenario = tiny_scenario_in(dir);
  const std::string meas = write_file(dir, "m.json", slurp(kScenarios + "/measurements/synthetic-h200-16gpu.json"));
  const std::string topo = write_file(dir, "t.json", slurp(kTopo2));
  std::filesystem::create_symlink(loads, dir + "/link.json");
  const std::vector<Case> cases = {
      {"plan --topology " + kTopo2 + " --loads " + loads + " --model " + kPhiModel + " --ep 16 --out " + loads,
       "--out " + loads + " is the input --loads"},
      {"plan --topology " + kTopo2 + " --loads " + loads + " --model " + kPhiModel + " --ep 16 --out " + dir + "/link.json",
       "is the input --loads"},
      {"trace generate --loads " + loads + " --model " + kPhiModel + " --ep 4 --tokens-per-gpu 16 --out " + loads,
       "is the input --loads"},
      {"simulate --scenario " + scenario + " --report " + scenario, "--report " + scenario + " is the input --scenario"},
      {"simulate --scenario " + scenario + " --trace " + std::string(EPSIM_FUZZ_INPUTS_DIR) + "/tiny_model.json",
       "is the input the scenario's model"},
      {"calibrate " + meas + " --out " + meas, "is the input measurements"},
      {"topo dot " + topo + " --out " + topo, "is the input file"},
      {"sweep " + topo + " --out " + topo, "is the input spec"},
      // Two outputs with one path.
      {"plan --topology " + kTopo2 + " --loads " + kPhiLoads + " --model " + kPhiModel + " --ep 16 --out " + dir +
           "/p.json --export sglang " + dir + "/p.json",
       "--out and --export sglang name the same file"},
      {"simulate --scenario " + scenario + " --report " + dir + "/r.json --trace " + dir + "/r.json",
       "--report and --trace name the same file"},
      {"trace generate --loads " + kPhiLoads + " --model " + kPhiModel + " --ep 4 --tokens-per-gpu 16 --out " + dir +
           "/t2.json --per-source-out " + dir + "/t2.json",
       "--out and --per-source-out name the same file"},
  };
  for (const Case& c : cases) {
    CliResult r = run_epsim(c.args);
    INFO(c.args << " -> " << r.exit_code << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, c.words));
  }
  CHECK(slurp(loads) == before);
  CHECK_FALSE(std::filesystem::exists(dir + "/p.json"));
  CHECK_FALSE(std::filesystem::exists(dir + "/r.json"));
  CHECK_FALSE(std::filesystem::exists(dir + "/t2.json"));
  // --out naming a symbolic link writes the file it points to; the link stays a link.
  const std::string target = write_file(dir, "target.json", "previous\n");
  std::filesystem::create_symlink(target, dir + "/out-link.json");
  CliResult r = run_epsim("topo generate dgx-h100 --nodes 2 --out " + dir + "/out-link.json");
  CHECK(r.exit_code == 0);
  CHECK(std::filesystem::is_symlink(dir + "/out-link.json"));
  CHECK(has(slurp(target), "\"devices\""));
  // A dangling link: its target is created.
  std::filesystem::create_symlink(dir + "/new.json", dir + "/dangling.json");
  CHECK(run_epsim("topo generate dgx-h100 --nodes 2 --out " + dir + "/dangling.json").exit_code == 0);
  CHECK(std::filesystem::is_symlink(dir + "/dangling.json"));
  CHECK(std::filesystem::is_regular_file(dir + "/new.json"));
}

TEST_CASE("issue 17 item 16: SIGTERM during a sweep is handled like SIGINT (message, CSV, resumable)", "[issue17]") {
  std::string dir = fresh_temp_dir("i17_sigterm");
  // The shipped 90-point simulate grid runs for minutes: SIGTERM after the first point is written.
  const std::string spec = kScenarios + "/sweeps/deepseek-v3-ep16-256.json";
  const std::string out = dir + "/results", err = dir + "/err.txt";
  std::fflush(stdout);  // the child must not write the test's buffered output again
  std::fflush(stderr);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::freopen(err.c_str(), "w", stderr);
    std::freopen("/dev/null", "w", stdout);
    ::execl(EPSIM_BIN, "epsim", "sweep", spec.c_str(), "--out", out.c_str(), "--no-plots", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Wait (at most 60 s) until a point exists, then send SIGTERM.
  for (int i = 0; i < 600; ++i) {
    std::error_code ec;
    if (std::filesystem::exists(out + "/points", ec) && !std::filesystem::is_empty(out + "/points", ec)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGTERM);  // exits as a terminated program (143 in a shell)
  const std::string message = slurp(err);
  CHECK(has(message, "terminated (SIGTERM)"));
  CHECK(has(message, "run the same command to resume"));
  CHECK(std::filesystem::exists(out + "/sweep.csv"));
}

TEST_CASE("issue 17 item 17: clear messages", "[issue17]") {
  // An unknown command is named, at any level.
  CliResult r = run_epsim("foo");
  CHECK(r.exit_code == 2);
  CHECK(has(r.err, "unknown command 'foo'"));
  CHECK(has(r.err, "plan, evaluate, rebalance, topo"));
  r = run_epsim("topo shwo x.json");
  CHECK(r.exit_code == 2);
  CHECK(has(r.err, "epsim topo: unknown command 'shwo'"));
  // plan --help lists every algorithm (from the one list), eplb included.
  r = run_epsim("plan --help");
  CHECK(has(r.out, "contiguous, greedy, eplb, epsim"));
  // The plan table never cuts an algorithm's name.
  r = plan(kTopo2, kPhiLoads, kPhiModel, "--ep 16 --algorithm greedy --baseline contiguous");
  REQUIRE(r.exit_code == 0);
  CHECK(has(r.out, " contiguous "));
  CHECK_FALSE(has(r.out, "contiguou "));
  // The critical path's header names the GPU its last op ran on.
  r = run_epsim("simulate --scenario " + kTiny);
  REQUIRE(r.exit_code == 0);
  const std::size_t at = r.out.find("critical path:");
  REQUIRE(at != std::string::npos);
  const std::string header = r.out.substr(at, r.out.find('\n', at) - at);
  const std::string block = r.out.substr(at);
  const std::size_t last_gpu = block.rfind("(GPU ");
  if (last_gpu != std::string::npos && has(header, "ending on GPU ")) {
    const std::string gpu = block.substr(last_gpu + 5, block.find(')', last_gpu) - last_gpu - 5);
    CHECK(has(header, "ending on GPU " + gpu));
  }
  // A trace of another model is named at /num_experts.
  std::string dir = fresh_temp_dir("i17_msgs");
  const std::string trace = dir + "/t.json";
  REQUIRE(run_epsim("trace generate --loads " + kPhiLoads + " --model " + kPhiModel + " --ep 16 --tokens-per-gpu 8 --out " +
                    trace).exit_code == 0);
  Json doc = Json::parse(slurp(trace));
  doc["num_experts"] = 4;
  r = plan(kTopo2, kPhiLoads, kPhiModel, "--ep 16 --trace " + write_file(dir, "t4.json", doc.dump()));
  CHECK(r.exit_code == 1);
  CHECK(has(r.err, "t4.json: /num_experts"));
}
