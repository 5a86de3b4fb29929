#include "dockerfile/stages.h"

#include <gtest/gtest.h>

namespace bonsai::dockerfile {
namespace {

util::Result<BuildPlan> plan(std::string_view text, BuildOptions opt = {}) {
  auto prog = load_dockerfile(text);
  if (!prog) return std::unexpected(prog.error());
  return plan_build(*prog, opt);
}

template <typename T>
const T& step(const BuildPlan& p, int stage, size_t i) {
  return std::get<T>(p.stage(stage)->instructions.at(i).data);
}

TEST(Stages, GlobalArgsAreUsableInFromOnly) {
  auto p = plan("ARG TAG=3.19\nFROM alpine:$TAG\nRUN echo $TAG\nWORKDIR /w$TAG\n");
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->target_stage().base, "alpine:3.19");
  EXPECT_EQ(step<WorkdirInstr>(*p, 0, 1).path, "/w");
  EXPECT_TRUE(p->stage(0)->instructions[0].args.empty());
}

TEST(Stages, RedeclaredGlobalArgTakesTheGlobalValue) {
  auto p = plan("ARG TAG=1\nFROM a\nARG TAG\nWORKDIR /$TAG\n");
  ASSERT_TRUE(p);
  EXPECT_EQ(step<WorkdirInstr>(*p, 0, 1).path, "/1");
  EXPECT_EQ(p->stage(0)->instructions[1].args, (std::vector<KeyValue>{{"TAG", "1"}}));
}

TEST(Stages, BuildArgsOverrideDefaults) {
  BuildOptions opt;
  opt.build_args.set("TAG", "edge");
  opt.build_args.set("LOCAL", "x");
  auto p = plan("ARG TAG=1\nFROM a:$TAG\nARG LOCAL=default\nUSER $LOCAL\n", opt);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->target_stage().base, "a:edge");
  EXPECT_EQ(step<UserInstr>(*p, 0, 1).user, "x");
  EXPECT_TRUE(p->unused_build_args.empty());
}

TEST(Stages, UnusedBuildArgsAreReported) {
  BuildOptions opt;
  opt.build_args.set("NOPE", "1");
  auto p = plan("FROM a\n", opt);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->unused_build_args, std::vector<std::string>{"NOPE"});
  ASSERT_EQ(p->warnings.size(), 1u);
}

TEST(Stages, ArgDefaultsExpandWithWhatIsInScope) {
  auto p = plan("FROM a\nENV BASE=/opt\nARG DIR=$BASE/app\nWORKDIR $DIR\n");
  ASSERT_TRUE(p);
  EXPECT_EQ(step<WorkdirInstr>(*p, 0, 2).path, "/opt/app");
}

TEST(Stages, EnvWinsOverArgAndPairsSeeThePreviousEnvironment) {
  auto p = plan("FROM a\nARG X=arg\nENV X=env\nENV Y=$X X=new Z=$X\nLABEL l=$X\n");
  ASSERT_TRUE(p);
  const auto& env = step<EnvInstr>(*p, 0, 2);
  EXPECT_EQ(env.vars[0].value, "env");
  EXPECT_EQ(env.vars[2].value, "env");
  EXPECT_EQ(step<LabelInstr>(*p, 0, 3).labels[0].value, "new");
}

TEST(Stages, PredefinedPlatformArgs) {
  BuildOptions opt;
  opt.target_platform = "linux/arm64/v8";
  opt.build_platform = "linux/amd64";
  auto p = plan(
      "FROM --platform=$BUILDPLATFORM golang AS b\nARG TARGETARCH\nARG TARGETVARIANT\n"
      "ENV GOARCH=$TARGETARCH V=$TARGETVARIANT O=$TARGETOS\n",
      opt);
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->target_stage().platform, "linux/amd64");
  const auto& env = step<EnvInstr>(*p, 0, 2);
  EXPECT_EQ(env.vars[0].value, "arm64");
  EXPECT_EQ(env.vars[1].value, "v8");
  EXPECT_EQ(env.vars[2].value, "");  // TARGETOS was not declared in the stage
}

