#pragma once
// Command-line overrides of scenario fields: one flag per aliased field of the scenario's parameter
// table (--schedule, --network, --nic-GBps, ...) and --set POINTER=VALUE for any field. The flags
// come from the table, so a new field with an alias gets its flag without code here.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/json_input.hpp"

namespace epsim::cli {

/// The override flags of one command: register them on a subcommand, then apply what was given.
class ScenarioOverrides {
 public:
  /// Add a flag per aliased scalar field of the scenario table (name: "--" + alias with '_' -> '-')
  /// and a repeatable --set POINTER=VALUE.
  void add_flags(CLI::App& command);
  /// True when any override was given.
  bool any() const;
  /// Write the given overrides into `doc` (a scenario document). Each value is checked against its
  /// field first; a path is taken relative to the working directory. Throws UsageError naming the
  /// flag for an unknown pointer, a value of the wrong type, or a value the field rejects.
  void apply(Json& doc) const;
  /// The overrides as given ("--schedule serial, --set /chunks=8"), for messages.
  std::string describe() const;
  /// The fields the overrides set: JSON pointer -> the flag that set it ("--calibration", "--set
  /// /calibration=..."), for Scenario::set_by (errors on a file then name the flag, not the scenario).
  std::map<std::string, std::string> flags_by_pointer() const;

 private:
  struct Flag {
    std::string pointer;
    std::string name;  ///< "--schedule"
    CLI::Option* option = nullptr;
    std::string value;
  };
  std::vector<std::unique_ptr<Flag>> flags_;
  std::vector<std::string> sets_;
};

}  // namespace epsim::cli
