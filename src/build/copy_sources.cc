// Which paths a COPY source names: Go's filepath.Match for wildcards, BuildKit's expansion of a
// source into matches, and --parents pivots.
//
// Expansion follows fsutil's ResolveWildcards: the components before the first one holding a
// wildcard are resolved as a path (symlinks followed inside the root); each later component is
// matched against the names of a directory listing, descending only into real directories (a
// symlinked directory in the middle of a pattern is not entered, as filepath.Walk does not);
// a match that is a symlink is followed. Directory listings are sorted, so matches come out
// sorted component by component.
#include <cerrno>

#include "build/copy_internal.h"
#include "dockerfile/text.h"

namespace bonsai::build {

using util::ErrorKind;
using util::FileInfo;
using util::FileType;
using util::Result;

namespace {

// One element of a filepath.Match pattern.
struct Token {
  enum Kind { kLiteral, kAny, kStar, kClass } kind;
  std::string bytes;  // kLiteral: the bytes of one rune, compared byte for byte as Go does
  bool negate = false;
  std::vector<std::pair<char32_t, char32_t>> ranges;  // kClass
};

util::Error bad_pattern(std::string_view pattern) {
  return util::Error(ErrorKind::kInvalidArgument,
                     "syntax error in pattern " + dockerfile::go_quote(pattern));
}

// Go's getEsc: one class element at p[i], possibly escaped. False when malformed, which
// includes the pattern ending right after it (the class is then unclosed).
bool class_char(std::string_view p, size_t& i, char32_t& out) {
  if (i >= p.size() || p[i] == '-' || p[i] == ']') return false;
  if (p[i] == '\\' && ++i >= p.size()) return false;
  dockerfile::DecodedRune d = dockerfile::decode_rune(p, i);
  if (d.rune == dockerfile::kRuneError && d.width == 1) return false;
  out = d.rune;
  i += d.width;
  return i < p.size();
}

Result<std::vector<Token>> parse_pattern(std::string_view p) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < p.size()) {
    char c = p[i];
    if (c == '*' || c == '?') {
      tokens.push_back({c == '*' ? Token::kStar : Token::kAny});
      ++i;
      continue;
    }
    if (c == '[') {
      Token t{Token::kClass};
      if (++i < p.size() && p[i] == '^') t.negate = true, ++i;
      for (;;) {
        if (i < p.size() && p[i] == ']' && !t.ranges.empty()) {
          ++i;
          break;
        }
        char32_t lo, hi;
        if (!class_char(p, i, lo)) return std::unexpected(bad_pattern(p));
        hi = lo;
        if (p[i] == '-' && !class_char(p, ++i, hi)) return std::unexpected(bad_pattern(p));
        t.ranges.emplace_back(lo, hi);
      }
      tokens.push_back(std::move(t));
      continue;
    }
    if (c == '\\' && ++i >= p.size()) return std::unexpected(bad_pattern(p));
    size_t width = std::max<size_t>(1, dockerfile::decode_rune(p, i).width);
    tokens.push_back({Token::kLiteral, std::string(p.substr(i, width))});
    i += width;
  }
  return tokens;
}

bool class_matches(const Token& t, char32_t r) {
  bool in = false;
  for (auto [lo, hi] : t.ranges) in = in || (lo <= r && r <= hi);
  return in != t.negate;
}

// Runs the tokens over name as a set of reachable byte offsets (no backtracking blow-up).
bool run_pattern(const std::vector<Token>& tokens, std::string_view name) {
  const size_t n = name.size();
  std::vector<char> cur(n + 1, 0), next(n + 1, 0);
  cur[0] = 1;
  for (const Token& t : tokens) {
    std::fill(next.begin(), next.end(), 0);
    bool any = false;
    for (size_t pos = 0; pos <= n; ++pos) {
      if (!cur[pos]) continue;
      auto reach = [&](size_t to) { next[to] = 1, any = true; };
      switch (t.kind) {
        case Token::kLiteral:
          if (name.substr(pos).starts_with(t.bytes)) reach(pos + t.bytes.size());
          break;
        case Token::kAny:
        case Token::kClass: {
          if (pos == n || (t.kind == Token::kAny && name[pos] == '/')) break;
          dockerfile::DecodedRune d = dockerfile::decode_rune(name, pos);
          if (t.kind == Token::kAny || class_matches(t, d.rune)) reach(pos + d.width);
          break;
        }
        case Token::kStar:
          for (size_t q = pos;; ++q) {
            reach(q);
            if (q == n || name[q] == '/') break;
          }
          break;
      }
    }
    if (!any) return false;
    cur.swap(next);
  }
  return cur[n] != 0;
}

}  // namespace

Result<bool> match_pattern(std::string_view pattern, std::string_view name) {
  std::vector<Token> tokens = TRY(parse_pattern(pattern));
  return run_pattern(tokens, name);
}

