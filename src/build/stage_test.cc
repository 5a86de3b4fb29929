#include "build/stage.h"

#include <gtest/gtest.h>

#include "dockerfile/instructions.h"

namespace bonsai::build {
namespace {

// The typed instructions of a one-stage Dockerfile body (after "FROM scratch").
std::vector<dockerfile::Instruction> instructions(const std::string& body) {
  auto program = dockerfile::load_dockerfile("FROM scratch\n" + body);
  EXPECT_TRUE(program) << program.error().message();
  std::vector<dockerfile::Instruction> out(program->instructions.begin() + 1,
                                           program->instructions.end());
  return out;
}

std::vector<std::string> apply(ImageState& s, const std::string& body) {
  std::vector<std::string> history;
  for (const auto& ins : instructions(body)) {
    auto text = apply_config_step(ins, s);
    EXPECT_TRUE(text) << ins.original;
    if (text) history.push_back(*text);
  }
  return history;
}

TEST(InWorkdir, JoinsCleansAndKeepsTheDirectoryMark) {
  EXPECT_EQ(in_workdir("/", "/app"), "/app");
  EXPECT_EQ(in_workdir("/", "app"), "/app");
  EXPECT_EQ(in_workdir("/app", "."), "/app/");
  EXPECT_EQ(in_workdir("/", "."), "/");
  EXPECT_EQ(in_workdir("/app", "bin/"), "/app/bin/");
  EXPECT_EQ(in_workdir("/app", "../etc/x"), "/etc/x");
  EXPECT_EQ(in_workdir("/app", "../../.."), "/");
  EXPECT_EQ(in_workdir("/app", "sub/."), "/app/sub/");
  EXPECT_EQ(tree_path("/app/"), "app");
  EXPECT_EQ(tree_path("/"), "");
}

TEST(ConfigSteps, ScratchHasBuildKitsPath) {
  ImageState s = scratch_state();
  EXPECT_EQ(s.config.config["Env"][0],
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  EXPECT_EQ(s.config.architecture, "amd64");
}

TEST(ConfigSteps, EnvReplacesInPlaceAndLabelsMerge) {
  ImageState s = scratch_state();
  auto h = apply(s, "ENV A=1 B=2\nENV PATH=/x A=3\nLABEL a=b c=d\nLABEL a=e\n");
  EXPECT_EQ(s.config.config["Env"], oci::Json({"PATH=/x", "A=3", "B=2"}));
  EXPECT_EQ(s.config.config["Labels"], oci::Json({{"a", "e"}, {"c", "d"}}));
  EXPECT_EQ(h[0], "ENV A=1 B=2");
  EXPECT_EQ(h[2], "LABEL a=b c=d");
}

TEST(ConfigSteps, ExposeAndVolumeAsBuildKitRecordsThem) {
  ImageState s = scratch_state();
  auto h = apply(s, "EXPOSE 8080 53/udp 9000-9001\nVOLUME /data /logs\n");
  EXPECT_TRUE(s.config.config["ExposedPorts"].contains("8080/tcp"));
  EXPECT_TRUE(s.config.config["ExposedPorts"].contains("53/udp"));
  EXPECT_TRUE(s.config.config["ExposedPorts"].contains("9001/tcp"));
  EXPECT_EQ(h[0], "EXPOSE map[53/udp:{} 8080/tcp:{} 9000/tcp:{} 9001/tcp:{}]");
  EXPECT_EQ(h[1], "VOLUME [/data /logs]");
  EXPECT_TRUE(s.config.config["Volumes"].contains("/logs"));
}

TEST(ConfigSteps, EntrypointDropsAnInheritedCmdButNotOneFromThisStage) {
  ImageState s = scratch_state();
  s.config.config["Cmd"] = {"bash"};  // from the base image
  auto h = apply(s, "ENTRYPOINT ./goapp\n");
  EXPECT_FALSE(s.config.config.contains("Cmd"));
  EXPECT_EQ(s.config.config["Entrypoint"], oci::Json({"/bin/sh", "-c", "./goapp"}));
  EXPECT_EQ(h[0], R"(ENTRYPOINT ["/bin/sh" "-c" "./goapp"])");

  ImageState t = scratch_state();
  apply(t, "CMD [\"serve\"]\nENTRYPOINT [\"/app\"]\n");
  EXPECT_EQ(t.config.config["Cmd"], oci::Json({"serve"}));
}

TEST(ConfigSteps, ShellFormUsesTheShellInstruction) {
  ImageState s = scratch_state();
  apply(s, "SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\nCMD node server.js\n");
  EXPECT_EQ(s.config.config["Cmd"],
            oci::Json({"/bin/bash", "-o", "pipefail", "-c", "node server.js"}));
}

TEST(ConfigSteps, UserHealthcheckStopsignalOnbuildMaintainerArg) {
  ImageState s = scratch_state();
  auto h = apply(s,
                 "USER nonroot:nonroot\nHEALTHCHECK --interval=5s --retries=3 CMD curl -f x\n"
                 "STOPSIGNAL SIGINT\nONBUILD RUN make\nMAINTAINER me\nARG X=1\n");
  EXPECT_EQ(s.config.config["User"], "nonroot:nonroot");
  EXPECT_EQ(s.config.config["Healthcheck"]["Interval"], 5000000000LL);
  EXPECT_EQ(s.config.config["Healthcheck"]["Retries"], 3);
  EXPECT_EQ(s.config.config["StopSignal"], "SIGINT");
  EXPECT_EQ(s.config.config["OnBuild"], oci::Json({"RUN make"}));
  EXPECT_EQ(s.config.author, "me");
  EXPECT_EQ(h.back(), "") << "ARG leaves no history";
}

TEST(ConfigSteps, FilesystemStepsAreNotConfigSteps) {
  ImageState s = scratch_state();
  for (const auto& ins : instructions("RUN x\nCOPY a b\nWORKDIR /w\n"))
    EXPECT_FALSE(apply_config_step(ins, s)) << ins.original;
}

TEST(CacheKey, PartsAreLengthPrefixed) {
  EXPECT_NE(cache_key({"ab", "c"}), cache_key({"a", "bc"}));
  EXPECT_EQ(cache_key({"a", "b"}), cache_key({"a", "b"}));
  EXPECT_EQ(cache_key({"x"}).size(), 64u);
}

TEST(FormatTime, Rfc3339WithTrimmedNanoseconds) {
  EXPECT_EQ(format_time(0, 0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_time(1700000000, 120000000), "2023-11-14T22:13:20.12Z");
}

}  // namespace
}  // namespace bonsai::build
