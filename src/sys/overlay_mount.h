// Overlays mounted nowhere: the build's view of an image's file tree for COPY, WORKDIR and user
// lookups, without touching the host's mount table.
//
// fsopen("overlay") + fsmount() gives a detached mount: a file descriptor for the overlay's
// root that belongs to no mount namespace and disappears when the last descriptor closes, so a
// crashed build leaves nothing mounted. Work on it through sys::RootFs opened at
// DetachedMount::path() ("/proc/self/fd/N"), which keeps every path inside the overlay.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sys/fd.h"
#include "util/error.h"

namespace bonsai::sys {

class DetachedMount {
 public:
  DetachedMount() = default;
  explicit DetachedMount(UniqueFd fd) : fd_(std::move(fd)) {}
  int fd() const { return fd_.get(); }
  // A path that names the mount's root for as long as this object lives.
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_.get()); }

 private:
  UniqueFd fd_;
};

// Mounts an overlay of lower_dirs (top-most first). With upper_dir and work_dir set the overlay
// is writable and every change lands in upper_dir (overlayfs' upper-dir form: whiteouts,
// opaque directories); with both empty it is read-only. Errors carry the kernel's own reason
// from the filesystem context log. REQUIRES: CAP_SYS_ADMIN; kernel 5.2 or later.
util::Result<DetachedMount> mount_overlay(const std::vector<std::string>& lower_dirs,
                                          const std::string& upper_dir = "",
                                          const std::string& work_dir = "");

// A detached tmpfs of at most size_bytes (an empty one, root 0755): a scratch tree in memory
// that is freed when the last descriptor (and the last overlay using it) goes.
util::Result<DetachedMount> mount_tmpfs(uint64_t size_bytes);

// Whether this kernel takes an overlay's upper and work dirs on a detached mount (from
// mount_tmpfs). Linux 6.1 refuses, by its source (clone_private_mount wants a mount of the
// caller's namespace); 6.18 accepts. Probed once per process, with a tiny tmpfs.
bool overlay_takes_detached_upper();

}  // namespace bonsai::sys
