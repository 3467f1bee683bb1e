// The bad-input sweep (issue 17, "Must show"): every command against every kind of bad input of every
// format it reads: empty, truncated, huge (over the size cap, and under it but over the parse budget),
// deep, NaN, duplicate key, and output = input. Each run must exit 0, 1 or 2 (no signal, no internal
// error), take under 10 s and 1 GB, leave every input byte-identical, and leave no partial output (no
// output file after a failure, no temporary file ever). Runs are direct fork/exec (no shell), measured
// with wait4's rusage.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "hardening_support.hpp"

using namespace hardening;
using Json = nlohmann::json;

namespace {

struct Run {
  int exit_code = -1;  ///< -1 when signalled
  int signal = 0;
  double seconds = 0;
  long max_rss_kb = 0;
};

constexpr double kMaxSeconds = 10;
constexpr long kMaxRssKb = 1 << 20;  // 1 GiB

// Run epsim with `args` (stdout/stderr to files in `dir`); killed after 30 s so that a hang fails the
// test instead of the CI job.
Run run_measured(const std::vector<std::string>& args, const std::string& dir) {
  const std::string out = dir + "/stdout.txt", err = dir + "/stderr.txt";
  const auto start = std::chrono::steady_clock::now();
  std::fflush(stdout);  // the child must not write the test's buffered output again
  std::fflush(stderr);
  pid_t pid = ::fork();
  if (pid == 0) {
    std::freopen(out.c_str(), "w", stdout);
    std::freopen(err.c_str(), "w", stderr);
    std::vector<char*> argv{const_cast<char*>("epsim")};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(EPSIM_BIN, argv.data());
    ::_exit(127);
  }
  Run r;
  int status = 0;
  rusage usage{};
  while (::wait4(pid, &status, WNOHANG, &usage) == 0) {
    if (std::chrono::steady_clock::now() - start > std::chrono::seconds(30)) ::kill(pid, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.max_rss_kb = usage.ru_maxrss;
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  return r;
}

// FNV-1a of a file's bytes (size-capped files are sparse: hashed by size and first MiB).
std::uint64_t checksum(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::uint64_t h = 1469598103934665603ull ^ std::filesystem::file_size(path);
  char buf[1 << 16];
  std::size_t total = 0;
  while (in && total < (1u << 20)) {
    in.read(buf, sizeof buf);
    for (std::streamsize i = 0; i < in.gcount(); ++i) h = (h ^ static_cast<unsigned char>(buf[i])) * 1099511628211ull;
    total += static_cast<std::size_t>(in.gcount());
  }
  return h;
}

std::string replace_first(std::string s, const std::string& from, const std::string& to) {
  const std::size_t at = s.find(from);
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

// A format: a valid example and how a command reads it ({} = the file, {out} = a fresh output path).
struct Format {
  std::string name;
  std::string valid;  ///< text of a valid file
  bool xml = false;
  std::vector<std::vector<std::string>> commands;
};

}  // namespace

TEST_CASE("bad-input sweep: every command x every bad input: exit 0/1/2, < 10 s, < 1 GB, inputs kept, no partial output",
          "[issue17][sweep]") {
  const std::string dir = fresh_temp_dir("bad_sweep");
  const std::string in_dir = dir + "/in", out_dir = dir + "/out";
  std::filesystem::create_directories(in_dir);
  std::filesystem::create_directories(out_dir);
  const std::string inputs = EPSIM_FUZZ_INPUTS_DIR;

  // Valid inputs (absolute paths) the commands need besides the one under test.
  Json scenario = Json::parse(slurp(inputs + "/tiny_scenario.json"));
  for (const char* k : {"topology", "model", "loads", "gemm_efficiency"})
    scenario[k] = inputs + "/" + scenario[k].get<std::string>();
  const Json spec = {{"schema", "epsim.sweep/2"}, {"evaluator", "plan"}, {"base", scenario}, {"axes", {{"ep", {8}}}}};
  const std::string trace = out_dir + "/valid_trace.json";
  REQUIRE(run_epsim("trace generate --loads " + kPhiLoads + " --model " + kPhiModel + " --ep 16 --tokens-per-gpu 4 --out " +
                    trace).exit_code == 0);
  const std::string trace_text = slurp(trace);
  std::filesystem::remove(trace);

  const std::vector<std::string> plan = {"plan", "--topology", kTopo2, "--loads", kPhiLoads, "--model", kPhiModel, "--ep", "16"};
  auto plan_with = [&](const std::string& flag) {
    std::vector<std::string> c = plan;
    for (std::size_t i = 0; i + 1 < c.size(); ++i)
      if (c[i] == flag) c[i + 1] = "{}";
    if (flag == "--trace") c.insert(c.end(), {"--trace", "{}"});
    c.insert(c.end(), {"--algorithm", "greedy", "--out", "{out}"});
    return c;
  };
  const std::vector<std::string> trace_gen = {"trace", "generate", "--loads", kPhiLoads, "--model", kPhiModel, "--ep", "4",
                                              "--tokens-per-gpu", "16", "--out", "{out}"};
  auto trace_with = [&](const std::string& flag) {
    std::vector<std::string> c = trace_gen;
    for (std::size_t i = 0; i + 1 < c.size(); ++i)
      if (c[i] == flag) c[i + 1] = "{}";
    return c;
  };
  // predict exchange reads a topology, a model and loads or a trace.
  auto exchange_with = [&](const std::string& flag) {
    std::vector<std::string> c = {"predict", "exchange", "--topology", kTopo2, "--model", kPhiModel, "--ep", "16",
                                  "--tokens-per-gpu", "64", "--exchange-kernel", "deepep-normal", "--loads", kPhiLoads};
    if (flag == "--trace") c.resize(c.size() - 2);
    if (flag == "--trace") c.insert(c.end(), {"--trace", "{}"});
    for (std::size_t i = 0; i + 1 < c.size(); ++i)
      if (c[i] == flag) c[i + 1] = "{}";
    return c;
  };
  const std::vector<Format> formats = {
      {"topology", slurp(kTopo2), false,
       {plan_with("--topology"), exchange_with("--topology"), {"topo", "validate", "{}"}, {"topo", "show", "{}"}, {"topo", "dot", "{}", "--out", "{out}"}}},
      {"model", slurp(kPhiModel), false, {plan_with("--model"), trace_with("--model"), exchange_with("--model")}},
      {"loads", slurp(kPhiLoads), false, {plan_with("--loads"), trace_with("--loads"), exchange_with("--loads")}},
      {"trace", trace_text, false, {plan_with("--trace"), exchange_with("--trace")}},
      {"scenario", scenario.dump(1), false, {{"simulate", "--scenario", "{}", "--report", "{out}"}}},
      {"sweep", spec.dump(1), false, {{"sweep", "{}", "--out", "{out}", "--no-plots"}}},
      {"measurements", slurp(kScenarios + "/measurements/synthetic-h200-16gpu.json"), false,
       {{"calibrate", "{}", "--out", "{out}"}, {"validate", "{}"}}},
      {"nccl_xml", slurp(kScenarios + "/nccl_xml/ibmcloud_gx3d_8xh100.xml"), true,
       {{"topo", "import", "{}", "--nodes", "2", "--out", "{out}"}}},
  };

  // Bad variants of a valid text.
  const std::string huge_dom = [] {  // 96 MiB of empty objects: 32M x (16 + 64) B = 2.4 GiB parsed > 2 GiB
    std::string s = "[";
    s.reserve(3u << 25);
    for (int i = 0; i < (1 << 25); ++i) s.append(i ? ",{}" : "{}");
    return s + "]";
  }();
  const std::string huge_parsed = write_file(in_dir, "huge_parsed.json", huge_dom);
  auto variants = [&](const Format& f) {
    std::map<std::string, std::string> v;
    v["empty"] = "";
    v["truncated"] = f.valid.substr(0, f.valid.size() / 2);
    if (f.xml) {
      std::string deep = "<system version=\"1\"><cpu numaid=\"0\">";
      for (int i = 0; i < 20000; ++i) deep += "<pci busid=\"0000:00:00.0\" class=\"0x060400\">";
      for (int i = 0; i < 20000; ++i) deep += "</pci>";
      v["deep"] = deep + "</cpu></system>";
      v["nan"] = replace_first(f.valid, "sm=\"90\"", "sm=\"nan\"");
      v["duplicate"] = replace_first(f.valid, "<gpu dev=\"0\"", "<gpu dev=\"0\" dev=\"1\"");
      v["mismatched"] = replace_first(f.valid, "</gpu>", "</pci>");
    } else {
      v["deep"] = "{\"x\": " + std::string(100000, '[') + std::string(100000, ']') + "}";
      // The first number after a key: replaced by NaN (not JSON; what a careless writer emits).
      const std::size_t digit = f.valid.find_first_of("0123456789", f.valid.find(':'));
      REQUIRE(digit != std::string::npos);
      const std::size_t after = f.valid.find_first_not_of("0123456789.e+-", digit);
      v["nan"] = f.valid.substr(0, digit) + "NaN" + (after == std::string::npos ? "" : f.valid.substr(after));
      const std::size_t brace = f.valid.find('{');
      const std::size_t end = f.valid.find(',', brace);
      v["duplicate"] = f.valid.substr(0, end + 1) + f.valid.substr(brace + 1, end - brace) + f.valid.substr(end + 1);
      v["huge_parsed"] = "";  // written once, below: the same file for every JSON format
    }
    return v;
  };

  // Shipped inputs the commands read: none may change.
  const std::vector<std::string> shipped = {kTopo2, kPhiModel, kPhiLoads, inputs + "/tiny_scenario.json"};
  std::map<std::string, std::uint64_t> shipped_sums;
  for (const std::string& f : shipped) shipped_sums[f] = checksum(f);

  int runs = 0, case_no = 0;
  double slowest = 0;
  long largest = 0;
  auto check_run = [&](const Format& f, const std::string& variant, std::vector<std::string> cmd, const std::string& input,
                       bool output_is_input) {
    const std::string out = output_is_input ? input : out_dir + "/out" + std::to_string(++case_no) + ".json";
    for (std::string& a : cmd) {
      if (a == "{}") a = input;
      if (a == "{out}") a = out;
    }
    const std::uint64_t before = checksum(input);
    const Run r = run_measured(cmd, dir);
    ++runs;
    slowest = std::max(slowest, r.seconds);
    largest = std::max(largest, r.max_rss_kb);
    std::string line;
    for (const std::string& a : cmd) line += a + " ";
    INFO(f.name << " / " << variant << ": " << line << "-> exit " << r.exit_code << ", signal " << r.signal << ", "
                << r.seconds << " s, " << r.max_rss_kb << " KB; stderr: " << slurp(dir + "/stderr.txt"));
    CHECK(r.signal == 0);
    CHECK((r.exit_code == 0 || r.exit_code == 1 || r.exit_code == 2));
    CHECK(r.seconds < kMaxSeconds);
    CHECK(r.max_rss_kb < kMaxRssKb);
    CHECK(checksum(input) == before);
    if (output_is_input) CHECK(r.exit_code == 2);
    if (r.exit_code != 0 && !output_is_input) CHECK_FALSE(std::filesystem::exists(out));
    for (const auto& e : std::filesystem::directory_iterator(out_dir)) {
      const std::string name = e.path().filename().string();
      CHECK(name.find(".tmp") == std::string::npos);  // no temporary file left behind
    }
    if (!output_is_input) std::filesystem::remove_all(out);
  };

  for (const Format& f : formats) {
    std::map<std::string, std::string> v = variants(f);
    const std::string ext = f.xml ? ".xml" : ".json";
    for (const auto& [variant, text] : v) {
      const std::string input =
          variant == "huge_parsed" ? huge_parsed : write_file(in_dir, f.name + "_" + variant + ext, text);
      for (const auto& cmd : f.commands) check_run(f, variant, cmd, input, false);
    }
    // Over the size cap: a sparse file of 600 MB, refused by its size before it is read.
    const std::string huge = in_dir + "/" + f.name + "_huge" + ext;
    { std::ofstream(huge) << (f.xml ? "<system>" : "{\"a\": [0"); }
    std::filesystem::resize_file(huge, 600ull << 20);
    for (const auto& cmd : f.commands) check_run(f, "huge", cmd, huge, false);
    std::filesystem::remove(huge);
    // Output = input: each command that writes, pointed at its own (valid) input.
    const std::string valid = write_file(in_dir, f.name + "_valid" + ext, f.valid);
    for (const auto& cmd : f.commands)
      if (std::find(cmd.begin(), cmd.end(), "{out}") != cmd.end()) check_run(f, "output=input", cmd, valid, true);
  }
  for (const auto& [file, sum] : shipped_sums) CHECK(checksum(file) == sum);
  WARN("bad-input sweep: " << runs << " runs, slowest " << slowest << " s, largest " << largest / 1024 << " MiB resident");
  CHECK(runs > 100);
}
