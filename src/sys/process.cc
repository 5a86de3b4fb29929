// run_process: posix_spawnp with the child's ends of a socket pair (stdin) and pipes (stdout,
// stderr, the extra descriptor) moved into place by file actions, then one poll loop in the
// parent that feeds stdin and drains the outputs until all are closed, then a reap. stdin is a
// socket so that writing to a child that stopped reading fails with EPIPE (send with
// MSG_NOSIGNAL) instead of raising SIGPIPE in the whole process.
#include "sys/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>

#include "sys/fd.h"

extern char** environ;

namespace bonsai::sys {

namespace {

using util::ErrorKind;
using util::fail;
using util::sys_fail;
using Clock = std::chrono::steady_clock;

// The child's end of each channel is duplicated above this, so the file actions' dup2 onto 0, 1,
// 2 and the extra descriptor never read a descriptor an earlier action overwrote.
constexpr int kHighFd = 16;

struct Channel {
  UniqueFd parent;  // non-blocking, close-on-exec
  UniqueFd child;   // close-on-exec; dup2'ed to `target` in the child
  int target = -1;
  std::string* out = nullptr;  // null for stdin
};

Status move_high(UniqueFd& fd, const std::string& what) {
  int high = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, kHighFd);
  if (high < 0) return sys_fail(what + ": fcntl F_DUPFD_CLOEXEC");
  fd.reset(high);
  return {};
}

Status set_nonblocking(int fd, const std::string& what) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
    return sys_fail(what + ": fcntl O_NONBLOCK");
  return {};
}

Result<Channel> output_channel(int target, std::string* out, const std::string& what) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return sys_fail(what + ": pipe");
  Channel ch{UniqueFd(fds[0]), UniqueFd(fds[1]), target, out};
  TRY(move_high(ch.child, what));
  TRY(set_nonblocking(ch.parent.get(), what));
  return ch;
}

Result<Channel> input_channel(const std::string& what) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    return sys_fail(what + ": socketpair");
  Channel ch{UniqueFd(fds[0]), UniqueFd(fds[1]), STDIN_FILENO, nullptr};
  ::shutdown(ch.parent.get(), SHUT_RD);
  TRY(move_high(ch.child, what));
  TRY(set_nonblocking(ch.parent.get(), what));
  return ch;
}

std::vector<char*> c_strings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

Result<pid_t> spawn(const ProcessRequest& req, std::vector<Channel>& channels,
                    const std::string& what) {
  posix_spawn_file_actions_t actions;
  if (int rc = posix_spawn_file_actions_init(&actions); rc != 0) return sys_fail(what, rc);
  for (auto& ch : channels) {
    if (int rc = posix_spawn_file_actions_adddup2(&actions, ch.child.get(), ch.target); rc != 0) {
      posix_spawn_file_actions_destroy(&actions);
      return sys_fail(what + ": posix_spawn_file_actions_adddup2", rc);
    }
  }
  // Nothing else of ours leaks into the child, close-on-exec or not (a test runner's descriptors,
  // say): everything above the highest target is closed.
  int highest = 2;
  for (auto& ch : channels) highest = std::max(highest, ch.target);
  if (int rc = posix_spawn_file_actions_addclosefrom_np(&actions, highest + 1); rc != 0) {
    posix_spawn_file_actions_destroy(&actions);
    return sys_fail(what + ": posix_spawn_file_actions_addclosefrom_np", rc);
  }
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // The child starts with default signal dispositions and an empty mask, whatever ours are.
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  auto argv = c_strings(req.argv);
  std::vector<char*> envp;
  if (req.env) envp = c_strings(*req.env);
  pid_t pid = -1;
  int rc =
      posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), req.env ? envp.data() : environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return sys_fail(what, rc);
  for (auto& ch : channels) ch.child.reset();
  return pid;
}

