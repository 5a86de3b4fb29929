// The RUN sandbox's seccomp filter: a classic BPF program written out by hand (no libseccomp).
// The parent builds it into the ChildPlan; the child loads it after its mounts, while it still
// holds CAP_SYS_ADMIN (no_new_privs stays off, so setuid programs such as su keep working).
//
// Docker's default profile is an allowlist; this is a denylist of what that profile refuses to a
// container without extra capabilities. docs/sandbox.md lists the calls and the differences.
// The program, in order:
//
//   1. arch != AUDIT_ARCH_X86_64         -> kill the process. An i386 (int 0x80) call has other
//                                            numbers, so the list below would not apply to it.
//   2. nr & __X32_SYSCALL_BIT             -> EPERM. The x32 ABI reuses the x86-64 numbers with
//                                            that bit set, which would slip past the list.
//   3. clone with a namespace flag        -> EPERM (as Docker: the flags are the first argument)
//      clone3                             -> ENOSYS: its flags sit behind a pointer seccomp cannot
//                                            read, and glibc falls back to clone on ENOSYS
//      personality other than Docker's five values, socket(AF_VSOCK) -> EPERM
//   4. a call of kDenied                  -> EPERM
//   5. anything else                      -> allow
//
// Each test is a jump over the instructions of its verdict, so no jump offset depends on the
// length of the list. Argument checks read the low 32 bits of the argument (little-endian):
// clone's flags, personality and socket's family are 32-bit for the kernel.
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <cassert>
#include <cerrno>
#include <cstddef>
#include <iterator>

#include "sys/linux_sandbox_internal.h"

#if !defined(__x86_64__)
#error "the sandbox's seccomp filter knows only the x86-64 system call numbers"
#endif
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "arguments are read by their low word");

