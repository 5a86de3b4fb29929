#include "dockerfile/parser.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace bonsai::dockerfile {
namespace {

namespace fs = std::filesystem;

const fs::path kConformance =
    fs::path(BONSAI_SOURCE_DIR) / ".." / "shared" / "conformance" / "dockerfile";

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string dump(std::string_view text) {
  auto df = parse_dockerfile(text);
  if (!df) return "ERROR: " + df.error().message();
  return df->dump();
}

TEST(ParserConformance, EveryCaseDumpsExactlyAsTheReference) {
  ASSERT_TRUE(fs::exists(kConformance)) << "no conformance corpus at " << kConformance << " (../shared is beside the checkout)";
  int n = 0;
  for (const auto& entry : fs::directory_iterator(kConformance / "cases")) {
    SCOPED_TRACE(entry.path().filename().string());
    auto df = parse_dockerfile(read_file(entry.path() / "Dockerfile"));
    ASSERT_TRUE(df) << df.error().message();
    EXPECT_EQ(df->dump(), read_file(entry.path() / "result"));
    ++n;
  }
  EXPECT_GT(n, 0);
}

TEST(ParserConformance, EveryNegativeCaseIsRejected) {
  ASSERT_TRUE(fs::exists(kConformance)) << "no conformance corpus at " << kConformance << " (../shared is beside the checkout)";
  int n = 0;
  for (const auto& entry : fs::directory_iterator(kConformance / "negative")) {
    SCOPED_TRACE(entry.path().filename().string());
    auto df = parse_dockerfile(read_file(entry.path() / "Dockerfile"));
    EXPECT_FALSE(df) << df->dump();
    ++n;
  }
  EXPECT_GT(n, 0);
}

TEST(ParserConformance, LineNumbersMatchTheReference) {
  ASSERT_TRUE(fs::exists(kConformance)) << "no conformance corpus at " << kConformance << " (../shared is beside the checkout)";
  auto df = parse_dockerfile(read_file(kConformance / "testfile-line.Dockerfile"));
  ASSERT_TRUE(df) << df.error().message();
  ASSERT_EQ(df->nodes.size(), 3u);
  const int expected[3][2] = {{5, 5}, {11, 12}, {17, 31}};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(df->nodes[i].start_line, expected[i][0]) << i;
    EXPECT_EQ(df->nodes[i].end_line, expected[i][1]) << i;
  }
}

TEST(Parser, InstructionsAreCaseInsensitiveButKeepTheirSpelling) {
  auto df = parse_dockerfile("from alpine\nRuN echo hi\n");
  ASSERT_TRUE(df);
  EXPECT_EQ(df->nodes[1].value, "RuN");
  EXPECT_EQ(df->nodes[1].command(), "run");
  EXPECT_EQ(df->dump(), "(from \"alpine\")\n(run \"echo hi\")\n");
}

TEST(Parser, DirectivesAreReadOnlyAtTheTop) {
  auto df = parse_dockerfile("# syntax=docker/dockerfile:1\n# ESCAPE=`\nFROM a\nRUN x `\n y\n");
  ASSERT_TRUE(df);
  EXPECT_EQ(df->escape, '`');
  ASSERT_NE(df->directive("syntax"), nullptr);
  EXPECT_EQ(df->directive("syntax")->value, "docker/dockerfile:1");
  EXPECT_EQ(df->dump(), "(from \"a\")\n(run \"x  y\")\n");

  auto late = parse_dockerfile("# hello\n# escape=`\nFROM a\nRUN x `\n");
  ASSERT_TRUE(late);
  EXPECT_EQ(late->escape, '\\');
  auto after_blank = parse_dockerfile("\n# escape=`\nFROM a\n");
  ASSERT_TRUE(after_blank);
  EXPECT_EQ(after_blank->escape, '\\');
}

TEST(Parser, DuplicateOrInvalidDirectiveIsAnError) {
  auto dup = parse_dockerfile("# escape=`\n# Escape=\\\nFROM a\n");
  ASSERT_FALSE(dup);
  EXPECT_NE(dup.error().message().find("only one escape parser directive"), std::string::npos);
  EXPECT_NE(dup.error().message().find("Dockerfile:2:1"), std::string::npos);
  auto bad = parse_dockerfile("# escape=x\nFROM a\n");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("invalid escape token 'x'"), std::string::npos);
  auto check = parse_dockerfile("# check=skip=all\n# check=error=true\nFROM a\n");
  EXPECT_FALSE(check);
}