TEST(Stages, ProxyArgsReachRunWithoutDeclaration) {
  BuildOptions opt;
  opt.build_args.set("HTTP_PROXY", "http://proxy:3128");
  auto p = plan("FROM a\nRUN curl x\n", opt);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->stage(0)->instructions[0].args,
            (std::vector<KeyValue>{{"HTTP_PROXY", "http://proxy:3128"}}));
  EXPECT_TRUE(p->unused_build_args.empty());
  EXPECT_TRUE(is_proxy_arg("no_proxy"));
  EXPECT_FALSE(is_proxy_arg("PATH"));
}

TEST(Stages, FromEarlierStageInheritsItsEnvironment) {
  auto p = plan("FROM a AS base\nENV P=/p\nFROM base\nWORKDIR $P\n");
  ASSERT_TRUE(p);
  ASSERT_EQ(p->stages.size(), 2u);
  EXPECT_EQ(p->target_stage().base_stage, 0);
  EXPECT_EQ(step<WorkdirInstr>(*p, 1, 0).path, "/p");
}

TEST(Stages, FromALaterStageNameIsAnImage) {
  auto p = plan("FROM later\nFROM b AS later\n", {.target = "later"});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->stages.size(), 1u);
  auto first = plan("FROM later AS x\nFROM b AS later\n", {.target = "x"});
  ASSERT_TRUE(first);
  EXPECT_FALSE(first->target_stage().base_stage);
}

TEST(Stages, TargetKeepsOnlyWhatItNeeds) {
  const char* df =
      "FROM a AS deps\nRUN x\n"
      "FROM a AS unrelated\nRUN y\n"
      "FROM a AS build\nCOPY --from=deps /d /d\n"
      "FROM scratch AS final\nCOPY --from=build /b /b\n"
      "FROM a AS test\nRUN --mount=type=bind,from=unrelated,target=/u z\n";
  auto last = plan(df);
  ASSERT_TRUE(last);
  ASSERT_EQ(last->stages.size(), 2u);  // test + unrelated
  EXPECT_EQ(last->target_stage().name, "test");
  auto final_stage = plan(df, {.target = "FINAL"});
  ASSERT_TRUE(final_stage);
  std::vector<std::string> names;
  for (const auto& s : final_stage->stages) names.push_back(s.name);
  EXPECT_EQ(names, (std::vector<std::string>{"deps", "build", "final"}));
  EXPECT_FALSE(plan(df, {.target = "missing"}));
}

TEST(Stages, CopyFromIndexForwardNameAndImage) {
  auto p = plan(
      "FROM a\nFROM b\nCOPY --from=0 /x /x\nCOPY --from=busybox:1 /bin/sh /sh\n"
      "COPY --from=late /y /y\nFROM c AS late\n",
      {.target = "1"});
  EXPECT_FALSE(p);  // "1" is not a stage name
  auto q = plan(
      "FROM a\nFROM b AS two\nCOPY --from=0 /x /x\nCOPY --from=busybox:1 /bin/sh /sh\n"
      "COPY --from=late /y /y\nFROM c AS late\n",
      {.target = "two"});
  ASSERT_TRUE(q) << q.error().message();
  EXPECT_EQ(q->target_stage().deps, (std::vector<int>{0, 2}));
  EXPECT_EQ(q->stages.size(), 3u);
}

TEST(Stages, BadIndexAndCyclesAreErrors) {
  auto bad = plan("FROM a\nCOPY --from=5 /x /x\n");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("invalid stage index 5"), std::string::npos);
  auto cycle = plan("FROM a AS one\nCOPY --from=two /x /x\nFROM b AS two\nCOPY --from=one /y /y\n");
  ASSERT_FALSE(cycle);
  EXPECT_NE(cycle.error().message().find("circular dependency"), std::string::npos);
  auto self = plan("FROM a AS me\nCOPY --from=me /x /x\n");
  EXPECT_FALSE(self);
  auto dup = plan("FROM a AS x\nFROM b AS X\n");
  ASSERT_FALSE(dup);
  EXPECT_NE(dup.error().message().find("duplicate stage name"), std::string::npos);
}

