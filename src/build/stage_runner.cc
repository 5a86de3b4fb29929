// One stage of a build: FROM, then each instruction in order. Filesystem steps (RUN, COPY,
// ADD, WORKDIR) share one frame, fs_step(): look the cache key up; on a miss, give the step a
// fresh overlay upper dir over the layer snapshots, commit what it changed as a layer, keep the
// upper dir as that layer's snapshot, and record the result under the key. A COPY, ADD or
// WORKDIR that no later step of its stage builds on works in a tmpfs instead and keeps no
// snapshot: its files never touch the disk but as the layer blob (Snapshots::ensure unpacks
// the blob if a later build needs the tree).
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <variant>

#include "build/add_git.h"
#include "build/add_url.h"
#include "build/layer_commit.h"
#include "build/stage.h"
#include "build/users.h"
#include "oci/json.h"
#include "sys/curl_http.h"
#include "sys/fd.h"
#include "sys/overlay_mount.h"
#include "sys/root_fs.h"

namespace bonsai::build {

namespace {

using dockerfile::Instruction;
using util::ErrorKind;
using util::fail;
using util::Result;
using util::Status;

constexpr std::string_view kComment = "buildkit.dockerfile.v0";
constexpr std::string_view kDefaultPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
constexpr std::string_view kEtcHosts =
    "127.0.0.1\tlocalhost buildkitsandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n";

// What a step produced, as the build cache records it.
struct StepRecord {
  std::string created;
  std::optional<oci::Descriptor> layer;
  std::optional<oci::Digest> diff_id;
};

std::string record_json(const StepRecord& r) {
  oci::OrderedJson j;
  j["created"] = r.created;
  if (r.layer) {
    j["layer"] = oci::descriptor_json(*r.layer);
    j["diff_id"] = r.diff_id->str();
  }
  return j.dump();
}

// A record that does not parse is treated as a miss: the cache is only ever an optimisation.
std::optional<StepRecord> parse_record(const std::string& text) {
  auto j = oci::parse_strict_json(text, "build cache record");
  if (!j || !j->is_object() || !j->contains("created")) return std::nullopt;
  StepRecord r;
  if (!(*j)["created"].is_string()) return std::nullopt;
  r.created = (*j)["created"].get<std::string>();
  if (j->contains("layer")) {
    auto d = oci::parse_descriptor((*j)["layer"], "build cache layer");
    if (!d || !(*j)["diff_id"].is_string()) return std::nullopt;
    auto diff = oci::Digest::parse((*j)["diff_id"].get<std::string>());
    if (!diff) return std::nullopt;
    r.layer = *d;
    r.diff_id = *diff;
  }
  return r;
}

// Layers of a base image enter an OCI manifest with the OCI name of their media type.
oci::Descriptor as_oci_layer(oci::Descriptor d) {
  if (d.media_type == oci::media::kDockerLayerGzip) d.media_type = oci::media::kOciLayerGzip;
  if (d.media_type == oci::media::kDockerLayer) d.media_type = oci::media::kOciLayer;
  return d;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += sep;
    out += items[i];
  }
  return out;
}

// ContentHashCache over the metadata database, for one build context.
class DbHashCache final : public ContentHashCache {
 public:
  DbHashCache(store::MetadataDb& db, std::string base) : db_(db), base_(std::move(base)) {}
  std::optional<std::string> get(const std::string& path, const util::FileInfo& info) override {
    auto got = db_.file_digest(base_ + "/" + path, fingerprint(info));
    return got ? *got : std::nullopt;
  }
  void put(const std::string& path, const util::FileInfo& info,
           const std::string& sha256_hex) override {
    pending_.push_back({base_ + "/" + path, fingerprint(info), sha256_hex});
  }
  // Writes the digests learnt in one transaction. Losing them costs only time.
  ~DbHashCache() {
    if (pending_.empty()) return;
    (void)db_.in_transaction([&]() -> Status {
      for (const auto& p : pending_) TRY(db_.put_file_digest(p.path, p.fingerprint, p.digest));
      return {};
    });
  }

 private:
  static std::string fingerprint(const util::FileInfo& i) {
    return std::to_string(i.size) + ":" + std::to_string(i.mtime_sec) + "." +
           std::to_string(i.mtime_nsec) + ":" + std::to_string(i.dev) + ":" +
           std::to_string(i.ino) + ":" + std::to_string(i.mode);
  }
  struct Pending {
    std::string path, fingerprint, digest;
  };
  store::MetadataDb& db_;
  std::string base_;
  std::vector<Pending> pending_;
};

// A tree to read from while a step runs: the build context, or an image's merged layers.
struct SourceTree {
  sys::DetachedMount mount;  // empty for the context
  std::unique_ptr<sys::RootFs> fs;
  std::string key;  // what identifies its content for the cache ("" for the context: hashed)
};

class StageRunner {
 public:
  StageRunner(BuildShared& shared, const dockerfile::Stage& stage, store::Images& images)
      : sh_(shared),
        req_(*shared.request),
        stage_(stage),
        images_(images),
        snapshots_(shared.root) {}

