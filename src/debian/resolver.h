// Dependency resolution for base images: which packages, from a set of Packages indexes, make
// up the closure of what was asked for, in which order to unpack them, and why each is there.
//
// Rules (apt's model where apt has one, simplified to one architecture and no Recommends):
//
// - Candidates. Only packages of the target architecture or "all" take part. Each name has one
//   candidate: the version pinned by a "name=version" request, else the highest version across
//   all suites (the first listed wins a tie). Resolution never falls back to an older version;
//   a dependency the candidate does not satisfy is unsatisfiable, as with apt.
// - Closure. Requested packages, then (with include_essential) every Essential: yes candidate
//   and every candidate whose Priority is in `priorities`, then their Pre-Depends and Depends,
//   transitively. Recommends, Suggests and Enhances are ignored.
// - A group "a | b" is met by any chosen package that satisfies an alternative. Otherwise its
//   options, in order, are: for each alternative, the package of that name if its candidate
//   satisfies the version, then the providers of that name (Provides of candidates; a versioned
//   dependency only accepts a versioned Provides "x (= v)" that satisfies it), Essential ones
//   first, then by Priority (required, important, standard, optional, extra, other), then by
//   name, as apt orders providers. Groups with a single option are resolved first; a group with
//   several options waits until nothing else is left, then takes a chosen option if one has
//   appeared meanwhile, else the first option. So "mawk | gawk" takes gawk when something else
//   needs gawk, and "awk" takes mawk (required) over gawk (optional) when nothing decides.
// - Architecture qualifiers, as dpkg's archsatisfied for one architecture: none and ":native"
//   (and the target's own name) always match; ":any" needs Multi-Arch: allowed on the package
//   (or the provider); any other architecture never matches. Alternatives whose [arch list] or
//   <profiles> exclude the target (no active profiles) are dropped.
// - Excludes. An excluded package is never chosen. An alternative naming it, or whose only
//   options are excluded packages, counts as met, and the resolution records it, as distroless
//   does for packages such as debconf or perl-base that a minimal image leaves out.
// - Conflicts and Breaks are checked among the chosen packages after the closure is complete
//   (a package never conflicts with itself, so "Conflicts: x, Provides: x" is fine). All
//   violations are reported together.
// - Order. Dependencies before dependents: a topological order of the Pre-Depends and Depends
//   edges between chosen packages, lowest name first among the ready ones. Debian has cycles;
//   each cycle (strongly connected component) is placed as a unit, and within it a Depends
//   edge is broken before a Pre-Depends edge.
//
// Results depend only on the inputs (the order of `available` only breaks version ties).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "debian/package.h"
#include "util/error.h"

namespace bonsai::debian {

struct ResolveOptions {
  std::string architecture = "amd64";   // packages of this architecture and "all" are used
  std::vector<std::string> requested;   // "name" or "name=version" (version compared as dpkg)
  std::vector<std::string> excluded;    // names never installed; dependencies on them count as met
  bool include_essential = false;       // add every Essential: yes package
  std::vector<std::string> priorities;  // add every package of these priorities ("required")
};

enum class ChoiceReason { kRequested, kEssential, kPriority, kDependency };

struct ResolvedPackage {
  Package package;
  ChoiceReason reason = ChoiceReason::kRequested;
  // For kDependency: the package that first needed it ("bar 1.0") and the group it met
  // ("Depends: libc6 (>= 2.34)"); empty otherwise.
  std::string needed_by;
  std::string relation;

  // "requested", "essential", "priority required", "dependency of bar 1.0 (Depends: ...)".
  std::string why() const;
};

// An excluded package that something would have installed.
struct ExcludedDependency {
  std::string name;       // the excluded package
  std::string needed_by;  // "bar 1.0", or "essential" / "priority required"
  std::string relation;   // "Depends: debconf (>= 0.5) | debconf-2.0"; empty for essential
};

struct Resolution {
  std::vector<ResolvedPackage> packages;     // in unpack order
  std::vector<ExcludedDependency> excluded;  // in the order they were met
};

// Resolves `options` against `available` (every package of every suite, any architecture).
// On success, every Pre-Depends and Depends of every returned package is met by a returned
// package or an exclude, and no two returned packages conflict.
// On failure:
// - kInvalidArgument: a malformed request ("name=" or a bad version), a name both requested and
//   excluded, or a request for a virtual package with several providers (naming them);
// - kNotFound: a requested name or pinned version that no index has for the architecture, or a
//   dependency no candidate meets: "libfoo (>= 2) needed by bar 1.0: no candidate; available:
//   libfoo 1.5";
// - kConflict: chosen packages that conflict: "a 1 conflicts with b 2 (Conflicts: b (<< 3))";
// - kCorrupt: a malformed version or relationship field in a package that was considered,
//   naming the package and its suite.
util::Result<Resolution> resolve(std::span<const Package> available, const ResolveOptions& options);

}  // namespace bonsai::debian
