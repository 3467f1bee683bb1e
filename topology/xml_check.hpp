#pragma once
// Well-formedness checks of an XML text before a tree is built from it: nesting depth (the property-tree
// reader and every walk over its tree recurse once per level) and closing tags that match their opening
// tags (the property-tree reader does not compare them, so `<pci></gpu>` would pass).
#include <string>
#include <string_view>

namespace epsim {

/// Scan `text` once. Throws InputError naming `file` and the line when elements nest deeper than
/// limits::kMaxXmlDepth, a closing tag does not match the element it closes, a closing tag has no
/// element to close, or an element is never closed. Comments, CDATA, processing instructions and
/// declarations are skipped; '>' inside quoted attribute values does not end a tag.
void check_xml_text(std::string_view text, const std::string& file);

}  // namespace epsim
