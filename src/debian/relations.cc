#include "debian/relations.h"

#include <fmt/format.h>

#include "debian/version.h"

namespace bonsai::debian {
namespace {

using util::ErrorKind;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_alnum(char c) { return is_digit(c) || is_lower(c) || (c >= 'A' && c <= 'Z'); }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// A character for an error message: 'x', or "byte 0x0a" for what would not print.
std::string shown(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u < 0x20 || u >= 0x7f) return fmt::format("byte 0x{:02x}", u);
  return fmt::format("'{}'", c);
}

// Fields whose groups may not have alternatives (dpkg: "alternatives ('|') not allowed").
bool forbids_alternatives(std::string_view field) {
  return iequals(field, "Provides") || iequals(field, "Conflicts") || iequals(field, "Breaks") ||
         iequals(field, "Replaces");
}

// A recursive-descent reader over one field value. Every error names the field, quotes the text
// (or the part of a long text around the error) and gives the 1-based column.
class RelationParser {
 public:
  RelationParser(std::string_view field, std::string_view text) : field_(field), text_(text) {}

  util::Result<RelationList> parse() {
    RelationList list;
    skip_space();
    if (at_end()) return list;
    for (;;) {
      RelationGroup group;
      for (;;) {
        group.push_back(TRY(relation()));
        if (peek() != '|') break;
        if (forbids_alternatives(field_)) return error("alternatives ('|') are not allowed");
        ++pos_;
        skip_space();
      }
      list.push_back(std::move(group));
      if (at_end()) return list;
      if (peek() != ',') {
        return error(
            fmt::format("unexpected {} after \"{}\"", shown(peek()), list.back().back().name));
      }
      ++pos_;
      skip_space();
    }
  }

 private:
  // One alternative, leaving pos_ after its trailing blanks.
  util::Result<Relation> relation() {
    Relation r;
    r.name = TRY(package_name());
    if (peek() == ':') {
      ++pos_;
      r.arch_qualifier = TRY(word("architecture qualifier", "-"));
    }
    skip_space();
    if (peek() == '(') TRY(version_constraint(r));
    if (peek() == '[') r.architectures = TRY(bracket_list('[', ']', "architecture", "-"));
    while (peek() == '<') r.profiles.push_back(TRY(bracket_list('<', '>', "build profile", "-.+")));
    return r;
  }

  util::Result<std::string> package_name() {
    size_t start = pos_;
    while (!at_end() && (is_alnum(peek()) || std::string_view("+-._").find(peek()) != npos)) {
      ++pos_;
    }
    if (pos_ == start) {
      if (at_end()) return error("missing package name");
      return error(fmt::format("package name expected, found {}", shown(peek())));
    }
    if (!is_alnum(text_[start])) {
      pos_ = start;
      return error("package name must start with a letter or digit");
    }
    return std::string(text_.substr(start, pos_ - start));
  }

  // A run of lowercase letters, digits and `extra` characters: architecture and profile names.
  util::Result<std::string> word(std::string_view what, std::string_view extra) {
    size_t start = pos_;
    while (!at_end() && (is_lower(peek()) || is_digit(peek()) || extra.find(peek()) != npos)) {
      ++pos_;
    }
    if (pos_ == start) return error(fmt::format("missing {}", what));
    return std::string(text_.substr(start, pos_ - start));
  }

  // "(op version)" with pos_ at '('.
  util::Status version_constraint(Relation& r) {
    ++pos_;
    skip_space();
    r.op = TRY(version_op());
    if (r.op != VersionOp::kEqual && iequals(field_, "Provides")) {
      return error("only '=' is allowed in Provides", op_start_);
    }
    skip_space();
    size_t start = pos_;
    while (!at_end() && !is_space(peek()) && peek() != ')' && peek() != '(') ++pos_;
    if (pos_ == start) return error("missing version");
    r.version = std::string(text_.substr(start, pos_ - start));
    if (auto v = parse_version(r.version); !v) return error(v.error().message(), start);
    skip_space();
    if (peek() != ')') return error("missing ')' after the version");
    ++pos_;
    skip_space();
    return {};
  }

  util::Result<VersionOp> version_op() {
    op_start_ = pos_;
    char c1 = peek();
    if (c1 == '=') {
      ++pos_;
      return VersionOp::kEqual;
    }
    if (c1 != '<' && c1 != '>') return error("missing relation operator (<< <= = >= >>)");
    ++pos_;
    char c2 = peek();
    bool less = c1 == '<';
    if (c2 == '=' || c2 == c1) {
      ++pos_;
      if (c2 == '=') return less ? VersionOp::kLessEqual : VersionOp::kGreaterEqual;
      return less ? VersionOp::kLess : VersionOp::kGreater;
    }
    if (c2 == '<' || c2 == '>') {
      return error(fmt::format("bad relation operator '{}{}'", c1, c2), op_start_);
    }
    // The obsolete '<' and '>' mean "<=" and ">=".
    return less ? VersionOp::kLessEqual : VersionOp::kGreaterEqual;
  }

  // "[a !b]" or "<a !b>": one or more names, each optionally negated.
  util::Result<std::vector<std::string>> bracket_list(char open, char close, std::string_view what,
                                                      std::string_view extra) {
    size_t start = pos_;
    ++pos_;
    std::vector<std::string> items;
    for (;;) {
      skip_space();
      if (at_end()) return error(fmt::format("missing '{}'", close), start);
      if (peek() == close) break;
      std::string item;
      if (peek() == '!') {
        item = "!";
        ++pos_;
      }
      item += TRY(word(what, extra));
      items.push_back(std::move(item));
    }
    if (items.empty()) return error(fmt::format("empty '{}{}' list", open, close), start);
    ++pos_;
    skip_space();
    return items;
  }

