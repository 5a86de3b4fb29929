#include "sys/linux_sandbox.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stop_token>
#include <thread>

#include "sys/fd.h"
#include "sys/overlay_diff.h"

namespace bonsai::sys {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using util::RunResult;
using util::RunSpec;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void put(const std::string& path, const std::string& data) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << data;
}

// A busybox root file system as the lower directory, an empty upper and work directory.
class LinuxSandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (namespaces, mounts)";
    if (!fs::exists("/bin/busybox")) GTEST_FAIL() << "install busybox-static";
    std::string tmpl = (fs::temp_directory_path() / "sandbox-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    lower_ = dir_ + "/lower";
    fs::create_directories(lower_ + "/bin");
    fs::copy_file("/bin/busybox", lower_ + "/bin/busybox");
    for (const char* applet :
         {"sh",    "echo",    "cat",   "ls",    "id",   "hostname", "rm", "mkdir",
          "touch", "ln",      "sleep", "env",   "pwd",  "ifconfig", "wc", "grep",
          "mount", "unshare", "chown", "mknod", "stat", "setpriv"})
      fs::create_symlink("busybox", lower_ + "/bin/" + applet);
    put(lower_ + "/etc/keep", "keep\n");
    put(lower_ + "/data/file", "lower\n");
    put(lower_ + "/d/x", "x\n");
    fs::create_directories(dir_ + "/upper");
    fs::create_directories(dir_ + "/work");
    spec_.lower_dirs = {lower_};
    spec_.upper_dir = dir_ + "/upper";
    spec_.work_dir = dir_ + "/work";
    spec_.env = {"PATH=/bin", "HOME=/root"};
    spec_.etc_hosts = "127.0.0.1 localhost buildhost\n";
    spec_.etc_resolv_conf = "nameserver 192.0.2.53\n";
    spec_.on_output = [this](std::string_view s) { output_ += s; };
  }
  void TearDown() override {
    if (!dir_.empty()) (void)remove_all(dir_);
  }

  util::Result<RunResult> sh(const std::string& script) {
    spec_.argv = {"sh", "-c", script};
    return sandbox_.run(spec_);
  }

  // The layer paths diff_overlay_upper() emits for the upper directory.
  std::vector<std::string> diff_paths() {
    std::vector<std::string> paths;
    auto st = diff_overlay_upper(spec_.upper_dir, {}, [&](const DiffEntry& e, util::Reader*) {
      paths.push_back(e.path);
      return util::Status{};
    });
    EXPECT_TRUE(st) << st.error().message();
    return paths;
  }

  std::string dir_, lower_;
  RunSpec spec_;
  std::string output_;
  LinuxSandbox sandbox_;
};

TEST_F(LinuxSandboxTest, OutputOfStdoutAndStderrIsCapturedInOrder) {
  auto r = sh("echo hello; echo oops >&2; echo bye");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->ok());
  EXPECT_EQ(output_, "hello\noops\nbye\n");
  EXPECT_THAT(r->tail, ElementsAre("hello", "oops", "bye"));
}

TEST_F(LinuxSandboxTest, TailKeepsOnlyTheLastLines) {
  spec_.tail_lines = 2;
  auto r = sh("echo 1; echo 2; echo 3; exit 4");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->exit_code, 4);
  EXPECT_EQ(r->describe(), "exit code 4");
  EXPECT_THAT(r->tail, ElementsAre("2", "3"));
}

TEST_F(LinuxSandboxTest, StopKillsTheCommandAndReportsTheSignal) {
  std::stop_source stop;
  spec_.stop = stop.get_token();
  spec_.on_output = [&](std::string_view s) {
    if (s.find("ready") != std::string_view::npos) stop.request_stop();
  };
  auto r = sh("echo ready; exec sleep 1000");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->cancelled);
  EXPECT_EQ(r->signal, SIGKILL);
  EXPECT_FALSE(r->ok());
}

TEST_F(LinuxSandboxTest, CommandIsPid1WithItsOwnHostname) {
  spec_.hostname = "buildhost";
  auto r = sh("echo $$; hostname");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(output_, "1\nbuildhost\n");
}

