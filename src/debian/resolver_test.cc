#include "debian/resolver.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "debian/control.h"

namespace bonsai::debian {
namespace {

using util::ErrorKind;

// A package from a few fields: {"Depends", "b"}, {"Provides", "x"}, {"Essential", "yes"},
// {"Architecture", "all"}, {"Multi-Arch", "allowed"}, {"Suite", "bookworm-security"} ...
Package pkg(std::string name, std::string version,
            std::vector<std::pair<std::string, std::string>> fields = {}) {
  Package p;
  p.name = std::move(name);
  p.version = std::move(version);
  p.architecture = "amd64";
  p.suite = "bookworm";
  for (auto& [k, v] : fields) {
    if (k == "Depends") p.depends = v;
    if (k == "Pre-Depends") p.pre_depends = v;
    if (k == "Provides") p.provides = v;
    if (k == "Conflicts") p.conflicts = v;
    if (k == "Breaks") p.breaks = v;
    if (k == "Essential") p.essential = v == "yes";
    if (k == "Priority") p.priority = v;
    if (k == "Architecture") p.architecture = v;
    if (k == "Multi-Arch") p.multi_arch = v;
    if (k == "Suite") p.suite = v;
  }
  return p;
}

ResolveOptions request(std::vector<std::string> names, std::vector<std::string> excluded = {}) {
  ResolveOptions o;
  o.requested = std::move(names);
  o.excluded = std::move(excluded);
  return o;
}

Resolution resolved(const std::vector<Package>& available, const ResolveOptions& options) {
  auto r = resolve(available, options);
  EXPECT_TRUE(r) << r.error().message();
  return r ? std::move(*r) : Resolution{};
}

std::vector<std::string> names(const Resolution& r) {
  std::vector<std::string> out;
  for (const auto& p : r.packages) out.push_back(p.package.name);
  return out;
}

using Names = std::vector<std::string>;

const ResolvedPackage* find(const Resolution& r, std::string_view name) {
  for (const auto& p : r.packages) {
    if (p.package.name == name) return &p;
  }
  return nullptr;
}

util::Error failure(const std::vector<Package>& available, const ResolveOptions& options) {
  auto r = resolve(available, options);
  EXPECT_FALSE(r) << "resolved to " << ::testing::PrintToString(names(*r));
  return r ? util::Error(ErrorKind::kInternal, "resolved") : r.error();
}

TEST(Resolver, ClosesOverDependenciesAndOrdersThemFirst) {
  std::vector<Package> av = {
      pkg("app", "1.0", {{"Depends", "libfoo (>= 1), libc6"}}),
      pkg("libfoo", "1.5", {{"Depends", "libc6 (>= 2.34)"}}),
      pkg("libc6", "2.36-9", {{"Pre-Depends", "libgcc-s1"}}),
      pkg("libgcc-s1", "12.2.0-14"),
      pkg("unrelated", "1"),
  };
  Resolution r = resolved(av, request({"app"}));
  EXPECT_EQ(names(r), (Names{"libgcc-s1", "libc6", "libfoo", "app"}));
  EXPECT_EQ(find(r, "app")->why(), "requested");
  EXPECT_EQ(find(r, "libfoo")->why(), "dependency of app 1.0 (Depends: libfoo (>= 1))");
  EXPECT_EQ(find(r, "libgcc-s1")->why(), "dependency of libc6 2.36-9 (Pre-Depends: libgcc-s1)");
  EXPECT_TRUE(r.excluded.empty());
}

TEST(Resolver, ReadyPackagesGoInNameOrder) {
  std::vector<Package> av = {pkg("z", "1"), pkg("m", "1", {{"Depends", "z"}}), pkg("a", "1")};
  EXPECT_EQ(names(resolved(av, request({"m", "a"}))), (Names{"a", "z", "m"}));
}

TEST(Resolver, HighestVersionAcrossSuitesWins) {
  std::vector<Package> av = {
      pkg("libc6", "2.36-9+deb12u4", {{"Suite", "bookworm-security"}}),
      pkg("libc6", "2.36-9", {{"Suite", "bookworm"}}),
      pkg("libc6", "2.36-9+deb12u10", {{"Suite", "bookworm-updates"}}),
      pkg("tie", "1.0", {{"Suite", "first"}}),
      pkg("tie", "1.00", {{"Suite", "second"}}),  // equal to 1.0: the first listed wins
  };
  Resolution r = resolved(av, request({"libc6", "tie"}));
  EXPECT_EQ(find(r, "libc6")->package.version, "2.36-9+deb12u10");
  EXPECT_EQ(find(r, "libc6")->package.suite, "bookworm-updates");
  EXPECT_EQ(find(r, "tie")->package.suite, "first");
}

TEST(Resolver, PinnedRequestSelectsThatVersionForEveryone) {
  std::vector<Package> av = {
      pkg("app", "1", {{"Depends", "libfoo (>= 1)"}}),
      pkg("libfoo", "2.0"),
      pkg("libfoo", "1.5"),
  };
  Resolution r = resolved(av, request({"app", "libfoo=1.5"}));
  EXPECT_EQ(find(r, "libfoo")->package.version, "1.5");
  EXPECT_EQ(find(r, "libfoo")->why(), "requested");
  // Pins compare as dpkg does: 0:1.5-0 is 1.5.
  EXPECT_EQ(find(resolved(av, request({"libfoo=0:1.5-0"})), "libfoo")->package.version, "1.5");

  util::Error e = failure(av, request({"libfoo=3"}));
  EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
  EXPECT_EQ(e.message(),
            "requested libfoo=3: no such version for amd64; available: libfoo 2.0, 1.5");
  e = failure(av, request({"app", "libfoo=1.5", "libfoo=2.0"}));
  EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
  e = failure(av, request({"libfoo=1:"}));
  EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
  EXPECT_EQ(e.message(), "request \"libfoo=1:\": version \"1:\": nothing after the epoch");
}

TEST(Resolver, UnsatisfiableVersionNamesNeedAndAvailable) {
  std::vector<Package> av = {pkg("bar", "1.0", {{"Depends", "libfoo (>= 2)"}}),
                             pkg("libfoo", "1.5")};
  util::Error e = failure(av, request({"bar"}));
  EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
  EXPECT_EQ(e.message(), "libfoo (>= 2) needed by bar 1.0: no candidate; available: libfoo 1.5");

  // A pinned older version is not silently replaced by a newer one.
  av.push_back(pkg("libfoo", "2.1"));
  e = failure(av, request({"bar", "libfoo=1.5"}));
  EXPECT_EQ(e.message(),
            "libfoo (>= 2) needed by bar 1.0: no candidate; available: libfoo 2.1, 1.5 (pinned)");

  av = {pkg("bar", "1.0", {{"Depends", "a (>= 2) | b"}}), pkg("a", "1")};
  EXPECT_EQ(failure(av, request({"bar"})).message(),
            "a (>= 2) | b needed by bar 1.0: no candidate; available: a 1; b: none");
}

TEST(Resolver, UnknownRequestIsNotFound) {
  std::vector<Package> av = {pkg("a", "1"), pkg("armonly", "1", {{"Architecture", "arm64"}})};
  util::Error e = failure(av, request({"nope"}));
  EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
  EXPECT_EQ(e.message(), "requested package nope: not found for amd64");
  EXPECT_EQ(failure(av, request({"armonly"})).message(),
            "requested package armonly: not found for amd64 (only for arm64)");
}

TEST(Resolver, AlternativesTakeTheFirstSatisfiable) {
  std::vector<Package> av = {
      pkg("app", "1", {{"Depends", "a (>= 2) | b | c"}}),
      pkg("a", "1"),
      pkg("b", "1"),
      pkg("c", "1"),
  };
  EXPECT_EQ(names(resolved(av, request({"app"}))), (Names{"b", "app"}));
}

TEST(Resolver, AlternativesPreferAPackageChosenForAnotherReason) {
  // "mawk | gawk" alone would take mawk; gawk is needed anyway, so it meets the group. The
  // choice waits until the unambiguous dependencies are in, whatever the order.
  std::vector<Package> av = {
      pkg("app", "1", {{"Depends", "mawk | gawk, tool"}}),
      pkg("tool", "1", {{"Depends", "helper"}}),
      pkg("helper", "1", {{"Depends", "gawk"}}),
      pkg("mawk", "1"),
      pkg("gawk", "1"),
  };
  Resolution r = resolved(av, request({"app"}));
  EXPECT_EQ(names(r), (Names{"gawk", "helper", "tool", "app"}));
  EXPECT_EQ(names(resolved(av, request({"app", "mawk"}))),
            (Names{"gawk", "helper", "mawk", "tool", "app"}));
}

TEST(Resolver, VirtualPackagesResolveThroughProvides) {
  std::vector<Package> av = {
      pkg("app", "1", {{"Depends", "mail-transport-agent"}}),
      pkg("postfix", "3.7", {{"Provides", "mail-transport-agent"}}),
      pkg("exim4-daemon-light", "4.96", {{"Provides", "mail-transport-agent"}}),
  };
  // Several providers and none chosen: the lowest name.
  Resolution r = resolved(av, request({"app"}));
  EXPECT_EQ(names(r), (Names{"exim4-daemon-light", "app"}));
  EXPECT_EQ(find(r, "exim4-daemon-light")->why(),
            "dependency of app 1 (Depends: mail-transport-agent)");
  // A provider chosen for another reason meets it.
  EXPECT_EQ(names(resolved(av, request({"app", "postfix"}))), (Names{"postfix", "app"}));
  // An excluded provider is passed over.
  EXPECT_EQ(names(resolved(av, request({"app"}, {"exim4-daemon-light"}))),
            (Names{"postfix", "app"}));
}

TEST(Resolver, ProvidersArePreferredByEssentialThenPriorityThenName) {
  std::vector<Package> av = {
      pkg("base-files", "12", {{"Pre-Depends", "awk"}}),
      pkg("busybox-awk", "1", {{"Provides", "awk"}}),
      pkg("gawk", "5.2", {{"Provides", "awk"}, {"Priority", "optional"}}),
      pkg("mawk", "1.3", {{"Provides", "awk"}, {"Priority", "required"}}),
      pkg("original-awk", "2012", {{"Provides", "awk"}, {"Priority", "extra"}}),
  };
  EXPECT_EQ(names(resolved(av, request({"base-files"}))), (Names{"mawk", "base-files"}));
  av[1].essential = true;
  EXPECT_EQ(names(resolved(av, request({"base-files"}))), (Names{"busybox-awk", "base-files"}));
}

TEST(Resolver, RealPackageBeatsProvidersOfTheSameName) {
  std::vector<Package> av = {
      pkg("app", "1", {{"Depends", "awk"}}),
      pkg("awk", "1"),
      pkg("aawk", "1", {{"Provides", "awk"}}),
  };
  EXPECT_EQ(names(resolved(av, request({"app"}))), (Names{"awk", "app"}));
}

TEST(Resolver, VersionedDependenciesNeedVersionedProvides) {
  std::vector<Package> av = {
      pkg("app", "1", {{"Depends", "libfoo-abi (>= 2)"}}),
      pkg("old", "1", {{"Provides", "libfoo-abi"}}),
      pkg("new", "1", {{"Provides", "libfoo-abi (= 2.1)"}}),
      pkg("older", "1", {{"Provides", "libfoo-abi (= 1)"}}),
  };
  EXPECT_EQ(names(resolved(av, request({"app"}))), (Names{"new", "app"}));
  av[2].provides = "libfoo-abi (= 1.9)";
  EXPECT_EQ(failure(av, request({"app"})).message(),
            "libfoo-abi (>= 2) needed by app 1: no candidate; available: provided by new 1 as "
            "libfoo-abi (= 1.9), provided by old 1, provided by older 1 as libfoo-abi (= 1)");
}

TEST(Resolver, RequestedVirtualNeedsASingleProvider) {
  std::vector<Package> av = {pkg("a", "1", {{"Provides", "editor"}}),
                             pkg("b", "1", {{"Provides", "editor, pager"}})};
  EXPECT_EQ(names(resolved(av, request({"pager"}))), (Names{"b"}));
  util::Error e = failure(av, request({"editor"}));
  EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
  EXPECT_EQ(
      e.message(),
      "requested package editor is virtual; request one of: provided by a 1, provided by b 1");
}

TEST(Resolver, ConflictsAndBreaksAmongChosenPackagesFail) {
  std::vector<Package> av = {
      pkg("a", "1", {{"Conflicts", "b"}}),
      pkg("b", "2", {{"Breaks", "c (<< 3)"}}),
      pkg("c", "2"),
  };
  util::Error e = failure(av, request({"a", "b"}));
  EXPECT_EQ(e.kind(), ErrorKind::kConflict);
  EXPECT_EQ(e.message(), "a 1 conflicts with b 2 (Conflicts: b)");
  e = failure(av, request({"a", "b", "c"}));
  EXPECT_EQ(e.message(),
            "a 1 conflicts with b 2 (Conflicts: b); b 2 breaks c 2 (Breaks: c (<< 3))");
  av[2].version = "3";
  EXPECT_EQ(names(resolved(av, request({"b", "c"}))), (Names{"b", "c"}));
}

TEST(Resolver, ConflictsReachProvidersButNotTheirOwnProvides) {
  std::vector<Package> av = {
      pkg("postfix", "3.7",
          {{"Provides", "mail-transport-agent"}, {"Conflicts", "mail-transport-agent"}}),
      pkg("exim4", "4.96",
          {{"Provides", "mail-transport-agent"}, {"Conflicts", "mail-transport-agent"}}),
  };
  EXPECT_EQ(names(resolved(av, request({"postfix"}))), (Names{"postfix"}));
  EXPECT_EQ(failure(av, request({"postfix", "exim4"})).message(),
            "exim4 4.96 conflicts with postfix 3.7 (Conflicts: mail-transport-agent, provided by "
            "it); postfix 3.7 conflicts with exim4 4.96 (Conflicts: mail-transport-agent, "
            "provided by it)");
}

TEST(Resolver, ExcludedPackagesCountAsMetAndAreRecorded) {
  std::vector<Package> av = {
      pkg("tzdata", "2024a", {{"Depends", "debconf (>= 0.5) | debconf-2.0"}}),
      pkg("debconf", "1.5.82", {{"Provides", "debconf-2.0"}, {"Depends", "perl-base"}}),
      pkg("perl-base", "5.36"),
      pkg("app", "1", {{"Depends", "perl-base, tzdata"}}),
  };
  Resolution r = resolved(av, request({"tzdata", "app"}, {"debconf", "perl-base"}));
  EXPECT_EQ(names(r), (Names{"tzdata", "app"}));
  ASSERT_EQ(r.excluded.size(), 2u);
  EXPECT_EQ(r.excluded[0].name, "debconf");
  EXPECT_EQ(r.excluded[0].needed_by, "tzdata 2024a");
  EXPECT_EQ(r.excluded[0].relation, "Depends: debconf (>= 0.5) | debconf-2.0");
  EXPECT_EQ(r.excluded[1].name, "perl-base");
  EXPECT_EQ(r.excluded[1].needed_by, "app 1");
  EXPECT_EQ(r.excluded[1].relation, "Depends: perl-base");

  // Without the exclude, debconf and perl-base come in.
  EXPECT_EQ(names(resolved(av, request({"tzdata"}))), (Names{"perl-base", "debconf", "tzdata"}));
  // An exclude that is also requested is a mistake.
  util::Error e = failure(av, request({"debconf"}, {"debconf"}));
  EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
  EXPECT_EQ(e.message(), "debconf is both requested and excluded");
}

TEST(Resolver, LaterAlternativeChosenAnywayBeatsAnExcludedFirstOne) {
  std::vector<Package> av = {
      pkg("app", "1", {{"Depends", "a | b, c"}}),
      pkg("c", "1", {{"Depends", "b"}}),
      pkg("b", "1"),
  };
  Resolution r = resolved(av, request({"app"}, {"a"}));
  EXPECT_EQ(names(r), (Names{"b", "c", "app"}));
  EXPECT_TRUE(r.excluded.empty());
}

TEST(Resolver, EssentialAndPriorityPackagesJoinWhenAsked) {
  std::vector<Package> av = {
      pkg("base-files", "12.4", {{"Essential", "yes"}, {"Priority", "required"}}),
      pkg("dash", "0.5", {{"Essential", "yes"}, {"Pre-Depends", "libc6"}}),
      pkg("libc6", "2.36", {{"Priority", "optional"}}),
      pkg("mawk", "1.3", {{"Priority", "required"}}),
      pkg("perl-base", "5.36", {{"Essential", "yes"}}),
      pkg("app", "1"),
  };
  ResolveOptions o = request({"app"}, {"perl-base"});
  EXPECT_EQ(names(resolved(av, o)), (Names{"app"}));
  o.include_essential = true;
  Resolution r = resolved(av, o);
  EXPECT_EQ(names(r), (Names{"app", "base-files", "libc6", "dash"}));
  EXPECT_EQ(find(r, "dash")->why(), "essential");
  ASSERT_EQ(r.excluded.size(), 1u);
  EXPECT_EQ(r.excluded[0].name, "perl-base");
  EXPECT_EQ(r.excluded[0].needed_by, "essential");
  o.priorities = {"required"};
  r = resolved(av, o);
  EXPECT_EQ(find(r, "mawk")->why(), "priority required");
  EXPECT_EQ(find(r, "base-files")->why(), "essential");
}

TEST(Resolver, CyclesTerminateAndKeepPreDependsFirst) {
  // libc6 and libgcc-s1 depend on each other (as in Debian); libc6's edge is a Pre-Depends,
  // so the cycle is broken at libgcc-s1's plain Depends despite the name order.
  std::vector<Package> av = {
      pkg("app", "1", {{"Depends", "libgcc-s1"}}),
      pkg("libgcc-s1", "12", {{"Depends", "libc6"}}),
      pkg("libc6", "2.36", {{"Pre-Depends", "libgcc-s1"}}),
  };
  Resolution r = resolved(av, request({"app"}));
  EXPECT_EQ(names(r), (Names{"libgcc-s1", "libc6", "app"}));

  // Two plain Depends: the lowest name goes first. A three-cycle with a tail.
  av = {
      pkg("a", "1", {{"Depends", "b"}}),    pkg("b", "1", {{"Depends", "c"}}),
      pkg("c", "1", {{"Depends", "a, d"}}), pkg("d", "1"),
      pkg("z", "1", {{"Depends", "c"}}),
  };
  EXPECT_EQ(names(resolved(av, request({"z"}))), (Names{"d", "a", "c", "b", "z"}));
  // A package depending on itself through Provides.
  av = {pkg("self", "1", {{"Depends", "virt"}, {"Provides", "virt"}})};
  EXPECT_EQ(names(resolved(av, request({"self"}))), (Names{"self"}));
}

TEST(Resolver, ArchitectureRules) {
  std::vector<Package> av = {
      pkg("app", "1", {{"Depends", "python3:any, libx:amd64, data, winonly [!linux-any] | data"}}),
      pkg("python3", "3.11", {{"Multi-Arch", "allowed"}}),
      pkg("libx", "1", {{"Multi-Arch", "same"}}),
      pkg("libx", "9", {{"Architecture", "arm64"}}),
      pkg("data", "1", {{"Architecture", "all"}}),
  };
  Resolution r = resolved(av, request({"app"}));
  EXPECT_EQ(names(r), (Names{"data", "libx", "python3", "app"}));
  EXPECT_EQ(find(r, "libx")->package.version, "1");

  av[1].multi_arch = "foreign";
  EXPECT_EQ(failure(av, request({"app"})).message(),
            "python3:any needed by app 1: no candidate; available: python3 3.11 (not "
            "Multi-Arch: allowed, as :any needs)");
  av[1].multi_arch = "allowed";
  av[0].depends = "libx:arm64";
  EXPECT_EQ(failure(av, request({"app"})).kind(), ErrorKind::kNotFound);
}

TEST(Resolver, MalformedIndexDataIsCorrupt) {
  std::vector<Package> av = {pkg("app", "1", {{"Depends", "libc6 (>= 2"}, {"Suite", "sid"}}),
                             pkg("libc6", "2")};
  util::Error e = failure(av, request({"app"}));
  EXPECT_EQ(e.kind(), ErrorKind::kCorrupt);
  EXPECT_EQ(e.message(),
            "package app 1 (sid): Depends \"libc6 (>= 2\": column 12: missing ')' after the "
            "version");
  av = {pkg("app", "1:")};
  e = failure(av, request({"app"}));
  EXPECT_EQ(e.kind(), ErrorKind::kCorrupt);
  EXPECT_EQ(e.message(), "package app 1: (bookworm): version \"1:\": nothing after the epoch");
  // A malformed Provides only matters when its package is chosen.
  av = {pkg("app", "1"), pkg("odd", "1", {{"Provides", "x | y"}})};
  EXPECT_EQ(names(resolved(av, request({"app"}))), (Names{"app"}));
  EXPECT_EQ(failure(av, request({"odd"})).kind(), ErrorKind::kCorrupt);
}

TEST(Resolver, ResultDoesNotDependOnIndexOrder) {
  std::vector<Package> av = {
      pkg("app", "1", {{"Depends", "x | y, libc6, mta"}}),
      pkg("x", "1", {{"Depends", "libc6"}}),
      pkg("y", "1"),
      pkg("libc6", "2", {{"Depends", "libgcc-s1"}}),
      pkg("libgcc-s1", "1", {{"Depends", "libc6"}}),
      pkg("p1", "1", {{"Provides", "mta"}}),
      pkg("p0", "1", {{"Provides", "mta"}}),
  };
  Names want = names(resolved(av, request({"app"})));
  std::reverse(av.begin(), av.end());
  EXPECT_EQ(names(resolved(av, request({"app"}))), want);
  std::rotate(av.begin(), av.begin() + 3, av.end());
  EXPECT_EQ(names(resolved(av, request({"app"}))), want);
  EXPECT_EQ(want, (Names{"libc6", "libgcc-s1", "p0", "x", "app"}));
}

// A slice of bookworm's main/binary-amd64/Packages, read with the control parser, resolved as
// distroless's "static" and "base" images are (debconf and perl excluded).
TEST(Resolver, ResolvesARealShapedPackagesIndex) {
  const char* packages = R"(Package: base-files
Version: 12.4+deb12u5
Installed-Size: 341
Maintainer: Santiago Vila <sanvila@debian.org>
Architecture: amd64
Replaces: base, dpkg (<= 1.15.0), miscutils
Provides: base
Pre-Depends: awk
Breaks: debian-security-support (<< 2019.04.25), initscripts (<< 2.88dsf-13.3), sendmail (<< 8.15.2-6)
Description: Debian base system miscellaneous files
Multi-Arch: foreign
Tag: admin::configuring, role::app-data
Section: admin
Priority: required
Essential: yes
Filename: pool/main/b/base-files/base-files_12.4+deb12u5_amd64.deb
Size: 70888
SHA256: a2afe66d538977f379a73ad59d2167fc7c21a61261d8d0f690b3d7dba8581b84

Package: mawk
Version: 1.3.4.20200120-3.1
Architecture: amd64
Multi-Arch: foreign
Pre-Depends: libc6 (>= 2.34)
Provides: awk
Priority: required
Section: interpreters
Filename: pool/main/m/mawk/mawk_1.3.4.20200120-3.1_amd64.deb
Size: 133956
SHA256: ce11fcb023f436f16d86519886964b143118e482846edee5b2839eb02360e5a1

Package: libc6
Source: glibc
Version: 2.36-9+deb12u4
Architecture: amd64
Multi-Arch: same
Depends: libgcc-s1
Recommends: libidn2-0 (>= 2.0.5~)
Suggests: glibc-doc, debconf | debconf-2.0, libc-l10n, locales, libnss-nis, libnss-nisplus
Breaks: aide (<< 0.17.3-4+b3), busybox (<< 1.30.1-6), hurd (<< 1:0.9.git20220301-2),
 ioquake3 (<< 1.36+u20200211.f2c61c1~dfsg-2~), libgegl-0.4-0 (<< 0.4.18), libtirpc1 (<< 0.2.3),
 locales (<< 2.36), locales-all (<< 2.36), macs (<< 2.2.7.1-3~), nocheck (<< 1.2)
Priority: optional
Section: libs
Filename: pool/main/g/glibc/libc6_2.36-9+deb12u4_amd64.deb
Size: 2757936
SHA256: e279b99e01622955edfab5a177e3f7bce64092f9c239562f8253d44815503d93

Package: libgcc-s1
Source: gcc-12
Version: 12.2.0-14
Architecture: amd64
Multi-Arch: same
Provides: libgcc1 (= 1:12.2.0-14)
Depends: gcc-12-base (= 12.2.0-14), libc6 (>= 2.35)
Priority: optional
Section: libs
Filename: pool/main/g/gcc-12/libgcc-s1_12.2.0-14_amd64.deb
Size: 49468
SHA256: 597c60d9ac91bad4101310153f1e3f45478bffbe0832d10edc3367eefe7c0598

Package: gcc-12-base
Source: gcc-12
Version: 12.2.0-14
Architecture: amd64
Multi-Arch: same
Breaks: gnat (<< 7)
Priority: required
Section: libs
Filename: pool/main/g/gcc-12/gcc-12-base_12.2.0-14_amd64.deb
Size: 37540
SHA256: 7403fa4865088d9ea7f70539a0aef19e39423934445f0cd524c93af87288dec8

Package: tzdata
Version: 2024a-0+deb12u1
Architecture: all
Multi-Arch: foreign
Depends: debconf (>= 0.5) | debconf-2.0
Provides: tzdata-bookworm
Priority: required
Section: localization
Filename: pool/main/t/tzdata/tzdata_2024a-0+deb12u1_all.deb
Size: 255820
SHA256: 4c242869e8968d18bd622c8d5ae7d3c324b742f9bcd8c8d1eae77802b9161442

Package: debconf
Version: 1.5.82
Architecture: all
Multi-Arch: foreign
Pre-Depends: perl-base (>= 5.20.1-3~)
Provides: debconf-2.0
Priority: required
Section: admin
Essential: no
Filename: pool/main/d/debconf/debconf_1.5.82_all.deb
Size: 121120
SHA256: cafd0afc34e3b38145604cbbf0fd17cd164f90744e221786ff99c8e561b6255b

Package: perl-base
Source: perl
Version: 5.36.0-7+deb12u1
Architecture: amd64
Essential: yes
Priority: required
Pre-Depends: libc6 (>= 2.35), libcrypt1 (>= 1:4.1.0)
Breaks: amanda-common (<< 1:3.3.9-2), libfile-spec-perl (<< 3.8000), libmarc-charset-perl (<< 1.35-3)
Filename: pool/main/p/perl/perl-base_5.36.0-7+deb12u1_amd64.deb
Size: 1466212
SHA256: fef1faecb2e835a2b9110c4da8ec9817735835ea687e385f4b8f19d69bc239c4

Package: netbase
Version: 6.4
Architecture: all
Multi-Arch: foreign
Priority: optional
Section: admin
Filename: pool/main/n/netbase/netbase_6.4_all.deb
Size: 12876
SHA256: 4ec1129c47b74e3addb7e9269c9ad95a05956bfc761e2cdbfc208a42b4f6a16e

Package: ca-certificates
Version: 20230311
Architecture: all
Multi-Arch: foreign
Depends: openssl (>= 1.1.1), debconf (>= 0.5) | debconf-2.0
Breaks: ca-certificates-java (<< 20121112+nmu1)
Enhances: openssl
Priority: optional
Section: misc
Filename: pool/main/c/ca-certificates/ca-certificates_20230311_all.deb
Size: 153404
SHA256: b181878493212a7a1df0a923a243f9235eefa308246b702cc290b3d9fa04a05b

Package: openssl
Version: 3.0.11-1~deb12u2
Architecture: amd64
Depends: libc6 (>= 2.34), libssl3 (>= 3.0.9)
Suggests: ca-certificates
Priority: optional
Section: utils
Filename: pool/main/o/openssl/openssl_3.0.11-1~deb12u2_amd64.deb
Size: 1419904
SHA256: e717bd16e607a952dc975e1199fa0c215ebd581d087431ff9eb76b77adcd3315

Package: libssl3
Source: openssl
Version: 3.0.11-1~deb12u2
Architecture: amd64
Multi-Arch: same
Depends: libc6 (>= 2.34)
Priority: optional
Section: libs
Filename: pool/main/o/openssl/libssl3_3.0.11-1~deb12u2_amd64.deb
Size: 2024704
SHA256: 8cf00420d8d448d8e3c65255147e098199b704202cd3de8cc03b4e14f9f0e993

Package: libssl3
Source: openssl
Version: 3.0.13-1~deb12u1
Architecture: amd64
Multi-Arch: same
Depends: libc6 (>= 2.34)
Priority: optional
Section: libs
Filename: pool/updates/main/o/openssl/libssl3_3.0.13-1~deb12u1_amd64.deb
Size: 2025436
SHA256: 02f45d102aa052834d3101dd82021961582838f96c92e3d54190e2f04f97db0a
)";
  std::vector<Package> av;
  auto st = for_each_paragraph(
      packages, "Packages (bookworm main amd64)", [&](Paragraph&& p) -> util::Status {
        Package pkg = TRY(package_from_paragraph(std::move(p), "Packages", true));
        pkg.suite = pkg.filename.starts_with("pool/updates/") ? "bookworm-security" : "bookworm";
        av.push_back(std::move(pkg));
        return util::Status{};
      });
  ASSERT_TRUE(st) << st.error().message();
  ASSERT_EQ(av.size(), 13u);