  std::unexpected<util::Error> error(std::string_view what, size_t at = npos) {
    if (at == npos) at = pos_;
    // Long fields (a Depends line can be 2 kB) are quoted around the error.
    std::string_view shown = text_;
    std::string prefix, suffix;
    if (text_.size() > 120) {
      size_t from = at > 50 ? at - 50 : 0;
      shown = text_.substr(from, 100);
      if (from > 0) prefix = "...";
      if (from + shown.size() < text_.size()) suffix = "...";
    }
    return util::fail(
        ErrorKind::kInvalidArgument,
        fmt::format("{} \"{}{}{}\": column {}: {}", field_, prefix, shown, suffix, at + 1, what));
  }

  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  bool at_end() const { return pos_ >= text_.size(); }
  void skip_space() {
    while (!at_end() && is_space(peek())) ++pos_;
  }

  static constexpr size_t npos = std::string_view::npos;
  std::string_view field_;
  std::string_view text_;
  size_t pos_ = 0;
  size_t op_start_ = 0;
};

// The OS and CPU parts of a Debian architecture name: "amd64" is linux/amd64, "kfreebsd-amd64"
// kfreebsd/amd64, "musl-linux-arm64" linux/arm64.
std::pair<std::string_view, std::string_view> os_and_cpu(std::string_view arch) {
  size_t last = arch.rfind('-');
  if (last == std::string_view::npos) return {"linux", arch};
  std::string_view rest = arch.substr(0, last);
  size_t before = rest.rfind('-');
  return {before == std::string_view::npos ? rest : rest.substr(before + 1), arch.substr(last + 1)};
}

bool profiles_apply(const std::vector<std::vector<std::string>>& formula,
                    std::span<const std::string> active) {
  if (formula.empty()) return true;
  auto is_active = [&](std::string_view p) {
    for (const auto& a : active) {
      if (a == p) return true;
    }
    return false;
  };
  for (const auto& conjunction : formula) {
    bool all = true;
    for (std::string_view term : conjunction) {
      bool negated = term.starts_with('!');
      if (negated) term.remove_prefix(1);
      all = all && (is_active(term) != negated);
    }
    if (all) return true;
  }
  return false;
}

}  // namespace

std::string_view op_text(VersionOp op) {
  switch (op) {
    case VersionOp::kNone:
      return "";
    case VersionOp::kLess:
      return "<<";
    case VersionOp::kLessEqual:
      return "<=";
    case VersionOp::kEqual:
      return "=";
    case VersionOp::kGreaterEqual:
      return ">=";
    case VersionOp::kGreater:
      return ">>";
  }
  return "";
}

std::string Relation::to_string() const {
  std::string out = name;
  if (!arch_qualifier.empty()) out += ":" + arch_qualifier;
  if (op != VersionOp::kNone) out += fmt::format(" ({} {})", op_text(op), version);
  auto list = [&](char open, const std::vector<std::string>& items, char close) {
    out += ' ';
    out += open;
    for (size_t i = 0; i < items.size(); ++i) out += (i ? " " : "") + items[i];
    out += close;
  };
  if (!architectures.empty()) list('[', architectures, ']');
  for (const auto& p : profiles) list('<', p, '>');
  return out;
}

bool Relation::applies_to(std::string_view architecture,
                          std::span<const std::string> active_profiles) const {
  if (!profiles_apply(profiles, active_profiles)) return false;
  if (architectures.empty()) return true;
  // apt's rule: a positive entry that matches keeps the alternative, a negated one that matches
  // drops it; when nothing matches, a list of negations keeps it and any other list drops it.
  bool all_negated = true;
  for (std::string_view a : architectures) {
    bool negated = a.starts_with('!');
    if (negated) a.remove_prefix(1);
    all_negated = all_negated && negated;
    if (architecture_matches(architecture, a)) return !negated;
  }
  return all_negated;
}

util::Result<RelationList> parse_relations(std::string_view field, std::string_view text) {
  return RelationParser(field, text).parse();
}

std::string to_string(const RelationGroup& group) {
  std::string out;
  for (size_t i = 0; i < group.size(); ++i) out += (i ? " | " : "") + group[i].to_string();
  return out;
}

std::string to_string(const RelationList& list) {
  std::string out;
  for (size_t i = 0; i < list.size(); ++i) out += (i ? ", " : "") + to_string(list[i]);
  return out;
}

bool satisfies(const Relation& relation, std::string_view candidate_version) {
  if (relation.op == VersionOp::kNone) return true;
  int c = compare_versions(candidate_version, relation.version);
  switch (relation.op) {
    case VersionOp::kNone:
      return true;
    case VersionOp::kLess:
      return c < 0;
    case VersionOp::kLessEqual:
      return c <= 0;
    case VersionOp::kEqual:
      return c == 0;
    case VersionOp::kGreaterEqual:
      return c >= 0;
    case VersionOp::kGreater:
      return c > 0;
  }
  return false;
}

bool architecture_matches(std::string_view architecture, std::string_view pattern) {
  if (pattern == "any" || pattern == architecture) return true;
  auto [os, cpu] = os_and_cpu(architecture);
  if (pattern.ends_with("-any")) return pattern.substr(0, pattern.size() - 4) == os;
  if (pattern.starts_with("any-")) return pattern.substr(4) == cpu;
  return false;
}

}  // namespace bonsai::debian