TEST(Parser, CommentsAndBlankLinesInsideContinuationsAreSkipped) {
  Diagnostics diags;
  auto df = parse_syntax("FROM a\nRUN a \\\n# c\n\n  b\n", diags);
  EXPECT_FALSE(diags.has_errors());
  ASSERT_EQ(df.nodes.size(), 2u);
  EXPECT_EQ(df.nodes[1].args[0], "a   b");
  EXPECT_EQ(df.nodes[1].start_line, 2);
  EXPECT_EQ(df.nodes[1].end_line, 5);
  EXPECT_EQ(diags.warnings().size(), 1u);
}

TEST(Parser, EscapedEscapeAtEndOfLineDoesNotContinue) {
  auto df = parse_dockerfile("FROM a\nENV C x\\\\\nENV D y\n");
  ASSERT_TRUE(df);
  EXPECT_EQ(df->dump(), "(from \"a\")\n(env \"C\" \"x\\\\\\\\\" \"\")\n(env \"D\" \"y\" \"\")\n");
}

TEST(Parser, CrlfLineEndingsAreAccepted) {
  auto df = parse_dockerfile("FROM a\r\nRUN b \\\r\n c\r\n");
  ASSERT_TRUE(df);
  EXPECT_EQ(df->dump(), "(from \"a\")\n(run \"b  c\")\n");
}

TEST(Parser, ByteOrderMarkIsDropped) {
  auto df = parse_dockerfile("\xEF\xBB\xBF# escape=`\nFROM a\n");
  ASSERT_TRUE(df);
  EXPECT_EQ(df->escape, '`');
}

TEST(Parser, JsonFormAndItsFallbacks) {
  EXPECT_EQ(dump("CMD [\"a\", \"b\"]"), "(cmd \"a\" \"b\")\n");
  EXPECT_EQ(dump("CMD [\"a\"] trailing"), "(cmd \"[\\\"a\\\"] trailing\")\n");
  EXPECT_EQ(dump("CMD [\"a\",]"), "(cmd \"[\\\"a\\\",]\")\n");
  EXPECT_EQ(dump("CMD [\"\\ud83d\\ude00\", \"\\ud800\"]"), "(cmd \"😀\" \"\xEF\xBF\xBD\")\n");
  EXPECT_EQ(dump("COPY [\"a b\" , \"c\"]"), "(copy \"a b\" \"c\")\n");
  EXPECT_EQ(dump("COPY [a b] c"), "(copy \"[a\" \"b]\" \"c\")\n");
  auto bad = parse_dockerfile("RUN [\"a\", 1]");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("arrays must be comprised of strings only"),
            std::string::npos);
  EXPECT_FALSE(parse_dockerfile("RUN [\"a\", {\"b\": [null, true, 1.5e3]}]"));
}

TEST(Parser, FlagsAreExtractedBeforeArguments) {
  EXPECT_EQ(dump("COPY --from=build --chown=\"a b\" src dst"),
            "(copy [\"--from=build\" \"--chown=a b\"] \"src\" \"dst\")\n");
  EXPECT_EQ(dump("RUN -- --not-a-flag"), "(run \"--not-a-flag\")\n");
  EXPECT_EQ(dump("RUN --mount=type=cache,target=/x -x"),
            "(run [\"--mount=type=cache,target=/x\"] \"-x\")\n");
}

TEST(Parser, EnvAndLabelFormsDumpAsTriples) {
  EXPECT_EQ(dump("ENV A=1 B=\"2 3\""), "(env \"A\" \"1\" \"=\" \"B\" \"\\\"2 3\\\"\" \"=\")\n");
  EXPECT_EQ(dump("LABEL a b c"), "(label \"a\" \"b c\" \"\")\n");
  EXPECT_FALSE(parse_dockerfile("ENV A=1 B"));
  EXPECT_FALSE(parse_dockerfile("LABEL onlykey"));
}