  Result<ImageState> run() {
    total_ = static_cast<int>(stage_.instructions.size()) + 1;
    TRY(from());
    for (const Instruction& ins : TRY(onbuild_triggers()))
      TRY_CTX(step(ins, 1), "ONBUILD " + ins.original);
    int number = 2;
    const auto& all = stage_.instructions;
    auto last_fs = std::find_if(all.rbegin(), all.rend(), is_fs_step);
    size_t fs_end = static_cast<size_t>(all.rend() - last_fs);  // one past the last fs step
    for (size_t i = 0; i < all.size(); ++i) {
      if (sh_.stop.stop_requested())
        return fail(ErrorKind::kConflict, "cancelled: another stage failed");
      fs_step_follows_ = i + 1 < fs_end;
      TRY_CTX(step(all[i], number++), req_.dockerfile_name + ":" + std::to_string(all[i].loc.line) +
                                          ": " + all[i].original);
    }
    return std::move(state_);
  }

 private:
  // "[build 2/4] ", "[2/4] " for a single unnamed stage, "[stage-1 2/4] ".
  std::string step_name(int number, const std::string& text) const {
    std::string who = stage_.name;
    if (who.empty() && sh_.plan->stages.size() > 1) who = "stage-" + std::to_string(stage_.index);
    return "[" + who + (who.empty() ? "" : " ") + std::to_string(number) + "/" +
           std::to_string(total_) + "] " + text;
  }

  Status from() {
    int id = sh_.progress->add(step_name(1, "FROM " + stage_.base));
    sh_.progress->start(id);
    Status st = resolve_base();
    if (!st) {
      sh_.progress->error(id, st.error().message());
      return std::unexpected(std::move(st).error().context(
          req_.dockerfile_name + ":" + std::to_string(stage_.loc.line) + ": FROM " + stage_.base));
    }
    state_.cmd_set = false;
    sh_.progress->done(id);
    return {};
  }

  Status resolve_base() {
    if (stage_.base_stage) {
      state_ = TRY(sh_.stage_result(*stage_.base_stage));
      return {};
    }
    if (stage_.base == "scratch") {
      state_ = scratch_state();
      state_.key = cache_key({"scratch", "linux/amd64"});
      return {};
    }
    auto image = images_.resolve(stage_.base);
    if (!image) {
      if (image.error().kind() == ErrorKind::kNotFound)
        return fail(ErrorKind::kNotFound,
                    "image " + stage_.base +
                        " is not in the store: load it with `bonsai load` or build a base");
      return std::unexpected(image.error());
    }
    state_.config = image->config;
    for (const auto& l : image->manifest.layers) state_.layers.push_back(as_oci_layer(l));
    state_.key = cache_key({"image", image->id.str()});
    state_.created = image->config.created;
    // BuildKit gives every stage a PATH (an imported image may have no Env at all).
    dockerfile::Env env = config_env(state_.config);
    if (!env.contains("PATH")) {
      env.set("PATH", kDefaultPath);
      set_config_env(state_.config, env);
    }
    return {};
  }

  // The base image's ONBUILD triggers, planned as if they were written right after FROM (so
  // they expand with the base's ENV and the build args); the new image does not inherit them.
  Result<std::vector<Instruction>> onbuild_triggers() {
    oci::Json& cfg = state_.config.config;
    if (!cfg.contains("OnBuild") || !cfg["OnBuild"].is_array() || cfg["OnBuild"].empty())
      return std::vector<Instruction>();
    std::string text = "FROM " + stage_.base + "\n";
    for (const auto& t : cfg["OnBuild"])
      if (t.is_string()) text += t.get<std::string>() + "\n";
    cfg.erase("OnBuild");
    std::string what = "ONBUILD triggers of " + stage_.base;
    auto program = TRY_CTX(dockerfile::load_dockerfile(text, what), what);
    dockerfile::BuildOptions options;
    options.build_args = req_.build_args;
    options.image_env = [&](const std::string&, const std::string&) {
      return config_env(state_.config);
    };
    auto plan = TRY_CTX(dockerfile::plan_build(program, options), what);
    return plan.stages.at(0).instructions;
  }

