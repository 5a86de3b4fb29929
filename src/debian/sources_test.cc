#include "debian/sources.h"

#include <gtest/gtest.h>

#include "store/test_util.h"
#include "sys/fd.h"

namespace bonsai::debian {
namespace {

using util::ErrorKind;
using V = std::vector<std::string>;

// This machine's own /etc/apt/sources.list.d/debian.sources, as written.
constexpr std::string_view kHostDeb822 =
    "Types: deb\n"
    "# http://snapshot.debian.org/archive/debian/20250520T000000Z\n"
    "URIs: http://deb.debian.org/debian\n"
    "Suites: bookworm bookworm-updates\n"
    "Components: main\n"
    "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    "\n"
    "Types: deb\n"
    "# http://snapshot.debian.org/archive/debian-security/20250520T000000Z\n"
    "URIs: http://deb.debian.org/debian-security\n"
    "Suites: bookworm-security\n"
    "Components: main\n"
    "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n";

TEST(ParseDeb822Sources, ReadsEachStanza) {
  auto r = parse_deb822_sources(kHostDeb822, "debian.sources");
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->size(), 2u);
  const SourceEntry& e = (*r)[0];
  EXPECT_EQ(e.types, V{"deb"});
  EXPECT_EQ(e.uris, V{"http://deb.debian.org/debian"});
  EXPECT_EQ(e.suites, (V{"bookworm", "bookworm-updates"}));
  EXPECT_EQ(e.components, V{"main"});
  EXPECT_EQ(e.signed_by, V{"/usr/share/keyrings/debian-archive-keyring.gpg"});
  EXPECT_TRUE(e.enabled);
  EXPECT_EQ(e.origin, "debian.sources:1");
  EXPECT_EQ((*r)[1].suites, V{"bookworm-security"});
  EXPECT_EQ((*r)[1].origin, "debian.sources:8");
}

TEST(ParseDeb822Sources, ReadsOptionalFields) {
  auto r = parse_deb822_sources(
      "Types: deb deb-src\nURIs: http://a/debian/ http://b/debian\nSuites: trixie\n"
      "Components: main contrib\nArchitectures: amd64 arm64\nEnabled: no\n"
      "Signed-By: 0123456789ABCDEF0123456789ABCDEF01234567, "
      "89ABCDEF0123456789ABCDEF0123456789ABCDEF\n",
      "x.sources");
  ASSERT_TRUE(r) << r.error().message();
  const SourceEntry& e = (*r)[0];
  EXPECT_EQ(e.types, (V{"deb", "deb-src"}));
  EXPECT_EQ(e.uris, (V{"http://a/debian", "http://b/debian"}));
  EXPECT_EQ(e.architectures, (V{"amd64", "arm64"}));
  EXPECT_FALSE(e.enabled);
  EXPECT_EQ(e.signed_by.size(), 2u);
}

TEST(ParseDeb822Sources, KeepsAnInlineKeyApart) {
  auto r = parse_deb822_sources(
      "Types: deb\nURIs: https://example.com/apt\nSuites: stable\nComponents: main\n"
      "Signed-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n mQINBGAAAAA=\n =abcd\n"
      " -----END PGP PUBLIC KEY BLOCK-----\n",
      "x.sources");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE((*r)[0].signed_by.empty());
  EXPECT_EQ((*r)[0].signed_by_key,
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBGAAAAA=\n=abcd\n"
            "-----END PGP PUBLIC KEY BLOCK-----\n");
}

TEST(ParseDeb822Sources, MissingRequiredFieldNamesTheStanza) {
  auto r = parse_deb822_sources(
      "Types: deb\nURIs: http://a/debian\nSuites: x\nComponents: main\n\n"
      "Types: deb\nURIs: http://b/debian\nComponents: main\n",
      "x.sources");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kCorrupt);
  EXPECT_EQ(r.error().message(), "x.sources:6: no Suites in this stanza");
}

TEST(ParseDeb822Sources, ExactSuitePathNeedsNoComponents) {
  auto r = parse_deb822_sources("Types: deb\nURIs: file:/srv/repo\nSuites: ./\n", "x.sources");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE((*r)[0].components.empty());
  EXPECT_FALSE(parse_deb822_sources("Types: deb\nURIs: file:/srv\nSuites: x\n", "x.sources"));
}

TEST(ParseOneLineSources, ReadsEntriesOptionsAndComments) {
  auto r = parse_one_line_sources(
      "# comment\n"
      "deb http://deb.debian.org/debian bookworm main contrib # trailing\n"
      "\n"
      "deb-src [arch=amd64,arm64 signed-by=/k.gpg] http://deb.debian.org/debian/ bookworm main\n"
      "deb [ trusted=yes ] file:/srv/repo ./\n",
      "sources.list");
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].types, V{"deb"});
  EXPECT_EQ((*r)[0].uris, V{"http://deb.debian.org/debian"});
  EXPECT_EQ((*r)[0].suites, V{"bookworm"});
  EXPECT_EQ((*r)[0].components, (V{"main", "contrib"}));
  EXPECT_EQ((*r)[0].origin, "sources.list:2");
  EXPECT_EQ((*r)[1].types, V{"deb-src"});
  EXPECT_EQ((*r)[1].architectures, (V{"amd64", "arm64"}));
  EXPECT_EQ((*r)[1].signed_by, V{"/k.gpg"});
  EXPECT_EQ((*r)[1].uris, V{"http://deb.debian.org/debian"});
  EXPECT_EQ((*r)[2].suites, V{"./"});
  EXPECT_TRUE((*r)[2].components.empty());
}

