// Wall and CPU time of the speed targets of issue 13, as whole `epsim` commands, for this build and a
// baseline binary in the same run, alternating, best of N each:
//   simulate:  epsim simulate --scenario scenarios/deepseek-v3/prefill-ep256.json  (target < 1 s wall)
//   plan:      epsim plan ... DeepSeek-V3 prefill_in4096, 58 MoE layers, EP 256, 256 redundant slots
//              on dgx-h100-32node                                                   (target < 2 s wall)
//   calibrate: epsim calibrate on the AWS p5 all_reduce nccl-tests csv (45 rows at 2-32 nodes: the joint
//              network fit through the collective model; docs/limits.md)          (target < 5 s wall)
// Each run is a child process (fork + exec, output to /dev/null); wall = steady clock around it,
// user / sys = the child's rusage. The baseline runs the same arguments (a binary without -j for
// simulate gets none).
// Usage: bench_cli_speed EPSIM [BASELINE_EPSIM] [runs=5]
#include <sys/resource.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

struct Times {
  double wall_s = 0, user_s = 0, sys_s = 0;
  int exit_code = 0;
};

Times run_once(const std::string& exe, const std::vector<std::string>& args) {
  std::vector<char*> argv{const_cast<char*>(exe.c_str())};
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execv(exe.c_str(), argv.data());
    _exit(127);
  }
  Times t;
  int status = 0;
  rusage u{};
  wait4(pid, &status, 0, &u);
  t.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  t.user_s = static_cast<double>(u.ru_utime.tv_sec) + static_cast<double>(u.ru_utime.tv_usec) * 1e-6;
  t.sys_s = static_cast<double>(u.ru_stime.tv_sec) + static_cast<double>(u.ru_stime.tv_usec) * 1e-6;
  t.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  return t;
}

Times best(const std::vector<Times>& runs) {
  return *std::min_element(runs.begin(), runs.end(), [](const Times& a, const Times& b) { return a.wall_s < b.wall_s; });
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_cli_speed EPSIM [BASELINE_EPSIM] [runs=5]\n");
    return 2;
  }
  const std::string epsim = argv[1];
  const std::string baseline = argc > 2 ? argv[2] : "";
  const int runs = argc > 3 ? std::max(1, std::atoi(argv[3])) : 5;
  const std::string dir = EPSIM_SCENARIOS_DIR;
  const std::string calibration_out =
      (std::filesystem::temp_directory_path() / ("bench_cli_speed_" + std::to_string(::getpid()) + ".json")).string();
  struct Command {
    const char* name;
    double target_s;
    std::vector<std::string> args;
  };
  const std::vector<Command> commands{
      {"simulate EP 256 prefill", 1.0, {"simulate", "--scenario", dir + "/deepseek-v3/prefill-ep256.json"}},
      {"plan EP 256, 58 layers", 2.0,
       {"plan", "--topology", dir + "/topologies/dgx-h100-32node.json", "--loads",
        dir + "/loads/deepseek-v3/prefill_in4096.json", "--model", dir + "/models/deepseek-v3.config.json", "--ep",
        "256", "--redundant", "256"}},
      {"calibrate AWS all_reduce", 5.0,
       {"calibrate", dir + "/measurements/nccl_tests/aws_p5_all_reduce_2to32nodes.csv", "--gpu", "H100", "--network",
        "ethernet", "--out", calibration_out}},
  };
  std::printf("best of %d runs (by wall), alternating with the baseline; wall / user / sys seconds\n\n", runs);
  std::printf("%-26s %8s %8s %8s | %8s %8s %8s | %10s %10s | %s\n", "command", "wall", "user", "sys", "base wall",
              "user", "sys", "wall/base", "cpu/base", "target");
  int failed = 0;
  for (const Command& c : commands) {
    std::vector<Times> mine, base;
    for (int i = 0; i < runs; ++i) {
      mine.push_back(run_once(epsim, c.args));
      if (!baseline.empty()) base.push_back(run_once(baseline, c.args));
    }
    const Times m = best(mine);
    if (m.exit_code != 0) {
      std::printf("%-26s exit code %d\n", c.name, m.exit_code);
      ++failed;
      continue;
    }
    std::printf("%-26s %8.3f %8.3f %8.3f |", c.name, m.wall_s, m.user_s, m.sys_s);
    if (!base.empty()) {
      const Times b = best(base);
      std::printf(" %8.3f %8.3f %8.3f | %10.3f %10.3f |", b.wall_s, b.user_s, b.sys_s, m.wall_s / b.wall_s,
                  (m.user_s + m.sys_s) / (b.user_s + b.sys_s));
    } else {
      std::printf(" %8s %8s %8s | %10s %10s |", "-", "-", "-", "-", "-");
    }
    std::printf(" < %.0f s: %s\n", c.target_s, m.wall_s < c.target_s ? "met" : "NOT met");
  }
  std::filesystem::remove(calibration_out);
  return failed == 0 ? 0 : 1;
}
