// bonsai fsck: check the store: every blob's digest, every image complete.
#include <cstdio>

#include "cli/common.h"

namespace bonsai::cli {

void register_fsck(CLI::App& app, const Globals& g, Commands& cmds) {
  auto* sub = app.add_subcommand("fsck", "Check the store and clean up interrupted writes");
  cmds.add(sub, [&g]() -> util::Status {
    auto images = TRY(open_store(g));
    store::FsckReport r = TRY_CTX(images->fsck(), "fsck");
    if (r.stale_ingests_removed)
      std::printf("removed %d interrupted write(s)\n", r.stale_ingests_removed);
    for (auto& p : r.problems) std::printf("problem: %s\n", p.c_str());
    if (!r.problems.empty())
      return util::fail(util::ErrorKind::kCorrupt,
                        "fsck: " + std::to_string(r.problems.size()) + " problem(s) in " + g.root);
    std::printf("%s: %d blobs checked, store is clean\n", g.root.c_str(), r.blobs_checked);
    return {};
  });
}

}  // namespace bonsai::cli
