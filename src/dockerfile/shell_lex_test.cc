#include "dockerfile/shell_lex.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "dockerfile/text.h"

namespace bonsai::dockerfile {
namespace {

namespace fs = std::filesystem;

const fs::path kEnvVarTest =
    fs::path(BONSAI_SOURCE_DIR) / ".." / "shared" / "conformance" / "dockerfile" / "envVarTest";

TEST(ShellLexConformance, EveryUnixLineOfEnvVarTestPasses) {
  ASSERT_TRUE(fs::exists(kEnvVarTest)) << "no envVarTest at " << kEnvVarTest << " (../shared is beside the checkout)";
  std::ifstream in(kEnvVarTest);
  const Env env{{"PWD", "/home"}, {"SHELL", "bash"}, {"KOREAN", "한국어"}, {"NULL", ""}};
  ShellLex lex('\\');
  std::string line;
  int line_no = 0;
  int checked = 0;
  while (std::getline(in, line)) {
    ++line_no;
    auto t = trim_space(line);
    if (t.empty() || t[0] == '#') continue;
    auto p1 = line.find('|');
    auto p2 = line.find('|', p1 + 1);
    ASSERT_NE(p2, std::string::npos) << line;
    auto platform = std::string(trim_space(std::string_view(line).substr(0, p1)));
    auto source = std::string(trim_space(std::string_view(line).substr(p1 + 1, p2 - p1 - 1)));
    auto expected = std::string(trim_space(std::string_view(line).substr(p2 + 1)));
    if (platform != "A" && platform != "U") continue;
    auto got = lex.process_word(source, env);
    if (expected == "error") {
      EXPECT_FALSE(got) << "line " << line_no << ": " << source << " gave " << *got;
    } else {
      ASSERT_TRUE(got) << "line " << line_no << ": " << got.error().message();
      EXPECT_EQ(*got, expected) << "line " << line_no << ": " << source;
    }
    ++checked;
  }
  EXPECT_GT(checked, 100);
}

std::string expand(std::string_view word, const Env& env) {
  auto r = ShellLex('\\').process_word(word, env);
  return r ? *r : "ERROR: " + r.error().message();
}

const Env kEnv{{"V", "foo/bar/baz.tar.gz"}, {"E", ""}, {"W", "a b  c"}};

TEST(ShellLex, DefaultAndAlternativeForms) {
  EXPECT_EQ(expand("${U:-x}|${E:-x}|${V:-x}", kEnv), "x|x|foo/bar/baz.tar.gz");
  EXPECT_EQ(expand("${U-x}|${E-x}", kEnv), "x|");
  EXPECT_EQ(expand("${U:+x}|${E:+x}|${V:+x}", kEnv), "||x");
  EXPECT_EQ(expand("${U+x}|${E+x}", kEnv), "|x");
}

TEST(ShellLex, ErrorForms) {
  EXPECT_EQ(expand("${V:?boom}", kEnv), "foo/bar/baz.tar.gz");
  EXPECT_NE(expand("${U:?boom}", kEnv).find("U: boom"), std::string::npos);
  EXPECT_NE(expand("${E:?}", kEnv).find("E: is not allowed to be empty"), std::string::npos);
  EXPECT_EQ(expand("${E?}", kEnv), "");
  EXPECT_NE(expand("${U?}", kEnv).find("U: is not allowed to be unset"), std::string::npos);
}

TEST(ShellLex, PrefixAndSuffixRemoval) {
  EXPECT_EQ(expand("${V#*/}", kEnv), "bar/baz.tar.gz");
  EXPECT_EQ(expand("${V##*/}", kEnv), "baz.tar.gz");
  EXPECT_EQ(expand("${V%.*}", kEnv), "foo/bar/baz.tar");
  EXPECT_EQ(expand("${V%%.*}", kEnv), "foo/bar/baz");
  EXPECT_EQ(expand("${V#nomatch}", kEnv), "foo/bar/baz.tar.gz");
  EXPECT_EQ(expand("${V%?z}", kEnv), "foo/bar/baz.tar.");
  EXPECT_EQ(expand("${U#x}", kEnv), "");
  EXPECT_NE(expand("${V:#x}", kEnv).find("unsupported modifier (:#)"), std::string::npos);
}

TEST(ShellLex, PatternReplacement) {
  EXPECT_EQ(expand("${V/a/A}", kEnv), "foo/bAr/baz.tar.gz");
  EXPECT_EQ(expand("${V//a/A}", kEnv), "foo/bAr/bAz.tAr.gz");
  EXPECT_EQ(expand("${V//\\//-}", kEnv), "foo-bar-baz.tar.gz");
  EXPECT_EQ(expand("${V/b*z/X}", kEnv), "foo/X");
  EXPECT_EQ(expand("${V/b*r/X}", kEnv), "foo/X.gz");
  EXPECT_EQ(expand("${V//[/X}", kEnv), "foo/bar/baz.tar.gz");
  EXPECT_NE(expand("${V/a/A", kEnv).find("missing '}'"), std::string::npos);
  EXPECT_NE(expand("${V/a", kEnv).find("missing '/'"), std::string::npos);
}

TEST(ShellLex, EscapedPatternCharactersAreLiteral) {
  const Env env{{"S", "a*b?c"}};
  EXPECT_EQ(expand("${S#a\\*}", env), "b?c");
  EXPECT_EQ(expand("${S%\\?c}", env), "a*b");
  EXPECT_NE(expand("${S#\\q}", env).find("invalid escape"), std::string::npos);
}

TEST(ShellLex, QuotesAndEscapes) {
  EXPECT_EQ(expand("'$V' \"$E\" \\$V", kEnv), "$V  $V");
  EXPECT_EQ(expand("a\\ b", kEnv), "a b");
  EXPECT_EQ(ShellLex('`').process_word("a`$V `\"x", kEnv).value(), "a$V \"x");
}

TEST(ShellLex, WordsSplitAfterExpansionButNotInsideQuotes) {
  ShellLex lex('\\');
  auto words = lex.process_words("x $W \"$W\" 'q r'", kEnv);
  ASSERT_TRUE(words);
  EXPECT_EQ(*words, (std::vector<std::string>{"x", "a", "b", "c", "a b  c", "q r"}));
}

TEST(ShellLex, SkipUnsetEnvLeavesReferencesAlone) {
  ShellLexOptions opt;
  opt.skip_unset_env = true;
  ShellLex lex(opt);
  EXPECT_EQ(lex.process_word("$U ${U} ${U:-x} ${V%.gz}", kEnv).value(),
            "$U ${U} ${U:-x} foo/bar/baz.tar");
}

TEST(ShellLex, RawModesKeepQuotesAndEscapes) {
  ShellLexOptions opt;
  opt.raw_quotes = true;
  opt.raw_escapes = true;
  EXPECT_EQ(ShellLex(opt).process_word("'a' \"b\" \\c", kEnv).value(), "'a' \"b\" \\c");
}

TEST(ShellLex, DeepNestingFailsInsteadOfOverflowing) {
  std::string word;
  for (int i = 0; i < 5000; ++i) word += "${a:-";
  EXPECT_FALSE(ShellLex('\\').process_word(word, kEnv));
}

TEST(ShellPattern, ShortestAndLongestPrefix) {
  auto p = ShellPattern::compile("a*b").value();
  EXPECT_EQ(p.match_prefix("aXbYb", 0, false), 3u);
  EXPECT_EQ(p.match_prefix("aXbYb", 0, true), 5u);
  EXPECT_EQ(p.match_prefix("Xab", 0, false), std::string_view::npos);
  EXPECT_EQ(p.replace("zzaXbYb", "-", true), "zz-");
  EXPECT_EQ(ShellPattern::compile("").value().replace("ab", "-", true), "-a-b-");
}

}  // namespace
}  // namespace bonsai::dockerfile
