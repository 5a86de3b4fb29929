#include "dockerfile/dockerignore.h"

#include "dockerfile/text.h"

namespace bonsai::dockerfile {

using util::ErrorKind;
using util::fail;

std::string clean_path(std::string_view path) {
  if (path.empty()) return ".";
  const bool rooted = path[0] == '/';
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view part = path.substr(i, j - i);
    if (part.empty() || part == ".") {
    } else if (part == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!rooted) {
        parts.push_back(part);
      }
    } else {
      parts.push_back(part);
    }
    i = j + 1;
  }
  std::string out = rooted ? "/" : "";
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k > 0) out += "/";
    out += parts[k];
  }
  return out.empty() ? "." : out;
}

std::vector<std::string> read_dockerignore(std::string_view content) {
  std::vector<std::string> out;
  bool first = true;
  size_t start = 0;
  while (start < content.size()) {
    size_t nl = content.find('\n', start);
    if (nl == std::string_view::npos) nl = content.size();
    std::string_view line = content.substr(start, nl - start);
    start = nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (first && line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);
    first = false;
    if (line.starts_with("#")) continue;
    std::string_view pattern = trim_space(line);
    if (pattern.empty()) continue;
    bool invert = pattern[0] == '!';
    if (invert) pattern = trim_space(pattern.substr(1));
    std::string p(pattern);
    if (!p.empty()) {
      p = clean_path(p);
      if (p.size() > 1 && p[0] == '/') p.erase(0, 1);
    }
    out.push_back(invert ? "!" + p : p);
  }
  return out;
}

std::vector<std::string> dockerignore_candidates(std::string_view dockerfile_path) {
  std::vector<std::string> out;
  if (!dockerfile_path.empty()) out.push_back(std::string(dockerfile_path) + ".dockerignore");
  out.push_back(".dockerignore");
  return out;
}

namespace {

using Token = IgnoreMatcher::Token;

// Reads one class element (a possibly escaped rune) at p[i] as filepath.Match's getEsc does.
bool class_char(std::string_view p, size_t& i, char32_t& out) {
  if (i >= p.size() || p[i] == '-' || p[i] == ']') return false;
  if (p[i] == '\\') {
    if (++i >= p.size()) return false;
  }
  auto d = decode_rune(p, i);
  out = d.rune;
  i += d.width;
  return i < p.size();
}

util::Result<Token> read_class(std::string_view p, size_t& i) {
  auto bad = [] { return fail(ErrorKind::kInvalidArgument, "syntax error in pattern"); };
  Token t{Token::kClass};
  ++i;  // '['
  if (i < p.size() && p[i] == '^') t.negate = true, ++i;
  for (;;) {
    if (i < p.size() && p[i] == ']' && !t.ranges.empty()) {
      ++i;
      return t;
    }
    char32_t lo, hi;
    if (!class_char(p, i, lo)) return bad();
    hi = lo;
    if (p[i] == '-') {
      ++i;
      if (!class_char(p, i, hi)) return bad();
    }
    if (hi < lo) return bad();
    t.ranges.emplace_back(lo, hi);
  }
}

util::Result<IgnoreMatcher::Pattern> compile_pattern(std::string cleaned, bool exception) {
  IgnoreMatcher::Pattern pat;
  pat.cleaned = std::move(cleaned);
  pat.exception = exception;
  const std::string& p = pat.cleaned;
  auto type = IgnoreMatcher::Pattern::kExact;
  size_t i = 0;
  for (int iter = 0; i < p.size(); ++iter) {
    char c = p[i];
    if (c == '*' && i + 1 < p.size() && p[i + 1] == '*') {
      i += 2;
      if (i < p.size() && p[i] == '/') ++i;
      if (i >= p.size()) {
        if (type == IgnoreMatcher::Pattern::kExact) {
          type = IgnoreMatcher::Pattern::kPrefix;
        } else {
          pat.tokens.push_back({Token::kAll});
          type = IgnoreMatcher::Pattern::kRegexp;
        }
      } else {
        pat.tokens.push_back({Token::kDirs});
        type = IgnoreMatcher::Pattern::kRegexp;
      }
      if (iter == 0) type = IgnoreMatcher::Pattern::kSuffix;
    } else if (c == '*') {
      pat.tokens.push_back({Token::kStar});
      type = IgnoreMatcher::Pattern::kRegexp;
      ++i;
    } else if (c == '?') {
      pat.tokens.push_back({Token::kAny});
      type = IgnoreMatcher::Pattern::kRegexp;
      ++i;
    } else if (c == '\\') {
      ++i;
      if (i >= p.size()) return fail(ErrorKind::kInvalidArgument, "syntax error in pattern");
      auto d = decode_rune(p, i);
      pat.tokens.push_back({Token::kLiteral, d.rune});
      type = IgnoreMatcher::Pattern::kRegexp;
      i += d.width;
    } else if (c == '[') {
      auto t = TRY(read_class(p, i));
      pat.tokens.push_back(std::move(t));
      type = IgnoreMatcher::Pattern::kRegexp;
    } else {
      auto d = decode_rune(p, i);
      pat.tokens.push_back({Token::kLiteral, d.rune});
      i += d.width;
    }
  }
  pat.type = type;
  return pat;
}

bool class_matches(const Token& t, char32_t r) {
  bool in = false;
  for (auto [lo, hi] : t.ranges) in = in || (r >= lo && r <= hi);
  return in != t.negate;
}

// Anchored NFA match of the tokens against the whole path. State 2j is "before token j",
// state 2j+1 is "inside token j" (used by ** directory runs).
bool nfa_match(const std::vector<Token>& tokens, std::string_view path) {
  const size_t m = tokens.size();
  std::vector<char> cur(2 * m + 2, 0), nxt(2 * m + 2, 0);
  auto close = [&](std::vector<char>& s) {
    for (size_t j = 0; j < m; ++j) {
      auto k = tokens[j].kind;
      if (s[2 * j] && (k == Token::kStar || k == Token::kAll || k == Token::kDirs))
        s[2 * j + 2] = 1;
    }
  };
  cur[0] = 1;
  close(cur);
  for (size_t i = 0; i < path.size();) {
    auto d = decode_rune(path, i);
    i += d.width;
    char32_t r = d.rune;
    std::fill(nxt.begin(), nxt.end(), 0);
    bool any = false;
    for (size_t j = 0; j < m; ++j) {
      const Token& t = tokens[j];
      bool at = cur[2 * j], inside = cur[2 * j + 1];
      if (!at && !inside) continue;
      auto go = [&](size_t state) { nxt[state] = 1, any = true; };
      switch (t.kind) {
        case Token::kLiteral:
          if (at && r == t.rune) go(2 * j + 2);
          break;
        case Token::kAny:
          if (at && r != '/') go(2 * j + 2);
          break;
        case Token::kClass:
          if (at && class_matches(t, r)) go(2 * j + 2);
          break;
        case Token::kStar:
          if (at && r != '/') go(2 * j);
          break;
        case Token::kAll:
          if (at && r != '\n') go(2 * j);
          break;
        case Token::kDirs:
          if (r != '\n') go(2 * j + 1);
          if (r == '/') go(2 * j + 2);
          break;
      }
    }
    if (!any) return false;
    close(nxt);
    cur.swap(nxt);
  }
  return cur[2 * m] != 0;
}

}  // namespace

