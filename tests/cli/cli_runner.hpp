#pragma once
// Runs the epsim executable for golden tests: captures stdout, stderr and the exit code.
#include <string>

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// Run `epsim <args>` (args are passed to /bin/sh; quote accordingly).
CliResult run_epsim(const std::string& args);
/// Whole file as a string ("" when missing).
std::string slurp(const std::string& path);
/// A fresh empty temporary folder for one test.
std::string fresh_temp_dir(const std::string& name);