  // RUN, COPY, ADD and WORKDIR work on the tree; every other instruction only on the config.
  static bool is_fs_step(const Instruction& ins) {
    return std::holds_alternative<dockerfile::RunInstr>(ins.data) ||
           std::holds_alternative<dockerfile::CopyInstr>(ins.data) ||
           std::holds_alternative<dockerfile::WorkdirInstr>(ins.data);
  }

  Status step(const Instruction& ins, int number) {
    if (const auto* run = std::get_if<dockerfile::RunInstr>(&ins.data))
      return run_step(ins, *run, number);
    if (const auto* copy = std::get_if<dockerfile::CopyInstr>(&ins.data))
      return copy_step(ins, *copy, number);
    if (const auto* wd = std::get_if<dockerfile::WorkdirInstr>(&ins.data))
      return workdir_step(*wd, number);
    auto text = apply_config_step(ins, state_);
    if (!text) return fail(ErrorKind::kInternal, "no executor for " + ins.keyword);
    if (text->empty()) return {};  // ARG
    return config_step(*text);
  }

  // A step that changes only the config: no layer, a history entry whose time the cache keeps,
  // so that an unchanged Dockerfile gives the same image ID again.
  Status config_step(const std::string& created_by) {
    std::string key = cache_key({state_.key, "config", created_by});
    auto rec = TRY(lookup(key));
    std::string created = rec ? rec->created : now_rfc3339(req_);
    if (!rec) TRY(images_.metadata().put_build_step(key, record_json({created, {}, {}})));
    add_history(created_by, created, true);
    state_.key = key;
    return {};
  }

  void add_history(const std::string& created_by, const std::string& created, bool empty) {
    oci::HistoryEntry h;
    h.created = created;
    h.created_by = created_by;
    h.comment = std::string(kComment);
    h.empty_layer = empty;
    state_.config.history.push_back(std::move(h));
    if (created > state_.created) state_.created = created;
  }

  Result<std::optional<StepRecord>> lookup(const std::string& key) {
    if (req_.no_cache) return std::optional<StepRecord>();
    auto text = TRY(images_.metadata().build_step(key));
    if (!text) return std::optional<StepRecord>();
    auto rec = parse_record(*text);
    // A layer removed by prune since is a miss, not an error.
    if (rec && rec->layer && !images_.store().has_blob(rec->layer->digest))
      return std::optional<StepRecord>();
    return rec;
  }

  // The snapshot dirs of a state's layers, top first; the empty dir when it has none.
  Result<std::vector<std::string>> lowers_of(const ImageState& s) {
    std::vector<std::string> dirs;
    for (size_t i = s.layers.size(); i-- > 0;)
      dirs.push_back(TRY(snapshots_.ensure(images_, s.layers[i], s.config.diff_ids[i])));
    if (dirs.empty()) dirs.push_back(TRY(snapshots_.empty_dir()));
    return dirs;
  }

  // The overlay dirs a filesystem step works in.
  struct StepDirs {
    std::vector<std::string> lowers;
    std::string upper, work;
  };
  using StepAction = std::function<Status(int id, StepDirs& dirs)>;
  // Where a step's upper dir may live. kMemoryIfLast: in a tmpfs when no later step of the stage
  // builds on it (the action must be safe to run again: a full tmpfs sends it back to disk).
  enum class Upper { kDisk, kMemoryIfLast };

  // key finds the step's result; the state after it is named by chain_key, which is key itself
  // unless the result does not depend on the layers below (COPY --link).
  Status fs_step(int number, const std::string& title, const std::string& key,
                 const std::string& created_by, const StepAction& action,
                 const std::string& chain_key = "", Upper upper = Upper::kDisk) {
    const std::string& next_key = chain_key.empty() ? key : chain_key;
    int id = sh_.progress->add(step_name(number, title));
    // 1. A recorded result for this exact key is reused whole.
    if (auto rec = TRY(lookup(key))) {
      if (rec->layer) {
        state_.layers.push_back(*rec->layer);
        state_.config.diff_ids.push_back(*rec->diff_id);
      }
      add_history(created_by, rec->created, !rec->layer);
      state_.key = next_key;
      sh_.progress->cached(id);
      return {};
    }
    // 2. Otherwise run it over a fresh upper dir and commit the change.
    sh_.progress->start(id);
    Status st = run_fs_step(id, key, next_key, created_by, action,
                            upper == Upper::kMemoryIfLast && !fs_step_follows_);
    if (!st) {
      sh_.progress->error(id, st.error().message());
      return st;
    }
    sh_.progress->done(id);
    return {};
  }