bool IgnoreMatcher::Pattern::match(std::string_view path) const {
  switch (type) {
    case kExact:
      return path == cleaned;
    case kPrefix:
      return path.starts_with(std::string_view(cleaned).substr(0, cleaned.size() - 2));
    case kSuffix: {
      std::string_view suffix = std::string_view(cleaned).substr(2);
      if (path.ends_with(suffix)) return true;
      return !suffix.empty() && suffix[0] == '/' && path == suffix.substr(1);
    }
    case kRegexp:
      return nfa_match(tokens, path);
  }
  return false;
}

util::Result<IgnoreMatcher> IgnoreMatcher::compile(const std::vector<std::string>& patterns) {
  IgnoreMatcher m;
  for (const auto& raw : patterns) {
    std::string p(trim_space(raw));
    if (p.empty()) continue;
    p = clean_path(p);
    bool exception = p[0] == '!';
    if (exception) {
      if (p.size() == 1)
        return fail(ErrorKind::kInvalidArgument, "illegal exclusion pattern: \"!\"");
      p.erase(0, 1);
      m.exceptions_ = true;
    }
    auto pat = compile_pattern(p, exception);
    if (!pat) return std::unexpected(std::move(pat).error().context("pattern " + go_quote(raw)));
    m.patterns_.push_back(std::move(*pat));
  }
  return m;
}

bool IgnoreMatcher::excluded(std::string_view path_in) const {
  std::string path = clean_path(path_in);
  if (path == ".") return false;  // the context root itself is never excluded
  // Parent directories: "a", "a/b", ... up to but excluding the path itself.
  std::vector<std::string_view> parents;
  for (size_t i = path.find('/'); i != std::string::npos; i = path.find('/', i + 1)) {
    if (i > 0) parents.push_back(std::string_view(path).substr(0, i));
  }
  bool matched = false;
  for (const auto& pat : patterns_) {
    if (pat.exception != matched) continue;
    bool match = pat.match(path);
    for (size_t k = 0; !match && k < parents.size(); ++k) match = pat.match(parents[k]);
    if (match) matched = !pat.exception;
  }
  return matched;
}

}  // namespace bonsai::dockerfile