TEST_F(LinuxSandboxTest, ProcShowsOnlyTheSandboxProcesses) {
  auto r = sh("echo /proc/[0-9]*");  // the shell globs itself: no other process exists
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(output_, "/proc/1\n");
}

TEST_F(LinuxSandboxTest, NoNetworkButAnUpLoopback) {
  auto r = sh("grep -c : /proc/net/dev; grep -o '^ *lo:' /proc/net/dev; ifconfig lo | grep -o UP");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(output_, "1\n    lo:\nUP\n");
}

TEST_F(LinuxSandboxTest, HostNetworkSeesTheHostInterfaces) {
  spec_.network = util::SandboxNetwork::kHost;
  auto r = sh("cat /proc/net/dev | wc -l");
  ASSERT_TRUE(r) << r.error().message();
  std::string host = slurp("/proc/net/dev");
  EXPECT_EQ(output_, std::to_string(std::count(host.begin(), host.end(), '\n')) + "\n");
}

TEST_F(LinuxSandboxTest, DevHasWritableNullAndTheStandardNodes) {
  auto r =
      sh("echo x > /dev/null && ls /dev | grep -v '^pts$' | grep -v '^shm$' | "
         "while read n; do echo -n \"$n \"; done");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->ok()) << output_;
  EXPECT_EQ(output_, "fd full null ptmx random stderr stdin stdout tty urandom zero ");
}

TEST_F(LinuxSandboxTest, EnvironmentIsExactlyTheGivenOne) {
  spec_.env = {"PATH=/bin", "A=1", "B=two words"};
  spec_.argv = {"env"};
  auto r = sandbox_.run(spec_);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(output_, "PATH=/bin\nA=1\nB=two words\n");
}

TEST_F(LinuxSandboxTest, RunsAsTheGivenUidGidAndGroups) {
  spec_.uid = 1234;
  spec_.gid = 5678;
  spec_.supplementary_gids = {42, 43};
  auto r = sh("id -u; id -g; id -G");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(output_, "1234\n5678\n5678 42 43\n");
}

TEST_F(LinuxSandboxTest, RunsInTheWorkingDirectory) {
  spec_.cwd = "/d";
  auto r = sh("pwd; cat x");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(output_, "/d\nx\n");
}

TEST_F(LinuxSandboxTest, MissingWorkingDirectoryIsAnErrorNamingIt) {
  spec_.cwd = "/no/such/dir";
  auto r = sh("true");
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("chdir"));
  EXPECT_THAT(r.error().message(), HasSubstr("/no/such/dir"));
  EXPECT_THAT(r.error().message(), HasSubstr("No such file or directory"));
}

TEST_F(LinuxSandboxTest, UnknownCommandIsAnErrorNamingIt) {
  spec_.argv = {"no-such-command"};
  auto r = sandbox_.run(spec_);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("exec"));
  EXPECT_THAT(r.error().message(), HasSubstr("no-such-command"));
}

TEST_F(LinuxSandboxTest, WritesLandInTheUpperDirectoryOnly) {
  auto r = sh("echo new > /data/file && echo made > /made");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->ok()) << output_;
  EXPECT_EQ(slurp(lower_ + "/data/file"), "lower\n");
  EXPECT_EQ(slurp(spec_.upper_dir + "/data/file"), "new\n");
  EXPECT_EQ(slurp(spec_.upper_dir + "/made"), "made\n");
  EXPECT_FALSE(fs::exists(lower_ + "/made"));
  EXPECT_THAT(diff_paths(), ElementsAre("data", "data/file", "made"));
}

TEST_F(LinuxSandboxTest, DeletingALowerFileYieldsAWhiteout) {
  auto r = sh("rm /data/file");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->ok()) << output_;
  EXPECT_TRUE(fs::exists(lower_ + "/data/file"));
  EXPECT_THAT(diff_paths(), ElementsAre("data", "data/.wh.file"));
}

