// Shell-word expansion exactly as the reference Dockerfile frontend performs it (BuildKit's
// shell.Lex): single and double quotes, the escape character (\ or `), $VAR and ${VAR}, and the
// modifiers ${VAR:-w} ${VAR-w} ${VAR:+w} ${VAR+w} ${VAR:?w} ${VAR?w} ${VAR#p} ${VAR##p}
// ${VAR%p} ${VAR%%p} ${VAR/p/r} ${VAR//p/r}. Patterns use * and ? (no bracket expressions) and
// never match a newline. Positional ($1) and special ($@ $* $# $? $- $$ $! $0) parameters are
// never set.
//
// process_word() returns the expanded text with quotes removed; process_words() additionally
// splits it into words on unquoted white space, after expansion, as a shell would.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "dockerfile/env.h"
#include "util/error.h"

namespace bonsai::dockerfile {

struct ShellLexOptions {
  char32_t escape = '\\';
  bool raw_quotes = false;           // keep quote characters in the output
  bool raw_escapes = false;          // keep escape characters in the output
  bool skip_unset_env = false;       // leave references to unset variables as written
  bool skip_process_quotes = false;  // treat quotes as ordinary characters
};

// Nesting of ${...} deeper than this is rejected rather than risking the stack.
inline constexpr int kMaxExpansionDepth = 256;

class ShellLex {
 public:
  explicit ShellLex(char32_t escape = '\\') { options_.escape = escape; }
  explicit ShellLex(const ShellLexOptions& options) : options_(options) {}

  ShellLexOptions& options() { return options_; }

  util::Result<std::string> process_word(std::string_view word, const Env& env) const;
  util::Result<std::vector<std::string>> process_words(std::string_view word, const Env& env) const;

 private:
  ShellLexOptions options_;
};

// Shell pattern matching as used by ${VAR#p} and friends: * any run, ? any one character,
// \* \? \\ literal. Exposed for tests.
class ShellPattern {
 public:
  static util::Result<ShellPattern> compile(std::string_view pattern);

  // Byte offset where the shortest (or longest) match anchored at `start` ends, or npos.
  size_t match_prefix(std::string_view value, size_t start, bool longest) const;

  // ${v#p}, ${v##p}, ${v%p}, ${v%%p}, ${v/p/r}, ${v//p/r}.
  std::string trim_prefix(std::string_view value, bool longest) const;
  std::string trim_suffix(std::string_view value, bool longest) const;
  std::string replace(std::string_view value, std::string_view replacement, bool all) const;

 private:
  struct Token {
    enum Kind { kLiteral, kAny, kStar } kind;
    char32_t rune;
  };
  std::vector<Token> tokens_;
};

}  // namespace bonsai::dockerfile
