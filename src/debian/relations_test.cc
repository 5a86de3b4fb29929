#include "debian/relations.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace bonsai::debian {
namespace {

RelationList parsed(std::string_view field, std::string_view text) {
  auto r = parse_relations(field, text);
  EXPECT_TRUE(r) << text << ": " << r.error().message();
  return r ? *r : RelationList{};
}

std::string parse_error(std::string_view field, std::string_view text) {
  auto r = parse_relations(field, text);
  EXPECT_FALSE(r) << text << " parsed as " << (r ? to_string(*r) : "");
  return r ? "" : r.error().message();
}

Relation rel(std::string_view text) {
  auto list = parsed("Depends", text);
  EXPECT_EQ(list.size(), 1u);
  return list.empty() ? Relation{} : list[0][0];
}

TEST(DebianRelations, ParsesGroupsOfAlternatives) {
  auto list = parsed("Depends", "libc6 (>= 2.34), debconf (>= 0.5) | debconf-2.0, zlib1g");
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].size(), 1u);
  EXPECT_EQ(list[0][0].name, "libc6");
  EXPECT_EQ(list[0][0].op, VersionOp::kGreaterEqual);
  EXPECT_EQ(list[0][0].version, "2.34");
  ASSERT_EQ(list[1].size(), 2u);
  EXPECT_EQ(list[1][0].name, "debconf");
  EXPECT_EQ(list[1][1].name, "debconf-2.0");
  EXPECT_EQ(list[1][1].op, VersionOp::kNone);
  EXPECT_EQ(list[2][0].name, "zlib1g");
}

TEST(DebianRelations, EmptyFieldIsEmptyList) {
  EXPECT_TRUE(parsed("Depends", "").empty());
  EXPECT_TRUE(parsed("Depends", " \n ").empty());
}

TEST(DebianRelations, ReadsEveryOperatorAndTheObsoleteOnes) {
  EXPECT_EQ(rel("a (<< 1)").op, VersionOp::kLess);
  EXPECT_EQ(rel("a (<= 1)").op, VersionOp::kLessEqual);
  EXPECT_EQ(rel("a (= 1)").op, VersionOp::kEqual);
  EXPECT_EQ(rel("a (>= 1)").op, VersionOp::kGreaterEqual);
  EXPECT_EQ(rel("a (>> 1)").op, VersionOp::kGreater);
  EXPECT_EQ(rel("a (< 1)").op, VersionOp::kLessEqual);
  EXPECT_EQ(rel("a (> 1)").op, VersionOp::kGreaterEqual);
  EXPECT_EQ(rel("a(>=1)").op, VersionOp::kGreaterEqual);
  EXPECT_EQ(rel("a(>=1)").version, "1");
}

TEST(DebianRelations, ToleratesFoldedLinesAndBlanksBetweenTokens) {
  auto list = parsed("Depends", "a\n (\t>=  1:2.0-1 ) ,\n b |c");
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0][0].version, "1:2.0-1");
  EXPECT_EQ(to_string(list), "a (>= 1:2.0-1), b | c");
}

TEST(DebianRelations, ReadsArchQualifiersArchListsAndProfiles) {
  Relation r = rel("python3:any (>= 3.11~) [amd64 !i386] <!nocheck cross> <stage1>");
  EXPECT_EQ(r.name, "python3");
  EXPECT_EQ(r.arch_qualifier, "any");
  EXPECT_EQ(r.version, "3.11~");
  EXPECT_EQ(r.architectures, (std::vector<std::string>{"amd64", "!i386"}));
  ASSERT_EQ(r.profiles.size(), 2u);
  EXPECT_EQ(r.profiles[0], (std::vector<std::string>{"!nocheck", "cross"}));
  EXPECT_EQ(r.profiles[1], (std::vector<std::string>{"stage1"}));
  EXPECT_EQ(r.to_string(), "python3:any (>= 3.11~) [amd64 !i386] <!nocheck cross> <stage1>");
}

TEST(DebianRelations, ToStringParsesBackToTheSameRelations) {
  for (std::string_view text :
       {"a", "a:native (< 1), b", "libc6:amd64 (>> 2) | c [linux-any] <stage1>", "d (= 1:2-3)"}) {
    RelationList list = parsed("Depends", text);
    EXPECT_EQ(parsed("Depends", to_string(list)), list) << text;
  }
}

TEST(DebianRelations, ArchitectureListsFollowApt) {
  EXPECT_TRUE(rel("a [amd64 arm64]").applies_to("amd64"));
  EXPECT_FALSE(rel("a [arm64]").applies_to("amd64"));
  EXPECT_FALSE(rel("a [!amd64]").applies_to("amd64"));
  EXPECT_TRUE(rel("a [!i386 !armhf]").applies_to("amd64"));
  EXPECT_TRUE(rel("a [linux-any]").applies_to("amd64"));
  EXPECT_FALSE(rel("a [kfreebsd-any]").applies_to("amd64"));
  EXPECT_TRUE(rel("a [kfreebsd-any]").applies_to("kfreebsd-amd64"));
  EXPECT_TRUE(rel("a [any-amd64]").applies_to("kfreebsd-amd64"));
  EXPECT_FALSE(rel("a [any-arm64]").applies_to("amd64"));
  EXPECT_TRUE(rel("a").applies_to("amd64"));
}

