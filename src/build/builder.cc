#include "build/builder.h"

#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "build/stage.h"
#include "sys/fd.h"

namespace bonsai::build {

namespace {

using util::ErrorKind;
using util::fail;
using util::Result;
using util::Status;

// The .dockerignore for the Dockerfile: <name>.dockerignore beside it in the context, else the
// context's .dockerignore. None is no patterns.
Result<std::optional<dockerfile::IgnoreMatcher>> load_ignore(const BuildRequest& req) {
  if (req.context_dir.empty()) return std::optional<dockerfile::IgnoreMatcher>();
  for (const std::string& name : dockerfile::dockerignore_candidates(req.dockerfile_name)) {
    std::string path = req.context_dir + "/" + name;
    auto text = sys::read_file(path, 16 << 20);
    if (!text) {
      if (text.error().sys_errno() == ENOENT) continue;
      return std::unexpected(text.error());
    }
    return std::optional<dockerfile::IgnoreMatcher>(
        TRY_CTX(dockerfile::IgnoreMatcher::parse(*text), path));
  }
  return std::optional<dockerfile::IgnoreMatcher>();
}

// Writes the target's config and manifest and names the image.
Result<BuildResult> export_image(store::Images& images, const BuildRequest& req, ImageState state) {
  oci::ImageConfig& config = state.config;
  for (const auto& [k, v] : req.labels) {
    if (!config.config.contains("Labels") || !config.config["Labels"].is_object())
      config.config["Labels"] = oci::Json::object();
    config.config["Labels"][k] = v;
  }
  config.created = req.source_date_epoch ? format_time(*req.source_date_epoch, 0) : state.created;
  config.architecture = config.architecture.empty() ? "amd64" : config.architecture;
  config.os = config.os.empty() ? "linux" : config.os;
  BuildResult out;
  std::tie(out.id, out.manifest) = TRY(images.put_image(config, state.layers, req.tags));
  return out;
}

}  // namespace

Result<BuildResult> build_image(const std::string& root, const BuildRequest& req,
                                util::Sandbox& sandbox, Progress& progress) {
  // 1. Read and plan the Dockerfile; images named in FROM lend their ENV to expansion.
  int load_id = progress.add("[internal] load build definition from " + req.dockerfile_name);
  progress.start(load_id);
  auto images = TRY(store::Images::open(root));
  store::FileLock gc = TRY(images->store().lock_gc_shared());
  auto program = dockerfile::load_dockerfile(req.dockerfile_text, req.dockerfile_name);
  if (!program) {
    progress.error(load_id, program.error().message());
    return std::unexpected(program.error());
  }
  dockerfile::BuildOptions options;
  options.build_args = req.build_args;
  options.target = req.target;
  options.image_env = [&](const std::string& name, const std::string&) {
    auto image = images->resolve(name);
    return image ? config_env(image->config) : dockerfile::Env();
  };
  auto plan = dockerfile::plan_build(*program, options);
  if (!plan) {
    progress.error(load_id, plan.error().message());
    return std::unexpected(plan.error());
  }
  progress.status(
      load_id, "transferring dockerfile: " + std::to_string(req.dockerfile_text.size()) + "B done");
  progress.done(load_id);

  // 2. The context's ignore file.
  BuildShared shared;
  shared.root = root;
  shared.request = &req;
  shared.sandbox = &sandbox;
  shared.progress = &progress;
  shared.plan = &*plan;
  shared.idle_images.push_back(images.get());  // untouched here until the stages are done
  if (!req.context_dir.empty()) {
    int id = progress.add("[internal] load .dockerignore");
    progress.start(id);
    auto ignore = load_ignore(req);
    if (!ignore) {
      progress.error(id, ignore.error().message());
      return std::unexpected(ignore.error());
    }
    shared.ignore = std::move(*ignore);
    progress.done(id);
  }

  // 3. One thread per stage; a stage waits only for the stages it reads.
  std::map<int, std::shared_future<Result<ImageState>>> futures;
  std::map<int, std::promise<Result<ImageState>>> promises;
  for (const auto& s : plan->stages) futures[s.index] = promises[s.index].get_future().share();
  std::mutex first_error_mu;
  std::optional<util::Error> first_error;
  shared.stage_result = [&](int index) -> Result<ImageState> {
    auto it = futures.find(index);
    if (it == futures.end())
      return fail(ErrorKind::kInternal, "stage " + std::to_string(index) + " is not planned");
    const Result<ImageState>& r = it->second.get();
    if (!r)
      return fail(r.error().kind(), "stage " + plan->stage(index)->display_name() + " failed");
    return *r;
  };
  std::vector<std::thread> threads;
  for (const auto& s : plan->stages) {
    threads.emplace_back([&, stage = &s] {
      Result<ImageState> r = run_stage(shared, *stage);
      if (!r) {
        std::lock_guard lock(first_error_mu);
        if (!first_error) first_error = r.error();
        shared.stop.request_stop();
      }
      promises.at(stage->index).set_value(std::move(r));  // no insertion: safe across threads
    });
  }
  for (auto& t : threads) t.join();
  if (first_error) return std::unexpected(*first_error);
  ImageState target = *futures[plan->target].get();

  // 4. The image.
  int export_id = progress.add("exporting to image");
  progress.start(export_id);
  auto result = export_image(*images, req, std::move(target));
  if (!result) {
    progress.error(export_id, result.error().message());
    return result;
  }
  progress.status(export_id, "writing image " + result->id.str() + " done");
  for (const auto& t : req.tags) progress.status(export_id, "naming to " + t.str() + " done");
  progress.done(export_id);
  return result;
}

}  // namespace bonsai::build
