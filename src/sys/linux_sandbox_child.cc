// The sandbox's child: from clone() to execve(), one function per namespace or mount step.
//
// This runs in a process forked from a possibly multi-threaded program with a raw clone(), so it
// must not allocate or take locks: it reads the ChildPlan prepared by the parent and makes
// system calls. Messages are built in a static buffer. A failed step writes an "E" record naming
// the operation and the path to the status pipe and exits; the parent turns it into an Error.
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sys/linux_sandbox_internal.h"

namespace bonsai::sys::sandbox_internal {
namespace {

int g_status_fd = -1;
char g_message[8192];
size_t g_message_len = 0;

void msg_reset() { g_message_len = 0; }
void msg_append(const char* s) {
  while (*s && g_message_len + 1 < sizeof g_message) g_message[g_message_len++] = *s++;
  g_message[g_message_len] = '\0';
}
void msg_append_number(long n) {
  char digits[24];
  int i = 0;
  bool negative = n < 0;
  unsigned long u = negative ? 0UL - static_cast<unsigned long>(n) : static_cast<unsigned long>(n);
  do {
    digits[i++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (negative) digits[i++] = '-';
  char out[24];
  int j = 0;
  while (i > 0) out[j++] = digits[--i];
  out[j] = '\0';
  msg_append(out);
}

void write_record(char type, const char* text) {
  struct iovec iov[2] = {{&type, 1}, {const_cast<char*>(text), strlen(text) + 1}};
  (void)!writev(g_status_fd, iov, 2);
}

// Reports "<op> <path>[: <detail>]" with err and exits. The parent appends strerror(err).
[[noreturn]] void fail(const char* op, const char* path, int err, const char* detail = nullptr) {
  char record[sizeof g_message + 32];
  msg_reset();
  msg_append_number(err);
  msg_append(":");
  msg_append(op);
  if (path != nullptr) {
    msg_append(" ");
    msg_append(path);
  }
  if (detail != nullptr && *detail != '\0') {
    msg_append(" (");
    msg_append(detail);
    msg_append(")");
  }
  memcpy(record, g_message, g_message_len + 1);
  write_record(kRecordError, record);
  _exit(127);
}

int openat2_in_root(int root_fd, const char* path, int flags) {
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  for (int attempt = 0;; ++attempt) {
    long fd = syscall(SYS_openat2, root_fd, path, &how, sizeof how);
    if (fd >= 0 || errno != EAGAIN || attempt == 32) return static_cast<int>(fd);
  }
}

// Dies with the thread that cloned us; exits at once if that thread is already gone (the life
// pipe's only write end was the parent's). Set again after setuid, which clears it.
void die_with_parent(const ChildPlan& plan) {
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail("prctl PR_SET_PDEATHSIG", nullptr, errno);
  struct pollfd p = {plan.life_fd, POLLIN, 0};
  if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLIN)) != 0) _exit(127);
}

void make_mounts_private() {
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    fail("make mounts private: mount MS_PRIVATE", "/", errno);
}

// The fs-context log of a failed fsconfig/fsmount ("overlay: ..."), for the error message.
const char* fs_log(int fs_fd) {
  static char log[1024];
  ssize_t n = read(fs_fd, log, sizeof log - 1);
  if (n <= 0) return "";
  log[n] = '\0';
  if (log[n - 1] == '\n') log[n - 1] = '\0';
  return log;
}

void fs_set(int fs_fd, const char* fs, const char* key, const char* value) {
  unsigned cmd = value != nullptr ? FSCONFIG_SET_STRING : FSCONFIG_SET_FLAG;
  if (fsconfig(fs_fd, cmd, key, value, 0) != 0) {
    int err = errno;
    msg_reset();
    fail("fsconfig", fs, err, fs_log(fs_fd));
  }
}

// fsopen + fsconfig + fsmount of a filesystem without a source; returns the detached mount.
int make_fs(const char* fs, const char* const* options, unsigned attrs) {
  int fs_fd = fsopen(fs, FSOPEN_CLOEXEC);
  if (fs_fd < 0) fail("fsopen", fs, errno);
  for (const char* const* o = options; o[0] != nullptr; o += 2) fs_set(fs_fd, fs, o[0], o[1]);
  if (fsconfig(fs_fd, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
    fail("create filesystem", fs, errno, fs_log(fs_fd));
  int mnt = fsmount(fs_fd, FSMOUNT_CLOEXEC, attrs);
  if (mnt < 0) fail("fsmount", fs, errno, fs_log(fs_fd));
  close(fs_fd);
  return mnt;
}

// The overlay, mounted on plan.rootfs. One "lowerdir+" per layer where the kernel has it (6.8),
// else the one-page legacy "lowerdir". redirect_dir, metacopy and index are off: with them the
// upper directory holds redirects and metadata-only copies that a layer cannot express.
void mount_overlay(const ChildPlan& plan) {
  int fs_fd = fsopen("overlay", FSOPEN_CLOEXEC);
  if (fs_fd < 0) fail("fsopen", "overlay", errno);
  bool legacy =
      fsconfig(fs_fd, FSCONFIG_SET_STRING, "lowerdir+", plan.lower_dirs[0].c_str(), 0) != 0;
  if (legacy && errno != EINVAL) fail("overlay lowerdir+", plan.lower_dirs[0].c_str(), errno);
  if (legacy) {
    (void)fs_log(fs_fd);
    if (plan.legacy_lowerdir.empty()) fail(plan.legacy_error.c_str(), nullptr, E2BIG);
    fs_set(fs_fd, "overlay", "lowerdir", plan.legacy_lowerdir.c_str());
  } else {
    for (size_t i = 1; i < plan.lower_dirs.size(); ++i)
      fs_set(fs_fd, "overlay", "lowerdir+", plan.lower_dirs[i].c_str());
  }
  fs_set(fs_fd, "overlay", "upperdir", plan.upper_dir.c_str());
  fs_set(fs_fd, "overlay", "workdir", plan.work_dir.c_str());
  fs_set(fs_fd, "overlay", "redirect_dir", "off");
  fs_set(fs_fd, "overlay", "metacopy", "off");
  fs_set(fs_fd, "overlay", "index", "off");
  if (fsconfig(fs_fd, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
    fail("mount overlay on", plan.rootfs.c_str(), errno, fs_log(fs_fd));
  int mnt = fsmount(fs_fd, FSMOUNT_CLOEXEC, 0);
  if (mnt < 0) fail("fsmount overlay for", plan.rootfs.c_str(), errno, fs_log(fs_fd));
  if (move_mount(mnt, "", AT_FDCWD, plan.rootfs.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
    fail("move_mount overlay to", plan.rootfs.c_str(), errno);
  close(mnt);
  close(fs_fd);
}

// Clones each bind source into a detached mount while the host's tree is still reachable.
void open_bind_sources(ChildPlan& plan) {
  for (ChildMount& m : plan.mounts) {
    if (m.kind != ChildMount::Kind::kBind) continue;
    const char* src = m.source.c_str();
    m.tree_fd = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
    if (m.tree_fd < 0) fail("open_tree (bind source)", src, errno);
    struct stat st;
    if (fstat(m.tree_fd, &st) != 0) fail("stat bind source", src, errno);
    m.source_is_dir = S_ISDIR(st.st_mode);
    if (m.read_only) {
      struct mount_attr attr = {};
      attr.attr_set = MOUNT_ATTR_RDONLY;
      if (mount_setattr(m.tree_fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0)
        fail("make bind mount read-only", src, errno);
    }
  }
}

// pivot_root(".", ".") as runc does: the old root ends up stacked on the new one and is then
// detached, so nothing of the host stays reachable.
void pivot_into(const ChildPlan& plan) {
  int old_root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (old_root < 0) fail("open", "/", errno);
  if (chdir(plan.rootfs.c_str()) != 0) fail("chdir", plan.rootfs.c_str(), errno);
  if (syscall(SYS_pivot_root, ".", ".") != 0) fail("pivot_root", plan.rootfs.c_str(), errno);
  if (fchdir(old_root) != 0) fail("fchdir", "old root", errno);
  if (mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) != 0)
    fail("mount MS_SLAVE", "old root", errno);
  if (umount2(".", MNT_DETACH) != 0) fail("umount", "old root", errno);
  if (chdir("/") != 0) fail("chdir", "/", errno);
  close(old_root);
}

// Reports a placeholder we created, by its real path inside the root (readlink of the fd gives
// it even when a symlink on the way led elsewhere; before /proc is mounted, the given path).
void report_stub(int fd, const char* path) {
  static char link[64], real[4096];
  msg_reset();
  msg_append("/proc/self/fd/");
  msg_append_number(fd);
  memcpy(link, g_message, g_message_len + 1);
  ssize_t n = readlink(link, real, sizeof real - 1);
  if (n > 0) {
    real[n] = '\0';
    write_record(kRecordStub, real);
  } else {
    write_record(kRecordStub, path);
  }
}

// Makes sure the absolute path `target` exists inside the root, creating missing directories
// and, for the last component, a directory or an empty file. Everything created is reported.
void ensure_mountpoint(int root_fd, const char* target, bool dir) {
  static char prefix[4096];
  size_t len = strlen(target);
  if (len >= sizeof prefix) fail("mount target too long", target, ENAMETOOLONG);
  int parent = dup(root_fd);
  size_t pos = 0;
  while (pos < len) {
    while (target[pos] == '/') ++pos;
    if (pos >= len) break;
    size_t end = pos;
    while (end < len && target[end] != '/') ++end;
    memcpy(prefix, target, end);
    prefix[end] = '\0';
    const char* name = prefix + pos;
    bool last = end >= len || target[end + strspn(target + end, "/")] == '\0';
    int fd = openat2_in_root(root_fd, prefix, O_PATH);
    if (fd < 0 && errno != ENOENT) fail("resolve mount target", prefix, errno);
    if (fd < 0) {
      if (last && !dir) {
        int f = openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (f < 0) fail("create mountpoint", prefix, errno);
        close(f);
      } else if (mkdirat(parent, name, 0755) != 0) {
        fail("create mountpoint directory", prefix, errno);
      }
      fd = openat2_in_root(root_fd, prefix, O_PATH);
      if (fd < 0) fail("open created mountpoint", prefix, errno);
      report_stub(fd, prefix);
    }
    close(parent);
    parent = fd;
    pos = end;
  }
  close(parent);
}

void attach(int root_fd, int tree_fd, const char* target) {
  int fd = openat2_in_root(root_fd, target, O_PATH);
  if (fd < 0) fail("resolve mount target", target, errno);
  if (move_mount(tree_fd, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
    fail("mount on", target, errno);
  close(fd);
  close(tree_fd);
}

void mount_proc(int root_fd) {
  ensure_mountpoint(root_fd, "/proc", true);
  const char* none[] = {nullptr};
  attach(root_fd, make_fs("proc", none, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC),
         "/proc");
}

// Covers path, when it exists, as runc covers Docker's masked paths: a directory with an empty
// read-only tmpfs, anything else with /dev/null. Runs after mount_dev.
void mask(int root_fd, const char* path) {
  int fd = openat2_in_root(root_fd, path, O_PATH);
  if (fd < 0 && errno == ENOENT) return;
  if (fd < 0) fail("open", path, errno);
  struct stat st;
  if (fstat(fd, &st) != 0) fail("stat", path, errno);
  close(fd);
  if (S_ISDIR(st.st_mode)) {
    const char* opts[] = {"size", "4k", nullptr, nullptr};
    attach(root_fd,
           make_fs("tmpfs", opts,
                   MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC),
           path);
    return;
  }
  int null_fd = openat2_in_root(root_fd, "/dev/null", O_PATH);
  if (null_fd < 0) fail("open", "/dev/null", errno);
  int tree = open_tree(null_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
  if (tree < 0) fail("open_tree", "/dev/null", errno);
  close(null_fd);
  attach(root_fd, tree, path);
}

// As runc does for Docker: the parts of /proc that reach the host kernel's settings are made
// read-only (writing /proc/sys/kernel/core_pattern would run a program on the host as root),
// and files that leak host memory or state are covered with /dev/null, their directories with
// an empty read-only tmpfs. Paths this kernel lacks are skipped. Runs after mount_dev.
void protect_proc(int root_fd) {
  const char* read_only[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                             "/proc/sysrq-trigger"};
  for (const char* path : read_only) {
    int fd = openat2_in_root(root_fd, path, O_PATH);
    if (fd < 0 && errno == ENOENT) continue;
    if (fd < 0) fail("open", path, errno);
    int tree = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
    if (tree < 0) fail("open_tree", path, errno);
    struct mount_attr attr = {};
    attr.attr_set = MOUNT_ATTR_RDONLY;
    if (mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof attr) != 0)
      fail("make read-only", path, errno);
    if (move_mount(tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
      fail("mount read-only on", path, errno);
    close(tree);
    close(fd);
  }
  const char* masked[] = {"/proc/acpi", "/proc/asound",        "/proc/kcore",
                          "/proc/keys", "/proc/latency_stats", "/proc/sched_debug",
                          "/proc/scsi", "/proc/timer_list",    "/proc/timer_stats"};
  for (const char* path : masked) mask(root_fd, path);
}

// /sys as Docker gives it: a read-only sysfs (in a new network namespace it lists only that
// namespace's interfaces), with /sys/firmware (ACPI tables, EFI variables) and powercap (RAPL
// energy counters, a side channel: CVE-2020-8694) masked. Runs after mount_dev.
void mount_sys(int root_fd) {
  ensure_mountpoint(root_fd, "/sys", true);
  const char* none[] = {nullptr};
  attach(root_fd,
         make_fs("sysfs", none,
                 MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC),
         "/sys");
  mask(root_fd, "/sys/firmware");
  mask(root_fd, "/sys/devices/virtual/powercap");
}

void make_dev_node(int dev_fd, const char* name, unsigned major_n, unsigned minor_n) {
  if (mknodat(dev_fd, name, S_IFCHR | 0666, makedev(major_n, minor_n)) != 0)
    fail("mknod /dev/", name, errno);
}

void make_dev_symlink(int dev_fd, const char* target, const char* name) {
  if (symlinkat(target, dev_fd, name) != 0) fail("symlink /dev/", name, errno);
}

// A tmpfs /dev with the standard nodes, /dev/pts (a new devpts instance), /dev/shm and the
// /dev/fd family of symlinks, as Docker provides.
void mount_dev(int root_fd) {
  ensure_mountpoint(root_fd, "/dev", true);
  const char* dev_opts[] = {"mode", "0755", "size", "65536k", nullptr};
  attach(root_fd, make_fs("tmpfs", dev_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_STRICTATIME), "/dev");
  int dev = openat2_in_root(root_fd, "/dev", O_PATH | O_DIRECTORY);
  if (dev < 0) fail("open", "/dev", errno);
  make_dev_node(dev, "null", 1, 3);
  make_dev_node(dev, "zero", 1, 5);
  make_dev_node(dev, "full", 1, 7);
  make_dev_node(dev, "random", 1, 8);
  make_dev_node(dev, "urandom", 1, 9);
  make_dev_node(dev, "tty", 5, 0);
  make_dev_symlink(dev, "/proc/self/fd", "fd");
  make_dev_symlink(dev, "/proc/self/fd/0", "stdin");
  make_dev_symlink(dev, "/proc/self/fd/1", "stdout");
  make_dev_symlink(dev, "/proc/self/fd/2", "stderr");
  make_dev_symlink(dev, "pts/ptmx", "ptmx");
  if (mkdirat(dev, "pts", 0755) != 0) fail("mkdir", "/dev/pts", errno);
  if (mkdirat(dev, "shm", 01777) != 0) fail("mkdir", "/dev/shm", errno);
  close(dev);
  const char* pts_opts[] = {"newinstance", nullptr, "ptmxmode", "0666", "mode",
                            "0620",        "gid",   "5",        nullptr};
  attach(root_fd, make_fs("devpts", pts_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC), "/dev/pts");
  const char* shm_opts[] = {"mode", "1777", "size", "65536k", nullptr};
  attach(root_fd,
         make_fs("tmpfs", shm_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC),
         "/dev/shm");
}

// /etc/hosts, /etc/resolv.conf and the RUN --mount mounts, in the order given.
void mount_extra(int root_fd, const ChildPlan& plan) {
  for (const ChildMount& m : plan.mounts) {
    const char* target = m.target.c_str();
    if (m.kind == ChildMount::Kind::kBind) {
      ensure_mountpoint(root_fd, target, m.source_is_dir);
      attach(root_fd, m.tree_fd, target);
      continue;
    }
    const char* opts[] = {"mode", m.tmpfs_mode.c_str(), nullptr, nullptr, nullptr};
    if (!m.tmpfs_size.empty()) {
      opts[2] = "size";
      opts[3] = m.tmpfs_size.c_str();
    }
    ensure_mountpoint(root_fd, target, true);
    attach(root_fd, make_fs("tmpfs", opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV), target);
  }
}

void bring_up_loopback() {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) fail("socket for", "lo", errno);
  struct ifreq ifr = {};
  memcpy(ifr.ifr_name, "lo", 3);
  if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0) fail("ioctl SIOCGIFFLAGS", "lo", errno);
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) fail("ioctl SIOCSIFFLAGS", "lo", errno);
  close(s);
}

void set_stdio(const ChildPlan& plan) {
  int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (in < 0) fail("open", "/dev/null", errno);
  if (dup2(in, 0) < 0) fail("dup2 stdin from", "/dev/null", errno);
  if (dup2(plan.output_fd, 1) < 0 || dup2(plan.output_fd, 2) < 0)
    fail("dup2 stdout/stderr", "output pipe", errno);
}

// Loads the seccomp filter. Without no_new_privs (Docker does not set it: setuid programs must
// keep working) that takes CAP_SYS_ADMIN, so it comes before the user switch and the dropping
// of capabilities, and after the mounts and sethostname, which it refuses. What the child does
// afterwards (prctl, capset, setuid, chdir, close_range, execve) is allowed.
void load_seccomp(const ChildPlan& plan) {
  struct sock_fprog program = {static_cast<unsigned short>(plan.seccomp_filter.size()),
                               const_cast<sock_filter*>(plan.seccomp_filter.data())};
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0)
    fail("load seccomp filter", nullptr, errno);
}

// Leaves Docker's default capabilities in the bounding set: neither a setuid program nor a
// file capability can give the command any other. Takes CAP_SETPCAP, still held.
void drop_bounding_set() {
  for (int cap = 0; cap < 64; ++cap) {
    if ((kDefaultCapabilities >> cap & 1) != 0) continue;
    if (prctl(PR_CAPBSET_DROP, cap) == 0) continue;
    if (errno == EINVAL) break;  // past the kernel's last capability
    fail("prctl PR_CAPBSET_DROP", nullptr, errno);
  }
}

// After the user switch: permitted and effective become plan.capabilities, inheritable (and
// with it ambient) empty. For uid 0 that lowers the full set; setuid to any other user has
// already emptied permitted and effective.
void set_capabilities(const ChildPlan& plan) {
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; ++i) {
    uint32_t word = static_cast<uint32_t>(plan.capabilities >> (32 * i));
    data[i].permitted = data[i].effective = word;
  }
  if (syscall(SYS_capset, &header, data) != 0) fail("capset", nullptr, errno);
}

// Raw system calls, not glibc's wrappers: those run the setxid protocol over every thread glibc
// believes exists, and in this clone of a multi-threaded parent they wait forever for a thread
// that was being created (pthread_create) at the moment of the clone. The child is single-
// threaded, so the per-thread system calls are exactly right.
void switch_user(const ChildPlan& plan) {
  if (syscall(SYS_setgroups, plan.groups.size(), plan.groups.data()) != 0)
    fail("setgroups", nullptr, errno);
  if (syscall(SYS_setresgid, plan.gid, plan.gid, plan.gid) != 0) fail("setgid", nullptr, errno);
  if (syscall(SYS_setresuid, plan.uid, plan.uid, plan.uid) != 0) fail("setuid", nullptr, errno);
}

// execve with a PATH search (inside the root, PATH from the command's own environment).
[[noreturn]] void exec_command(const ChildPlan& plan) {
  const char* cmd = plan.argv[0];
  if (strchr(cmd, '/') != nullptr) {
    execve(cmd, plan.argv.data(), plan.envp.data());
    fail("exec", cmd, errno);
  }
  static char candidate[4096];
  int first_err = ENOENT;
  const char* p = plan.path_env.c_str();
  for (;;) {
    const char* colon = strchrnul(p, ':');
    size_t dir_len = static_cast<size_t>(colon - p);
    if (dir_len == 0) dir_len = 1, p = ".";  // an empty entry means the working directory
    if (dir_len + strlen(cmd) + 2 < sizeof candidate) {
      memcpy(candidate, p, dir_len);
      candidate[dir_len] = '/';
      strcpy(candidate + dir_len + 1, cmd);
      execve(candidate, plan.argv.data(), plan.envp.data());
      if (errno != ENOENT && errno != ENOTDIR) first_err = first_err == ENOENT ? errno : first_err;
    }
    if (*colon == '\0') break;
    p = colon + 1;
  }
  fail("exec (not found in PATH or not executable)", cmd, first_err);
}

}  // namespace

void child_main(ChildPlan& plan) {
  g_status_fd = plan.status_fd;
  umask(0);
  die_with_parent(plan);
  make_mounts_private();
  mount_overlay(plan);
  open_bind_sources(plan);
  pivot_into(plan);
  int root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) fail("open", "/", errno);
  mount_proc(root_fd);
  mount_dev(root_fd);
  protect_proc(root_fd);
  mount_sys(root_fd);
  mount_extra(root_fd, plan);
  if (sethostname(plan.hostname.data(), plan.hostname.size()) != 0)
    fail("sethostname", plan.hostname.c_str(), errno);
  if (plan.new_net) bring_up_loopback();
  set_stdio(plan);
  umask(022);
  load_seccomp(plan);
  drop_bounding_set();
  switch_user(plan);
  set_capabilities(plan);
  die_with_parent(plan);
  if (chdir(plan.cwd.c_str()) != 0) fail("chdir to working directory", plan.cwd.c_str(), errno);
  if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) fail("close_range", nullptr, errno);
  exec_command(plan);
}

}  // namespace bonsai::sys::sandbox_internal
