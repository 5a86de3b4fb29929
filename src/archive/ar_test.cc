#include "archive/ar.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "archive/test_util.h"

namespace bonsai::archive {
namespace {

using testing::run;
using testing::TempDir;
using util::ErrorKind;

std::string pad(std::string s, size_t width) {
  s.resize(width, ' ');
  return s;
}

// One member as ar writes it: header, body, and a '\n' to an even offset.
std::string member(const std::string& name, std::string_view body,
                   const std::string& mode = "100644", const std::string& mtime = "1700000000",
                   const std::string& owner = "0") {
  std::string h = pad(name, 16) + pad(mtime, 12) + pad(owner, 6) + pad(owner, 6) + pad(mode, 8) +
                  pad(std::to_string(body.size()), 10) + "`\n";
  std::string out = h + std::string(body);
  if (body.size() % 2) out += '\n';
  return out;
}

struct Read {
  ArMember member;
  std::string body;
};

Result<std::vector<Read>> read_all_members(std::string_view archive) {
  util::StringReader in(archive);
  ArReader ar(in);
  std::vector<Read> out;
  for (;;) {
    auto m = TRY(ar.next());
    if (!m) return out;
    std::string body = TRY(util::read_all(ar.body(), 1 << 20));
    out.push_back({std::move(*m), std::move(body)});
  }
}

util::Error error_of(std::string_view archive) {
  auto r = read_all_members(archive);
  EXPECT_FALSE(r);
  return r ? util::Error(ErrorKind::kInternal, "no error") : r.error();
}

TEST(ArReader, ReadsWhatBinutilsArWrites) {
  TempDir dir;
  testing::write_file(dir.file("debian-binary"), "2.0\n");
  testing::write_file(dir.file("odd"), "abc");
  testing::write_file(dir.file("a-rather-long-name.txt"), std::string(1001, 'x'));
  testing::write_file(dir.file("empty"), "");
  // D: deterministic (zero mtimes and owners); f: names cut to 15 bytes, not in a GNU name table.
  auto [status, out] =
      run("cd " + dir.file("") +
          " && ar rcDf x.a debian-binary odd empty a-rather-long-name.txt && cat x.a");
  ASSERT_EQ(status, 0);
  auto members = read_all_members(out);
  ASSERT_TRUE(members) << members.error().message();
  ASSERT_EQ(members->size(), 4u);
  EXPECT_EQ((*members)[0].member.name, "debian-binary");
  EXPECT_EQ((*members)[0].body, "2.0\n");
  EXPECT_EQ((*members)[1].member.name, "odd");
  EXPECT_EQ((*members)[1].member.size, 3u);
  EXPECT_EQ((*members)[1].body, "abc");
  EXPECT_EQ((*members)[2].member.name, "empty");
  EXPECT_EQ((*members)[2].body, "");
  EXPECT_EQ((*members)[3].member.name, "a-rather-long-n");
  EXPECT_EQ((*members)[3].body, std::string(1001, 'x'));
  for (const auto& m : *members) {
    EXPECT_EQ(m.member.mtime, 0);
    EXPECT_EQ(m.member.uid, 0u);
  }
  EXPECT_EQ((*members)[1].member.mode, 0644u);  // ar D writes 644 for every member
}

TEST(ArReader, ReadsHeaderFieldsAndBlankOptionalFields) {
  std::string a = std::string("!<arch>\n") +
                  member("control.tar.xz/", "abc", "100755", "123", "1000") +
                  member("data.tar", "wxyz", "", "", "");
  auto members = read_all_members(a);
  ASSERT_TRUE(members) << members.error().message();
  ASSERT_EQ(members->size(), 2u);
  const ArMember& m = (*members)[0].member;
  EXPECT_EQ(m.name, "control.tar.xz");
  EXPECT_EQ(m.mode, 0100755u);
  EXPECT_EQ(m.mtime, 123);
  EXPECT_EQ(m.uid, 1000u);
  EXPECT_EQ(m.gid, 1000u);
  EXPECT_EQ((*members)[1].member.name, "data.tar");
  EXPECT_EQ((*members)[1].member.mode, 0u);
  EXPECT_EQ((*members)[1].body, "wxyz");
}

TEST(ArReader, SkipsUnreadBodiesAndAcceptsAMissingFinalPad) {
  std::string a = std::string("!<arch>\n") + member("one", "12345") + member("two", "hello");
  a.pop_back();  // the last member's padding byte
  util::StringReader in(a);
  ArReader ar(in);
  ASSERT_EQ(ar.next().value()->name, "one");
  char c[2];
  ASSERT_EQ(ar.body().read(c).value(), 2u);  // partly read
  auto two = ar.next().value();
  ASSERT_TRUE(two);
  EXPECT_EQ(two->name, "two");
  EXPECT_EQ(util::read_all(ar.body(), 100).value(), "hello");
  EXPECT_FALSE(ar.next().value());
  EXPECT_FALSE(ar.next().value());
}

TEST(ArReader, EmptyArchiveHasNoMembers) {
  auto members = read_all_members("!<arch>\n");
  ASSERT_TRUE(members);
  EXPECT_TRUE(members->empty());
}

TEST(ArReader, RejectsBadMagic) {
  for (std::string_view bad : {"", "!<arch", "!<thin>\n", "PK\x03\x04 not ar"}) {
    util::Error e = error_of(bad);
    EXPECT_EQ(e.kind(), ErrorKind::kCorrupt);
    EXPECT_TRUE(e.message().starts_with("not an ar archive")) << e.message();
  }
}

TEST(ArReader, TruncationIsCorruptAndNamesTheMember) {
  std::string a = std::string("!<arch>\n") + member("debian-binary", "2.0\n") +
                  member("control.tar.gz", std::string(100, 'c'));
  util::Error e = error_of(a.substr(0, a.size() - 30));
  EXPECT_EQ(e.kind(), ErrorKind::kCorrupt);
  EXPECT_EQ(e.message(), "ar member 1 (control.tar.gz): truncated body");

  e = error_of(a.substr(0, 8 + 68 + 20));
  EXPECT_EQ(e.kind(), ErrorKind::kCorrupt);
  EXPECT_EQ(e.message(), "ar member 1: truncated header");

  // Truncated while skipping an unread body.
  util::StringReader in(std::string_view(a).substr(0, a.size() - 30));
  ArReader ar(in);
  ASSERT_TRUE(ar.next().value());
  ASSERT_TRUE(ar.next().value());
  auto r = ar.next();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "ar member 1 (control.tar.gz): truncated body");
}

TEST(ArReader, RejectsMalformedHeaders) {
  std::string good = member("data.tar", "x");
  std::string bad_size = good;
  bad_size.replace(48, 10, "12x       ");
  util::Error e = error_of("!<arch>\n" + bad_size);
  EXPECT_EQ(e.kind(), ErrorKind::kCorrupt);
  EXPECT_EQ(e.message(), "ar member 0 (data.tar): bad size field \"12x       \"");

  std::string no_size = good;
  no_size.replace(48, 10, std::string(10, ' '));
  EXPECT_NE(error_of("!<arch>\n" + no_size).message().find("bad size field"), std::string::npos);

  std::string bad_mode = good;
  bad_mode.replace(40, 8, "100689  ");
  EXPECT_NE(error_of("!<arch>\n" + bad_mode).message().find("bad mode field"), std::string::npos);

  std::string bad_end = good;
  bad_end[59] = 'x';
  e = error_of("!<arch>\n" + bad_end);
  EXPECT_EQ(e.kind(), ErrorKind::kCorrupt);
  EXPECT_NE(e.message().find("terminator"), std::string::npos) << e.message();

  e = error_of("!<arch>\n" + member("a/b", "x"));
  EXPECT_EQ(e.kind(), ErrorKind::kCorrupt);
  EXPECT_NE(e.message().find("bad member name"), std::string::npos) << e.message();
  e = error_of("!<arch>\n" + member("", "x"));
  EXPECT_EQ(e.kind(), ErrorKind::kCorrupt);
}

TEST(ArReader, RefusesExtendedNameForms) {
  for (std::string name : {"/", "//", "/0", "#1/20"}) {
    util::Error e = error_of("!<arch>\n" + member(name, "12345678901234567890"));
    EXPECT_EQ(e.kind(), ErrorKind::kUnsupported) << name;
    EXPECT_TRUE(e.message().starts_with("ar member 0: ")) << e.message();
  }
}

TEST(ArReader, MemberCountIsLimited) {
  std::string a = "!<arch>\n";
  for (int i = 0; i < 5; ++i) a += member("m" + std::to_string(i), "x");
  util::StringReader in(a);
  ArReader ar(in, {.max_members = 4});
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(ar.next().value());
  auto r = ar.next();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kLimit);
  EXPECT_EQ(r.error().message(), "ar member 4: more than 4 members");
}

}  // namespace
}  // namespace bonsai::archive
