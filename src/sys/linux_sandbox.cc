// The parent side of LinuxSandbox::run: checks the spec, prepares the child's plan, clones the
// child into its namespaces, relays its output, reaps it, and removes the mountpoint
// placeholders it created from the upper directory. The child side is linux_sandbox_child.cc.
#include "sys/linux_sandbox.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <optional>
#include <set>
#include <stop_token>
#include <tuple>

#include "sys/fd.h"
#include "sys/linux_sandbox_internal.h"

namespace bonsai::sys {

using util::Error;
using util::ErrorKind;
using util::fail;
using util::RunResult;
using util::RunSpec;
using util::sys_fail;
using namespace sandbox_internal;

namespace {

constexpr size_t kMountDataMax = 4095;  // one page, with its terminating NUL
constexpr size_t kMaxLowerDirs = 500;   // overlayfs' OVL_MAX_STACK
constexpr size_t kMaxTailLineBytes = 4096;
constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
// What mount_overlay() adds to the legacy mount data besides lowerdir.
constexpr size_t kOtherOptionsBytes = sizeof(",upperdir=,workdir=,redirect_dir=off,metacopy=off");

Status check_spec(const RunSpec& spec) {
  auto invalid = [](std::string msg) {
    return fail(ErrorKind::kInvalidArgument, "sandbox: " + msg);
  };
  if (spec.argv.empty()) return invalid("empty command");
  if (spec.lower_dirs.empty()) return invalid("no lower directory");
  if (spec.lower_dirs.size() > kMaxLowerDirs)
    return fail(ErrorKind::kLimit, "sandbox: " + std::to_string(spec.lower_dirs.size()) +
                                       " lower directories, overlayfs stacks at most 500");
  for (const std::string& dir : spec.lower_dirs)
    if (dir.empty() || dir[0] != '/') return invalid("lower directory not absolute: " + dir);
  if (spec.upper_dir.empty() || spec.work_dir.empty())
    return invalid("upper and work directories are required");
  if (spec.cwd.empty() || spec.cwd[0] != '/')
    return invalid("working directory not absolute: " + spec.cwd);
  for (const auto& b : spec.binds)
    if (b.target.empty() || b.target[0] != '/' || b.source.empty())
      return invalid("bind mount needs a source and an absolute target: " + b.target);
  for (const auto& t : spec.tmpfs)
    if (t.target.empty() || t.target[0] != '/')
      return invalid("tmpfs target not absolute: " + t.target);
  if (spec.hostname.empty() || spec.hostname.size() > 64)
    return invalid("hostname must be 1 to 64 bytes: " + spec.hostname);
  return {};
}

Status check_empty_dir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return sys_fail("open upper directory " + dir);
  bool empty = true;
  while (struct dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (name != "." && name != "..") empty = false;
  }
  ::closedir(d);
  if (!empty)
    return fail(ErrorKind::kInvalidArgument, "sandbox: upper directory not empty: " + dir);
  return {};
}

std::string env_value(const std::vector<std::string>& env, std::string_view name) {
  for (const std::string& e : env)
    if (e.size() > name.size() && e.starts_with(name) && e[name.size()] == '=')
      return e.substr(name.size() + 1);
  return kDefaultPath;
}

// A temporary host directory holding the overlay mountpoint and the generated /etc files.
class RunDir {
 public:
  static Result<RunDir> create() {
    std::string tmpl = std::filesystem::temp_directory_path().string() + "/bonsai-run-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) return sys_fail("mkdtemp " + tmpl);
    RunDir dir(tmpl);
    TRY(mkdir_p(dir.path_ + "/rootfs", 0755));
    return dir;
  }
  RunDir(RunDir&& o) noexcept : path_(std::exchange(o.path_, {})) {}
  RunDir(const RunDir&) = delete;
  ~RunDir() {
    if (!path_.empty()) (void)remove_all(path_);
  }
  const std::string& path() const { return path_; }