  Status run_fs_step(int id, const std::string& key, const std::string& next_key,
                     const std::string& created_by, const StepAction& action, bool in_memory) {
    // 1. Run the step and commit its change, in memory when allowed and the kernel can; a step
    //    too big for the tmpfs runs again on disk.
    uint64_t memory_bytes = memory_upper_bytes();
    in_memory = in_memory && memory_bytes > 0 && sys::overlay_takes_detached_upper();
    Result<CommittedLayer> layer = run_in_upper(id, action, in_memory, memory_bytes);
    if (!layer && in_memory && layer.error().sys_errno() == ENOSPC)
      layer = run_in_upper(id, action, false, 0);
    if (!layer) return std::unexpected(std::move(layer).error());

    // 2. The new state and the cache record.
    StepRecord rec;
    rec.created = now_rfc3339(req_);
    if (!layer->empty) {
      rec.layer = layer->descriptor;
      rec.diff_id = layer->diff_id;
      state_.layers.push_back(layer->descriptor);
      state_.config.diff_ids.push_back(layer->diff_id);
    }
    add_history(created_by, rec.created, layer->empty);
    state_.key = next_key;
    TRY(images_.metadata().put_build_step(key, record_json(rec)));
    return {};
  }

  // The most a step may write to a tmpfs upper dir: the request's limit, else a quarter of
  // the RAM.
  uint64_t memory_upper_bytes() const {
    if (req_.memory_upper_bytes) return *req_.memory_upper_bytes;
    long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) / 4
                                 : 0;
  }

  // Runs the action over a fresh upper dir (in a tmpfs of memory_bytes, or on disk beside the
  // snapshots) and commits the upper dir as a layer; a disk upper dir becomes the snapshot.
  Result<CommittedLayer> run_in_upper(int id, const StepAction& action, bool in_memory,
                                      uint64_t memory_bytes) {
    StepDirs dirs;
    dirs.lowers = TRY(lowers_of(state_));
    sys::DetachedMount memory;
    if (in_memory) memory = TRY(sys::mount_tmpfs(memory_bytes));
    std::string tmp = in_memory ? memory.path() : TRY(snapshots_.make_temp());
    struct Cleanup {
      std::string dir;
      ~Cleanup() {
        std::error_code ignored;
        if (!dir.empty()) std::filesystem::remove_all(dir, ignored);
      }
    } cleanup{in_memory ? "" : tmp};
    dirs.upper = tmp + "/upper";
    dirs.work = tmp + "/work";
    if (::mkdir(dirs.upper.c_str(), 0755) != 0) return util::sys_fail("mkdir " + dirs.upper);
    if (::mkdir(dirs.work.c_str(), 0700) != 0) return util::sys_fail("mkdir " + dirs.work);
    TRY(action(id, dirs));

    CommitOptions commit;
    commit.compression = req_.compression;
    commit.clamp_mtime = req_.source_date_epoch;
    CommittedLayer layer = TRY(commit_upper_dir(images_, dirs.upper, commit));
    if (!layer.empty && !in_memory) TRY(snapshots_.adopt(layer.diff_id, dirs.upper));
    return layer;
  }

  // The state's merged tree, read-only, for user lookups.
  Result<SourceTree> view_of(const ImageState& s) {
    SourceTree t;
    t.mount = TRY(sys::mount_overlay(TRY(lowers_of(s))));
    t.fs = TRY(sys::RootFs::open(t.mount.path()));
    t.key = s.key;
    return t;
  }

  std::string user() const {
    const auto& c = state_.config.config;
    return c.contains("User") && c["User"].is_string() ? c["User"].get<std::string>() : "";
  }
  std::string workdir() const {
    const auto& c = state_.config.config;
    std::string w = c.contains("WorkingDir") && c["WorkingDir"].is_string()
                        ? c["WorkingDir"].get<std::string>()
                        : "";
    return w.empty() ? "/" : w;
  }

  // ---- WORKDIR: the directory is created (BuildKit), owned by the current USER.
  Status workdir_step(const dockerfile::WorkdirInstr& wd, int number) {
    std::string path = in_workdir(workdir(), wd.path);
    if (path.size() > 1 && path.back() == '/') path.pop_back();
    state_.config.config["WorkingDir"] = path;
    std::string u = user();
    std::string key = cache_key({state_.key, "WORKDIR", path, u});
    return fs_step(
        number, "WORKDIR " + wd.path, key, "WORKDIR " + path,
        [&](int, StepDirs& dirs) -> Status {
          auto mount = TRY(sys::mount_overlay(dirs.lowers, dirs.upper, dirs.work));
          auto fs = TRY(sys::RootFs::open(mount.path()));
          UserIds ids;
          if (!u.empty()) ids = TRY(resolve_user(*fs, u));
          return mkdir_all(*fs, tree_path(path), ids.uid, ids.gid);
        },
        "", Upper::kMemoryIfLast);
  }

