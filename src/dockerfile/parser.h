// The Dockerfile syntax layer: parser directives, line continuations, comments, heredocs and the
// per-instruction argument rules, producing the same syntax tree as the reference parser
// (BuildKit's frontend/dockerfile/parser). Nothing here interprets what an instruction means;
// see instructions.h for that.
//
// The tree is one Node per instruction. A node keeps the instruction word as written, its
// --flags, its arguments (already split by the rules of that instruction: JSON or shell form,
// key/value triples for ENV and LABEL, and so on), and for ONBUILD the nested instruction.
// dump() renders the reference parser's s-expression form, used by the conformance tests and
// `bonsai debug parse`.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dockerfile/diagnostics.h"
#include "util/error.h"

namespace bonsai::dockerfile {

struct Heredoc {
  std::string name;     // the delimiter word, quotes removed
  uint64_t fd = 0;      // the digits before <<, 0 when absent
  bool expand = true;   // false when any part of the delimiter was quoted
  bool chomp = false;   // <<- strips leading tabs
  std::string content;  // the body, each line with its line ending
};

struct Node {
  std::string value;               // instruction word as written ("RUN", "copy")
  std::vector<std::string> flags;  // "--from=build", in order
  std::vector<std::string> args;   // arguments after this instruction's splitting rules
  std::unique_ptr<Node> sub;       // ONBUILD's nested instruction
  bool json = false;               // arguments came from a JSON array (exec form)
  std::vector<Heredoc> heredocs;
  std::string original;  // the logical line, continuations joined
  int start_line = 0;    // 1-based first and last physical line
  int end_line = 0;
  int column = 1;                     // 1-based column of the instruction word on start_line
  std::vector<std::string> comments;  // comment lines directly above

  std::string command() const;  // lower-cased value
  // The reference parser's dump of this instruction: (run "echo" "hi").
  std::string dump() const;
};

struct Directive {
  std::string name;  // lower-cased: syntax, escape or check
  std::string value;
  int line = 0;
};

struct Dockerfile {
  std::string filename;
  std::vector<Node> nodes;
  std::vector<Directive> directives;
  char escape = '\\';
  std::vector<Diagnostic> warnings;

  // One line per instruction, each ending in a newline: the reference `result` files.
  std::string dump() const;
  const Directive* directive(std::string_view name) const;
};

// Parses a whole Dockerfile. Every syntax error is recorded in `diags` (parsing resumes at the
// next instruction); the returned tree holds the instructions that parsed.
Dockerfile parse_syntax(std::string_view text, Diagnostics& diags);

// Parses and fails with one error listing every problem. On success the tree is complete.
util::Result<Dockerfile> parse_dockerfile(std::string_view text,
                                          std::string_view filename = "Dockerfile");

// Recognises a heredoc word ("<<EOF", "<<-'EOF'", "3<<EOF"); null when `word` is not one.
util::Result<std::optional<Heredoc>> parse_heredoc_word(std::string_view word);
// Removes leading tabs from every line (<<- bodies).
std::string chomp_heredoc(std::string_view content);

}  // namespace bonsai::dockerfile
