// Running a helper program (gpgv, for one) and capturing what it says: argv in, bytes on stdin,
// stdout, stderr and optionally one more descriptor (a --status-fd) captured, a deadline.
// Nothing goes through a shell. The child gets only the three standard descriptors plus the
// extra one: every descriptor bonsai opens is close-on-exec.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "util/error.h"

namespace bonsai::sys {

struct ProcessRequest {
  std::vector<std::string> argv;  // argv[0]: a path, or a name looked up in PATH
  // The child's whole environment; nullopt: the parent's.
  std::optional<std::vector<std::string>> env;
  std::string stdin_data;  // written to the child's stdin, which is then closed
  // >= 3: the child gets the write end of a pipe at this descriptor, captured into
  // ProcessResult::extra_output (for gpg's --status-fd).
  int extra_output_fd = -1;
  int timeout_seconds = 60;               // for the whole run; 0: none
  size_t max_output = size_t{256} << 20;  // per captured stream
};

struct ProcessResult {
  int exit_code = -1;  // the exit status, or -1 when a signal ended the child
  int signal = 0;      // the signal that ended the child, or 0
  std::string stdout_data;
  std::string stderr_data;
  std::string extra_output;
  bool succeeded() const { return signal == 0 && exit_code == 0; }
};

// Runs argv to completion. A child that exits non-zero (or is killed by a signal it did not get
// from us) is a successful run: the caller reads exit_code. Fails with kNotFound when the program
// does not exist, kLimit when the deadline passes or a stream exceeds max_output (the child is
// then killed with SIGKILL and reaped), kIo when a system call fails; each message names argv[0].
// Thread-safe: needs no signal handlers and leaves SIGPIPE alone.
util::Result<ProcessResult> run_process(const ProcessRequest& request);

}  // namespace bonsai::sys
