#include "dockerfile/instructions.h"

#include <gtest/gtest.h>

namespace bonsai::dockerfile {
namespace {

template <typename T>
T only(std::string_view text) {
  auto prog = load_dockerfile(std::string("FROM scratch\n") + std::string(text));
  EXPECT_TRUE(prog) << prog.error().message();
  if (!prog) return T{};
  EXPECT_EQ(prog->instructions.size(), 2u);
  const T* t = std::get_if<T>(&prog->instructions.back().data);
  EXPECT_NE(t, nullptr);
  return t ? *t : T{};
}

std::string error_of(std::string_view text) {
  auto prog = load_dockerfile(text);
  return prog ? std::string("no error") : prog.error().message();
}

TEST(Instructions, FromTakesPlatformAndStageName) {
  auto prog = load_dockerfile("FROM --platform=$BUILDPLATFORM golang:1.22 AS Build\n");
  ASSERT_TRUE(prog);
  const auto& from = std::get<FromInstr>(prog->instructions[0].data);
  EXPECT_EQ(from.base, "golang:1.22");
  EXPECT_EQ(from.stage_name, "build");
  EXPECT_EQ(from.platform, "$BUILDPLATFORM");
  EXPECT_NE(error_of("FROM a AS 1x"), "no error");
  EXPECT_NE(error_of("FROM a b"), "no error");
  EXPECT_NE(error_of("FROM --pull=always a"), "no error");
}

TEST(Instructions, RunFlags) {
  auto run = only<RunInstr>(
      "RUN --mount=type=cache,target=/root/.cache,sharing=locked --network=none "
      "--security=insecure make\n");
  ASSERT_EQ(run.mount_specs.size(), 1u);
  EXPECT_EQ(run.network, NetworkMode::kNone);
  EXPECT_EQ(run.security, SecurityMode::kInsecure);
  EXPECT_TRUE(run.cmd.prepend_shell);
  EXPECT_EQ(run.cmd.args, std::vector<std::string>{"make"});
  EXPECT_NE(error_of("FROM a\nRUN --network=bridge x"), "no error");
  EXPECT_NE(error_of("FROM a\nRUN --security=x y"), "no error");
  EXPECT_NE(error_of("FROM a\nRUN --mount=type=nope,target=/x y"), "no error");
  EXPECT_NE(error_of("FROM a\nRUN --mount=type=cache y"), "no error");
  EXPECT_NE(error_of("FROM a\nRUN"), "no error");
}

TEST(Instructions, MountSpecsParseEveryType) {
  auto cache = parse_mount("type=cache,target=/c,id=go,sharing=private,mode=0755,uid=1,gid=2");
  ASSERT_TRUE(cache) << cache.error().message();
  EXPECT_EQ(cache->type, MountType::kCache);
  EXPECT_FALSE(cache->read_only);
  EXPECT_EQ(cache->sharing, CacheSharing::kPrivate);
  EXPECT_EQ(*cache->mode, 0755u);
  auto bind = parse_mount("target=/src,from=build,source=/out,rw");
  ASSERT_TRUE(bind);
  EXPECT_EQ(bind->type, MountType::kBind);
  EXPECT_FALSE(bind->read_only);
  EXPECT_EQ(bind->from, "build");
  auto def_bind = parse_mount("target=/src");
  ASSERT_TRUE(def_bind);
  EXPECT_TRUE(def_bind->read_only);
  auto secret = parse_mount("type=secret,id=npm,env=TOKEN,required");
  ASSERT_TRUE(secret);
  EXPECT_TRUE(secret->required);
  EXPECT_EQ(secret->env, "TOKEN");
  auto tmpfs = parse_mount("type=tmpfs,target=/t,size=64m");
  ASSERT_TRUE(tmpfs);
  EXPECT_EQ(*tmpfs->size_bytes, 64u << 20);
  EXPECT_TRUE(parse_mount("type=ssh"));
  EXPECT_FALSE(parse_mount("type=bind,target=/x,sharing=locked"));
  EXPECT_FALSE(parse_mount("type=secret"));
  EXPECT_FALSE(parse_mount("type=bind,target=/x,required"));
  EXPECT_FALSE(parse_mount("type=cache,target=/x,mode=9"));
  EXPECT_FALSE(parse_mount("type=tmpfs,target=/x,from=a"));
  EXPECT_FALSE(parse_mount("type=cache,target=/x,bogus=1"));
  EXPECT_FALSE(parse_mount("type=cache,target=\"/x"));
}

TEST(Instructions, CmdEntrypointShellForms) {
  auto exec = only<CmdInstr>("CMD [\"a\", \"b\"]\n");
  EXPECT_FALSE(exec.cmd.prepend_shell);
  EXPECT_EQ(exec.cmd.args.size(), 2u);
  auto shell = only<EntrypointInstr>("ENTRYPOINT run.sh arg\n");
  EXPECT_TRUE(shell.cmd.prepend_shell);
  auto sh = only<ShellInstr>("SHELL [\"/bin/bash\", \"-c\"]\n");
  EXPECT_EQ(sh.shell.size(), 2u);
  EXPECT_NE(error_of("FROM a\nSHELL /bin/sh -c").find("JSON form"), std::string::npos);
  EXPECT_NE(error_of("FROM a\nCMD --x=1 a").find("unknown flag: x"), std::string::npos);
}

TEST(Instructions, EnvLabelArg) {
  auto env = only<EnvInstr>("ENV A=1 B=\"two words\"\n");
  ASSERT_EQ(env.vars.size(), 2u);
  EXPECT_EQ(env.vars[1], (KeyValue{"B", "\"two words\""}));
  auto old = only<EnvInstr>("ENV PATH /usr/bin:$PATH\n");
  EXPECT_EQ(old.vars[0], (KeyValue{"PATH", "/usr/bin:$PATH"}));
  auto label = only<LabelInstr>("LABEL a=b c=d\n");
  EXPECT_EQ(label.labels.size(), 2u);
  auto arg = only<ArgInstr>("ARG A B=2 C=\n");
  ASSERT_EQ(arg.args.size(), 3u);
  EXPECT_FALSE(arg.args[0].value);
  EXPECT_EQ(*arg.args[1].value, "2");
  EXPECT_EQ(*arg.args[2].value, "");
  EXPECT_NE(error_of("FROM a\nENV =x"), "no error");
  EXPECT_NE(error_of("FROM a\nARG =x"), "no error");
  EXPECT_NE(error_of("FROM a\nARG"), "no error");
}

TEST(Instructions, CopyAndAddFlags) {
  auto copy = only<CopyInstr>(
      "COPY --from=build --chown=1:1 --chmod=0644 --link --parents --exclude=*.md "
      "--exclude=x a b /dst/\n");
  EXPECT_EQ(copy.from, "build");
  EXPECT_EQ(copy.chown, "1:1");
  EXPECT_EQ(copy.chmod, "0644");
  EXPECT_TRUE(copy.link);
  EXPECT_TRUE(copy.parents);
  EXPECT_EQ(copy.excludes, (std::vector<std::string>{"*.md", "x"}));
  EXPECT_EQ(copy.sources, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(copy.dest, "/dst/");
  auto add = only<CopyInstr>(
      "ADD --checksum=sha256:abc --keep-git-dir=true --unpack=false https://x/y.tgz /y\n");
  EXPECT_TRUE(add.is_add);
  EXPECT_EQ(add.checksum, "sha256:abc");
  EXPECT_TRUE(add.keep_git_dir);
  ASSERT_TRUE(add.unpack);
  EXPECT_FALSE(*add.unpack);
  EXPECT_NE(error_of("FROM a\nADD --from=x a b").find("unknown flag: from"), std::string::npos);
  EXPECT_NE(error_of("FROM a\nCOPY --checksum=x a b").find("unknown flag"), std::string::npos);
  EXPECT_NE(error_of("FROM a\nCOPY --link=maybe a b").find("expecting boolean"), std::string::npos);
  EXPECT_NE(error_of("FROM a\nCOPY --from a b").find("missing a value"), std::string::npos);
  EXPECT_NE(error_of("FROM a\nCOPY --from=a --from=b a b").find("duplicate flag"),
            std::string::npos);
  EXPECT_NE(error_of("FROM a\nCOPY onlyone").find("at least two arguments"), std::string::npos);
}

TEST(Instructions, CopyHeredocBecomesInlineSource) {
  auto copy = only<CopyInstr>("COPY <<-EOF /etc/motd\n\thello\n\tEOF\n");
  ASSERT_EQ(copy.inline_sources.size(), 1u);
  EXPECT_EQ(copy.inline_sources[0].data, "hello\n");
  EXPECT_TRUE(copy.sources.empty());
  EXPECT_NE(error_of("FROM a\nCOPY a <<EOF\nx\nEOF\n").find("heredoc as a destination"),
            std::string::npos);
}

TEST(Instructions, RunHeredocsAreFiles) {
  auto run = only<RunInstr>("RUN <<EOF\necho hi\nEOF\n");
  ASSERT_EQ(run.cmd.files.size(), 1u);
  EXPECT_EQ(run.cmd.files[0].content, "echo hi\n");
}

TEST(Instructions, HealthcheckOptionsAndNone) {
  auto hc = only<HealthcheckInstr>(
      "HEALTHCHECK --interval=5s --timeout=1m30s --start-period=0s --start-interval=500ms "
      "--retries=3 CMD curl -f http://localhost/\n");
  EXPECT_EQ(hc.test, (std::vector<std::string>{"CMD-SHELL", "curl -f http://localhost/"}));
  EXPECT_EQ(hc.interval, std::chrono::seconds(5));
  EXPECT_EQ(hc.timeout, std::chrono::seconds(90));
  EXPECT_EQ(hc.start_interval, std::chrono::milliseconds(500));
  EXPECT_EQ(hc.retries, 3);
  auto exec = only<HealthcheckInstr>("HEALTHCHECK CMD [\"/bin/check\"]\n");
  EXPECT_EQ(exec.test, (std::vector<std::string>{"CMD", "/bin/check"}));
  EXPECT_TRUE(only<HealthcheckInstr>("HEALTHCHECK NONE\n").none);
  EXPECT_NE(error_of("FROM a\nHEALTHCHECK NONE x"), "no error");
  EXPECT_NE(error_of("FROM a\nHEALTHCHECK CONNECT x").find("Unknown type"), std::string::npos);
  EXPECT_NE(error_of("FROM a\nHEALTHCHECK CMD"), "no error");
  EXPECT_NE(error_of("FROM a\nHEALTHCHECK --interval=1us CMD x"), "no error");
  EXPECT_NE(error_of("FROM a\nHEALTHCHECK --interval=5 CMD x"), "no error");
  EXPECT_NE(error_of("FROM a\nHEALTHCHECK --retries=-1 CMD x"), "no error");
}

TEST(Instructions, GoDurations) {
  EXPECT_EQ(parse_go_duration("1h2m3.5s").value(), std::chrono::nanoseconds(3723500000000));
  EXPECT_EQ(parse_go_duration("-1.5ms").value(), std::chrono::microseconds(-1500));
  EXPECT_EQ(parse_go_duration("0").value(), std::chrono::nanoseconds(0));
  EXPECT_FALSE(parse_go_duration(""));
  EXPECT_FALSE(parse_go_duration("1"));
  EXPECT_FALSE(parse_go_duration("1d"));
  EXPECT_FALSE(parse_go_duration(".s"));
}

TEST(Instructions, ExposePortsAndRanges) {
  auto ex = only<ExposeInstr>("EXPOSE 80 443/tcp 53/udp 8000-8010/sctp\n");
  EXPECT_EQ(ex.ports.size(), 4u);
  EXPECT_EQ(parse_port_spec("8000-8010/udp").value(), (PortSpec{8000, 8010, "udp"}));
  EXPECT_EQ(parse_port_spec("80").value(), (PortSpec{80, 80, "tcp"}));
  EXPECT_FALSE(parse_port_spec("80/icmp"));
  EXPECT_FALSE(parse_port_spec("70000"));
  EXPECT_FALSE(parse_port_spec("90-80"));
  EXPECT_NE(error_of("FROM a\nEXPOSE http"), "no error");
}

TEST(Instructions, SingleArgumentInstructions) {
  EXPECT_EQ(only<UserInstr>("USER app:app\n").user, "app:app");
  EXPECT_EQ(only<WorkdirInstr>("WORKDIR /src\n").path, "/src");
  EXPECT_EQ(only<StopSignalInstr>("STOPSIGNAL SIGTERM\n").signal, "SIGTERM");
  EXPECT_EQ(only<MaintainerInstr>("MAINTAINER me <me@x>\n").name, "me <me@x>");
  EXPECT_EQ(only<VolumeInstr>("VOLUME [\"/a\", \"/b\"]\n").paths.size(), 2u);
  EXPECT_NE(error_of("FROM a\nUSER").find("USER requires exactly one argument"), std::string::npos);
  EXPECT_NE(error_of("FROM a\nWORKDIR"), "no error");
}

TEST(Instructions, OnbuildAndItsForbiddenForms) {
  auto ob = only<OnbuildInstr>("ONBUILD RUN make install\n");
  EXPECT_EQ(ob.expression, "RUN make install");
  EXPECT_NE(error_of("FROM a\nONBUILD ONBUILD RUN x").find("Chaining ONBUILD"), std::string::npos);
  EXPECT_NE(error_of("FROM a\nONBUILD FROM x").find("isn't allowed as an ONBUILD trigger"),
            std::string::npos);
  EXPECT_NE(error_of("FROM a\nONBUILD maintainer x"), "no error");
}

TEST(Instructions, UnknownInstructionIsAnErrorNamingTheLine) {
  auto msg = error_of("FROM a\n\nFOO bar\n");
  EXPECT_NE(msg.find("Dockerfile:3:1: unknown instruction: FOO"), std::string::npos) << msg;
}

TEST(Instructions, InstructionBeforeFromIsAnError) {
  EXPECT_NE(error_of("RUN x\nFROM a\n").find("no build stage"), std::string::npos);
  EXPECT_EQ(error_of("ARG V=1\nFROM a:$V\n"), "no error");
}

TEST(Instructions, EveryErrorInTheFileIsReported) {
  auto msg = error_of("FROM a\nFOO\nCOPY --bad=1 a b\nUSER\nEXPOSE x\n");
  EXPECT_NE(msg.find("4 errors"), std::string::npos) << msg;
  EXPECT_NE(msg.find(":2:"), std::string::npos);
  EXPECT_NE(msg.find(":3:6: unknown flag: bad"), std::string::npos) << msg;
  EXPECT_NE(msg.find(":4:"), std::string::npos);
  EXPECT_NE(msg.find(":5:"), std::string::npos);
}

}  // namespace
}  // namespace bonsai::dockerfile
