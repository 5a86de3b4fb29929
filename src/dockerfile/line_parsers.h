// Internal: the per-instruction argument rules of the reference parser (its "line parsers"),
// the builder-flag extractor, and the strict JSON array reader behind exec form.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dockerfile/parser.h"

namespace bonsai::dockerfile::detail {

struct SplitLine {
  std::string cmd;                 // first word as written
  std::vector<std::string> flags;  // leading --flags
  std::string args;                // the rest, trimmed
};
// Splits "RUN --mount=x echo hi" into the instruction, its flags and the rest.
SplitLine split_command(std::string_view line);

// Words separated by white space; quotes and escapes are kept in the words (ENV, LABEL, ARG).
std::vector<std::string> parse_words(std::string_view rest, char escape);

enum class JsonStatus { kOk, kNotJson, kNotStrings };
// Reads `rest` as a JSON array of strings with Go's encoding/json rules (strict grammar,
// trailing text forbidden, invalid UTF-8 becomes U+FFFD).
JsonStatus parse_json_array(std::string_view rest, std::vector<std::string>& out);

// Fills node.args / node.json / node.sub from the text after the flags, according to the
// instruction in node.value. Returns an error message when the arguments are malformed.
std::optional<std::string> parse_arguments(Node& node, std::string_view rest, char escape,
                                           int depth = 0);

// Builds a node from one logical line (also used for ONBUILD's nested instruction).
std::optional<std::string> node_from_line(Node& node, std::string_view line, char escape,
                                          int depth = 0);

// ONBUILD may nest only this deep in the syntax tree (the instruction layer forbids any nesting).
inline constexpr int kMaxOnbuildDepth = 16;

}  // namespace bonsai::dockerfile::detail