  // ---- RUN
  Status run_step(const Instruction& ins, const dockerfile::RunInstr& run, int number) {
    // 1. The command line, environment and identity it runs with.
    std::vector<std::string> argv = run.cmd.args;
    if (run.cmd.prepend_shell) {
      std::string script = run.cmd.args.empty() ? "" : run.cmd.args[0];
      for (const auto& doc : run.cmd.files) script += "\n" + doc.content + doc.name;
      argv = {"/bin/sh", "-c"};
      const auto& c = state_.config.config;
      if (c.contains("Shell") && c["Shell"].is_array() && !c["Shell"].empty())
        argv = c["Shell"].get<std::vector<std::string>>();
      argv.push_back(script);
    }
    dockerfile::Env env = config_env(state_.config);
    std::vector<std::string> arg_text;
    for (const auto& kv : ins.args) {
      if (!env.contains(kv.key)) env.set(kv.key, kv.value);
      if (!dockerfile::is_proxy_arg(kv.key)) arg_text.push_back(kv.key + "=" + kv.value);
    }
    if (!env.contains("PATH")) env.set("PATH", kDefaultPath);
    util::SandboxNetwork network =
        run.network == dockerfile::NetworkMode::kHost   ? util::SandboxNetwork::kHost
        : run.network == dockerfile::NetworkMode::kNone ? util::SandboxNetwork::kNone
                                                        : req_.network;
    std::string mounts_text;
    for (const auto& m : run.mount_specs) mounts_text += m + "\n";

    // 2. The cache key: everything above (secrets by id only, never their content).
    std::string u = user(), cwd = workdir();
    std::string context_part = TRY(bind_mount_content_key(run));
    std::string key = cache_key({state_.key, "RUN", join(argv, std::string_view("\0", 1)),
                                 join(env.to_list(), std::string_view("\0", 1)), u, cwd,
                                 network == util::SandboxNetwork::kHost ? "host" : "none",
                                 mounts_text, context_part});
    std::string created_by = "RUN ";
    if (!arg_text.empty())
      created_by += "|" + std::to_string(arg_text.size()) + " " + join(arg_text, " ") + " ";
    created_by += join(argv, " ") + " # buildkit";
    std::string title = "RUN " + (run.cmd.args.empty() ? "" : join(run.cmd.args, " "));

    return fs_step(number, title, key, created_by, [&](int id, StepDirs& dirs) -> Status {
      util::RunSpec spec;
      spec.lower_dirs = dirs.lowers;
      spec.upper_dir = dirs.upper;
      spec.work_dir = dirs.work;
      spec.argv = argv;
      spec.env = env.to_list();
      spec.cwd = cwd;
      spec.network = network;
      spec.etc_hosts = std::string(kEtcHosts);
      spec.etc_resolv_conf = sys::read_file("/etc/resolv.conf", 1 << 16).value_or("");
      spec.stop = sh_.stop.get_token();
      spec.on_output = [&, id](std::string_view chunk) { sh_.progress->output(id, chunk); };
      // As runc: the user's ids from the image's passwd/group, and HOME from its entry.
      if (!u.empty() || !env.contains("HOME")) {
        SourceTree view = TRY(view_of(state_));
        UserIds ids = TRY(resolve_user(*view.fs, u.empty() ? "0" : u));
        spec.uid = ids.uid;
        spec.gid = ids.gid;
        spec.supplementary_gids = ids.groups;
        if (!env.contains("HOME")) spec.env.push_back("HOME=" + ids.home);
      }
      RunMountHolds holds;
      LowerDirsOf lowers = [&](const std::string& from) -> Result<std::vector<std::string>> {
        return lowers_of(TRY(state_for(from)));
      };
      TRY(add_run_mounts(sh_.root, req_, run, lowers, spec, holds));
      util::RunResult result = TRY(sh_.sandbox->run(spec));
      if (result.ok()) return {};
      std::string msg =
          "process \"" + join(argv, " ") + "\" did not complete successfully: " + result.describe();
      if (!result.tail.empty()) msg += "\n  last output:\n    " + join(result.tail, "\n    ");
      return fail(ErrorKind::kFailed, msg);
    });
  }

