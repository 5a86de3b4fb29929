// The sandbox's seccomp program. Its verdict for every call is worked out by a small classic-BPF
// interpreter, so that each refused call is checked without making it; a few harmless calls are
// then made for real, in a child process under the loaded filter, to check that the kernel
// agrees. (Killing another architecture cannot be seen on a kernel without IA-32 emulation, where
// int 0x80 faults first: the interpreter checks it.)
#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/keyctl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <thread>

#include "sys/linux_sandbox_internal.h"

namespace bonsai::sys::sandbox_internal {
namespace {

constexpr uint32_t kEperm = SECCOMP_RET_ERRNO | EPERM;
constexpr uint32_t kEnosys = SECCOMP_RET_ERRNO | ENOSYS;
constexpr uint32_t kAllow = SECCOMP_RET_ALLOW;
constexpr uint32_t kKill = SECCOMP_RET_KILL_PROCESS;

// Runs the program on one call as the kernel would, for the instructions seccomp_filter() emits.
uint32_t verdict(int nr, uint64_t arg0 = 0, uint32_t arch = AUDIT_ARCH_X86_64) {
  static const std::vector<sock_filter> program = seccomp_filter();
  struct seccomp_data data = {};
  data.nr = nr;
  data.arch = arch;
  data.args[0] = arg0;
  uint32_t a = 0;
  for (size_t pc = 0; pc < program.size(); ++pc) {
    const sock_filter& f = program[pc];
    switch (f.code) {
      case BPF_LD | BPF_W | BPF_ABS:
        if (f.k + sizeof a > sizeof data) {
          ADD_FAILURE() << "load past seccomp_data at " << pc;
          return 0;
        }
        std::memcpy(&a, reinterpret_cast<const char*>(&data) + f.k, sizeof a);
        break;
      case BPF_JMP | BPF_JEQ | BPF_K:
        pc += a == f.k ? f.jt : f.jf;
        break;
      case BPF_JMP | BPF_JSET | BPF_K:
        pc += (a & f.k) != 0 ? f.jt : f.jf;
        break;
      case BPF_RET | BPF_K:
        return f.k;
      default:
        ADD_FAILURE() << "unexpected instruction " << f.code << " at " << pc;
        return 0;
    }
  }
  ADD_FAILURE() << "no return for system call " << nr;
  return 0;
}

TEST(SeccompFilter, RefusesWhatDockersProfileRefusesWithoutCapabilities) {
  for (int nr : {SYS_mount,
                 SYS_umount2,
                 SYS_pivot_root,
                 SYS_unshare,
                 SYS_setns,
                 SYS_keyctl,
                 SYS_add_key,
                 SYS_request_key,
                 SYS_bpf,
                 SYS_perf_event_open,
                 SYS_kexec_load,
                 SYS_kexec_file_load,
                 SYS_init_module,
                 SYS_finit_module,
                 SYS_delete_module,
                 SYS_open_by_handle_at,
                 SYS_reboot,
                 SYS_swapon,
                 SYS_swapoff,
                 SYS_acct,
                 SYS_settimeofday,
                 SYS_clock_settime,
                 SYS_syslog,
                 SYS_userfaultfd,
                 SYS_lookup_dcookie,
                 SYS_quotactl,
                 SYS_nfsservctl,
                 SYS_iopl,
                 SYS_ioperm,
                 SYS_fsopen,
                 SYS_fsconfig,
                 SYS_fsmount,
                 SYS_fspick,
                 SYS_move_mount,
                 SYS_open_tree,
                 SYS_mount_setattr,
                 SYS_uselib,
                 SYS_ustat,
                 SYS_sysfs,
                 SYS__sysctl,
                 SYS_create_module,
                 SYS_get_kernel_syms,
                 SYS_query_module,
                 SYS_sethostname,
                 SYS_kcmp,
                 SYS_mbind})
    EXPECT_EQ(verdict(nr), kEperm) << "system call " << nr;
}

TEST(SeccompFilter, EveryListedCallIsEpermWhateverItsArguments) {
  for (int nr : seccomp_denied_syscalls()) {
    EXPECT_EQ(verdict(nr), kEperm) << "system call " << nr;
    EXPECT_EQ(verdict(nr, ~0ULL), kEperm) << "system call " << nr;
  }
}

TEST(SeccompFilter, EveryOtherCallIsAllowed) {
  auto denied = seccomp_denied_syscalls();
  for (int nr = 0; nr < 512; ++nr) {
    if (std::find(denied.begin(), denied.end(), nr) != denied.end() || nr == SYS_clone3) continue;
    EXPECT_EQ(verdict(nr), kAllow) << "system call " << nr;
  }
  // Among them, calls Docker allows that a stricter list might take: ptrace and friends (kernel
  // 4.8 and later), chroot (CAP_SYS_CHROOT is kept), and what the sandbox's child itself makes
  // after loading the filter.
  for (int nr :
       {SYS_ptrace, SYS_process_vm_readv, SYS_process_vm_writev, SYS_chroot, SYS_name_to_handle_at,
        SYS_clock_adjtime, SYS_prctl, SYS_capset, SYS_setgroups, SYS_setgid, SYS_setuid, SYS_poll,
        SYS_chdir, SYS_close_range, SYS_execve, SYS_writev, SYS_exit_group})
    EXPECT_EQ(verdict(nr), kAllow) << "system call " << nr;
}

TEST(SeccompFilter, OtherArchitecturesAreKilled) {
  EXPECT_EQ(verdict(20, 0, AUDIT_ARCH_I386), kKill);  // i386 getpid
  EXPECT_EQ(verdict(SYS_getpid, 0, AUDIT_ARCH_AARCH64), kKill);
}

TEST(SeccompFilter, X32CallsAreEperm) {
  for (int nr : {SYS_read, SYS_getpid, SYS_mount})
    EXPECT_EQ(verdict(nr | __X32_SYSCALL_BIT), kEperm) << "system call " << nr;
}

TEST(SeccompFilter, CloneWithANamespaceFlagIsEperm) {
  for (uint64_t flag : {CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
                        CLONE_NEWPID, CLONE_NEWNET})
    EXPECT_EQ(verdict(SYS_clone, flag | SIGCHLD), kEperm) << "flag " << std::hex << flag;
  uint64_t thread = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                    CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
  EXPECT_EQ(verdict(SYS_clone, thread), kAllow);
  EXPECT_EQ(verdict(SYS_clone, SIGCHLD), kAllow);
  EXPECT_EQ(verdict(SYS_clone, CLONE_VM | CLONE_VFORK | SIGCHLD), kAllow);
}

TEST(SeccompFilter, Clone3IsEnosysSoThatGlibcFallsBackToClone) {
  EXPECT_EQ(verdict(SYS_clone3), kEnosys);
}

TEST(SeccompFilter, PersonalityIsLimitedToDockersValues) {
  for (uint64_t p : {0x0ULL, 0x8ULL, 0x20000ULL, 0x20008ULL, 0xffffffffULL})
    EXPECT_EQ(verdict(SYS_personality, p), kAllow) << std::hex << p;
  for (uint64_t p : {uint64_t{ADDR_NO_RANDOMIZE}, uint64_t{READ_IMPLIES_EXEC}, uint64_t{PER_BSD}})
    EXPECT_EQ(verdict(SYS_personality, p), kEperm) << std::hex << p;
}

TEST(SeccompFilter, VsockSocketsAreEperm) {
  EXPECT_EQ(verdict(SYS_socket, AF_VSOCK), kEperm);
  for (uint64_t family : {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET})
    EXPECT_EQ(verdict(SYS_socket, family), kAllow) << family;
}

// Forks; the child loads the filter (with no_new_privs, so that it needs no privilege) and makes
// the call. Returns the call's errno (0 if it succeeded), -signal if the child was killed, 255
// if the filter could not be loaded, 253 if the call threw (the child must never return into
// the test runner: it would go on running the other tests).
int errno_under_filter(const std::function<long()>& call) {
  std::vector<sock_filter> program = seccomp_filter();
  struct sock_fprog fprog = {static_cast<unsigned short>(program.size()), program.data()};
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) != 0)
      ::_exit(255);
    errno = 0;
    try {
      long r = call();
      ::_exit(r >= 0 ? 0 : errno);
    } catch (...) {
      ::_exit(253);
    }
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid) return 254;
  return WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
}

