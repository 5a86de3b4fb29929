// The seam between a build and the process isolation that runs its RUN steps.
//
// A Sandbox runs one command to completion on an overlay of read-only lower directories with a
// writable upper directory, in fresh namespaces, and reports how it ended. The upper directory
// is what the command changed: the build turns it into a layer (sys/overlay_diff.h). The real
// implementation is sys::LinuxSandbox (docs/sandbox.md describes exactly what it mounts); build
// tests use a FakeSandbox that writes to the upper directory without any kernel support.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace bonsai::util {

enum class SandboxNetwork {
  kNone,  // a new network namespace holding only the loopback interface, up
  kHost,  // the host's network namespace (`--network host`)
};

// A host file or directory bind-mounted at target inside the sandbox (RUN --mount=type=bind,
// type=cache, type=secret). Read-only unless read_only is false.
struct BindMount {
  std::string source;  // host path, trusted, resolved on the host
  std::string target;  // absolute path inside the sandbox, resolved inside its root
  bool read_only = true;
};

// A fresh tmpfs at target inside the sandbox (RUN --mount=type=tmpfs).
struct TmpfsMount {
  std::string target;       // absolute path inside the sandbox
  uint64_t size_bytes = 0;  // 0: the kernel default (half of RAM)
  uint32_t mode = 01777;
};

struct RunSpec {
  // The overlay: lower directories, top-most first (like overlayfs' lowerdir), the writable
  // upper directory and overlayfs' work directory (empty, on the upper directory's filesystem).
  std::vector<std::string> lower_dirs;
  std::string upper_dir;
  std::string work_dir;

  // The command, executed directly (no shell is added). argv[0] without a '/' is looked up in
  // the PATH of env, inside the sandbox.
  std::vector<std::string> argv;
  // The complete environment, "NAME=value" each; nothing is inherited from the caller.
  std::vector<std::string> env;
  // Absolute working directory inside the sandbox. It must exist (a missing one is an error
  // naming it: the build creates WORKDIR in its own step).
  std::string cwd = "/";
  // Numeric credentials; names are resolved by the caller against the image's /etc files.
  uint32_t uid = 0, gid = 0;
  std::vector<uint32_t> supplementary_gids;
  std::string hostname = "bonsai";
  SandboxNetwork network = SandboxNetwork::kNone;

  // Contents bind-mounted (read-only) over /etc/hosts and /etc/resolv.conf, as Docker does.
  std::string etc_hosts;
  std::string etc_resolv_conf;

  std::vector<BindMount> binds;
  std::vector<TmpfsMount> tmpfs;

  // Receives the command's stdout and stderr, interleaved in the order written, in chunks as
  // they are read (a chunk may end mid-line). Called on the thread that called run().
  std::function<void(std::string_view)> on_output;
  // How many of the last output lines RunResult::tail keeps for error messages.
  size_t tail_lines = 20;
  // When stop is requested the command and everything it started are killed (SIGKILL) and run()
  // returns with RunResult::cancelled set.
  std::stop_token stop;
};

struct RunResult {
  int exit_code = 0;  // when the command exited
  int signal = 0;     // non-zero when it was killed by a signal (exit_code is then 0)
  bool cancelled = false;
  // The last RunSpec::tail_lines lines of output, without their newlines.
  std::vector<std::string> tail;

  bool ok() const { return signal == 0 && exit_code == 0; }
  // "exit code 2", "killed by signal 9", "cancelled (killed by signal 9)".
  std::string describe() const {
    std::string how = signal != 0 ? "killed by signal " + std::to_string(signal)
                                  : "exit code " + std::to_string(exit_code);
    return cancelled ? "cancelled (" + how + ")" : how;
  }
};

class Sandbox {
 public:
  virtual ~Sandbox() = default;
  // Runs spec.argv to completion. A command that runs and fails is a RunResult, not an error;
  // an error means the sandbox could not be set up or the command could not be started (exec
  // failed, cwd missing), and names the step and path that failed.
  //
  // On return, whatever the outcome, no process of the run is left and spec.upper_dir holds the
  // command's changes and nothing else: files and directories the sandbox created only to mount
  // something over them are removed again.
  virtual Result<RunResult> run(const RunSpec& spec) = 0;
};

}  // namespace bonsai::util