TEST(Stages, CopyWordsAreExpandedAndFromByArg) {
  auto p = plan(
      "FROM a AS src\nFROM b\nARG S=src\nARG U=1000\nCOPY --from=$S --chown=$U:$U "
      "--exclude=$S/*.tmp $S/a /dst/$U/\n");
  ASSERT_TRUE(p) << p.error().message();
  const auto& c = step<CopyInstr>(*p, 1, 2);
  EXPECT_EQ(c.from, "src");
  EXPECT_EQ(c.chown, "1000:1000");
  EXPECT_EQ(c.excludes[0], "src/*.tmp");
  EXPECT_EQ(c.sources[0], "src/a");
  EXPECT_EQ(c.dest, "/dst/1000/");
  EXPECT_EQ(p->target_stage().deps, std::vector<int>{0});
}

TEST(Stages, CommandsAreNotExpanded) {
  auto p = plan("FROM a\nENV X=1\nRUN echo $X\nCMD echo $X\nONBUILD RUN $X\n");
  ASSERT_TRUE(p);
  EXPECT_EQ(step<RunInstr>(*p, 0, 1).cmd.args[0], "echo $X");
  EXPECT_EQ(step<CmdInstr>(*p, 0, 2).cmd.args[0], "echo $X");
}

TEST(Stages, ExposeSplitsExpandedWordsAndChecksThem) {
  auto p = plan("FROM a\nARG PORTS=\"80 443/udp\"\nEXPOSE $PORTS 8080\n");
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(step<ExposeInstr>(*p, 0, 1).ports, (std::vector<std::string>{"80", "443/udp", "8080"}));
  EXPECT_FALSE(plan("FROM a\nARG P=http\nEXPOSE $P\n"));
}

TEST(Stages, RunMountsAreExpandedAndParsed) {
  auto p = plan("FROM a\nARG C=/root/.cache\nRUN --mount=type=cache,target=$C go build\n");
  ASSERT_TRUE(p);
  const auto& run = step<RunInstr>(*p, 0, 1);
  ASSERT_EQ(run.mounts.size(), 1u);
  EXPECT_EQ(run.mounts[0].target, "/root/.cache");
}

TEST(Stages, ExpansionErrorsNameTheLine) {
  auto p = plan("FROM a\nWORKDIR ${X:?must be set}\nUSER ${\n");
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message().find("Dockerfile:2:1"), std::string::npos) << p.error().message();
  EXPECT_NE(p.error().message().find("must be set"), std::string::npos);
  EXPECT_NE(p.error().message().find("Dockerfile:3:1"), std::string::npos);
  EXPECT_FALSE(plan("ARG E=\nFROM $E\n"));
}

TEST(Stages, InlineCopySourcesExpandUnlessQuoted) {
  auto p = plan("FROM a\nENV N=world\nCOPY <<EOF <<'RAW' /d/\nhi $N\nEOF\nhi $N\nRAW\n");
  ASSERT_TRUE(p) << p.error().message();
  const auto& c = step<CopyInstr>(*p, 0, 1);
  ASSERT_EQ(c.inline_sources.size(), 2u);
  EXPECT_EQ(c.inline_sources[0].data, "hi world\n");
  EXPECT_EQ(c.inline_sources[1].data, "hi $N\n");
}

TEST(Stages, ImageEnvironmentCanBeSupplied) {
  BuildOptions opt;
  opt.image_env = [](const std::string& image, const std::string&) {
    Env e;
    if (image == "golang") e.set("GOPATH", "/go");
    return e;
  };
  auto p = plan("FROM golang\nWORKDIR $GOPATH/src\n", opt);
  ASSERT_TRUE(p);
  EXPECT_EQ(step<WorkdirInstr>(*p, 0, 0).path, "/go/src");
}

}  // namespace
}  // namespace bonsai::dockerfile
