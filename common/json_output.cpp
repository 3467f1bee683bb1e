#include "common/json_output.hpp"

#include <cmath>
#include <stdexcept>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace epsim {

namespace {

bool non_finite(const Json& j) { return j.is_number_float() && !std::isfinite(j.get<double>()); }

// True when any number under `doc` is inf or NaN. Iterative: no recursion on the document's depth.
bool any_non_finite(const Json& doc) {
  std::vector<const Json*> stack{&doc};
  while (!stack.empty()) {
    const Json* node = stack.back();
    stack.pop_back();
    if (non_finite(*node)) return true;
    if (node->is_structured())
      for (const Json& child : *node) stack.push_back(&child);
  }
  return false;
}

// The JSON pointer of the first inf or NaN (only called when there is one: builds pointer strings).
std::string first_non_finite(const Json& doc) {
  std::vector<std::pair<const Json*, std::string>> stack{{&doc, ""}};
  while (!stack.empty()) {
    auto [node, pointer] = std::move(stack.back());
    stack.pop_back();
    if (non_finite(*node)) return pointer.empty() ? "/" : pointer;
    if (node->is_object())
      for (auto it = node->begin(); it != node->end(); ++it)
        stack.emplace_back(&it.value(), pointer + "/" + json_pointer_escape(it.key()));
    else if (node->is_array())
      for (std::size_t i = 0; i < node->size(); ++i) stack.emplace_back(&(*node)[i], pointer + "/" + std::to_string(i));
  }
  return "/";
}

}  // namespace

std::string json_output_text(const Json& doc, int indent, const std::string& what) {
  if (any_non_finite(doc))
    throw std::logic_error(fmt::format("{} would hold inf or NaN at {} (written as null): a bug, please report it", what,
                                       first_non_finite(doc)));
  return doc.dump(indent) + "\n";
}

double round_significant(double v, int digits) {
  if (v == 0 || !std::isfinite(v)) return v;
  const double scale = std::pow(10.0, digits - 1 - static_cast<int>(std::floor(std::log10(std::fabs(v)))));
  return std::round(v * scale) / scale;
}

double round_decimals(double v, int decimals) {
  const double scale = std::pow(10.0, decimals);
  return std::round(v * scale) / scale;
}

}  // namespace epsim
