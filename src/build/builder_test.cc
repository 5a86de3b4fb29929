// The executor and its cache, with a fake sandbox in place of LinuxSandbox: RUN "commands" write
// a file into the upper dir, so these tests see which steps ran, and what the layers hold,
// without starting processes. COPY, WORKDIR and the layer commits are real (they need root for
// overlayfs, like the snapshot tests).
#include "build/builder.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "store/images.h"
#include "store/test_util.h"

namespace bonsai::build {
namespace {

using store::testing::TempDir;

// Each run writes /ran-<argv[2]> (the shell command) into the layer; "fail" exits 3.
class FakeSandbox final : public util::Sandbox {
 public:
  util::Result<util::RunResult> run(const util::RunSpec& spec) override {
    runs.push_back(spec.argv.back());
    envs.push_back(spec.env);
    util::RunResult r;
    if (spec.argv.back() == "fail") {
      r.exit_code = 3;
      r.tail = {"boom"};
      return r;
    }
    std::ofstream(spec.upper_dir + "/ran-" + spec.argv.back()) << spec.argv.back();
    return r;
  }
  std::vector<std::string> runs;
  std::vector<std::vector<std::string>> envs;
};

class BuilderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (overlayfs, whiteout devices)";
    root_ = tmp_.file("store");
    context_ = tmp_.file("ctx");
    std::filesystem::create_directories(context_);
    write("a.txt", "A");
    write("b.txt", "B");
  }
  void write(const std::string& name, const std::string& data) {
    std::ofstream(context_ + "/" + name) << data;
  }
  util::Result<BuildResult> build(const std::string& dockerfile, bool no_cache = false) {
    BuildRequest req;
    req.context_dir = context_;
    req.dockerfile_name = "Dockerfile";
    req.dockerfile_text = dockerfile;
    req.no_cache = no_cache;
    req.tags = {*store::parse_reference("test:1")};
    auto progress = make_progress(ProgressMode::kQuiet, stderr);
    return build_image(root_, req, sandbox_, *progress);
  }
  store::Image image(const BuildResult& r) {
    auto images = store::Images::open(root_);
    EXPECT_TRUE(images);
    auto img = (*images)->load_image(r.manifest);
    EXPECT_TRUE(img) << img.error().message();
    return *img;
  }

  TempDir tmp_;
  std::string root_, context_;
  FakeSandbox sandbox_;
};

constexpr const char* kDockerfile =
    "FROM scratch\n"
    "COPY a.txt /a.txt\n"
    "RUN one\n"
    "COPY b.txt /b.txt\n"
    "RUN two\n"
    "CMD [\"/app\"]\n";

TEST_F(BuilderTest, UnchangedRebuildRunsNothingAndGivesTheSameImage) {
  auto first = build(kDockerfile);
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_EQ(sandbox_.runs, (std::vector<std::string>{"one", "two"}));
  store::Image img = image(*first);
  EXPECT_EQ(img.manifest.layers.size(), 4u);
  EXPECT_EQ(img.config.history.size(), 5u);
  EXPECT_TRUE(img.config.history.back().empty_layer);

  auto again = build(kDockerfile);
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(sandbox_.runs.size(), 2u) << "a warm build ran a step";
  EXPECT_EQ(again->id, first->id) << "the cache keeps step times, so the config is the same";
}

TEST_F(BuilderTest, AChangedSourceReRunsOnlyTheStepsAfterItsCopy) {
  ASSERT_TRUE(build(kDockerfile));
  write("b.txt", "C");
  auto second = build(kDockerfile);
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_EQ(sandbox_.runs, (std::vector<std::string>{"one", "two", "two"}));
}

TEST_F(BuilderTest, AnMtimeChangeAloneIsStillAHit) {
  ASSERT_TRUE(build(kDockerfile));
  std::filesystem::last_write_time(
      context_ + "/a.txt", std::filesystem::file_time_type::clock::now() + std::chrono::hours(1));
  ASSERT_TRUE(build(kDockerfile));
  EXPECT_EQ(sandbox_.runs.size(), 2u);
}

TEST_F(BuilderTest, NoCacheRunsEverythingAgain) {
  ASSERT_TRUE(build(kDockerfile));
  ASSERT_TRUE(build(kDockerfile, /*no_cache=*/true));
  EXPECT_EQ(sandbox_.runs.size(), 4u);
}

TEST_F(BuilderTest, BuildArgsReachRunAndTheKey) {
  const char* df = "FROM scratch\nARG V=1\nRUN step\n";
  ASSERT_TRUE(build(df));
  ASSERT_TRUE(build("FROM scratch\nARG V=2\nRUN step\n"));
  EXPECT_EQ(sandbox_.runs.size(), 2u) << "a different build arg value must miss";
  const auto& env = sandbox_.envs.back();
  EXPECT_NE(std::find(env.begin(), env.end(), "V=2"), env.end());
  EXPECT_NE(std::find(env.begin(), env.end(), "HOME=/"), env.end());
}

TEST_F(BuilderTest, AFailingRunNamesTheCommandAndTagsNothing) {
  auto r = build("FROM scratch\nRUN fail\n");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), util::ErrorKind::kFailed);
  EXPECT_NE(r.error().message().find("Dockerfile:2"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("exit code 3"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("boom"), std::string::npos) << r.error().message();
  auto images = store::Images::open(root_);
  ASSERT_TRUE(images);
  EXPECT_FALSE((*images)->resolve("test:1"));
}

TEST_F(BuilderTest, MissingBaseImageSaysHowToGetOne) {
  auto r = build("FROM golang:bookworm\nRUN x\n");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), util::ErrorKind::kNotFound);
  EXPECT_NE(r.error().message().find("bonsai load"), std::string::npos) << r.error().message();
}

TEST_F(BuilderTest, StagesAndCopyFrom) {
  auto r = build(
      "FROM scratch AS a\nRUN in-a\n"
      "FROM scratch AS unused\nRUN never\n"
      "FROM scratch\nCOPY --from=a /ran-in-a /copied\nWORKDIR /w\n");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(sandbox_.runs, (std::vector<std::string>{"in-a"})) << "the unused stage ran";
  store::Image img = image(*r);
  EXPECT_EQ(img.config.config["WorkingDir"], "/w");
  EXPECT_EQ(img.manifest.layers.size(), 2u) << "COPY and the WORKDIR directory";
}

}  // namespace
}  // namespace bonsai::build
