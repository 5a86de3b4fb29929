// ChmodSpec (COPY/ADD --chmod): octal and chmod(1) symbolic modes.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

#include "build/copy.h"

namespace bonsai::build {
namespace {

using util::ErrorKind;

// ChmodSpec against coreutils chmod(1) with umask 0, on regular files (chmod keeps a directory's
// set-id bits under '=', which BuildKit's mode arithmetic does not).
TEST(ChmodSpec, AgreesWithChmodCommand) {
  char dir_template[] = "/tmp/bonsai-chmod-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  std::string file = std::string(dir_template) + "/f";
  const char* exprs[] = {"u+x",   "+x",    "a=r",     "go-w",    "u=rwx,g=rx,o=", "a+X",
                         "g=u",   "o=g",   "u+s,g+s", "+t",      "o+t",           "a-x",
                         "ug=rw", "u-w+x", "=",       "u=,g=u",  "a=rwx,o-rwx",   "g+X",
                         "0755",  "644",   "4755",    "u+rwxst", "a=X",           "go=u-w"};
  const uint32_t modes[] = {0, 0644, 0755, 0600, 04755, 0711, 01777, 0070};
  // One shell for all cases: a line "<expr> <mode> <result>" each.
  std::string script = "umask 0; f=" + file + "; for e in";
  for (const char* expr : exprs) script += std::string(" '") + expr + "'";
  script += "; do for m in";
  for (uint32_t mode : modes) {
    char text[8];
    snprintf(text, sizeof text, " %04o", mode);
    script += text;
  }
  script += "; do : >$f; chmod $m $f && chmod $e $f && echo \"$e $m $(stat -c %a $f)\"; done; done";
  FILE* p = ::popen(script.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  ASSERT_EQ(::pclose(p), 0);
  int checked = 0;
  std::istringstream lines(out);
  std::string expr, mode_text, want_text;
  while (lines >> expr >> mode_text >> want_text) {
    if (expr == "=") continue;  // the shell loop cannot tell '=' apart; covered below
    auto spec = ChmodSpec::parse(expr);
    ASSERT_TRUE(spec) << expr << ": " << spec.error().message();
    uint32_t mode = static_cast<uint32_t>(std::stoul(mode_text, nullptr, 8));
    uint32_t want = static_cast<uint32_t>(std::stoul(want_text, nullptr, 8));
    EXPECT_EQ(spec->apply(mode, false), want)
        << "chmod " << expr << " on " << mode_text << " gives " << want_text;
    ++checked;
  }
  EXPECT_EQ(checked, 23 * 8);
  EXPECT_EQ(ChmodSpec::parse("=")->apply(04755, false), 0u);
  std::string rm = std::string("rm -rf ") + dir_template;
  ASSERT_EQ(std::system(rm.c_str()), 0);
}

TEST(ChmodSpec, MalformedModesAreRefusedByName) {
  for (const char* bad : {"", "u", "u+y", "x+u", "0999", "777777", "u+x,", ",u+x", "u+x g+w"}) {
    auto spec = ChmodSpec::parse(bad);
    ASSERT_FALSE(spec) << bad;
    EXPECT_EQ(spec.error().kind(), ErrorKind::kInvalidArgument);
    EXPECT_NE(spec.error().message().find(std::string("--chmod=") + bad), std::string::npos)
        << spec.error().message();
  }
}

}  // namespace
}  // namespace bonsai::build
