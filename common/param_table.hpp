#pragma once
// A parameter table: every field of a JSON input format declared once (JSON pointer, type or choices,
// unit, default, one line of meaning, range), from which come the format's validation, its typed
// defaults, the `epsim schema` listing, the generated tables of docs/formats.md, the sweep's axes and
// the CLI overrides (cli/ maps a field's alias to a flag).
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/json_input.hpp"

namespace epsim {

/// What a field's value must be.
enum class ParamType {
  object,          ///< a JSON object whose members are the table's fields below this pointer
  string,          ///< any non-empty string
  path,            ///< a non-empty file path (relative to the file that holds it)
  path_or_object,  ///< a file path, or an object whose members are the fields below this pointer
  choice,          ///< one of `choices`
  integer,         ///< an integer in [min, max]
  number,          ///< a finite number in [min, max] (min excluded when min_exclusive)
  boolean,         ///< true or false
  constant,        ///< exactly the string `choices[0]` (a schema id)
};

/// One field. Strings are owned so that tables can be built from the names lists of each concept.
struct ParamSpec {
  std::string pointer;   ///< RFC 6901 pointer, e.g. "/parallel/dp"
  ParamType type = ParamType::string;
  std::string unit;      ///< "GPUs", "tokens", "GB/s", ... ("" when none)
  Json default_value;    ///< the default when absent (null: no fixed default, see default_note)
  std::string default_note;  ///< a computed default in words ("dp x tp / expert_tp"); "" when fixed or none
  std::string meaning;   ///< one line
  std::vector<std::string> choices;  ///< ParamType::choice / constant
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  bool min_exclusive = false;
  bool required = false;  ///< required whenever its parent object is present
  /// Only allowed when the field at `when_pointer` (or its default) is one of `when_values`.
  std::string when_pointer;
  std::vector<std::string> when_values;
  /// Short name: the sweep axis and the CLI override that set this field ("" = none).
  std::string alias;
};

using ParamTable = std::span<const ParamSpec>;

/// The entry at `pointer`, or nullptr.
const ParamSpec* find_param(ParamTable table, std::string_view pointer);
/// The entry whose alias is `alias`, or nullptr.
const ParamSpec* find_param_alias(ParamTable table, std::string_view alias);

/// Check one value against its entry (type, choices, range); throws InputError at `at`.
void check_param_value(const ParamSpec& spec, const JsonCursor& at);

/// Check a whole document: every member of every object the table declares is a field of the table
/// (unknown keys rejected with the known ones listed), every present field has the right type,
/// choice and range, required fields are present when their parent is, and conditional fields appear
/// only when their condition holds. Throws InputError naming `file` and the JSON pointer (prefixed
/// with `at` when the document sits inside another, e.g. "/base" of a sweep spec).
void check_document(const Json& doc, const std::string& file, ParamTable table, const std::string& at = "");

/// The value of `pointer` in `doc`, or the table's default for it (null when it has none).
/// Throws std::logic_error when the pointer is not in the table (a programming error).
Json param_or_default(const Json& doc, ParamTable table, std::string_view pointer);

/// The type of an entry in words ("integer in [1, 1024]", "one of serial, overlap, two-batch").
std::string param_type_text(const ParamSpec& spec);
/// The default of an entry in words ("4", "analytical", "required", "none", or its note).
std::string param_default_text(const ParamSpec& spec);

/// A plain-text table (pointer, type, unit, default, meaning), one line per field.
std::string param_table_text(ParamTable table);
/// The same as a Markdown table (what docs/formats.md embeds between generated-table markers).
std::string param_table_markdown(ParamTable table);
/// The same as a JSON array of {pointer, type, choices?, min?, max?, unit, default, meaning, alias?, when?}.
Json param_table_json(ParamTable table);

}  // namespace epsim
