#include "cli/cli_checks.hpp"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/token_count.hpp"

namespace epsim::cli {

bool is_decimal_number_text(std::string_view s) {
  // [+-] digits [. digits] [(e|E) [+-] digits], at least one mantissa digit; strtod checks the rest.
  bool digit = false;
  for (char c : s) {
    if (std::isdigit(static_cast<unsigned char>(c))) digit = true;
    else if (c != '.' && c != 'e' && c != 'E' && c != '+' && c != '-') return false;
  }
  return digit;
}

bool is_hex_number_text(std::string_view s) {
  const std::size_t at = !s.empty() && (s[0] == '-' || s[0] == '+') ? 1 : 0;
  return s.size() > at + 1 && s[at] == '0' && (s[at + 1] == 'x' || s[at + 1] == 'X');
}

namespace {

// The number in `s`, or NaN when `s` is not one number.
double parse_number(const std::string& s) {
  if (s.empty() || is_hex_number_text(s)) return std::nan("");
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return std::nan("");
  return v;
}

bool same_file(const std::filesystem::path& a, const std::filesystem::path& b) {
  std::error_code ec;
  if (std::filesystem::exists(a, ec) && std::filesystem::exists(b, ec)) {
    const bool eq = std::filesystem::equivalent(a, b, ec);
    if (!ec) return eq;
  }
  return resolve_output_path(a) == resolve_output_path(b);
}

}  // namespace

// Its name lets refuse_empty_values leave path options to it ("an empty path" says more).
constexpr const char* kNonEmptyPathValidator = "non-empty path";

const CLI::Validator& non_empty_path() {
  static const CLI::Validator v = CLI::Validator(
      [](std::string& s) { return s.empty() ? std::string("an empty path") : std::string(); }, "PATH")
                                      .name(kNonEmptyPathValidator);
  return v;
}

const CLI::Validator& finite_positive() {
  static const CLI::Validator v(
      [](std::string& s) {
        const double x = parse_number(s);
        return std::isfinite(x) && x > 0 ? std::string() : fmt::format("{}: expected a finite number > 0", s);
      },
      "");
  return v;
}

const CLI::Validator& token_count() {
  static const CLI::Validator v(
      [](std::string& s) {
        return is_valid_token_count(parse_number(s)) ? std::string() : fmt::format("{}: expected {}", s, token_count_expected());
      },
      "");
  return v;
}

const CLI::Validator& token_count_or_zero() {
  static const CLI::Validator v(
      [](std::string& s) {
        const double x = parse_number(s);
        return x == 0 || is_valid_token_count(x)
                   ? std::string()
                   : fmt::format("{}: expected 0 (the loads' counts as they are) or {}", s, token_count_expected());
      },
      "");
  return v;
}

const CLI::Validator& finite_non_negative() {
  static const CLI::Validator v(
      [](std::string& s) {
        const double x = parse_number(s);
        return std::isfinite(x) && x >= 0 ? std::string() : fmt::format("{}: expected a finite number >= 0", s);
      },
      "");
  return v;
}

CLI::Validator whole_number_in(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& s) {
        const double x = parse_number(s);
        return x >= lo && x <= hi && x == std::floor(x) ? std::string()
                                                        : fmt::format("{}: expected a whole number in [{}, {}]", s, lo, hi);
      },
      "");
}

const CLI::Validator& non_negative_integer() {
  static const CLI::Validator v(
      [](std::string& s) {
        bool digits = !s.empty();
        for (char c : s) digits &= std::isdigit(static_cast<unsigned char>(c)) != 0;
        return digits ? std::string() : fmt::format("{}: expected an integer >= 0", s);
      },
      "");
  return v;
}

void refuse_empty_values(CLI::App& app) {
  static const CLI::Validator not_empty(
      [](std::string& s) { return s.empty() ? std::string("an empty value; expected one") : std::string(); }, "");
  static const CLI::Validator whole_decimal(
      [](std::string& s) {
        if (s.empty()) return std::string();  // not_empty names it
        const std::size_t start = s[0] == '-' || s[0] == '+' ? 1 : 0;
        bool digits = s.size() > start;
        for (std::size_t i = start; i < s.size(); ++i) digits &= std::isdigit(static_cast<unsigned char>(s[i])) != 0;
        return digits ? std::string() : fmt::format("'{}': expected a whole number in decimal digits", s);
      },
      "");
  static const CLI::Validator decimal_number(
      [](std::string& s) {
        if (!is_hex_number_text(s)) return std::string();  // CLI11's conversion and the option's checks say the rest
        return fmt::format("'{}': expected a number in decimal notation (e.g. 8388608, 0.5 or 8.4e6)", s);
      },
      "");
  // transform, not check: CLI11 runs a transform before the option's other validators, so `--ep ''` says
  // "an empty value", not the range check's "Value  not in range 1 to ...".
  for (CLI::Option* opt : app.get_options([](const CLI::Option* o) { return o->get_type_size_max() > 0; })) {
    try {
      opt->get_validator(kNonEmptyPathValidator);
      continue;  // a path option: non_empty_path refuses "" itself
    } catch (const CLI::OptionNotFound&) {
    }
    opt->transform(not_empty);
    // Whole-number options: decimal digits only. CLI11 would read "0x10" as 16 and "1e3" as 1000, and
    // say "Value 16abc not in range" of a word.
    const std::string type = opt->get_type_name();  // "INT", or "INT:INT in [1 - 2147483647]" with a check
    const std::string base = type.substr(0, type.find(':'));
    if (base == "INT" || base == "UINT") opt->transform(whole_decimal);
    // Real-number options: no hexadecimal (strtod reads "0x10" as 16).
    if (base == "FLOAT") opt->transform(decimal_number);
  }
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) refuse_empty_values(*sub);
}

void check_output_paths(const std::vector<PathArg>& inputs, const std::vector<PathArg>& outputs) {
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const PathArg& out = outputs[i];
    if (out.path.empty()) continue;
    for (const PathArg& in : inputs)
      if (!in.path.empty() && same_file(out.path, in.path))
        throw UsageError(fmt::format("{} {} is the input {} ({}): refusing to overwrite an input; write to another file",
                                     out.flag, out.path, in.flag, in.path));
    for (std::size_t j = 0; j < i; ++j)
      if (!outputs[j].path.empty() && same_file(out.path, outputs[j].path))
        throw UsageError(fmt::format("{} and {} name the same file ({}): one output would replace the other",
                                     outputs[j].flag, out.flag, out.path));
  }
}

}  // namespace epsim::cli
