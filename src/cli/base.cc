// bonsai base build / bonsai base lock: base images from Debian packages (build/base_image.h).
#include <cstdio>

#include "build/base_image.h"
#include "cli/common.h"
#include "sys/curl_http.h"
#include "sys/linux_sandbox.h"

namespace bonsai::cli {

namespace {

using util::ErrorKind;
using util::fail;

struct BaseFlags {
  std::string spec, lock, progress = "auto";
  std::vector<std::string> tags;
  bool no_lock = false, quiet = false;
};

util::Result<build::BaseResult> run_base(const Globals& g, const BaseFlags& f, bool lock_only) {
  // 1. Check the flags.
  build::BaseRequest req;
  req.spec_path = f.spec;
  req.lock_path = f.lock;
  req.ignore_lock = f.no_lock;
  req.lock_only = lock_only;
  for (const auto& t : f.tags) req.tags.push_back(TRY_CTX(store::parse_reference(t), "-t " + t));
  build::ProgressMode mode = TRY(progress_mode(f.progress, f.quiet));
  // 2. Assemble, showing progress on stderr.
  sys::CurlHttpClient http;
  sys::LinuxSandbox sandbox;
  auto progress = build::make_progress(mode, stderr);
  auto result = build::build_base(g.root, req, http, sandbox, *progress);
  progress->finish();
  return result;
}

}  // namespace

void register_base(CLI::App& app, const Globals& g, Commands& cmds) {
  auto* base = app.add_subcommand("base", "Assemble base images from Debian packages");
  base->require_subcommand(1);

  auto* build = base->add_subcommand("build", "Build a base image from a spec (bases/*.yaml)");
  auto f = std::make_shared<BaseFlags>();
  build->add_option("spec", f->spec, "The spec (YAML)")->required();
  build->add_option("-t,--tag", f->tags, "Name and optionally a tag (name:tag)");
  build->add_option("--lock", f->lock, "Build from this lockfile (default: SPEC.lock if present)");
  build->add_flag("--no-lock", f->no_lock,
                  "Resolve from the package indexes, ignoring any lockfile");
  build->add_option("--progress", f->progress, "Type of progress output (auto, plain, tty, quiet)");
  build->add_flag("-q,--quiet", f->quiet, "Print only the image ID");
  cmds.add(build, [&g, f]() -> util::Status {
    build::BaseResult r = TRY(run_base(g, *f, false));
    std::printf("%s\n", r.id.str().c_str());
    return {};
  });

  auto* lock = base->add_subcommand("lock", "Resolve a spec and write its lockfile (SPEC.lock)");
  auto lf = std::make_shared<BaseFlags>();
  lock->add_option("spec", lf->spec, "The spec (YAML)")->required();
  lock->add_option("-o,--output", lf->lock, "Where to write the lockfile (default: SPEC.lock)");
  lock->add_option("--progress", lf->progress, "Type of progress output (auto, plain, tty, quiet)");
  cmds.add(lock, [&g, lf]() -> util::Status {
    build::BaseResult r = TRY(run_base(g, *lf, true));
    std::printf("%s: %zu packages\n", r.lock_path.c_str(), r.packages.size());
    return {};
  });
}

}  // namespace bonsai::cli
