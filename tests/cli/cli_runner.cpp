#include "cli_runner.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string fresh_temp_dir(const std::string& name) {
  // The pid keeps test processes that ctest runs in parallel apart.
  auto dir = std::filesystem::temp_directory_path() / ("epsim_cli_" + std::to_string(::getpid()) + "_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

CliResult run_epsim(const std::string& args) {
  static int counter = 0;  // test-local file names only; tests run single-threaded
  std::string dir = fresh_temp_dir("run" + std::to_string(++counter));
  std::string out = dir + "/out.txt", err = dir + "/err.txt";
  std::string cmd = std::string(EPSIM_BIN) + " " + args + " >" + out + " 2>" + err;
  int status = std::system(cmd.c_str());
  CliResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  std::filesystem::remove_all(dir);
  return r;
}
