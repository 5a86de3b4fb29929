// The real util::Sandbox: Linux namespaces, overlayfs and the new mount API (fsopen, open_tree,
// move_mount; kernel 5.12 or later, run as root). docs/sandbox.md describes the model and
// everything that is mounted; in short:
//
//  * The command runs as PID 1 of new mount, PID, IPC, UTS and (unless SandboxNetwork::kHost)
//    network namespaces, rooted (pivot_root) at an overlay of the lower directories with the
//    upper directory writable. The overlay exists only in the sandbox's mount namespace: nothing
//    is mounted on the host, and everything is torn down by the kernel when PID 1 exits.
//  * /proc, a minimal /dev, /etc/hosts, /etc/resolv.conf and the RUN --mount mounts are mounted
//    inside. Mount targets are resolved inside the root (openat2 RESOLVE_IN_ROOT), so a hostile
//    image cannot redirect a mount to the host. Targets missing in the image are created as
//    empty placeholders, which run() removes again from the upper directory afterwards, together
//    with directories copied up only to hold them: they never reach a layer.
//  * The command keeps only Docker's default capabilities (none unless it runs as root) and runs
//    under a seccomp filter refusing what Docker's default profile refuses such a container:
//    mounts, new namespaces, the kernel keyring, modules, kexec, BPF, setting the clock...
//    (linux_sandbox_seccomp.cc). no_new_privs stays off, so setuid programs such as su work.
//  * The child process is forked with a raw clone() and does nothing but system calls on data
//    prepared beforehand (no allocation), so run() is safe from any thread of a multi-threaded
//    program. It dies with the calling thread (PR_SET_PDEATHSIG).
//
// Thread safety: run() may be called concurrently from several threads.
#pragma once

#include <string>
#include <vector>

#include "util/error.h"
#include "util/sandbox.h"

namespace bonsai::sys {

class LinuxSandbox final : public util::Sandbox {
 public:
  // REQUIRES: spec.upper_dir is empty (run() checks, kInvalidArgument otherwise), so that
  // whatever it holds afterwards is the command's doing.
  util::Result<util::RunResult> run(const util::RunSpec& spec) override;
};

// The overlayfs "lowerdir" value for kernels without "lowerdir+" (before 6.8): the directories
// joined with ':'. Mount data is one page, so with the other options it must stay under 4096
// bytes: past that, a kLimit error saying how many layers and bytes. Paths holding ':', ',' or
// '\\' are kInvalidArgument (they would need escaping).
util::Result<std::string> legacy_lowerdir_option(const std::vector<std::string>& lower_dirs);

}  // namespace bonsai::sys