namespace bonsai::sys::sandbox_internal {
namespace {

constexpr int kOpenTreeAttr = 467;  // Linux 6.15; newer than the system headers

// Refused whatever the arguments: what Docker's default profile does not allow without
// CAP_SYS_ADMIN or another capability the command lacks. Most would fail anyway for want of a
// capability; the filter keeps the kernel code behind them out of reach. unshare and setns need
// no capability to make a user namespace (and regain every capability inside it).
constexpr int kDenied[] = {
    // Mounts and namespaces.
    SYS_mount, SYS_umount2, SYS_pivot_root, SYS_unshare, SYS_setns, SYS_fsopen, SYS_fsconfig,
    SYS_fsmount, SYS_fspick, SYS_move_mount, SYS_open_tree, kOpenTreeAttr, SYS_mount_setattr,
    // The kernel itself: modules, kexec, reboot, swap, accounting, logs, BPF, tracing, quotas.
    SYS_init_module, SYS_finit_module, SYS_delete_module, SYS_kexec_load, SYS_kexec_file_load,
    SYS_reboot, SYS_swapon, SYS_swapoff, SYS_acct, SYS_syslog, SYS_bpf, SYS_perf_event_open,
    SYS_lookup_dcookie, SYS_quotactl, SYS_quotactl_fd, SYS_fanotify_init, SYS_userfaultfd, SYS_iopl,
    SYS_ioperm,
    // The kernel keyring (not namespaced).
    SYS_add_key, SYS_request_key, SYS_keyctl,
    // Host-wide state: clock, host and domain name, the terminal.
    SYS_settimeofday, SYS_clock_settime, SYS_sethostname, SYS_setdomainname, SYS_vhangup,
    // File handles (CAP_DAC_READ_SEARCH) and other processes' files and memory (CAP_SYS_PTRACE;
    // ptrace and process_vm_readv/writev themselves stay allowed, as in Docker).
    SYS_open_by_handle_at, SYS_kcmp, SYS_pidfd_getfd, SYS_process_madvise,
    // NUMA memory policy (CAP_SYS_NICE).
    SYS_get_mempolicy, SYS_set_mempolicy, SYS_set_mempolicy_home_node, SYS_mbind, SYS_migrate_pages,
    SYS_move_pages,
    // Obsolete.
    SYS_uselib, SYS_ustat, SYS_sysfs, SYS__sysctl, SYS_nfsservctl, SYS_create_module,
    SYS_get_kernel_syms, SYS_query_module};

// Docker's mask for clone: CLONE_NEWNS and every CLONE_NEW* flag above it.
constexpr uint32_t kNamespaceFlags = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC |
                                     CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;
// The personality values Docker allows: Linux, 32-bit Linux, each with the 2.6 uname, and the
// query.
constexpr uint32_t kPersonalities[] = {PER_LINUX, PER_LINUX32, UNAME26,
                                       uint32_t{PER_LINUX32} | uint32_t{UNAME26}, 0xffffffff};

using Program = std::vector<sock_filter>;

constexpr uint32_t kAllow = SECCOMP_RET_ALLOW;
constexpr uint32_t deny(int err) {
  return SECCOMP_RET_ERRNO | (static_cast<uint32_t>(err) & SECCOMP_RET_DATA);
}

sock_filter load(size_t offset) {
  return BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<uint32_t>(offset));
}
sock_filter ret(uint32_t verdict) { return BPF_STMT(BPF_RET | BPF_K, verdict); }
sock_filter jump(uint16_t op, uint32_t k, size_t jt, size_t jf) {
  return BPF_JUMP(BPF_JMP | op | BPF_K, k, static_cast<uint8_t>(jt), static_cast<uint8_t>(jf));
}

// For system call nr (the accumulator holds the number), runs `body`, which ends in a return;
// any other call skips it.
void on_syscall(Program& p, int nr, const Program& body) {
  assert(body.size() <= 255);  // a jump offset is one byte
  p.push_back(jump(BPF_JEQ, static_cast<uint32_t>(nr), 0, body.size()));
  p.insert(p.end(), body.begin(), body.end());
}

constexpr size_t kArg0 = offsetof(struct seccomp_data, args[0]);

void check_arguments(Program& p) {
  on_syscall(p, SYS_clone,
             {load(kArg0), jump(BPF_JSET, kNamespaceFlags, 0, 1), ret(deny(EPERM)), ret(kAllow)});
  on_syscall(p, SYS_clone3, {ret(deny(ENOSYS))});
  on_syscall(p, SYS_socket,
             {load(kArg0), jump(BPF_JEQ, AF_VSOCK, 0, 1), ret(deny(EPERM)), ret(kAllow)});
  // personality: for each allowed value, a jump to the final allow.
  constexpr size_t n = std::size(kPersonalities);
  Program personality = {load(kArg0)};
  for (size_t i = 0; i < n; ++i) personality.push_back(jump(BPF_JEQ, kPersonalities[i], n - i, 0));
  personality.push_back(ret(deny(EPERM)));
  personality.push_back(ret(kAllow));
  on_syscall(p, SYS_personality, personality);
}

}  // namespace

std::vector<sock_filter> seccomp_filter() {
  Program p;
  // 1. Architecture.
  p.push_back(load(offsetof(struct seccomp_data, arch)));
  p.push_back(jump(BPF_JEQ, AUDIT_ARCH_X86_64, 1, 0));
  p.push_back(ret(SECCOMP_RET_KILL_PROCESS));
  // 2. The x32 ABI.
  p.push_back(load(offsetof(struct seccomp_data, nr)));
  p.push_back(jump(BPF_JSET, __X32_SYSCALL_BIT, 0, 1));
  p.push_back(ret(deny(EPERM)));
  // 3. Calls allowed or refused by their arguments; each leaves by a return.
  check_arguments(p);
  // 4. The denylist; 5. everything else.
  for (int nr : kDenied) on_syscall(p, nr, {ret(deny(EPERM))});
  p.push_back(ret(kAllow));
  return p;
}

std::span<const int> seccomp_denied_syscalls() { return kDenied; }

}  // namespace bonsai::sys::sandbox_internal
