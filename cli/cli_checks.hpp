#pragma once
// Checks every command applies to its command line: value validators for CLI11 options (a path that is
// not empty, a finite positive number, a non-negative integer that cannot wrap) and the output-path
// rules (no output is an input, no two outputs are one file; docs/limits.md "Outputs").
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

namespace epsim::cli {

/// Whether `s` is written as a decimal number ([+-] digits [. digits] [e [+-] digits]): what a --set number
/// field takes. strtod alone also reads "0x10", "inf" and "nan".
bool is_decimal_number_text(std::string_view s);
/// Whether `s` is a hexadecimal number ("0x10", "-0X1p3"), which strtod reads and every number option refuses.
bool is_hex_number_text(std::string_view s);

/// A path given on the command line must not be empty (`--out ''`).
const CLI::Validator& non_empty_path();
/// A finite number > 0 (refuses nan, inf, 0, negatives).
const CLI::Validator& finite_positive();
/// A finite number >= 0.
const CLI::Validator& finite_non_negative();
/// A whole number in [lo, hi] (refuses fractions, nan, inf and values outside), for sizes given as
/// doubles (e.g. GEMM dimensions up to cuBLAS's int range).
CLI::Validator whole_number_in(double lo, double hi);
/// Digits only: refuses "-1", which CLI11 would wrap to 2^64 - 1 for an unsigned option.
const CLI::Validator& non_negative_integer();
/// A token count a user gives (--tokens-per-gpu): common/token_count.hpp's one rule, [1, 1e15].
const CLI::Validator& token_count();
/// The same, or 0: "rescale nothing, use the loads' counts as they are" (plan, rebalance, evaluate).
const CLI::Validator& token_count_or_zero();

/// Adds to every option of `app` and its subcommands that takes a value a check refusing an empty one
/// (`--bytes ''`): CLI11 otherwise converts "" to the type's zero, so a number option read 0 and a path
/// option named the current directory. Flags (no value) are left alone.
void refuse_empty_values(CLI::App& app);

/// A path argument and the flag (or argument name) that gave it, for messages.
struct PathArg {
  std::string flag;
  std::string path;  ///< empty: not given (skipped)
};

/// Throws UsageError when an output resolves (symlinks followed; hard links compared by file identity)
/// to one of the inputs ("--out x.json is the input --loads"), or two outputs resolve to one file
/// ("--out and --export name the same file"). Outputs that do not exist yet are compared by their
/// resolved path.
void check_output_paths(const std::vector<PathArg>& inputs, const std::vector<PathArg>& outputs);

}  // namespace epsim::cli
