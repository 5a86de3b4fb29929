#include "debian/spec.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "debian/assemble.h"
#include "debian/lockfile.h"

namespace bonsai::debian {
namespace {

std::string error_of(std::string_view text, const std::string& path = "s.yaml") {
  auto r = parse_spec(text, path);
  EXPECT_FALSE(r) << text;
  return r ? std::string() : r.error().message();
}

TEST(Spec, DefaultsAndValues) {
  auto spec = parse_spec(
      "packages: [base-files, netbase]\n"
      "exclude: [debconf]\n"
      "env:\n  SSL_CERT_FILE: /etc/ssl/certs/ca-certificates.crt\n"
      "user: nonroot\n"
      "entrypoint: [/app]\n"
      "layers:\n  - {name: libc, packages: [libc6]}\n  - {packages: ['*']}\n",
      "static.yaml");
  ASSERT_TRUE(spec) << spec.error().message();
  EXPECT_EQ(spec->suites,
            (std::vector<std::string>{"bookworm", "bookworm-updates", "bookworm-security"}));
  EXPECT_EQ(spec->components, std::vector<std::string>{"main"});
  EXPECT_EQ(spec->architecture, "amd64");
  EXPECT_EQ(spec->packages, (std::vector<std::string>{"base-files", "netbase"}));
  EXPECT_FALSE(spec->scripts);
  EXPECT_TRUE(spec->usr_merge);
  ASSERT_EQ(spec->users.size(), 3u);
  EXPECT_EQ(spec->users[2].name, "nonroot");
  EXPECT_EQ(spec->users[2].uid, 65532u);
  ASSERT_EQ(spec->groups.size(), 3u);
  EXPECT_EQ(spec->groups[1].name, "nobody");
  EXPECT_EQ(spec->env.size(), 1u);
  EXPECT_EQ(spec->user, "nonroot");
  ASSERT_TRUE(spec->entrypoint);
  EXPECT_FALSE(spec->cmd);
  ASSERT_EQ(spec->layers.size(), 2u);
  EXPECT_EQ(spec->layers[1].name, "layer 2");
}

TEST(Spec, ErrorsNameFileLineAndColumn) {
  EXPECT_EQ(error_of("packages: [a]\npackagse: [b]\n"),
            "s.yaml:2:1: unknown key \"packagse\" in the spec");
  EXPECT_EQ(error_of("packages: a\n"), "s.yaml:1:11: packages must be a list");
  EXPECT_EQ(error_of("packages: [a]\nscripts: maybe\n"),
            "s.yaml:2:10: scripts must be true or false, not \"maybe\"");
  EXPECT_EQ(error_of("packages: [a]\nusers:\n  - {name: x, uid: -1}\n"),
            "s.yaml:3:20: uid must be a number, not \"-1\"");
  EXPECT_NE(error_of("packages: [a\n").find("s.yaml:2:1: "), std::string::npos);
  EXPECT_EQ(error_of("- a\n- b\n"), "s.yaml: a spec is a YAML map of keys (suites, packages, ...)");
  EXPECT_EQ(error_of("suites: [bookworm]\n"), "s.yaml: no packages");
  EXPECT_NE(error_of("extends: nothere.yaml\npackages: [a]\n", "/nonexistent/s.yaml")
                .find("/nonexistent/s.yaml:1:10"),
            std::string::npos);
}

TEST(Spec, ExtendsAppendsPackagesAndOverridesTheRest) {
  auto dir = std::filesystem::temp_directory_path() / ("spec-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "parent.yaml")
      << "packages: [a, b]\nexclude: [x]\nusr_merge: false\nworkdir: /p\n";
  auto spec = parse_spec("extends: parent.yaml\npackages: [c]\nexclude: [y]\nworkdir: /c\n",
                         (dir / "child.yaml").string());
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(spec) << spec.error().message();
  EXPECT_EQ(spec->packages, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(spec->exclude, (std::vector<std::string>{"x", "y"}));
  EXPECT_FALSE(spec->usr_merge);
  EXPECT_EQ(spec->workdir, "/c");
}

TEST(Spec, ShippedSpecsParse) {
  for (const char* name : {"static", "base", "cc", "debian", "golang", "node"}) {
    auto spec = load_spec(std::string(BONSAI_SOURCE_DIR) + "/bases/" + name + ".yaml");
    ASSERT_TRUE(spec) << name << ": " << spec.error().message();
  }
}

TEST(Assemble, PathExcludedMatchesTheTreeBelowAPattern) {
  std::vector<std::string> pats = {"/usr/share/doc", "/usr/share/man",
                                   "/usr/share/locale/*/LC_MESSAGES"};
  EXPECT_TRUE(path_excluded(pats, "/usr/share/doc"));
  EXPECT_TRUE(path_excluded(pats, "/usr/share/doc/tzdata/copyright"));
  EXPECT_TRUE(path_excluded(pats, "/usr/share/locale/de/LC_MESSAGES/dpkg.mo"));
  EXPECT_FALSE(path_excluded(pats, "/usr/share/locale/de"));
  EXPECT_FALSE(path_excluded(pats, "/usr/share/docs"));
  EXPECT_FALSE(path_excluded(pats, "/usr/share"));
}

TEST(Assemble, CaBundleConcatenatesInPathOrder) {
  EXPECT_EQ(ca_bundle({{"usr/share/ca-certificates/mozilla/B.crt", "b"},
                       {"usr/share/ca-certificates/mozilla/A.crt", "a\n"}}),
            "a\nb\n");
}

TEST(Lockfile, RoundTripsAndRejectsUnsafeEntries) {
  Package p;
  p.name = "base-files";
  p.version = "12.4+deb12u5";
  p.architecture = "amd64";
  p.suite = "bookworm";
  p.mirror = "http://deb.debian.org/debian";
  p.filename = "pool/main/b/base-files/base-files_12.4+deb12u5_amd64.deb";
  p.size = 70000;
  p.sha256 = std::string(64, 'c');
  std::string text = lockfile_text("static.yaml", "amd64", {p});
  auto back = parse_lockfile(text, "static.lock");
  ASSERT_TRUE(back) << back.error().message();
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ((*back)[0].filename, p.filename);
  EXPECT_EQ((*back)[0].sha256, p.sha256);
  EXPECT_EQ((*back)[0].mirror, p.mirror);
  EXPECT_EQ(lockfile_text("static.yaml", "amd64", *back), text);

  std::string bad = text;
  bad.replace(bad.find("pool/main"), 9, "../../etc");
  auto r = parse_lockfile(bad, "static.lock");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("static.lock: package 1"), std::string::npos)
      << r.error().message();
  EXPECT_NE(r.error().message().find("bad Filename"), std::string::npos);
  EXPECT_FALSE(parse_lockfile("{", "x.lock"));
  EXPECT_FALSE(parse_lockfile("{\"lockfileVersion\": 2, \"packages\": []}", "x.lock"));
}

}  // namespace
}  // namespace bonsai::debian