void kill_and_reap(pid_t pid) {
  ::kill(pid, SIGKILL);
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

// Feeds stdin and drains the outputs until every output is closed or the deadline passes.
Status pump(std::vector<Channel>& channels, std::string_view input, size_t max_output,
            std::optional<Clock::time_point> deadline, const std::string& what,
            const std::string& timed_out) {
  for (;;) {
    std::vector<pollfd> fds;
    std::vector<Channel*> owners;
    bool outputs_open = false;
    for (auto& ch : channels) {
      if (!ch.parent.valid()) continue;
      if (ch.out) outputs_open = true;
      fds.push_back({ch.parent.get(), static_cast<short>(ch.out ? POLLIN : POLLOUT), 0});
      owners.push_back(&ch);
    }
    if (!outputs_open) return {};
    int wait_ms = -1;
    if (deadline) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now());
      if (left.count() <= 0) return fail(ErrorKind::kLimit, timed_out);
      wait_ms = static_cast<int>(left.count());
    }
    int n = ::poll(fds.data(), fds.size(), wait_ms);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_fail(what + ": poll");
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      Channel& ch = *owners[i];
      if (!ch.out) {
        ssize_t w = ::send(ch.parent.get(), input.data(), input.size(), MSG_NOSIGNAL);
        if (w < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (w < 0 && errno != EPIPE) return sys_fail(what + ": write stdin");
        // A child that stops reading its input is its own business: we just stop writing.
        input.remove_prefix(w < 0 ? input.size() : static_cast<size_t>(w));
        if (input.empty()) ch.parent.reset();
        continue;
      }
      char buf[65536];
      ssize_t r = ::read(ch.parent.get(), buf, sizeof buf);
      if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (r < 0) return sys_fail(what + ": read output");
      if (r == 0) {
        ch.parent.reset();
        continue;
      }
      if (ch.out->size() + static_cast<size_t>(r) > max_output)
        return fail(ErrorKind::kLimit,
                    what + ": output larger than " + std::to_string(max_output) + " bytes");
      ch.out->append(buf, static_cast<size_t>(r));
    }
  }
}

// Waits for the child to exit, up to the deadline.
Result<int> reap(pid_t pid, std::optional<Clock::time_point> deadline, const std::string& what,
                 const std::string& timed_out) {
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, deadline ? WNOHANG : 0);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return sys_fail(what + ": waitpid");
    if (r == 0) {
      if (Clock::now() >= *deadline) return fail(ErrorKind::kLimit, timed_out);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
}

}  // namespace

Result<ProcessResult> run_process(const ProcessRequest& req) {
  if (req.argv.empty()) return fail(ErrorKind::kInvalidArgument, "run_process: empty argv");
  std::string what = "run " + req.argv[0];
  std::optional<Clock::time_point> deadline;
  if (req.timeout_seconds > 0) deadline = Clock::now() + std::chrono::seconds(req.timeout_seconds);

  // 1. The channels: stdin, stdout, stderr and the optional extra output.
  ProcessResult result;
  std::vector<Channel> channels;
  channels.push_back(TRY(input_channel(what)));
  channels.push_back(TRY(output_channel(STDOUT_FILENO, &result.stdout_data, what)));
  channels.push_back(TRY(output_channel(STDERR_FILENO, &result.stderr_data, what)));
  if (req.extra_output_fd >= 0) {
    if (req.extra_output_fd <= STDERR_FILENO || req.extra_output_fd >= kHighFd)
      return fail(
          ErrorKind::kInvalidArgument,
          what + ": extra output descriptor must be between 3 and " + std::to_string(kHighFd - 1));
    channels.push_back(TRY(output_channel(req.extra_output_fd, &result.extra_output, what)));
  }
  if (req.stdin_data.empty()) channels[0].parent.reset();

  // 2. Spawn, then talk to the child; on any failure it is killed so it never outlives us.
  pid_t pid = TRY(spawn(req, channels, what));
  std::string timed_out =
      what + ": timed out after " + std::to_string(req.timeout_seconds) + " seconds";
  if (auto st = pump(channels, req.stdin_data, req.max_output, deadline, what, timed_out); !st) {
    kill_and_reap(pid);
    return std::unexpected(st.error());
  }
  auto status = reap(pid, deadline, what, timed_out);
  if (!status) {
    kill_and_reap(pid);
    return std::unexpected(status.error());
  }

  // 3. How it ended.
  if (WIFEXITED(*status)) result.exit_code = WEXITSTATUS(*status);
  if (WIFSIGNALED(*status)) result.signal = WTERMSIG(*status);
  return result;
}

}  // namespace bonsai::sys
