// Debian relationship fields (policy 7.1): Depends, Pre-Depends, Recommends, Suggests, Enhances,
// Provides, Conflicts, Breaks, Replaces, and the Build-Depends family.
//
// A field is a comma-separated list of groups; a group is one or more alternatives separated by
// '|'; an alternative is
//
//   name[:archqual] [(op version)] [[arch ...]] [<profile ...>]...
//
// - name: an ASCII letter or digit, then letters, digits and "+-._" (dpkg's rule).
// - archqual: "any", "native" or an architecture name (lowercase letters, digits, '-').
// - op: "<<", "<=", "=", ">=", ">>", or the obsolete "<" and ">", which mean "<=" and ">="
//   (dpkg warns about those and so reads them). An operator is required inside the parentheses.
//   The version must parse with parse_version.
// - [arch ...]: architectures the alternative applies to ("[amd64 arm64]") or not
//   ("[!i386]"); wildcards "any", "<os>-any" and "any-<cpu>" match as dpkg-architecture -i.
// - <profile ...>: build profile formulas; the alternative applies when one <...> group has all
//   its terms true ("<!nocheck cross> <stage1>"); a term "!x" is true when x is not active.
//
// Blanks (including the newlines of a folded field) may appear between any two tokens. Provides,
// Conflicts, Breaks and Replaces may not have alternatives ('|'), and Provides may only use "="
// (dpkg refuses the first and warns about the second; both are errors here). An empty field is
// an empty list.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace bonsai::debian {

enum class VersionOp { kNone, kLess, kLessEqual, kEqual, kGreaterEqual, kGreater };

// "<<", "<=", "=", ">=", ">>", or "" for kNone.
std::string_view op_text(VersionOp op);

struct Relation {
  std::string name;
  std::string arch_qualifier;  // after ':' ("any", "native", "amd64"); empty when none
  VersionOp op = VersionOp::kNone;
  std::string version;                             // as written; empty when op is kNone
  std::vector<std::string> architectures;          // "[amd64 !i386]" as {"amd64", "!i386"}
  std::vector<std::vector<std::string>> profiles;  // "<!nocheck> <stage1 cross>", each <...>

  // The canonical text: "name:qual (op version) [archs] <profiles>", obsolete operators
  // written in their modern form. parse_relations reads it back to an equal Relation.
  std::string to_string() const;

  // Whether the [arch ...] list and <profile ...> formulas keep this alternative for a build on
  // `architecture` with `profiles` active. Binary package fields have neither, so for them this
  // is always true.
  bool applies_to(std::string_view architecture,
                  std::span<const std::string> active_profiles = {}) const;

  friend bool operator==(const Relation&, const Relation&) = default;
};

using RelationGroup = std::vector<Relation>;  // the alternatives of "a | b"
using RelationList = std::vector<RelationGroup>;

// Parses the value of field `field` (its name decides whether '|' and operators other than "="
// are allowed). On failure returns kInvalidArgument naming the field, quoting its text and giving
// the 1-based column: `Depends "libc6 (>= 2.36": column 14: missing ')' after the version`.
// Callers reading an index add the package and file and may turn it into kCorrupt.
util::Result<RelationList> parse_relations(std::string_view field, std::string_view text);

// "a (>= 1) | b" and "a (>= 1) | b, c".
std::string to_string(const RelationGroup& group);
std::string to_string(const RelationList& list);

// Whether a package version satisfies the relation's version constraint (always true without
// one). Compares with dpkg's order (compare_versions on text).
bool satisfies(const Relation& relation, std::string_view candidate_version);

// Whether `architecture` ("amd64", "kfreebsd-amd64") matches an architecture name or wildcard
// ("any", "linux-any", "any-amd64") as dpkg-architecture -i does for the common cases: a name
// without '-' is linux-<name>.
bool architecture_matches(std::string_view architecture, std::string_view pattern);

}  // namespace bonsai::debian
