// Shared between linux_sandbox.cc (the parent side) and linux_sandbox_child.cc (the process
// that becomes the command). Not part of the module's interface.
#pragma once

#include <linux/capability.h>
#include <linux/filter.h>
#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "util/error.h"

namespace bonsai::sys::sandbox_internal {

// One mount made inside the sandbox's root after pivot_root.
struct ChildMount {
  enum class Kind { kBind, kTmpfs } kind = Kind::kBind;
  std::string source;  // kBind: host path, opened (open_tree) before pivot_root
  std::string target;  // absolute, resolved inside the root
  bool read_only = true;
  std::string tmpfs_size;  // kTmpfs: "size" option, empty for the default
  std::string tmpfs_mode;  // kTmpfs: "mode" option, octal
  int tree_fd = -1;        // filled in by the child: the detached bind mount
  bool source_is_dir = false;
};

// Everything the child needs, prepared by the parent: after clone() the child only reads this
// and makes system calls, it never allocates (see linux_sandbox.h).
struct ChildPlan {
  std::vector<std::string> lower_dirs;
  std::string legacy_lowerdir;  // empty when too long for the legacy mount option
  std::string legacy_error;     // why it is empty
  std::string upper_dir, work_dir;
  std::string rootfs;  // empty host directory the overlay is mounted on (in the child only)
  std::vector<ChildMount> mounts;
  std::string hostname;
  bool new_net = true;
  std::string cwd;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::vector<std::string> argv_storage, env_storage;
  std::vector<char*> argv, envp;  // null-terminated views of the storage
  std::string path_env;           // PATH from the env (or Docker's default)

  // The command's restrictions, applied after the mounts: the seccomp program (see
  // seccomp_filter below) and the permitted and effective capabilities (bit n = capability n;
  // kDefaultCapabilities for uid 0, none for any other user, as Docker does).
  std::vector<sock_filter> seccomp_filter;
  uint64_t capabilities = 0;

  int status_fd = -1;  // write end: records for the parent (see below), close-on-exec
  int life_fd = -1;    // read end of a pipe whose write end only the parent holds
  int output_fd = -1;  // write end of the output pipe: stdout and stderr
};

// Docker's default capability set (0xa80425fb): the bounding set of every command, and the
// permitted and effective sets of one run as root.
inline constexpr uint64_t kDefaultCapabilities =
    1ULL << CAP_CHOWN | 1ULL << CAP_DAC_OVERRIDE | 1ULL << CAP_FSETID | 1ULL << CAP_FOWNER |
    1ULL << CAP_MKNOD | 1ULL << CAP_NET_RAW | 1ULL << CAP_SETGID | 1ULL << CAP_SETUID |
    1ULL << CAP_SETFCAP | 1ULL << CAP_SETPCAP | 1ULL << CAP_NET_BIND_SERVICE |
    1ULL << CAP_SYS_CHROOT | 1ULL << CAP_KILL | 1ULL << CAP_AUDIT_WRITE;
static_assert(kDefaultCapabilities == 0xa80425fb, "CapBnd of a default Docker container");

// The seccomp program (classic BPF) the command runs under; linux_sandbox_seccomp.cc describes
// it. On x86-64: another architecture is killed, the x32 ABI and the calls below are EPERM,
// clone with a namespace flag is EPERM, clone3 is ENOSYS.
std::vector<sock_filter> seccomp_filter();

// The system calls the filter refuses with EPERM whatever their arguments.
std::span<const int> seccomp_denied_syscalls();

// Records written by the child on status_fd, each ended by '\0':
//   "S<path>"           created <path> (absolute inside the root) as a mountpoint placeholder
//   "E<errno>:<message>" setup failed; the child exits right after
inline constexpr char kRecordStub = 'S';
inline constexpr char kRecordError = 'E';

// Removes from spec.upper_dir the placeholders the child reported (absolute paths inside the
// root, in creation order) if they are still empty, then the directories above them that were
// copied up only to hold them: still empty, not opaque, with the mode and owner of the lower
// directory they came from. Never follows a symlink in the upper directory.
util::Status remove_placeholders(const std::vector<std::string>& lower_dirs,
                                 const std::string& upper_dir,
                                 const std::vector<std::string>& stubs);

// Runs in the child created by clone(); never returns.
[[noreturn]] void child_main(ChildPlan& plan);

}  // namespace bonsai::sys::sandbox_internal
