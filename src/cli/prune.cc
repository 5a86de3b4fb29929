// bonsai prune: `docker image prune` plus garbage collection of unreferenced blobs.
#include <cstdio>

#include "cli/common.h"

namespace bonsai::cli {

void register_prune(CLI::App& app, const Globals& g, Commands& cmds) {
  auto* sub = app.add_subcommand("prune", "Remove dangling images and blobs no image refers to");
  auto force = std::make_shared<bool>(false);
  sub->add_flag("-f,--force", *force, "Do not prompt for confirmation (bonsai never prompts)");
  cmds.add(sub, [&g]() -> util::Status {
    auto images = TRY(open_store(g));
    store::PruneReport r = TRY_CTX(images->prune(), "prune");
    std::printf("Deleted %d dangling image%s and %d blob%s\n", r.images_removed,
                r.images_removed == 1 ? "" : "s", r.blobs_removed, r.blobs_removed == 1 ? "" : "s");
    std::printf("Total reclaimed space: %s\n", store::human_size(r.bytes_freed).c_str());
    return {};
  });
}

}  // namespace bonsai::cli