TEST(DebianRelations, BuildProfilesAreFormulas) {
  std::vector<std::string> none, nocheck{"nocheck"};
  EXPECT_TRUE(rel("a <!nocheck>").applies_to("amd64", none));
  EXPECT_FALSE(rel("a <!nocheck>").applies_to("amd64", nocheck));
  EXPECT_FALSE(rel("a <stage1>").applies_to("amd64", none));
  EXPECT_TRUE(rel("a <stage1> <!nocheck>").applies_to("amd64", none));
  EXPECT_FALSE(rel("a <!nocheck stage1>").applies_to("amd64", none));
}

TEST(DebianRelations, SatisfiesComparesWithDpkgOrder) {
  EXPECT_TRUE(satisfies(rel("a"), "0"));
  EXPECT_TRUE(satisfies(rel("a (>= 2.34)"), "2.36-9"));
  EXPECT_FALSE(satisfies(rel("a (>= 2.34)"), "2.34~rc1"));
  EXPECT_TRUE(satisfies(rel("a (<< 2.0)"), "2.0~beta"));
  EXPECT_FALSE(satisfies(rel("a (<< 2.0)"), "2.0"));
  EXPECT_TRUE(satisfies(rel("a (= 1.0)"), "1.00"));
  EXPECT_TRUE(satisfies(rel("a (= 1.0)"), "0:1.0-0"));
  EXPECT_TRUE(satisfies(rel("a (<= 1)"), "1"));
  EXPECT_TRUE(satisfies(rel("a (>> 1)"), "1:0"));
  EXPECT_TRUE(satisfies(rel("a (< 1)"), "1"));  // obsolete '<' means "<="
}

TEST(DebianRelations, ErrorsNameFieldTextAndColumn) {
  EXPECT_EQ(parse_error("Depends", "libc6 (>= 2.36"),
            "Depends \"libc6 (>= 2.36\": column 15: missing ')' after the version");
  EXPECT_EQ(parse_error("Depends", "a, , b"),
            "Depends \"a, , b\": column 4: package name "
            "expected, found ','");
  EXPECT_EQ(parse_error("Depends", "a,"), "Depends \"a,\": column 3: missing package name");
  EXPECT_EQ(parse_error("Depends", "a (2.0)"),
            "Depends \"a (2.0)\": column 4: missing relation operator (<< <= = >= >>)");
  EXPECT_EQ(parse_error("Depends", "a (<> 1)"),
            "Depends \"a (<> 1)\": column 4: bad relation operator '<>'");
  EXPECT_EQ(parse_error("Depends", "a (>= )"), "Depends \"a (>= )\": column 7: missing version");
  EXPECT_EQ(parse_error("Depends", "a (>= 1:)"),
            "Depends \"a (>= 1:)\": column 7: version \"1:\": nothing after the epoch");
  EXPECT_EQ(parse_error("Depends", "a b"), "Depends \"a b\": column 3: unexpected 'b' after \"a\"");
  EXPECT_EQ(parse_error("Depends", "-a"),
            "Depends \"-a\": column 1: package name must start with a letter or digit");
  EXPECT_EQ(parse_error("Depends", "a:"),
            "Depends \"a:\": column 3: missing architecture "
            "qualifier");
  EXPECT_EQ(parse_error("Depends", "a [amd64"), "Depends \"a [amd64\": column 3: missing ']'");
  EXPECT_EQ(parse_error("Depends", "a []"), "Depends \"a []\": column 3: empty '[]' list");
  EXPECT_EQ(parse_error("Conflicts", "a | b"),
            "Conflicts \"a | b\": column 3: alternatives ('|') are not allowed");
  std::string nul = "Depends \"a,";
  nul += '\0';
  nul += "\": column 3: package name expected, found byte 0x00";
  EXPECT_EQ(parse_error("Depends", std::string_view("a,\0", 3)), nul);
  EXPECT_EQ(parse_error("Provides", "a (>= 1)"),
            "Provides \"a (>= 1)\": column 4: only '=' is allowed in Provides");
}

TEST(DebianRelations, LongFieldsAreQuotedAroundTheError) {
  std::string text;
  for (int i = 0; i < 40; ++i) text += "libpackage" + std::to_string(i) + ", ";
  text += "bad (>= 1";
  std::string err = parse_error("Depends", text);
  EXPECT_NE(err.find("Depends \"...ibpackage37, "), std::string::npos) << err;
  EXPECT_NE(err.find(fmt::format("column {}: missing ')'", text.size() + 1)), std::string::npos)
      << err;
  EXPECT_LT(err.size(), 200u) << err;
}

TEST(DebianRelations, ProvidesAcceptsVersionsWithEquals) {
  auto list = parsed("Provides", "mail-transport-agent, libfoo-abi (= 2)");
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1][0].op, VersionOp::kEqual);
}

}  // namespace
}  // namespace bonsai::debian
