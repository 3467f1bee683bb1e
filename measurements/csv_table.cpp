#include "measurements/csv_table.hpp"

#include <cmath>
#include <fstream>
#include <sstream>
#include <string_view>
#include <unordered_map>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/input_file.hpp"
#include "common/limits.hpp"

namespace epsim {
namespace {

std::string trim(std::string_view s) {
  const char* blanks = " \t\r\n";
  auto b = s.find_first_not_of(blanks);
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(blanks);
  return std::string(s.substr(b, e - b + 1));
}

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    auto comma = line.find(',', start);
    out.push_back(trim(std::string_view(line).substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace

std::size_t CsvTable::column(const std::string& name) const {
  for (std::size_t i = 0; i < columns.size(); ++i)
    if (columns[i] == name) return i;
  // Name the header's columns (at most 12) so that a renamed or misspelt column is seen at once.
  std::string have;
  for (std::size_t i = 0; i < columns.size() && i < 12; ++i) have += (i ? ", " : "") + columns[i];
  if (columns.size() > 12) have += fmt::format(", ... ({} in all)", columns.size());
  throw InputError(file, "", fmt::format("a CSV column named '{}', missing from the header (its columns: {})", name, have));
}

std::optional<double> parse_finite_number(const std::string& field) {
  // Decimal only: stod also reads hexadecimal ("0x19" = 25, "0x1p3" = 8), which no measured table writes.
  if (field.find_first_of("xX") != std::string::npos) return std::nullopt;
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(field, &used);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (used == 0 || used != field.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::string CsvTable::where(std::size_t r, std::size_t c) const {
  return fmt::format("line {}, column {}", line_numbers.at(r), columns.at(c));
}

double CsvTable::number(std::size_t r, std::size_t c) const {
  const std::string& s = rows.at(r).at(c);
  if (auto v = parse_finite_number(s)) return *v;
  throw InputError(file, where(r, c), fmt::format("a finite number, found '{}'", s));
}

double CsvTable::measured(std::size_t r, std::size_t c, bool zero_ok) const {
  const double v = number(r, c);
  if (!limits::is_measured_value(v, zero_ok))
    throw InputError(file, where(r, c),
                     fmt::format("a measured value in {}{}, found {}", zero_ok ? "0 or " : "", limits::kMeasuredValueRange, v));
  return v;
}

CsvTable parse_csv(const std::string& text, const std::string& file) {
  CsvTable t;
  t.file = file;
  // A UTF-8 byte order mark before the header (Excel's "CSV UTF-8") is not part of the first column's name.
  constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";
  std::istringstream in(text.starts_with(kUtf8Bom) ? text.substr(kUtf8Bom.size()) : text);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    std::string trimmed = trim(line);
    if (trimmed.empty() || trimmed.front() == '#') continue;
    auto fields = split(trimmed);
    if (t.columns.empty()) {
      // A column named twice: a reader would take the first silently. (A map: a header may be long.)
      std::unordered_map<std::string_view, std::size_t> seen;
      for (std::size_t i = 0; i < fields.size(); ++i)
        if (const auto [it, fresh] = seen.emplace(fields[i], i); !fresh)
          throw InputError(file, fmt::format("line {}", line_no),
                           fmt::format("a header naming each column once; '{}' is column {} and column {}", fields[i],
                                       it->second + 1, i + 1));
      t.columns = std::move(fields);
      continue;
    }
    if (fields.size() != t.columns.size())
      throw InputError(file, fmt::format("line {}", line_no),
                       fmt::format("{} comma-separated fields as in the header, found {}", t.columns.size(), fields.size()));
    t.rows.push_back(std::move(fields));
    t.line_numbers.push_back(line_no);
  }
  if (t.columns.empty()) throw InputError(file, "", "a CSV header line");
  return t;
}

CsvTable read_csv_file(const std::filesystem::path& path) {
  return parse_csv(read_input_file(path), path.string());
}

}  // namespace epsim