namespace copy_detail {

bool has_wildcards(std::string_view component) {
  for (size_t i = 0; i < component.size(); ++i) {
    char c = component[i];
    if (c == '\\') {
      ++i;
    } else if (c == '*' || c == '?' || c == '[') {
      return true;
    }
  }
  return false;
}

namespace {

// A source as written, cleaned, with what --parents keeps of its matches.
struct SourceSpec {
  std::string raw;
  std::vector<std::string> parts;  // the clean path's components
  size_t pivot = 0;                // --parents: leading components not kept
  size_t first_wildcard = 0;       // index into parts; parts.size() when there is none
};

SourceSpec parse_source(const std::string& raw, bool parents) {
  SourceSpec spec{raw, split_path(clean_tree_path(raw))};
  if (size_t at = raw.find("/./"); parents && at != std::string::npos)
    spec.pivot = split_path(clean_tree_path(raw.substr(0, at))).size();
  spec.first_wildcard = spec.parts.size();
  for (size_t i = 0; i < spec.parts.size(); ++i) {
    if (has_wildcards(spec.parts[i])) {
      spec.first_wildcard = i;
      break;
    }
  }
  return spec;
}

std::string kept_part(const SourceSpec& spec, std::string_view logical) {
  std::vector<std::string> parts = split_path(logical);
  std::string kept;
  for (size_t i = std::min(spec.pivot, parts.size()); i < parts.size(); ++i)
    kept = join_path(kept, parts[i]);
  return kept;
}

util::Error not_found(const SourceSpec& spec, std::string_view why) {
  return util::Error(ErrorKind::kNotFound, "source \"" + spec.raw + "\": " + std::string(why));
}

class Planner {
 public:
  Planner(util::TreeFs& src, const SourceFilter& filter, SourcePlan& plan)
      : src_(src), filter_(filter), plan_(plan) {}

  util::Status add(const SourceSpec& spec) {
    if (spec.first_wildcard == spec.parts.size()) return add_literal(spec);
    for (size_t i = spec.first_wildcard; i < spec.parts.size(); ++i)
      TRY(match_pattern(spec.parts[i], ""));  // a malformed pattern fails even with no names
    size_t before = plan_.sources.size();
    std::string base_logical;
    for (size_t i = 0; i < spec.first_wildcard; ++i)
      base_logical = join_path(base_logical, spec.parts[i]);
    auto base = resolve_in_root(src_, base_logical, true);
    if (!base && base.error().sys_errno() != ENOTDIR) return std::unexpected(base.error());
    if (base) {
      std::optional<FileInfo> info = TRY(src_.lstat(*base));
      if (info && info->type == FileType::kDirectory && !filter_.ignored(*base, *info))
        TRY(expand(spec, *base, base_logical, spec.first_wildcard));
    }
    if (plan_.sources.size() == before) return std::unexpected(not_found(spec, "no files match"));
    return {};
  }

 private:
  util::Status add_literal(const SourceSpec& spec) {
    std::string logical;
    for (const std::string& part : spec.parts) logical = join_path(logical, part);
    auto path = resolve_in_root(src_, logical, false);
    if (!path && path.error().sys_errno() == ENOTDIR)
      return std::unexpected(not_found(spec, "not found"));
    if (!path) return std::unexpected(path.error());
    std::optional<FileInfo> info = TRY(src_.lstat(*path));
    if (!info) return std::unexpected(not_found(spec, "not found"));
    bool added = TRY(add_match(spec, *path, logical, *info));
    if (!added) return std::unexpected(not_found(spec, "not found"));
    return {};
  }

  // Matches parts[index] against the names in dir (whose source path as written is logical).
  util::Status expand(const SourceSpec& spec, const std::string& dir, const std::string& logical,
                      size_t index) {
    const bool last = index + 1 == spec.parts.size();
    for (const std::string& name : TRY(src_.list(dir))) {
      if (!TRY(match_pattern(spec.parts[index], name))) continue;
      std::string path = join_path(dir, name);
      std::optional<FileInfo> info = TRY(src_.lstat(path));
      if (!info) continue;
      if (last) {
        TRY(add_match(spec, path, join_path(logical, name), *info));
      } else if (info->type == FileType::kDirectory && !filter_.ignored(path, *info)) {
        TRY(expand(spec, path, join_path(logical, name), index + 1));
      }
    }
    return {};
  }

  // Adds path (whose last component may be a symlink, to be followed) unless the .dockerignore
  // hides it. Returns whether it was added.
  Result<bool> add_match(const SourceSpec& spec, const std::string& path,
                         const std::string& logical, FileInfo info) {
    if (filter_.ignored(path, info)) return false;
    std::string followed = path;
    if (info.type == FileType::kSymlink) {
      auto resolved = resolve_in_root(src_, path, true);
      if (!resolved && resolved.error().sys_errno() == ENOTDIR)
        return std::unexpected(not_found(spec, "symlink " + path + " leads nowhere"));
      followed = TRY(std::move(resolved));
      std::optional<FileInfo> target = TRY(src_.lstat(followed));
      if (!target) return std::unexpected(not_found(spec, "symlink " + path + " leads nowhere"));
      info = *target;
      if (filter_.ignored(followed, info)) return false;
    }
    plan_.sources.push_back(
        {followed, logical, std::string(base_name(logical)), kept_part(spec, logical), info});
    return true;
  }

  util::TreeFs& src_;
  const SourceFilter& filter_;
  SourcePlan& plan_;
};

}  // namespace

Result<SourcePlan> plan_sources(util::TreeFs& src, const CopyRequest& request,
                                const SourceFilter& filter) {
  SourcePlan plan;
  Planner planner(src, filter, plan);
  for (const std::string& raw : request.sources)
    TRY(planner.add(parse_source(raw, request.parents)));
  return plan;
}

}  // namespace copy_detail
}  // namespace bonsai::build
