#include "sys/overlay_mount.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <utility>

#include "sys/linux_sandbox.h"

namespace bonsai::sys {

namespace {

// The filesystem context's log after a failure ("overlay: failed to resolve ..."), if any.
std::string context_log(int fs_fd) {
  char log[1024];
  ssize_t n = ::read(fs_fd, log, sizeof log - 1);
  if (n <= 0) return "";
  std::string text(log, static_cast<size_t>(n));
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

util::Status set_option(int fs_fd, const char* key, const std::string& value) {
  if (::fsconfig(fs_fd, FSCONFIG_SET_STRING, key, value.c_str(), 0) == 0) return {};
  int err = errno;
  std::string log = context_log(fs_fd);
  return util::sys_fail(
      "overlay option " + std::string(key) + "=" + value + (log.empty() ? "" : " (" + log + ")"),
      err);
}

// A detached, read-only bind mount of dir (open_tree + mount_setattr).
util::Result<DetachedMount> read_only_bind(const std::string& dir) {
  UniqueFd tree(static_cast<int>(
      ::syscall(SYS_open_tree, AT_FDCWD, dir.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)));
  if (tree.get() < 0) return util::sys_fail("open_tree " + dir);
  struct mount_attr attr {};
  attr.attr_set = MOUNT_ATTR_RDONLY;
  if (::syscall(SYS_mount_setattr, tree.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) != 0)
    return util::sys_fail("make read-only bind of " + dir);
  return DetachedMount(std::move(tree));
}

}  // namespace

util::Result<DetachedMount> mount_overlay(const std::vector<std::string>& lower_dirs,
                                          const std::string& upper_dir,
                                          const std::string& work_dir) {
  if (lower_dirs.empty())
    return util::fail(util::ErrorKind::kInvalidArgument, "overlay: no lower directory");
  // overlayfs wants two lowers when there is no upper: one alone is a read-only bind of itself.
  if (lower_dirs.size() == 1 && upper_dir.empty()) return read_only_bind(lower_dirs[0]);
  UniqueFd fs(::fsopen("overlay", FSOPEN_CLOEXEC));
  if (fs.get() < 0) return util::sys_fail("fsopen overlay");

  // 1. The layers: one "lowerdir+" each where the kernel has it (6.8), else the legacy list.
  bool legacy =
      ::fsconfig(fs.get(), FSCONFIG_SET_STRING, "lowerdir+", lower_dirs[0].c_str(), 0) != 0;
  if (legacy && errno != EINVAL) return util::sys_fail("overlay lowerdir+ " + lower_dirs[0]);
  if (legacy) {
    (void)context_log(fs.get());
    TRY(set_option(fs.get(), "lowerdir", TRY(legacy_lowerdir_option(lower_dirs))));
  } else {
    for (size_t i = 1; i < lower_dirs.size(); ++i)
      TRY(set_option(fs.get(), "lowerdir+", lower_dirs[i]));
  }

  // 2. The writable part, with the features a layer cannot express turned off (as the sandbox).
  if (!upper_dir.empty()) {
    TRY(set_option(fs.get(), "upperdir", upper_dir));
    TRY(set_option(fs.get(), "workdir", work_dir));
  }
  TRY(set_option(fs.get(), "redirect_dir", "off"));
  TRY(set_option(fs.get(), "metacopy", "off"));
  TRY(set_option(fs.get(), "index", "off"));

  // 3. Create it and take the detached mount.
  if (::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
    int err = errno;
    std::string log = context_log(fs.get());
    return util::sys_fail(
        "mount overlay of " + lower_dirs[0] + (log.empty() ? "" : " (" + log + ")"), err);
  }
  UniqueFd mnt(::fsmount(fs.get(), FSMOUNT_CLOEXEC, upper_dir.empty() ? MOUNT_ATTR_RDONLY : 0));
  if (mnt.get() < 0) return util::sys_fail("fsmount overlay of " + lower_dirs[0]);
  return DetachedMount(std::move(mnt));
}

util::Result<DetachedMount> mount_tmpfs(uint64_t size_bytes) {
  UniqueFd fs(::fsopen("tmpfs", FSOPEN_CLOEXEC));
  if (fs.get() < 0) return util::sys_fail("fsopen tmpfs");
  for (auto [key, value] :
       {std::pair<const char*, std::string>{"size", std::to_string(size_bytes)}, {"mode", "0755"}})
    if (::fsconfig(fs.get(), FSCONFIG_SET_STRING, key, value.c_str(), 0) != 0)
      return util::sys_fail("tmpfs option " + std::string(key) + "=" + value);
  if (::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
    return util::sys_fail("mount tmpfs");
  UniqueFd mnt(::fsmount(fs.get(), FSMOUNT_CLOEXEC, 0));
  if (mnt.get() < 0) return util::sys_fail("fsmount tmpfs");
  return DetachedMount(std::move(mnt));
}

bool overlay_takes_detached_upper() {
  static std::once_flag once;
  static bool works = false;
  std::call_once(once, [] {
    auto tmpfs = mount_tmpfs(1 << 20);
    if (!tmpfs) return;
    std::string root = tmpfs->path();
    for (const char* d : {"/lower", "/upper", "/work"})
      if (::mkdir((root + d).c_str(), 0755) != 0) return;
    works = mount_overlay({root + "/lower"}, root + "/upper", root + "/work").has_value();
  });
  return works;
}

}  // namespace bonsai::sys
