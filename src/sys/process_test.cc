#include "sys/process.h"

#include <gtest/gtest.h>

#include <chrono>

namespace bonsai::sys {
namespace {

TEST(RunProcess, FeedsStdinAndCapturesStdout) {
  auto r = run_process({.argv = {"cat"}, .stdin_data = "hello\n"});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->succeeded());
  EXPECT_EQ(r->stdout_data, "hello\n");
  EXPECT_EQ(r->stderr_data, "");
}

TEST(RunProcess, ReportsExitCodeAndStderr) {
  auto r = run_process({.argv = {"sh", "-c", "echo oops >&2; exit 3"}});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_FALSE(r->succeeded());
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->stderr_data, "oops\n");
}

TEST(RunProcess, ReportsTheSignalThatEndedTheChild) {
  auto r = run_process({.argv = {"sh", "-c", "kill -TERM $$"}});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->exit_code, -1);
  EXPECT_EQ(r->signal, SIGTERM);
}

TEST(RunProcess, CapturesTheExtraDescriptorApart) {
  auto r = run_process(
      {.argv = {"sh", "-c", "echo out; echo status >&3; echo err >&2"}, .extra_output_fd = 3});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->stdout_data, "out\n");
  EXPECT_EQ(r->extra_output, "status\n");
  EXPECT_EQ(r->stderr_data, "err\n");
}

TEST(RunProcess, TheChildSeesOnlyTheDescriptorsItWasGiven) {
  // fd 3 is not given: writing to it fails in the child.
  auto r = run_process({.argv = {"sh", "-c", "echo x >&3 2>/dev/null || echo closed"}});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->stdout_data, "closed\n");
}

TEST(RunProcess, LargeInputAndOutputDoNotDeadlock) {
  std::string big(8 << 20, 'x');
  auto r = run_process({.argv = {"cat"}, .stdin_data = big});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->stdout_data.size(), big.size());
  EXPECT_EQ(r->stdout_data, big);
}

TEST(RunProcess, AChildThatIgnoresItsInputIsFine) {
  std::string big(8 << 20, 'x');
  auto r = run_process({.argv = {"true"}, .stdin_data = big});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->succeeded());
}

TEST(RunProcess, EnvironmentReplacesTheParents) {
  auto r = run_process({.argv = {"/usr/bin/env"}, .env = std::vector<std::string>{"A=1"}});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->stdout_data, "A=1\n");
}

TEST(RunProcess, MissingProgramIsNotFoundNamingIt) {
  auto r = run_process({.argv = {"bonsai-no-such-program"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), util::ErrorKind::kNotFound);
  EXPECT_NE(r.error().message().find("bonsai-no-such-program"), std::string::npos);
}

TEST(RunProcess, DeadlineKillsTheChild) {
  auto start = std::chrono::steady_clock::now();
  auto r = run_process({.argv = {"sleep", "30"}, .timeout_seconds = 1});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), util::ErrorKind::kLimit);
  EXPECT_NE(r.error().message().find("timed out after 1 seconds"), std::string::npos)
      << r.error().message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(RunProcess, DeadlineAppliesAfterTheOutputsClose) {
  auto r = run_process({.argv = {"sh", "-c", "exec >&- 2>&-; sleep 30"}, .timeout_seconds = 1});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), util::ErrorKind::kLimit);
}

TEST(RunProcess, OutputOverTheLimitIsALimitError) {
  auto r = run_process({.argv = {"head", "-c", "100000", "/dev/zero"}, .max_output = 1000});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), util::ErrorKind::kLimit);
}

}  // namespace
}  // namespace bonsai::sys
