// bonsai prune: `docker image prune` plus garbage collection of unreferenced blobs.
#include <cstdio>

#include "build/snapshots.h"
#include "cli/common.h"

namespace bonsai::cli {

void register_prune(CLI::App& app, const Globals& g, Commands& cmds) {
  auto* sub = app.add_subcommand("prune", "Remove dangling images and blobs no image refers to");
  auto force = std::make_shared<bool>(false);
  sub->add_flag("-f,--force", *force, "Do not prompt for confirmation (bonsai never prompts)");
  cmds.add(sub, [&g]() -> util::Status {
    // 1. Dangling images and unreferenced blobs, then the unpacked layers nothing uses.
    auto images = TRY(open_store(g));
    store::PruneReport r = TRY_CTX(images->prune(), "prune");
    int snapshots = TRY_CTX(build::Snapshots(g.root).prune(*images), "prune snapshots");
    // 2. Docker's report.
    std::printf("Deleted %d dangling image%s and %d blob%s\n", r.images_removed,
                r.images_removed == 1 ? "" : "s", r.blobs_removed, r.blobs_removed == 1 ? "" : "s");
    if (snapshots > 0)
      std::printf("Deleted %d unpacked layer%s\n", snapshots, snapshots == 1 ? "" : "s");
    std::printf("Total reclaimed space: %s\n", store::human_size(r.bytes_freed).c_str());
    return {};
  });
}

}  // namespace bonsai::cli