TEST(Parser, OnbuildNestsItsInstruction) {
  EXPECT_EQ(dump("ONBUILD ADD . /app"), "(onbuild (add \".\" \"/app\"))\n");
  EXPECT_EQ(dump("ONBUILD"), "(onbuild)\n");
}

TEST(Parser, UnknownInstructionsAreKeptForTheNextLayer) {
  EXPECT_EQ(dump("FROM a\nFOO bar baz"), "(from \"a\")\n(foo \"\")\n");
}

TEST(Parser, HeredocBodiesAreAttached) {
  auto df = parse_dockerfile(
      "FROM a\nRUN <<EOF\necho hi\nEOF\nCOPY <<-\"X\" <<Y /dst\n\tone\n\tX\ntwo\nY\n");
  ASSERT_TRUE(df) << df.error().message();
  ASSERT_EQ(df->nodes.size(), 3u);
  ASSERT_EQ(df->nodes[1].heredocs.size(), 1u);
  EXPECT_EQ(df->nodes[1].heredocs[0].name, "EOF");
  EXPECT_EQ(df->nodes[1].heredocs[0].content, "echo hi\n");
  EXPECT_TRUE(df->nodes[1].heredocs[0].expand);
  EXPECT_EQ(df->nodes[1].end_line, 4);
  const auto& copy = df->nodes[2];
  ASSERT_EQ(copy.heredocs.size(), 2u);
  EXPECT_EQ(copy.heredocs[0].name, "X");
  EXPECT_TRUE(copy.heredocs[0].chomp);
  EXPECT_FALSE(copy.heredocs[0].expand);
  EXPECT_EQ(copy.heredocs[0].content, "\tone\n");
  EXPECT_EQ(chomp_heredoc(copy.heredocs[0].content), "one\n");
  EXPECT_EQ(copy.heredocs[1].content, "two\n");
  EXPECT_EQ(copy.end_line, 9);
}

TEST(Parser, HeredocWordsAreRecognisedOnlyInTheirForm) {
  auto fd = parse_heredoc_word("3<<EOF");
  ASSERT_TRUE(fd && *fd);
  EXPECT_EQ((*fd)->fd, 3u);
  auto quoted = parse_heredoc_word("<<'E'\"O\"F");
  ASSERT_TRUE(quoted && *quoted);
  EXPECT_EQ((*quoted)->name, "EOF");
  EXPECT_FALSE((*quoted)->expand);
  auto none = parse_heredoc_word("<<");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  auto json = parse_dockerfile("FROM a\nRUN [\"<<EOF\"]\nRUN b\n");
  ASSERT_TRUE(json);
  EXPECT_TRUE(json->nodes[1].heredocs.empty());
}

TEST(Parser, UnterminatedHeredocIsAnError) {
  auto df = parse_dockerfile("FROM a\nRUN <<EOF\necho\n");
  ASSERT_FALSE(df);
  EXPECT_NE(df.error().message().find("Dockerfile:2:1: unterminated heredoc"), std::string::npos);
}

TEST(Parser, AllErrorsAreReportedInOneRun) {
  auto df = parse_dockerfile("FROM a\nENV X\nLABEL y\n  CMD [\"a\", 2]\n", "my.Dockerfile");
  ASSERT_FALSE(df);
  const auto& msg = df.error().message();
  EXPECT_NE(msg.find("3 errors"), std::string::npos) << msg;
  EXPECT_NE(msg.find("my.Dockerfile:2:1: ENV must have two arguments"), std::string::npos) << msg;
  EXPECT_NE(msg.find("my.Dockerfile:3:1: LABEL must have two arguments"), std::string::npos);
  EXPECT_NE(msg.find("my.Dockerfile:4:3:"), std::string::npos) << msg;
}

TEST(Parser, NoInstructionsIsAnError) {
  EXPECT_FALSE(parse_dockerfile(""));
  EXPECT_FALSE(parse_dockerfile("# just a comment\n\n"));
}

TEST(Parser, DumpQuotesLikeGo) {
  EXPECT_EQ(dump("RUN a\x01\x7f\xff\u00a0\U0001F600"), "(run \"a\\x01\\x7f\\xff\\u00a0😀\")\n");
}

}  // namespace
}  // namespace bonsai::dockerfile