TEST_F(LinuxSandboxTest, ReplacingALowerDirectoryYieldsAnOpaqueDirectory) {
  auto r = sh("rm -rf /d && mkdir /d && touch /d/new");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->ok()) << output_;
  EXPECT_THAT(diff_paths(), ElementsAre("d", "d/.wh..wh..opq", "d/new"));
}

TEST_F(LinuxSandboxTest, EtcFilesAreVisibleButLeaveNothingInTheLayer) {
  // The lower has /etc but neither file, and no /proc or /dev: all are placeholders.
  auto r = sh("cat /etc/hosts /etc/resolv.conf");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(output_, spec_.etc_hosts + spec_.etc_resolv_conf);
  EXPECT_THAT(diff_paths(), ElementsAre());
}

TEST_F(LinuxSandboxTest, EtcFilesCannotBeWritten) {
  auto r = sh("echo x >> /etc/hosts");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_NE(r->exit_code, 0);
  EXPECT_THAT(diff_paths(), ElementsAre());
}

TEST_F(LinuxSandboxTest, MountsAndTheirTargetsLeaveNothingInTheLayer) {
  std::string ro = dir_ + "/ro", rw = dir_ + "/rw";
  put(ro + "/src.txt", "source\n");
  fs::create_directories(rw);
  put(dir_ + "/secret", "s3cret\n");
  spec_.binds = {{ro, "/mnt/ro"}, {rw, "/var/cache/rw", false}, {dir_ + "/secret", "/etc/secret"}};
  spec_.tmpfs = {{"/tmp/scratch", 1 << 20, 0700}};
  auto r =
      sh("cat /mnt/ro/src.txt /etc/secret; echo y > /var/cache/rw/out; echo t > /tmp/scratch/t;"
         "if echo x > /mnt/ro/new; then echo WRITABLE; fi");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_THAT(output_, HasSubstr("source\ns3cret\n"));
  EXPECT_THAT(output_, Not(HasSubstr("WRITABLE")));
  EXPECT_EQ(slurp(rw + "/out"), "y\n");
  EXPECT_FALSE(fs::exists(ro + "/new"));
  EXPECT_THAT(diff_paths(), ElementsAre());
}

TEST_F(LinuxSandboxTest, ChangesBesideAMountpointStayInTheLayer) {
  spec_.tmpfs = {{"/etc/tmp", 0, 01777}};
  auto r = sh("echo v > /etc/version");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_THAT(diff_paths(), ElementsAre("etc", "etc/version"));
}

TEST_F(LinuxSandboxTest, LowerDirectoriesStackTopFirst) {
  std::string top = dir_ + "/top";
  put(top + "/data/file", "top\n");
  put(top + "/only-top", "t\n");
  spec_.lower_dirs = {top, lower_};
  auto r = sh("cat /data/file /only-top /d/x");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(output_, "top\nt\nx\n");
  EXPECT_THAT(diff_paths(), ElementsAre());
}

TEST_F(LinuxSandboxTest, NonEmptyUpperDirectoryIsRejected) {
  put(spec_.upper_dir + "/stale", "");
  auto r = sh("true");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), util::ErrorKind::kInvalidArgument);
}

// The capability lines of /proc/self/status, plus NoNewPrivs and Seccomp.
constexpr const char* kShowCapabilities =
    "grep -E '^(Cap[A-Za-z]+|NoNewPrivs|Seccomp):' /proc/self/status";

// What kShowCapabilities prints for root: Docker's default set, under a seccomp filter, without
// no_new_privs.
constexpr const char* kRootCapabilities =
    "CapInh:\t0000000000000000\n"
    "CapPrm:\t00000000a80425fb\n"
    "CapEff:\t00000000a80425fb\n"
    "CapBnd:\t00000000a80425fb\n"
    "CapAmb:\t0000000000000000\n"
    "NoNewPrivs:\t0\n"
    "Seccomp:\t2\n";

TEST_F(LinuxSandboxTest, RootKeepsOnlyDockersDefaultCapabilities) {
  auto r = sh(kShowCapabilities);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(output_, kRootCapabilities);
}

