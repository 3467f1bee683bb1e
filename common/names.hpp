#pragma once
// Enumerations named by one list of strings (listed in enum order): the list is what parsers, help
// texts, the parameter tables and the docs show, so a name exists once.
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace epsim {

/// "a, b or c" (for messages).
inline std::string names_text(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i];
  }
  return out;
}

/// The enumerator whose name is `name` (`names` in enum order). Throws std::invalid_argument
/// "unknown <what> '<name>' (expected a, b or c)".
template <class E>
E enum_from_name(std::string_view name, const std::vector<std::string>& names, std::string_view what) {
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<E>(i);
  throw std::invalid_argument("unknown " + std::string(what) + " '" + std::string(name) + "' (expected " +
                              names_text(names) + ")");
}

/// The name of an enumerator (`names` in enum order).
template <class E>
std::string_view name_of(E value, const std::vector<std::string>& names) {
  return names.at(static_cast<std::size_t>(value));
}

}  // namespace epsim
