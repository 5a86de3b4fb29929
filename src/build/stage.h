// Internal to the build module: the state of an image while its stage runs, and the steps that
// change it. builder.cc drives stages; config_steps.cc changes the config; stage_runner.cc runs
// the filesystem steps.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "build/builder.h"
#include "build/copy.h"
#include "build/snapshots.h"
#include "dockerfile/stages.h"
#include "store/images.h"
#include "sys/fd.h"
#include "sys/overlay_mount.h"

namespace bonsai::build {

// An image as it stands after some step: config (with diff_ids and history), its layers, and
// the cache key that names exactly this state.
struct ImageState {
  oci::ImageConfig config;
  std::vector<oci::Descriptor> layers;  // parallel to config.diff_ids
  std::string key;                      // sha256 hex
  bool cmd_set = false;                 // this stage gave a CMD (a later ENTRYPOINT keeps it)
  std::string created;                  // newest history time, becomes config.created
};

// The config of FROM scratch as BuildKit makes it (a PATH, linux/amd64).
ImageState scratch_state();

// The Env of a config as an ordered map; and back.
dockerfile::Env config_env(const oci::ImageConfig& config);
void set_config_env(oci::ImageConfig& config, const dockerfile::Env& env);

// Applies an instruction that only changes the config (ENV, LABEL, EXPOSE, VOLUME, USER, CMD,
// ENTRYPOINT, SHELL, HEALTHCHECK, STOPSIGNAL, ONBUILD, MAINTAINER, ARG). Returns the history
// text ("" for ARG, which BuildKit does not record), or nullopt when ins is not one of these.
std::optional<std::string> apply_config_step(const dockerfile::Instruction& ins, ImageState& state);

// An image path for a COPY destination or WORKDIR: relative paths start at workdir, the result
// is clean and absolute, and keeps a trailing '/' when path has one (or is "." or ends "/.").
std::string in_workdir(const std::string& workdir, const std::string& path);
// The TreeFs path of an absolute image path ("/app/" -> "app", "/" -> "").
std::string tree_path(const std::string& abs);

// mkdir -p of a TreeFs path: missing directories are created 0755 and owned by uid:gid;
// existing ones (and symlinks, which later lookups follow inside the tree) are left alone.
util::Status mkdir_all(util::TreeFs& fs, const std::string& path, uint32_t uid, uint32_t gid);

// A cache key from its parts: sha256 over length-prefixed strings.
std::string cache_key(std::initializer_list<std::string_view> parts);

// RFC 3339 with nanoseconds, UTC ("2026-11-27T20:15:03.123456789Z").
std::string format_time(int64_t sec, long nsec);
std::string now_rfc3339(const BuildRequest& request);

// What a RUN step's mounts hold until the step ends: locked cache directories, the overlays
// that bind mounts from stages and images show, and scratch dirs for writable ones.
struct RunMountHolds {
  std::vector<sys::UniqueFd> locks;
  std::vector<sys::DetachedMount> trees;
  std::vector<std::string> temp_dirs;  // removed by the destructor
  RunMountHolds() = default;
  RunMountHolds(const RunMountHolds&) = delete;
  RunMountHolds& operator=(const RunMountHolds&) = delete;
  ~RunMountHolds();
};

// The snapshot dirs (top first) of the stage or image a mount's from= names.
using LowerDirsOf = std::function<util::Result<std::vector<std::string>>(const std::string&)>;

// The RUN --mount mounts as sandbox binds and tmpfs mounts (root: the store, for cache mounts
// and scratch dirs). lowers_of gives the layers of a from= stage or image.
util::Status add_run_mounts(const std::string& root, const BuildRequest& request,
                            const dockerfile::RunInstr& run, const LowerDirsOf& lowers_of,
                            util::RunSpec& spec, RunMountHolds& holds);

// What every stage thread shares.
struct BuildShared {
  std::string root;
  const BuildRequest* request = nullptr;
  util::Sandbox* sandbox = nullptr;
  Progress* progress = nullptr;
  const dockerfile::BuildPlan* plan = nullptr;
  std::optional<dockerfile::IgnoreMatcher> ignore;  // .dockerignore of the context
  std::stop_source stop;
  // The final state of an earlier stage, waiting for it to finish. Fails when it failed.
  std::function<util::Result<ImageState>(int stage_index)> stage_result;

  // Store handles for stage threads, each used by one thread at a time (a SQLite connection is
  // not shared between threads). The builder lends its own while it waits for the stages; more
  // are opened only when stages run at once. Opening one costs about 1.5 ms at start-up here.
  std::mutex images_mu;
  std::vector<store::Images*> idle_images;
  std::vector<std::unique_ptr<store::Images>> opened_images;
};

// Runs one stage from its FROM to its last instruction.
util::Result<ImageState> run_stage(BuildShared& shared, const dockerfile::Stage& stage);

}  // namespace bonsai::build