 private:
  explicit RunDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

Result<ChildPlan> make_plan(const RunSpec& spec, const RunDir& run_dir) {
  ChildPlan plan;
  plan.lower_dirs = spec.lower_dirs;
  if (auto legacy = legacy_lowerdir_option(spec.lower_dirs)) {
    plan.legacy_lowerdir = *legacy;
  } else {
    plan.legacy_error = legacy.error().message();
  }
  plan.upper_dir = spec.upper_dir;
  plan.work_dir = spec.work_dir;
  plan.rootfs = run_dir.path() + "/rootfs";
  for (auto [name, content, target] :
       {std::tuple{"hosts", &spec.etc_hosts, "/etc/hosts"},
        std::tuple{"resolv.conf", &spec.etc_resolv_conf, "/etc/resolv.conf"}}) {
    std::string file = run_dir.path() + "/" + name;
    TRY(write_file_atomic(file, *content, 0644));
    plan.mounts.push_back({.source = file, .target = target});
  }
  for (const auto& b : spec.binds)
    plan.mounts.push_back({.source = b.source, .target = b.target, .read_only = b.read_only});
  for (const auto& t : spec.tmpfs) {
    char mode[16];
    std::snprintf(mode, sizeof mode, "%o", t.mode);
    plan.mounts.push_back({.kind = ChildMount::Kind::kTmpfs,
                           .target = t.target,
                           .tmpfs_size = t.size_bytes ? std::to_string(t.size_bytes) : "",
                           .tmpfs_mode = mode});
  }
  plan.hostname = spec.hostname;
  plan.new_net = spec.network == util::SandboxNetwork::kNone;
  plan.cwd = spec.cwd;
  plan.uid = spec.uid;
  plan.gid = spec.gid;
  plan.groups.assign(spec.supplementary_gids.begin(), spec.supplementary_gids.end());
  plan.argv_storage = spec.argv;
  plan.env_storage = spec.env;
  for (std::string& a : plan.argv_storage) plan.argv.push_back(a.data());
  plan.argv.push_back(nullptr);
  for (std::string& e : plan.env_storage) plan.envp.push_back(e.data());
  plan.envp.push_back(nullptr);
  plan.path_env = env_value(spec.env, "PATH");
  plan.seccomp_filter = seccomp_filter();
  plan.capabilities = spec.uid == 0 ? kDefaultCapabilities : 0;
  return plan;
}

Result<std::pair<UniqueFd, UniqueFd>> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return sys_fail("pipe");
  return std::pair{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// Reads the child's status records until the pipe closes (exec succeeded or the child exited).
struct ChildStatus {
  std::vector<std::string> stubs;
  std::optional<Error> error;
};

Result<ChildStatus> read_status(int fd) {
  FdReader reader(fd, "sandbox status pipe");
  std::string all = TRY(util::read_all(reader, 16 << 20));
  ChildStatus status;
  size_t pos = 0;
  while (pos < all.size()) {
    size_t end = all.find('\0', pos);
    if (end == std::string::npos) end = all.size();
    std::string record = all.substr(pos, end - pos);
    pos = end + 1;
    if (record.empty()) continue;
    if (record[0] == kRecordStub) {
      status.stubs.push_back(record.substr(1));
    } else if (record[0] == kRecordError && !status.error) {
      size_t colon = record.find(':');
      int err = std::atoi(record.substr(1, colon).c_str());
      std::string what = "sandbox: " + record.substr(colon + 1);
      status.error =
          err == E2BIG ? Error(ErrorKind::kLimit, what, err) : util::sys_error(what, err);
    }
  }
  return status;
}

// Keeps the last `max` complete lines of the output (and a partial last line).
class OutputTail {
 public:
  explicit OutputTail(size_t max) : max_(max) {}
  void add(std::string_view data) {
    for (char c : data) {
      if (c == '\n') {
        push(std::move(partial_));
        partial_.clear();
      } else if (partial_.size() < kMaxTailLineBytes) {
        partial_.push_back(c);
      }
    }
  }
  std::vector<std::string> take() {
    if (!partial_.empty()) push(std::move(partial_));
    return {lines_.begin(), lines_.end()};
  }

 private:
  void push(std::string line) {
    if (max_ == 0) return;
    if (lines_.size() == max_) lines_.pop_front();
    lines_.push_back(std::move(line));
  }
  size_t max_;
  std::string partial_;
  std::deque<std::string> lines_;
};

// Relays output until every writer has closed the pipe; kills the child on a stop request.
Status pump_output(const RunSpec& spec, int out_fd, pid_t pid, RunResult& result) {
  UniqueFd stop_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop_fd.valid()) return sys_fail("eventfd");
  std::stop_callback on_stop(spec.stop, [&] {
    uint64_t one = 1;
    (void)!::write(stop_fd.get(), &one, sizeof one);
  });
  OutputTail tail(spec.tail_lines);
  char buf[65536];
  for (;;) {
    struct pollfd fds[2] = {{out_fd, POLLIN, 0}, {stop_fd.get(), POLLIN, 0}};
    if (::poll(fds, result.cancelled ? 1 : 2, -1) < 0) {
      if (errno == EINTR) continue;
      return sys_fail("poll sandbox output");
    }
    if (!result.cancelled && (fds[1].revents & POLLIN) != 0) {
      result.cancelled = true;
      ::kill(pid, SIGKILL);  // PID 1 of its namespace: every process in it dies too
    }
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
    ssize_t n = ::read(out_fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_fail("read sandbox output");
    if (n == 0) break;
    std::string_view chunk(buf, static_cast<size_t>(n));
    tail.add(chunk);
    if (spec.on_output) spec.on_output(chunk);
  }
  result.tail = tail.take();
  return {};
}

Result<int> wait_child(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, __WALL) < 0)
    if (errno != EINTR) return sys_fail("waitpid sandbox");
  return status;
}

}  // namespace

