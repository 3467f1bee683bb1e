// The epsim command: the only place that turns exceptions into exit codes
// (0 success, 1 invalid input, 2 usage error, 3 internal error).
#include <cstdio>
#include <exception>
#include <iostream>
#include <system_error>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/cli_checks.hpp"
#include "cli/commands.hpp"
#include "common/error.hpp"

namespace {

// The first word where a subcommand is expected that names none ("epsim foo", "epsim topo shwo"), as a
// message naming it and the commands there are; empty when every such word is a command (CLI11 alone
// would say "A subcommand is required").
std::string unknown_subcommand(CLI::App& app, int argc, char** argv) {
  CLI::App* level = &app;
  std::string path = "epsim";
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word.empty() || word[0] == '-') return {};  // an option: CLI11's own messages
    std::vector<std::string> names;
    CLI::App* next = nullptr;
    for (CLI::App* sub : level->get_subcommands([](CLI::App*) { return true; })) {
      names.push_back(sub->get_name());
      if (sub->get_name() == word) next = sub;
    }
    if (names.empty()) return {};  // this level takes arguments, not commands
    if (!next) return fmt::format("{}: unknown command '{}' (expected one of: {})", path, word, fmt::join(names, ", "));
    level = next;
    path += " " + word;
  }
  return {};
}

// A message with every run of more than 256 non-blank characters clipped (common/error.hpp
// echo_for_message): a 100 KB argument echoed by any option's check or reader stays one line.
std::string clipped(const std::string& message) {
  std::string out;
  std::size_t i = 0;
  while (i < message.size()) {
    const std::size_t end = message.find_first_of(" \t\n", i);
    const std::size_t stop = end == std::string::npos ? message.size() : end;
    out += epsim::echo_for_message(message.substr(i, stop - i), 256);
    if (stop < message.size()) out += message[stop];
    i = stop + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"epsim: plan and simulate expert parallelism of MoE models on GPU clusters"};
  app.set_version_flag("--version", std::string("epsim ") + EPSIM_VERSION);
  app.require_subcommand(1);
  app.allow_extras(false);
  epsim::cli::add_plan_command(app);
  epsim::cli::add_evaluate_command(app);
  epsim::cli::add_rebalance_command(app);
  epsim::cli::add_topo_commands(app);
  epsim::cli::add_calibrate_commands(app);
  epsim::cli::add_sweep_commands(app);
  epsim::cli::add_simulate_command(app);
  epsim::cli::add_trace_commands(app);
  epsim::cli::add_schema_commands(app);
  epsim::cli::add_predict_command(app);
  epsim::cli::refuse_empty_values(app);
  if (std::string unknown = unknown_subcommand(app, argc, argv); !unknown.empty()) {
    fmt::print(stderr, "{}\nRun with --help for more information.\n", clipped(unknown));
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ConversionError& e) {
    // CLI11's "Could not convert: --bytes = 8M": say what a number is here (a trial typed 8M for NCCL_BUFFSIZE).
    fmt::print(stderr,
               "epsim: usage error: {}: expected a number in decimal digits (e.g. 8388608 or 8.4e6); unit suffixes "
               "such as K, M, G are not read\nRun with --help for more information.\n",
               clipped(e.what()));
    return 2;
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    // CLI11's own failure text (app.exit's), its echo of the argument clipped; every usage error prefixed alike.
    fmt::print(stderr, "epsim: usage error: {}\nRun with --help for more information.\n", clipped(e.what()));
    return 2;
  } catch (const epsim::SettingError& e) {
    // The setting's flag: "--" + its name with '_' written '-' (every command names its flags so).
    std::string flag = "--" + e.setting();
    for (char& c : flag)
      if (c == '_') c = '-';
    fmt::print(stderr, "epsim: {}: {} {}: {}\n", e.conflicts_with_input() ? "error" : "usage error", flag,
               clipped(e.value()), clipped(e.expected()));
    return e.conflicts_with_input() ? 1 : 2;
  } catch (const epsim::UsageError& e) {
    fmt::print(stderr, "epsim: usage error: {}\n", clipped(e.what()));
    return 2;
  } catch (const epsim::InputError& e) {
    fmt::print(stderr, "epsim: error: {}\n", clipped(e.what()));
    return 1;
  } catch (const std::system_error& e) {
    // fmt's failed write to standard output (a full disk, /dev/full, a closed pipe): the environment's
    // fault, not epsim's.
    fmt::print(stderr, "epsim: error: writing standard output: {}\n", clipped(e.what()));
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "epsim: internal error: {}\n", clipped(e.what()));
    return 3;
  }
  // What is still buffered must reach its destination too: a run whose output was lost did not succeed.
  std::cout.flush();
  if (std::fflush(stdout) != 0 || std::ferror(stdout) || !std::cout) {
    fmt::print(stderr, "epsim: error: writing standard output failed: the output is incomplete\n");
    return 1;
  }
  return 0;
}
