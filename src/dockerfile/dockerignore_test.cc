#include "dockerfile/dockerignore.h"

#include <gtest/gtest.h>

namespace bonsai::dockerfile {
namespace {

IgnoreMatcher matcher(std::string_view text) {
  auto m = IgnoreMatcher::parse(text);
  EXPECT_TRUE(m) << m.error().message();
  return m ? std::move(*m) : IgnoreMatcher{};
}

TEST(DockerIgnore, ReadsPatternsLikeTheReference) {
  auto p = read_dockerignore(
      "\xEF\xBB\xBFtest1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n"
      "! /inverted/abs/path\n!\n! \n ./x/../y/ \r\n");
  EXPECT_EQ(p, (std::vector<std::string>{"test1", "test2", "a/file/here", "lastfile",
                                         "!inverted/abs/path", "!", "!", "y"}));
}

TEST(DockerIgnore, CleanPathFollowsGo) {
  EXPECT_EQ(clean_path("./a//b/../c/"), "a/c");
  EXPECT_EQ(clean_path("/../a"), "/a");
  EXPECT_EQ(clean_path("../../a"), "../../a");
  EXPECT_EQ(clean_path(""), ".");
  EXPECT_EQ(clean_path("a/.."), ".");
}

TEST(DockerIgnore, StarDoesNotCrossDirectories) {
  auto m = matcher("*.md\n");
  EXPECT_TRUE(m.excluded("README.md"));
  EXPECT_FALSE(m.excluded("docs/README.md"));
  auto nested = matcher("*/*.md\n");
  EXPECT_TRUE(nested.excluded("docs/README.md"));
}

TEST(DockerIgnore, DoubleStarMatchesAnyDepth) {
  auto m = matcher("**/*.go\n");
  EXPECT_TRUE(m.excluded("main.go"));
  EXPECT_TRUE(m.excluded("a/b/c.go"));
  EXPECT_FALSE(m.excluded("a/b/c.goo"));
  auto suffix = matcher("**/node_modules\n");
  EXPECT_TRUE(suffix.excluded("node_modules"));
  EXPECT_TRUE(suffix.excluded("web/node_modules/x/y.js"));
  auto prefix = matcher("build/**\n");
  EXPECT_TRUE(prefix.excluded("build/out/a"));
  auto middle = matcher("a/**/z\n");
  EXPECT_TRUE(middle.excluded("a/z"));
  EXPECT_TRUE(middle.excluded("a/b/c/z"));
  EXPECT_FALSE(middle.excluded("a/bz"));
}

TEST(DockerIgnore, ParentDirectoryMatchExcludesChildren) {
  auto m = matcher("vendor\n/tmp/\n");
  EXPECT_TRUE(m.excluded("vendor/lib/x.c"));
  EXPECT_TRUE(m.excluded("tmp/a"));
  EXPECT_FALSE(m.excluded("src/vendor.c"));
  EXPECT_FALSE(m.excluded("."));
}

TEST(DockerIgnore, ExceptionsApplyInOrderAndLastMatchWins) {
  auto m = matcher("*.md\n!README.md\n");
  EXPECT_TRUE(m.excluded("CHANGES.md"));
  EXPECT_FALSE(m.excluded("README.md"));
  EXPECT_TRUE(m.has_exceptions());
  auto reexcluded = matcher("*.md\n!README*.md\nREADME-secret.md\n");
  EXPECT_FALSE(reexcluded.excluded("README-public.md"));
  EXPECT_TRUE(reexcluded.excluded("README-secret.md"));
  auto exception_first = matcher("!keep\n*\n");
  EXPECT_TRUE(exception_first.excluded("keep"));
  auto dir = matcher("docs\n!docs/public\n");
  EXPECT_TRUE(dir.excluded("docs/private/a"));
  EXPECT_FALSE(dir.excluded("docs/public/a"));
}

TEST(DockerIgnore, QuestionMarkClassesAndEscapes) {
  auto m = matcher("file?.txt\nlog[0-9]\n[^a]b\nlit\\*\n");
  EXPECT_TRUE(m.excluded("file1.txt"));
  EXPECT_FALSE(m.excluded("file/.txt"));
  EXPECT_TRUE(m.excluded("log7"));
  EXPECT_FALSE(m.excluded("logx"));
  EXPECT_TRUE(m.excluded("xb"));
  EXPECT_FALSE(m.excluded("ab"));
  EXPECT_TRUE(m.excluded("lit*"));
  EXPECT_FALSE(m.excluded("litx"));
}

TEST(DockerIgnore, MalformedPatternsAreErrors) {
  EXPECT_FALSE(IgnoreMatcher::parse("[abc\n"));
  EXPECT_FALSE(IgnoreMatcher::parse("!\n"));
  EXPECT_FALSE(IgnoreMatcher::parse("a\\\n"));
  EXPECT_FALSE(IgnoreMatcher::parse("[]a]\n"));
}

TEST(DockerIgnore, DockerfileSpecificIgnoreFileComesFirst) {
  EXPECT_EQ(dockerignore_candidates("build/app.Dockerfile"),
            (std::vector<std::string>{"build/app.Dockerfile.dockerignore", ".dockerignore"}));
}

}  // namespace
}  // namespace bonsai::dockerfile
