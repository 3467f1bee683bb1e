#pragma once
// A tiny reader for the measurement CSV files in scenarios/measurements/: '#' comment lines (the
// provenance header) are skipped, the first other line is the header, fields are comma-separated and
// trimmed of blanks. No quoting (the files have none).
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace epsim {

/// A parsed CSV table: column names and rows of string fields (each row has columns.size() fields).
struct CsvTable {
  std::string file;
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  std::vector<int> line_numbers;  ///< 1-based line of each row in the file, for error messages

  /// Index of a column; throws InputError naming the file when it is absent.
  std::size_t column(const std::string& name) const;
  /// "line L, column NAME" of row r, column c: where an InputError about that field points.
  std::string where(std::size_t r, std::size_t c) const;
  /// Field of row r, column c parsed as a finite number; throws InputError naming file, line, column.
  double number(std::size_t r, std::size_t c) const;
  /// Field of row r, column c as a measured quantity (a time in us or ms, a bandwidth in GB/s, an element
  /// count): within [limits::kMinMeasuredValue, kMaxMeasuredValue] = [1e-9, 1e12], 0 too with `zero_ok`
  /// (a phase a kernel may skip, e.g. DeepEP's notify). As for nccl-tests' text (times in (0, 1e12] us).
  /// Throws InputError naming file, line, column.
  double measured(std::size_t r, std::size_t c, bool zero_ok = false) const;
};

/// Parse a whole field as a finite number (std::stod, all characters used). std::nullopt when the
/// field is empty, has trailing characters, is hexadecimal, or is out of range, NaN or infinite. Shared by the CSV and
/// the nccl-tests readers.
std::optional<double> parse_finite_number(const std::string& field);

/// Parse CSV text; `file` is used in errors. Throws InputError when there is no header or a row has a
/// different number of fields than the header.
CsvTable parse_csv(const std::string& text, const std::string& file);
/// Read and parse a CSV file. Throws InputError when it cannot be read.
CsvTable read_csv_file(const std::filesystem::path& path);

}  // namespace epsim
