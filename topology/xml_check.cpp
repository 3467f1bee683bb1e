#include "topology/xml_check.hpp"

#include <algorithm>
#include <cstddef>
#include <vector>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/limits.hpp"

namespace epsim {

namespace {

bool name_char(char c) {
  return c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '>' && c != '/';
}

struct Open {
  std::string_view name;
  std::size_t line = 0;
};

}  // namespace

void check_xml_text(std::string_view text, const std::string& file) {
  std::vector<Open> stack;
  std::size_t line = 1;
  const std::size_t n = text.size();
  // Advance to just past `end` (counting lines); false when the text ends first.
  auto skip_past = [&](std::size_t& i, std::string_view end) {
    const std::size_t at = text.find(end, i);
    const std::size_t stop = at == std::string_view::npos ? n : at + end.size();
    for (; i < stop; ++i) line += text[i] == '\n';
    return at != std::string_view::npos;
  };
  auto fail = [&](const std::string& what) { throw InputError(file, "", fmt::format("{} (line {})", what, line)); };
  for (std::size_t i = 0; i < n;) {
    if (text[i] != '<') {
      line += text[i] == '\n';
      ++i;
      continue;
    }
    const std::string_view rest = text.substr(i);
    if (rest.starts_with("<!--")) {
      if (!skip_past(i, "-->")) fail("well-formed XML: a comment is not closed");
      continue;
    }
    if (rest.starts_with("<![CDATA[")) {
      if (!skip_past(i, "]]>")) fail("well-formed XML: a CDATA section is not closed");
      continue;
    }
    if (rest.starts_with("<?")) {
      if (!skip_past(i, "?>")) fail("well-formed XML: a processing instruction is not closed");
      continue;
    }
    if (rest.starts_with("<!")) {
      if (!skip_past(i, ">")) fail("well-formed XML: a declaration is not closed");
      continue;
    }
    const bool closing = rest.starts_with("</");
    std::size_t j = i + (closing ? 2 : 1);
    const std::size_t name_start = j;
    while (j < n && name_char(text[j])) ++j;
    const std::string_view name = text.substr(name_start, j - name_start);
    const std::size_t tag_line = line;
    // The rest of the tag: quoted attribute values may hold '>'. Each attribute name (the word before an
    // unquoted '=') may appear once: XML 1.0 "Unique Att Spec"; the property-tree reader would keep one.
    char quote = 0;
    bool self_closing = false;
    std::vector<std::string_view> attributes;
    for (; j < n; ++j) {
      const char c = text[j];
      line += c == '\n';
      if (quote) {
        if (c == quote) quote = 0;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '=') {
        std::size_t end = j;
        while (end > name_start && !name_char(text[end - 1])) --end;
        std::size_t begin = end;
        while (begin > name_start && name_char(text[begin - 1]) && text[begin - 1] != '"' && text[begin - 1] != '\'') --begin;
        const std::string_view attribute = text.substr(begin, end - begin);
        if (std::find(attributes.begin(), attributes.end(), attribute) != attributes.end())
          fail(fmt::format("well-formed XML: attribute {} appears twice on <{}>", attribute, name));
        attributes.push_back(attribute);
      } else if (c == '>') {
        self_closing = j > 0 && text[j - 1] == '/';
        break;
      }
    }
    if (j >= n) fail(fmt::format("well-formed XML: the tag <{}{}> is not closed", closing ? "/" : "", name));
    i = j + 1;
    if (closing) {
      if (stack.empty()) fail(fmt::format("well-formed XML: </{}> closes no open element", name));
      if (stack.back().name != name)
        fail(fmt::format("well-formed XML: </{}> does not match <{}> opened at line {}", name, stack.back().name,
                         stack.back().line));
      stack.pop_back();
    } else if (!self_closing) {
      stack.push_back(Open{name, tag_line});
      if (static_cast<int>(stack.size()) > limits::kMaxXmlDepth)
        fail(fmt::format("elements nested at most {} deep (an NCCL dump nests ~8; docs/limits.md); <{}> is deeper",
                         limits::kMaxXmlDepth, name));
    }
  }
  if (!stack.empty())
    throw InputError(file, "", fmt::format("well-formed XML: <{}> opened at line {} is not closed", stack.back().name,
                                           stack.back().line));
}

}  // namespace epsim
