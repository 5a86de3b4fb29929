// Debian control files (deb822): the paragraphs of Packages indexes, Release files, a .deb's
// control file and dpkg's status database. See docs/debian.md.
//
// A paragraph is a run of "Name: value" fields ended by a blank line. A line starting with a
// space or tab continues the previous field (its text is kept as written, after the newline, so
// multi-line fields such as Description and SHA256 come back exactly). Lines starting with '#'
// are comments. Field names are matched case-insensitively, as dpkg does.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace bonsai::debian {

using util::Result;
using util::Status;

struct Field {
  std::string name;
  std::string value;  // first line's text after "Name:" trimmed; continuation lines joined by '\n'
  int line = 0;       // 1-based line of the field name in the source
};

struct Paragraph {
  std::vector<Field> fields;
  int line = 0;  // 1-based line of the first field

  // The value of a field (case-insensitive name), or nullptr.
  const std::string* get(std::string_view name) const;
  std::string get_or(std::string_view name, std::string_view fallback = {}) const;
  // Writes the paragraph back in deb822 form (fields in order, continuation lines indented by a
  // space), ending with a newline but no blank line. Round-trips what for_each_paragraph read.
  std::string to_string() const;
};

// Calls fn for each paragraph of `text` in order; stops at fn's first error. `source` names the
// text in errors ("Packages (bookworm main amd64): line 12: field without a name").
// A malformed line (no colon, a continuation before any field, an empty field name) or a field
// repeated within a paragraph is a kCorrupt error naming source and line.
Status for_each_paragraph(std::string_view text, std::string_view source,
                          const std::function<Status(Paragraph&&)>& fn);

// All paragraphs at once.
Result<std::vector<Paragraph>> parse_control(std::string_view text, std::string_view source);

}  // namespace bonsai::debian
