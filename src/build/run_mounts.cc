// RUN --mount: what each mount type becomes in the sandbox (docs/build.md, "RUN --mount").
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "build/copy_internal.h"
#include "build/stage.h"
#include "sys/root_fs.h"

namespace bonsai::build {

using util::ErrorKind;
using util::fail;
using util::Result;
using util::Status;

namespace {

// The host path of rel inside the context, with symlinks followed as if the context were "/".
Result<std::string> context_path(const std::string& context, const std::string& rel) {
  auto fs = TRY(sys::RootFs::open(context));
  std::string clean = copy_detail::clean_tree_path(rel);
  std::string resolved = TRY(copy_detail::resolve_in_root(*fs, clean, /*follow_last=*/true));
  if (!TRY(fs->lstat(resolved)))
    return fail(ErrorKind::kNotFound, "RUN --mount source " + rel + ": not found in the context");
  return resolved.empty() ? context : context + "/" + resolved;
}

// The host path of a bind mount's source inside the stage or image from= names: a detached
// overlay of its layers, read-only, or over a scratch upper dir (discarded after the step) for
// rw, as BuildKit discards writes to a bind mount.
Result<std::string> stage_path(const std::string& root, const dockerfile::Mount& m,
                               const std::vector<std::string>& lowers, RunMountHolds& holds) {
  std::string upper, work;
  if (!m.read_only) {
    std::string dir = TRY(Snapshots(root).make_temp());
    holds.temp_dirs.push_back(dir);
    upper = dir + "/upper";
    work = dir + "/work";
    for (const auto& d : {upper, work})
      if (::mkdir(d.c_str(), 0755) != 0) return util::sys_fail("mkdir " + d);
  }
  // Always an overlay (fsmount): a lone layer would otherwise be an open_tree clone, which the
  // sandbox's own mount namespace may not clone again.
  std::vector<std::string> dirs = lowers;
  if (dirs.size() == 1 && upper.empty()) dirs.push_back(TRY(Snapshots(root).empty_dir()));
  holds.trees.push_back(TRY(sys::mount_overlay(dirs, upper, work)));
  const std::string tree = holds.trees.back().path();
  auto fs = TRY(sys::RootFs::open(tree));
  std::string clean = copy_detail::clean_tree_path(m.source);
  std::string resolved = TRY(copy_detail::resolve_in_root(*fs, clean, /*follow_last=*/true));
  if (!TRY(fs->lstat(resolved)))
    return fail(ErrorKind::kNotFound,
                "RUN --mount source " + m.source + ": not found in " + m.from);
  return resolved.empty() ? tree : tree + "/" + resolved;
}

// A cache mount's directory, made whole in a scratch dir and renamed into place (a build racing
// to make the same one keeps its own): mode and owner from the mount, and with from= the
// content of source in that stage or image, as BuildKit seeds a new cache.
Status new_cache_dir(const std::string& root, const std::string& dir, const dockerfile::Mount& m,
                     const LowerDirsOf& lowers_of, RunMountHolds& holds) {
  TRY(sys::mkdir_p(root + "/cache-mounts", 0755));
  std::string tmp = TRY(Snapshots(root).make_temp());
  holds.temp_dirs.push_back(tmp);
  std::string fresh = tmp + "/cache";
  if (::mkdir(fresh.c_str(), 0755) != 0) return util::sys_fail("mkdir " + fresh);
  if (!m.from.empty()) {
    dockerfile::Mount whole = m;
    whole.source = "/";
    whole.read_only = true;
    std::string tree = TRY(stage_path(root, whole, TRY(lowers_of(m.from)), holds));
    auto src = TRY(sys::RootFs::open(tree));
    auto dst = TRY(sys::RootFs::open(fresh));
    CopyRequest copy;
    copy.sources = {m.source.empty() ? "." : m.source};
    copy.dest = "/";
    copy.preserve_owners = true;
    TRY_CTX(copy_files(*src, *dst, copy), "seed the cache mount from " + m.from);
  }
  if (::chmod(fresh.c_str(), m.mode.value_or(0755)) != 0) return util::sys_fail("chmod " + fresh);
  if (::chown(fresh.c_str(), m.uid.value_or(0), m.gid.value_or(0)) != 0)
    return util::sys_fail("chown " + fresh);
  if (::rename(fresh.c_str(), dir.c_str()) != 0 && errno != EEXIST && errno != ENOTEMPTY)
    return util::sys_fail("rename " + fresh + " to " + dir);
  return {};
}

}  // namespace

RunMountHolds::~RunMountHolds() {
  trees.clear();  // unmount before the upper dirs under them go
  for (const auto& dir : temp_dirs) {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
}

Status add_run_mounts(const std::string& root, const BuildRequest& req,
                      const dockerfile::RunInstr& run, const LowerDirsOf& lowers_of,
                      util::RunSpec& spec, RunMountHolds& holds) {
  int ssh_count = 0;
  for (const auto& m : run.mounts) {
    switch (m.type) {
      case dockerfile::MountType::kCache: {
        std::string id = m.cache_id.empty() ? m.target : m.cache_id;
        std::string dir = root + "/cache-mounts/" + cache_key({id});
        if (::access(dir.c_str(), F_OK) != 0) TRY(new_cache_dir(root, dir, m, lowers_of, holds));
        if (m.sharing == dockerfile::CacheSharing::kLocked ||
            m.sharing == dockerfile::CacheSharing::kPrivate) {
          sys::UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
          if (fd.get() < 0 || ::flock(fd.get(), LOCK_EX) != 0)
            return util::sys_fail("lock cache mount " + dir);
          holds.locks.push_back(std::move(fd));
        }
        spec.binds.push_back({dir, m.target, false});
        break;
      }
      case dockerfile::MountType::kTmpfs:
        spec.tmpfs.push_back({m.target, m.size_bytes.value_or(0), 01777});
        break;
      case dockerfile::MountType::kSecret: {
        std::string id = m.cache_id.empty() ? m.source : m.cache_id;
        if (id.empty() && !m.target.empty())
          id = std::filesystem::path(m.target).filename().string();
        const SecretSource* found = nullptr;
        for (const auto& s : req.secrets)
          if (s.id == id) found = &s;
        if (!found) {
          if (m.required)
            return fail(ErrorKind::kNotFound, "secret " + id + " is required but not given");
          break;
        }
        if (!m.env.empty()) {
          std::string value = TRY(sys::read_file(found->path, 1 << 20));
          spec.env.push_back(m.env + "=" + value);
          if (m.target.empty()) break;
        }
        std::string target = m.target.empty() ? "/run/secrets/" + id : m.target;
        spec.binds.push_back({found->path, target, true});
        break;
      }
      case dockerfile::MountType::kBind: {
        std::string source;
        if (m.from.empty()) {
          if (req.context_dir.empty())
            return fail(ErrorKind::kInvalidArgument, "RUN --mount=type=bind needs a context");
          source = TRY(context_path(req.context_dir, m.source));
        } else {
          source = TRY(stage_path(root, m, TRY(lowers_of(m.from)), holds));
        }
        spec.binds.push_back({source, m.target, m.read_only});
        break;
      }
      case dockerfile::MountType::kSsh: {
        // The agent's socket itself, bound read-only (connecting needs no write access to the
        // mount); the first ssh mount becomes SSH_AUTH_SOCK, as in BuildKit.
        std::string id = m.cache_id.empty() ? "default" : m.cache_id;
        const SshSource* found = nullptr;
        for (const auto& s : req.ssh)
          if (s.id == id) found = &s;
        if (!found) {
          if (m.required)
            return fail(ErrorKind::kNotFound,
                        "no SSH key \"" + id + "\" forwarded from the client: pass --ssh " + id);
          break;
        }
        std::string target =
            m.target.empty() ? "/run/buildkit/ssh_agent." + std::to_string(ssh_count) : m.target;
        ++ssh_count;
        spec.binds.push_back({found->socket, target, true});
        bool has_sock = false;
        for (const auto& e : spec.env) has_sock |= e.starts_with("SSH_AUTH_SOCK=");
        if (!has_sock) spec.env.push_back("SSH_AUTH_SOCK=" + target);
        break;
      }
    }
  }
  return {};
}

}  // namespace bonsai::build