TEST(ParseOneLineSources, ErrorsNameFileAndLine) {
  auto r =
      parse_one_line_sources("deb http://a/debian bookworm main\nrpm http://b x y\n", "s.list");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "s.list:2: unknown type \"rpm\"");
  EXPECT_FALSE(parse_one_line_sources("deb [arch=amd64 http://a bookworm main\n", "s.list"));
  EXPECT_FALSE(parse_one_line_sources("deb http://a\n", "s.list"));
  EXPECT_FALSE(parse_one_line_sources("deb http://a bookworm\n", "s.list"));
}

TEST(ReadHostSources, ReadsSourcesListThenListAndSourcesFilesInNameOrder) {
  store::testing::TempDir dir;
  ASSERT_TRUE(sys::mkdir_p(dir.file("sources.list.d")));
  ASSERT_TRUE(
      sys::write_file_atomic(dir.file("sources.list"), "deb http://main/debian bookworm main\n"));
  ASSERT_TRUE(sys::write_file_atomic(dir.file("sources.list.d/b.sources"),
                                     "Types: deb\nURIs: http://b\nSuites: x\nComponents: c\n"));
  ASSERT_TRUE(sys::write_file_atomic(dir.file("sources.list.d/a.list"), "deb http://a x c\n"));
  ASSERT_TRUE(sys::write_file_atomic(dir.file("sources.list.d/c.list.disabled"), "garbage\n"));
  auto r = read_host_sources(dir.path());
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].uris[0], "http://main/debian");
  EXPECT_EQ((*r)[1].uris[0], "http://a");
  EXPECT_EQ((*r)[2].uris[0], "http://b");
  EXPECT_EQ((*r)[2].origin, dir.file("sources.list.d/b.sources") + ":1");
}

TEST(ReadHostSources, NothingThereIsNoError) {
  store::testing::TempDir dir;
  auto r = read_host_sources(dir.path());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->empty());
}

TEST(ReadHostSources, AMalformedFileIsAnErrorNamingIt) {
  store::testing::TempDir dir;
  ASSERT_TRUE(sys::mkdir_p(dir.file("sources.list.d")));
  ASSERT_TRUE(sys::write_file_atomic(dir.file("sources.list.d/bad.list"), "deb\n"));
  auto r = read_host_sources(dir.path());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("bad.list:1"), std::string::npos) << r.error().message();
}

TEST(DebianMirror, ChoosesTheEntryListingTheSuite) {
  auto entries = parse_deb822_sources(kHostDeb822, "debian.sources").value();
  auto m = debian_mirror(entries, "bookworm");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->uri, "http://deb.debian.org/debian");
  EXPECT_EQ(m->signed_by, V{"/usr/share/keyrings/debian-archive-keyring.gpg"});
  auto s = security_mirror(entries, "bookworm");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->uri, "http://deb.debian.org/debian-security");
}

TEST(DebianMirror, IgnoresThirdPartyRepositoriesListingTheSameSuite) {
  auto entries = parse_one_line_sources(
                     "deb https://download.docker.com/linux/debian bookworm stable\n"
                     "deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main\n"
                     "deb-src http://src.example/debian bookworm main\n"
                     "deb http://mirror.example/pub/debian/ bookworm main non-free\n",
                     "sources.list")
                     .value();
  auto m = debian_mirror(entries, "bookworm");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->uri, "http://mirror.example/pub/debian");
  EXPECT_FALSE(security_mirror(entries, "bookworm"));
}

TEST(DebianMirror, FallsBackToADebianPathForAnotherSuite) {
  auto entries =
      parse_one_line_sources("deb http://mirror.example/debian trixie main\n", "l").value();
  auto m = debian_mirror(entries, "bookworm");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->uri, "http://mirror.example/debian");
  EXPECT_FALSE(debian_mirror(
      parse_one_line_sources("deb http://ppa.example/apt trixie main\n", "l").value(), "bookworm"));
}

TEST(DebianMirror, SkipsDisabledStanzas) {
  auto entries = parse_deb822_sources(
                     "Types: deb\nURIs: http://off/debian\nSuites: bookworm\nComponents: main\n"
                     "Enabled: no\n\n"
                     "Types: deb\nURIs: http://on/debian\nSuites: bookworm\nComponents: main\n",
                     "x.sources")
                     .value();
  EXPECT_EQ(debian_mirror(entries)->uri, "http://on/debian");
}

TEST(SecurityMirror, PrefersTheSuitesOwnSecurityEntry) {
  auto entries = parse_one_line_sources(
                     "deb http://security.debian.org/debian-security bullseye-security main\n"
                     "deb http://sec.example/debian-security bookworm-security main\n",
                     "l")
                     .value();
  EXPECT_EQ(security_mirror(entries, "bookworm")->uri, "http://sec.example/debian-security");
  EXPECT_EQ(security_mirror(entries, "trixie")->uri, "http://security.debian.org/debian-security");
}

}  // namespace
}  // namespace bonsai::debian