  // A RUN bind mount of the build context counts its content in the key.
  Result<std::string> bind_mount_content_key(const dockerfile::RunInstr& run) {
    std::string out;
    for (const auto& m : run.mounts) {
      if (m.type != dockerfile::MountType::kBind) continue;
      if (m.from.empty()) {
        SourceTree ctx = TRY(context_tree());
        CopyRequest r;
        r.sources = {m.source.empty() ? "." : m.source};
        r.dest = "/";
        r.ignore = sh_.ignore ? &*sh_.ignore : nullptr;
        DbHashCache cache(images_.metadata(), req_.context_dir);
        out += TRY(hash_copy_sources(*ctx.fs, r, &cache)) + "\n";
      } else {
        out += TRY(state_for(m.from)).key + "\n";
      }
    }
    return out;
  }

  // ---- COPY and ADD
  Result<SourceTree> context_tree() {
    if (req_.context_dir.empty())
      return fail(ErrorKind::kInvalidArgument,
                  "no build context: the Dockerfile came from stdin, so there is nothing to copy");
    SourceTree t;
    t.fs = TRY(sys::RootFs::open(req_.context_dir));
    return t;
  }

  // COPY --from / RUN --mount from=: a stage name or index, else an image. Its key names its
  // content; nothing is mounted until view_of() or lowers_of().
  Result<ImageState> state_for(const std::string& from) {
    for (const auto& s : sh_.plan->stages)
      if ((!s.name.empty() && s.name == from) || std::to_string(s.index) == from)
        return sh_.stage_result(s.index);
    auto image = images_.resolve(from);
    if (!image) {
      if (image.error().kind() == ErrorKind::kNotFound)
        return fail(ErrorKind::kNotFound, "--from=" + from +
                                              ": no such stage, and no such image in the store: "
                                              "load it with `bonsai load` or build it");
      return std::unexpected(image.error());
    }
    ImageState s;
    s.config = image->config;
    s.layers = image->manifest.layers;
    s.key = cache_key({"image", image->id.str()});
    return s;
  }