// A raw clone that reaps its child at once; the child exits immediately.
long clone_and_reap(unsigned long flags) {
  long pid = ::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, 0);
  if (pid == 0) ::_exit(0);
  if (pid > 0) ::waitpid(static_cast<pid_t>(pid), nullptr, 0);
  return pid;
}

// Each call below succeeds or fails otherwise without the filter (as root or not), and changes
// nothing outside the child.
TEST(SeccompFilter, TheKernelRefusesAsEvaluated) {
  EXPECT_EQ(errno_under_filter([] { return ::unshare(CLONE_NEWUSER); }), EPERM);
  EXPECT_EQ(errno_under_filter([] { return clone_and_reap(CLONE_NEWUSER); }), EPERM);
  EXPECT_EQ(errno_under_filter([] { return ::syscall(SYS_clone3, nullptr, 0); }), ENOSYS);
  EXPECT_EQ(errno_under_filter([] {
              return ::syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
            }),
            EPERM);
  EXPECT_EQ(errno_under_filter([] { return ::syscall(SYS_getpid | __X32_SYSCALL_BIT); }), EPERM);
  EXPECT_EQ(errno_under_filter([] { return ::personality(ADDR_NO_RANDOMIZE); }), EPERM);
  EXPECT_EQ(errno_under_filter([] {
              return ::mount("none", "/nonexistent-bonsai-mountpoint", "tmpfs", 0, nullptr);
            }),
            EPERM);
}

TEST(SeccompFilter, TheKernelAllowsThreadsForksAndPtrace) {
  EXPECT_EQ(errno_under_filter([] { return ::syscall(SYS_getpid); }), 0);
  // glibc's pthread_create tries clone3 first and gives up on any error but ENOSYS.
  EXPECT_EQ(errno_under_filter([] {
              std::thread t([] {});
              t.join();
              return 0L;
            }),
            0);
  EXPECT_EQ(errno_under_filter([] { return clone_and_reap(0); }), 0);
  EXPECT_EQ(errno_under_filter([] { return ::personality(0xffffffff); }), 0);
  // Reaches the kernel's ptrace, which finds no tracee.
  EXPECT_EQ(errno_under_filter([] { return ::ptrace(PTRACE_PEEKUSER, ::getppid(), 0, 0); }), ESRCH);
}

}  // namespace
}  // namespace bonsai::sys::sandbox_internal
