// .dockerignore: which paths of the build context are left out, with the reference rules
// (moby/patternmatcher and its ignorefile reader):
//
// - Lines starting with # are comments; other lines are trimmed; empty lines are skipped.
// - A leading ! makes an exception: a path matched by it is included again. Patterns apply in
//   order and the last one that matches decides.
// - Patterns are cleaned like Go's filepath.Clean ("./a/../b/" is "b") and a leading / is
//   dropped, so "/foo" and "foo" are the same pattern.
// - Within a pattern, * matches any run of characters except /, ? one character except /,
//   [a-z] and [^a-z] classes, \ escapes the next character, and ** matches any number of
//   directories (including none); a pattern ending in ** matches everything below.
// - A path is excluded when it or any of its parent directories matches.
//
// The file for a Dockerfile named X is X.dockerignore when that exists, else .dockerignore.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace bonsai::dockerfile {

// Go's filepath.Clean for slash-separated paths.
std::string clean_path(std::string_view path);

// The patterns of a .dockerignore file, normalised, in order ("!" prefix kept).
std::vector<std::string> read_dockerignore(std::string_view content);

// Candidate ignore files for a Dockerfile path, most specific first.
std::vector<std::string> dockerignore_candidates(std::string_view dockerfile_path);

class IgnoreMatcher {
 public:
  // Fails on a malformed pattern (unclosed [, trailing \, a bare "!").
  static util::Result<IgnoreMatcher> compile(const std::vector<std::string>& patterns);
  static util::Result<IgnoreMatcher> parse(std::string_view dockerignore_text) {
    return compile(read_dockerignore(dockerignore_text));
  }

  // True when `path` (slash-separated, relative to the context) is excluded.
  bool excluded(std::string_view path) const;
  // True when some pattern is an exception, so an excluded directory must still be walked.
  bool has_exceptions() const { return exceptions_; }
  size_t size() const { return patterns_.size(); }

  struct Token {
    enum Kind { kLiteral, kAny, kStar, kDirs, kAll, kClass } kind;
    char32_t rune = 0;
    bool negate = false;
    std::vector<std::pair<char32_t, char32_t>> ranges;  // kClass
  };
  struct Pattern {
    std::string cleaned;
    bool exception = false;
    enum Type { kExact, kPrefix, kSuffix, kRegexp } type = kExact;
    std::vector<Token> tokens;
    bool match(std::string_view path) const;
  };

 private:
  std::vector<Pattern> patterns_;
  bool exceptions_ = false;
};

}  // namespace bonsai::dockerfile