TEST_F(LinuxSandboxTest, CapabilitiesInheritableByTheCallerDoNotReachTheCommand) {
  // Capabilities belong to a thread, and the sandbox forks from the calling one: run from a
  // thread with CAP_SYS_ADMIN inheritable and ambient. Root's execve adds the inheritable set to
  // the bounding set's capabilities, so the sandbox must empty it.
  std::optional<util::Result<RunResult>> r;
  std::thread([&] {
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
    ASSERT_EQ(::syscall(SYS_capget, &header, data), 0);
    data[0].inheritable |= 1u << CAP_SYS_ADMIN;
    ASSERT_EQ(::syscall(SYS_capset, &header, data), 0);
    ASSERT_EQ(::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_SYS_ADMIN, 0, 0), 0);
    r = sh(kShowCapabilities);
  }).join();
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(*r) << r->error().message();
  EXPECT_EQ(output_, kRootCapabilities);
}

TEST_F(LinuxSandboxTest, NonRootUserHasNoCapabilities) {
  spec_.uid = 1234;
  spec_.gid = 1234;
  auto r = sh(kShowCapabilities);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(output_,
            "CapInh:\t0000000000000000\n"
            "CapPrm:\t0000000000000000\n"
            "CapEff:\t0000000000000000\n"
            "CapBnd:\t00000000a80425fb\n"
            "CapAmb:\t0000000000000000\n"
            "NoNewPrivs:\t0\n"
            "Seccomp:\t2\n");
}

TEST_F(LinuxSandboxTest, DroppedCapabilitiesCannotBeRaisedAgain) {
  // Root may raise an inheritable capability only within the bounding set.
  auto r = sh("setpriv --inh-caps +sys_admin true");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_NE(r->exit_code, 0) << output_;
  EXPECT_THAT(output_, HasSubstr("capset: Operation not permitted"));
  // Any other user has nothing to raise from.
  spec_.uid = 1234;
  output_.clear();
  r = sh("setpriv --inh-caps +chown true");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_NE(r->exit_code, 0) << output_;
  EXPECT_THAT(output_, HasSubstr("capset: Operation not permitted"));
}