Result<std::string> legacy_lowerdir_option(const std::vector<std::string>& lower_dirs) {
  std::string joined;
  for (const std::string& dir : lower_dirs) {
    if (dir.find_first_of(":,\\") != std::string::npos)
      return fail(ErrorKind::kInvalidArgument,
                  "overlay lower directory holds ':', ',' or '\\': " + dir);
    if (!joined.empty()) joined += ':';
    joined += dir;
  }
  if (joined.size() + sizeof("lowerdir=") + kOtherOptionsBytes > kMountDataMax)
    return fail(ErrorKind::kLimit, "overlay mount options for " +
                                       std::to_string(lower_dirs.size()) + " lower directories (" +
                                       std::to_string(joined.size()) +
                                       " bytes of lowerdir) exceed the one-page limit of " +
                                       std::to_string(kMountDataMax) + " bytes");
  return joined;
}

Result<RunResult> LinuxSandbox::run(const RunSpec& spec) {
  TRY(check_spec(spec));
  TRY(check_empty_dir(spec.upper_dir));
  RunDir run_dir = TRY(RunDir::create());
  ChildPlan plan = TRY(make_plan(spec, run_dir));
  auto [status_r, status_w] = TRY(make_pipe());
  auto [life_r, life_w] = TRY(make_pipe());
  auto [out_r, out_w] = TRY(make_pipe());
  plan.status_fd = status_w.get();
  plan.life_fd = life_r.get();
  plan.output_fd = out_w.get();

  // Step 1: clone into the new namespaces, fork-like (no new stack: the child gets a copy).
  unsigned long flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD;
  if (plan.new_net) flags |= CLONE_NEWNET;
  long pid = ::syscall(SYS_clone, flags, nullptr, nullptr, nullptr, 0);
  if (pid < 0) return sys_fail("clone sandbox namespaces");
  if (pid == 0) {
    ::close(life_w.get());
    child_main(plan);
  }
  status_w.reset();
  out_w.reset();
  life_r.reset();

  // Step 2: setup records until exec (or failure), then the command's output until it ends.
  RunResult result;
  Result<ChildStatus> status = [&] {
    // A stop during setup kills the child, which closes the status pipe.
    std::stop_callback kill_setup(spec.stop, [pid] { ::kill(static_cast<pid_t>(pid), SIGKILL); });
    return read_status(status_r.get());
  }();
  Status pumped = status && !status->error
                      ? pump_output(spec, out_r.get(), static_cast<pid_t>(pid), result)
                      : Status{};
  if (!status || !pumped) ::kill(static_cast<pid_t>(pid), SIGKILL);
  out_r.reset();

  // Step 3: reap; the namespaces and the overlay go with PID 1.
  int wstatus = TRY(wait_child(static_cast<pid_t>(pid)));
  if (WIFSIGNALED(wstatus)) result.signal = WTERMSIG(wstatus);
  if (WIFEXITED(wstatus)) result.exit_code = WEXITSTATUS(wstatus);

  // Step 4: take the placeholders out of the upper directory, whatever happened.
  if (status)
    TRY_CTX(remove_placeholders(spec.lower_dirs, spec.upper_dir, status->stubs), "sandbox cleanup");
  if (!status) return std::unexpected(std::move(status).error());
  if (status->error) return std::unexpected(std::move(*status->error));
  if (!pumped) return std::unexpected(std::move(pumped).error());
  return result;
}

}  // namespace bonsai::sys