  ResolveOptions o = request({"base-files", "netbase", "tzdata", "ca-certificates", "libssl3"},
                             {"debconf", "perl-base"});
  Resolution r = resolved(av, o);
  EXPECT_EQ(names(r), (Names{"gcc-12-base", "libc6", "libgcc-s1", "libssl3", "mawk", "base-files",
                             "netbase", "openssl", "ca-certificates", "tzdata"}));
  EXPECT_EQ(find(r, "libssl3")->package.version, "3.0.13-1~deb12u1");
  EXPECT_EQ(find(r, "libssl3")->package.suite, "bookworm-security");
  EXPECT_EQ(find(r, "mawk")->why(), "dependency of base-files 12.4+deb12u5 (Pre-Depends: awk)");
  EXPECT_EQ(find(r, "libc6")->package.source, "glibc");
  ASSERT_EQ(r.excluded.size(), 2u);
  EXPECT_EQ(r.excluded[0].name, "debconf");
  EXPECT_EQ(r.excluded[0].needed_by, "tzdata 2024a-0+deb12u1");
  EXPECT_EQ(r.excluded[1].needed_by, "ca-certificates 20230311");

  // With essential packages and without excludes, perl-base is needed and libcrypt1 is not in
  // this slice of the index.
  o.excluded.clear();
  o.include_essential = true;
  util::Error e = failure(av, o);
  EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
  EXPECT_EQ(e.message(),
            "libcrypt1 (>= 1:4.1.0) needed by perl-base 5.36.0-7+deb12u1: no candidate; "
            "available: libcrypt1: none");
}

}  // namespace
}  // namespace bonsai::debian