  Status copy_step(const Instruction& ins, const dockerfile::CopyInstr& copy, int number) {
    // 1. What is copied, from where, to where. URLs (ADD only) are fetched by bonsai.
    std::vector<std::string> local, urls;
    struct GitPart {
      GitSource source;
      GitRevision revision;
    };
    std::vector<GitPart> gits;
    for (const auto& s : copy.sources) {
      if (is_git_source(s)) {
        if (!copy.is_add || !copy.from.empty())
          return fail(ErrorKind::kInvalidArgument, ins.keyword + " " + s +
                                                       ": source can't be a git ref for " +
                                                       (copy.is_add ? "ADD --from" : "COPY"));
        GitSource g = TRY(parse_git_source(s));
        TRY(apply_add_flags(g, copy.checksum, copy.keep_git_dir));
        gits.push_back({std::move(g), {}});
      } else if (!is_url_source(s)) {
        local.push_back(s);
      } else if (!copy.is_add || !copy.from.empty()) {
        return fail(ErrorKind::kInvalidArgument,
                    ins.keyword + " " + s + ": only ADD without --from accepts a URL");
      } else {
        urls.push_back(s);
      }
    }
    if (!copy.checksum.empty() && (urls.size() + gits.size() != 1 || copy.sources.size() != 1))
      return fail(ErrorKind::kInvalidArgument,
                  "ADD --checksum needs exactly one URL or git source");
    CopyRequest req;
    req.sources = local;
    req.dest = in_workdir(workdir(), copy.dest);
    if (copy.sources.size() + copy.inline_sources.size() > 1 && req.dest.back() != '/')
      return fail(ErrorKind::kInvalidArgument,
                  "When using " + ins.keyword +
                      " with more than one source file, the destination must be a directory "
                      "and end with a /");
    if (!copy.chmod.empty()) req.chmod = TRY(ChmodSpec::parse(copy.chmod));
    req.preserve_owners = !copy.from.empty();
    req.excludes = copy.excludes;
    req.parents = copy.parents;
    req.unpack_archives = copy.is_add && copy.from.empty() && copy.unpack.value_or(true);

    SourceTree src;
    std::optional<ImageState> from_state;
    std::string content;
    std::vector<Download> downloads;
    std::string download_dir;
    struct Cleanup {
      std::string dir;
      ~Cleanup() {
        std::error_code ignored;
        if (!dir.empty()) std::filesystem::remove_all(dir, ignored);
      }
    } cleanup;
    // A git source's ref is resolved on every build (the commit enters the key); the
    // repository is fetched only when the step runs.
    for (auto& git : gits) {
      int id = sh_.progress->add(step_name(number, "ADD " + git.source.display) + " (resolve)");
      sh_.progress->start(id);
      auto rev = resolve_git_revision(git.source);
      if (!rev) {
        sh_.progress->error(id, rev.error().message());
        return std::unexpected(rev.error());
      }
      git.revision = std::move(*rev);
      content += "\ngit " + git_cache_content(git.source, git.revision);
      sh_.progress->done(id);
    }
    if (!urls.empty() || !gits.empty()) {
      cleanup.dir = download_dir = TRY(snapshots_.make_temp());
    }
    if (!urls.empty()) {
      sys::CurlHttpClient http;
      for (const auto& url : urls) {
        int id = sh_.progress->add(step_name(number, "ADD " + url) + " (download)");
        sh_.progress->start(id);
        auto d = download_source(http, url, download_dir, copy.checksum);
        if (!d) {
          sh_.progress->error(id, d.error().message());
          return std::unexpected(d.error());
        }
        content += "\nurl " + url + " " + d->sha256_hex;
        downloads.push_back(std::move(*d));
        sh_.progress->done(id);
      }
    }
    if (!local.empty()) {
      if (copy.from.empty()) {
        src = TRY(context_tree());
        req.ignore = sh_.ignore ? &*sh_.ignore : nullptr;
        DbHashCache cache(images_.metadata(), req_.context_dir);
        content = TRY(hash_copy_sources(*src.fs, req, &cache));
      } else {
        from_state = TRY(state_for(copy.from));
        content = from_state->key;
      }
    }
    for (const auto& inl : copy.inline_sources) content += "\n" + inl.path + "\n" + inl.data;

    // 2. The key, then the copy into the image's merged tree.
    std::string flags = "from=" + copy.from + ";chown=" + copy.chown + ";chmod=" + copy.chmod +
                        ";parents=" + (copy.parents ? "1" : "0") +
                        ";excludes=" + join(copy.excludes, ",") +
                        ";unpack=" + (req.unpack_archives ? "1" : "0");
    // --link: the layer is made on an empty tree, so its key leaves out the layers below; only
    // --chown names read them (resolved here, the ids enter the key).
    std::optional<std::pair<uint32_t, uint32_t>> link_owner;
    if (copy.link && !copy.chown.empty()) {
      SourceTree view = TRY(view_of(state_));
      link_owner = TRY(resolve_chown(*view.fs, copy.chown));
      flags +=
          ";ids=" + std::to_string(link_owner->first) + ":" + std::to_string(link_owner->second);
    }
    std::string key =
        cache_key({copy.link ? "link" : state_.key, ins.keyword,
                   join(copy.sources, std::string_view("\0", 1)), req.dest, flags, content});
    std::string chain_key = copy.link ? cache_key({state_.key, "link", key}) : "";
    std::string args = ins.original.substr(std::min(ins.original.size(), ins.keyword.size()));
    while (!args.empty() && (args[0] == ' ' || args[0] == '\t')) args.erase(0, 1);
    std::string created_by = ins.keyword + " " + args + " # buildkit";

    return fs_step(
        number, ins.keyword + " " + args, key, created_by,
        [&](int, StepDirs& dirs) -> Status {
          // --link writes into the empty upper dir alone (BuildKit: a copy onto scratch, merged
          // on top), else into the merged view of the image.
          sys::DetachedMount mount;
          if (!copy.link) mount = TRY(sys::mount_overlay(dirs.lowers, dirs.upper, dirs.work));
          auto dst = TRY(sys::RootFs::open(copy.link ? dirs.upper : mount.path()));
          if (link_owner) {
            req.uid = link_owner->first;
            req.gid = link_owner->second;
          } else if (!copy.chown.empty()) {
            auto [uid, gid] = TRY(resolve_chown(*dst, copy.chown));
            req.uid = uid;
            req.gid = gid;
          }
          if (from_state) src = TRY(view_of(*from_state));
          if (!local.empty()) TRY(copy_files(*src.fs, *dst, req));
          for (const auto& d : downloads)
            TRY(place_download(*dst, d, req.dest, req.chmod, req.uid.value_or(0),
                               req.gid.value_or(0)));
          for (const auto& git : gits)
            TRY(add_git_tree(git.source, git.revision, download_dir, req, *dst));
          for (const auto& inl : copy.inline_sources) TRY(write_inline(*dst, req, inl));
          return {};
        },
        chain_key, gits.empty() ? Upper::kMemoryIfLast : Upper::kDisk);
  }

