// bonsai load: `docker load` for the store.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include "cli/common.h"
#include "store/archive_io.h"

namespace bonsai::cli {

void register_load(CLI::App& app, const Globals& g, Commands& cmds) {
  auto* sub = app.add_subcommand(
      "load", "Load images from a docker-archive or OCI archive (file or stdin)");
  auto input = std::make_shared<std::string>();
  auto quiet = std::make_shared<bool>(false);
  sub->add_option("-i,--input", *input, "Read from this archive instead of standard input");
  sub->add_flag("-q,--quiet", *quiet, "Suppress the load output");
  cmds.add(sub, [&g, input, quiet]() -> util::Status {
    // 1. Open the archive (or stdin) and the store.
    std::string name = input->empty() ? "stdin" : *input;
    if (input->empty() && ::isatty(0))
      return util::fail(util::ErrorKind::kInvalidArgument,
                        "requested load from stdin, but stdin is empty");
    sys::UniqueFd fd;
    if (!input->empty()) fd = TRY_CTX(sys::open_file(*input, O_RDONLY), "load");
    sys::FdReader in(input->empty() ? 0 : fd.get(), name);
    util::BufferedReader buffered(in);
    auto images = TRY(open_store(g));
    // 2. Import, then say what was loaded as Docker does.
    auto loaded = TRY_CTX(store::import_archive(*images, buffered), "load " + name);
    if (*quiet) return {};
    for (auto& li : loaded) {
      if (li.tags.empty()) std::printf("Loaded image ID: %s\n", li.id.str().c_str());
      for (auto& t : li.tags) std::printf("Loaded image: %s\n", t.c_str());
    }
    return {};
  });
}

}  // namespace bonsai::cli
