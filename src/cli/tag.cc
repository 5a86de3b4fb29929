// bonsai tag: `docker tag SOURCE TARGET`.
#include "cli/common.h"

namespace bonsai::cli {

void register_tag(CLI::App& app, const Globals& g, Commands& cmds) {
  auto* sub = app.add_subcommand("tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE");
  auto source = std::make_shared<std::string>();
  auto target = std::make_shared<std::string>();
  sub->add_option("source", *source, "SOURCE_IMAGE[:TAG] or image ID")->required();
  sub->add_option("target", *target, "TARGET_IMAGE[:TAG]")->required();
  cmds.add(sub, [&g, source, target]() -> util::Status {
    // 1. Check the new name before touching the store, then point it at the source image.
    store::Reference ref = TRY(store::parse_reference(*target));
    auto images = TRY(open_store(g));
    store::Image img = TRY(images->resolve(*source));
    oci::Descriptor d = img.manifest_desc;
    d.annotations.clear();
    return images->add(d, {ref});
  });
}

}  // namespace bonsai::cli