TEST_F(LinuxSandboxTest, RootCanStillChownAndMakeDeviceNodes) {
  auto r = sh("touch /owned && chown 12:34 /owned && mknod /null2 c 1 3 && echo x > /null2");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->ok()) << output_;
  struct stat st;
  ASSERT_EQ(::lstat((spec_.upper_dir + "/owned").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 12u);
  EXPECT_EQ(st.st_gid, 34u);
  ASSERT_EQ(::lstat((spec_.upper_dir + "/null2").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(1, 3));
}

TEST_F(LinuxSandboxTest, MountIsDenied) {
  auto r = sh("mkdir /m && mount -t tmpfs none /m");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_NE(r->exit_code, 0) << output_;
  EXPECT_THAT(output_, HasSubstr("permission denied"));
}

TEST_F(LinuxSandboxTest, NewUserNamespaceIsDenied) {
  // Needs no capability at all: only the seccomp filter stops it.
  for (uint32_t uid : {0u, 1234u}) {
    spec_.uid = uid;
    output_.clear();
    auto r = sh("unshare -U true");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_NE(r->exit_code, 0) << "uid " << uid << ": " << output_;
    EXPECT_THAT(output_, HasSubstr("Operation not permitted")) << "uid " << uid;
  }
}

// Docker's protections of /proc: what reaches the host kernel's settings is read-only (as root,
// core_pattern could otherwise run a host program), host-leaking files read as empty.
TEST_F(LinuxSandboxTest, ProcSysIsReadOnlyAndHostFilesAreMasked) {
  auto r =
      sh("echo x >> /proc/sys/kernel/core_pattern && echo WROTE; "
         "[ -e /proc/sysrq-trigger ] && echo x > /proc/sysrq-trigger && echo WROTE; "
         "for f in /proc/timer_list /proc/keys /proc/kcore; do "
         "  [ -e $f ] && echo \"$f $(wc -c < $f)\"; "
         "done");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_THAT(output_, Not(HasSubstr("WROTE")));
  EXPECT_THAT(output_, HasSubstr("core_pattern: Read-only file system"));
  // The host has /proc/timer_list (a list of every CPU's timers): inside it reads as empty.
  if (fs::exists("/proc/timer_list")) {
    EXPECT_THAT(output_, HasSubstr("/proc/timer_list 0\n"));
  }
  if (fs::exists("/proc/keys")) {
    EXPECT_THAT(output_, HasSubstr("/proc/keys 0\n"));
  }
}

// /sys as Docker has it: read-only, listing only the sandbox's own network interfaces, with the
// firmware tables masked; the mount point made for it (busybox has no /sys) leaves no trace.
TEST_F(LinuxSandboxTest, SysIsReadOnlyWithItsOwnNetworkAndFirmwareMasked) {
  auto r =
      sh("ls /sys/class/net; echo x > /sys/kernel/uevent_helper && echo WROTE; "
         "echo firmware: $(ls /sys/firmware | wc -l)");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_THAT(output_, HasSubstr("lo\n"));
  EXPECT_THAT(output_, Not(HasSubstr("eth")));
  EXPECT_THAT(output_, Not(HasSubstr("WROTE")));
  EXPECT_THAT(output_, HasSubstr("uevent_helper: Read-only file system"));
  EXPECT_THAT(output_, HasSubstr("firmware: 0\n"));
  EXPECT_THAT(diff_paths(), ElementsAre());
}

TEST_F(LinuxSandboxTest, SysWithTheHostNetworkListsTheHostInterfaces) {
  spec_.network = util::SandboxNetwork::kHost;
  auto r = sh("ls /sys/class/net | wc -l");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(output_, std::to_string(std::distance(fs::directory_iterator("/sys/class/net"),
                                                  fs::directory_iterator())) +
                         "\n");
}

// A non-root run (setgroups/setgid/setuid in the child) while other threads are being created:
// glibc's wrappers would wait, in the cloned child, for a thread caught mid-creation, forever.
// A watchdog stops a hung run, which then counts as a failure instead of hanging the test.
TEST_F(LinuxSandboxTest, SwitchingUserDoesNotHangWhileThreadsAreCreated) {
  std::atomic<bool> done{false};
  std::thread spawner([&] {
    while (!done) std::thread([] {}).join();
  });
  spec_.uid = 65534;
  spec_.gid = 65534;
  int hung = 0, failed = 0;
  for (int i = 0; i < 60; ++i) {
    std::stop_source stop;
    spec_.stop = stop.get_token();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::thread watchdog([&stop, deadline] {
      while (!stop.stop_requested() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      stop.request_stop();
    });
    auto r = sh("true");
    stop.request_stop();
    watchdog.join();
    if (!r || !r->ok()) (r && r->cancelled) ? ++hung : ++failed;
  }
  done = true;
  spawner.join();
  EXPECT_EQ(hung, 0);
  EXPECT_EQ(failed, 0);
}

TEST(LegacyLowerdirOption, JoinsDirectoriesWithColons) {
  auto r = legacy_lowerdir_option({"/a", "/b/c"});
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "/a:/b/c");
}

TEST(LegacyLowerdirOption, OverOnePageIsALimitErrorCountingTheLayers) {
  std::vector<std::string> dirs(100, "/var/lib/bonsai/snapshots/" + std::string(40, 'f'));
  auto r = legacy_lowerdir_option(dirs);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), util::ErrorKind::kLimit);
  EXPECT_THAT(r.error().message(), HasSubstr("100 lower directories"));
}

TEST(LegacyLowerdirOption, SeparatorsInPathsAreRejected) {
  EXPECT_FALSE(legacy_lowerdir_option({"/a:b"}));
  EXPECT_FALSE(legacy_lowerdir_option({"/a,b"}));
}

}  // namespace
}  // namespace bonsai::sys