  // A git source: the checkout's tree copied like a directory source (no archive unpacking, no
  // .dockerignore, owners 0:0 unless --chown), read confined to the checkout.
  static Status add_git_tree(const GitSource& source, const GitRevision& revision,
                             const std::string& dir, const CopyRequest& req, util::TreeFs& dst) {
    GitCheckout checkout = TRY(fetch_git(source, revision, dir));
    auto fs = TRY(sys::RootFs::open(checkout.root));
    CopyRequest tree = req;
    tree.sources = {"."};
    tree.unpack_archives = false;
    tree.ignore = nullptr;
    tree.preserve_owners = false;
    tree.parents = false;
    return copy_files(*fs, dst, tree);
  }

  // A heredoc source: a new file with BuildKit's default mode 0644.
  static Status write_inline(util::TreeFs& dst, const CopyRequest& req,
                             const dockerfile::InlineSource& inl) {
    // Like a file source: into the destination when it is a directory, else onto it.
    std::string path = tree_path(req.dest);
    auto at = TRY(dst.lstat(path));
    if (req.dest.back() == '/' || (at && at->type == util::FileType::kDirectory))
      path = tree_path(req.dest + "/" + inl.path);
    std::string parent =
        path.rfind('/') == std::string::npos ? "" : path.substr(0, path.rfind('/'));
    if (!parent.empty()) TRY(mkdir_all(dst, parent, req.uid.value_or(0), req.gid.value_or(0)));
    if (TRY(dst.lstat(path))) TRY(dst.remove(path));
    auto w = TRY(dst.create_file(path, 0644));
    TRY(w->write(inl.data));
    TRY(w->close());
    TRY(dst.set_mode(path, req.chmod ? req.chmod->apply(0644, false) : 0644));
    TRY(dst.set_owner(path, req.uid.value_or(0), req.gid.value_or(0)));
    return {};
  }

  BuildShared& sh_;
  const BuildRequest& req_;
  const dockerfile::Stage& stage_;
  store::Images& images_;
  Snapshots snapshots_;
  ImageState state_;
  int total_ = 0;
  bool fs_step_follows_ = true;  // a later step of this stage works on the tree (see run())
};

}  // namespace

// path.Join("/", base, rel) keeping a trailing slash, as COPY destinations need.
std::string in_workdir(const std::string& workdir, const std::string& path) {
  std::string joined = !path.empty() && path[0] == '/' ? path : workdir + "/" + path;
  bool dir = path.empty() || path.back() == '/' || path == "." ||
             (path.size() >= 2 && path.substr(path.size() - 2) == "/.");
  std::string clean = dockerfile::clean_path(joined);
  while (!clean.empty() && clean[0] == '/') clean.erase(0, 1);
  clean = clean == "." ? "/" : "/" + clean;
  if (dir && clean.back() != '/') clean += '/';
  return clean;
}

// The layer path of an absolute image path ("/app" -> "app"; "/" -> "").
std::string tree_path(const std::string& abs) {
  std::string p = dockerfile::clean_path(abs);
  while (!p.empty() && p[0] == '/') p.erase(0, 1);
  return p == "." ? "" : p;
}

Status mkdir_all(util::TreeFs& fs, const std::string& path, uint32_t uid, uint32_t gid) {
  std::string at;
  size_t pos = 0;
  while (pos < path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    at = path.substr(0, slash);
    pos = slash + 1;
    auto info = TRY(fs.lstat(at));
    if (info) continue;  // a directory, or a symlink the next lookups follow
    TRY(fs.mkdir(at, 0755));
    TRY(fs.set_mode(at, 0755));
    TRY(fs.set_owner(at, uid, gid));
  }
  return {};
}

Result<ImageState> run_stage(BuildShared& shared, const dockerfile::Stage& stage) {
  // 1. An idle store handle, or a new one when every handle is in use.
  store::Images* images = nullptr;
  {
    std::lock_guard lock(shared.images_mu);
    if (!shared.idle_images.empty()) {
      images = shared.idle_images.back();
      shared.idle_images.pop_back();
    }
  }
  if (!images) {
    auto opened = TRY(store::Images::open(shared.root));
    images = opened.get();
    std::lock_guard lock(shared.images_mu);
    shared.opened_images.push_back(std::move(opened));
  }
  // 2. The stage; then the handle goes back for the next stage to start.
  Result<ImageState> result = StageRunner(shared, stage, *images).run();
  std::lock_guard lock(shared.images_mu);
  shared.idle_images.push_back(images);
  return result;
}

}  // namespace bonsai::build
