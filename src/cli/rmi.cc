// bonsai rmi: `docker rmi`: untag, and delete an image once no tag refers to it.
#include <cstdio>

#include "cli/common.h"

namespace bonsai::cli {

namespace {

util::Status remove_one(store::Images& images, const std::string& name, bool force) {
  store::Image img = TRY(images.resolve(name));
  auto all = TRY(images.list());
  std::vector<std::string> tags;
  for (auto& other : all)
    if (other.manifest_desc.digest == img.manifest_desc.digest) tags = other.tags;
  // By tag: untag; the image goes only with its last tag.
  auto ref = store::parse_reference(name);
  bool by_tag = ref && std::find(tags.begin(), tags.end(), ref->str()) != tags.end();
  if (by_tag && tags.size() > 1) {
    TRY(images.untag(*ref));
    std::printf("Untagged: %s\n", ref->str().c_str());
    return {};
  }
  // By ID: refuse to drop several tags at once unless forced, as Docker does.
  if (!by_tag && tags.size() > 1 && !force)
    return util::fail(util::ErrorKind::kConflict,
                      "conflict: unable to delete " + img.id.short_id() +
                          " (must be forced) - image is referenced in multiple repositories");
  TRY(images.remove_image(img.manifest_desc.digest));
  for (auto& t : tags) std::printf("Untagged: %s\n", t.c_str());
  std::printf("Deleted: %s\n", img.id.str().c_str());
  return {};
}

}  // namespace

void register_rmi(CLI::App& app, const Globals& g, Commands& cmds) {
  auto* sub =
      app.add_subcommand("rmi", "Remove one or more images (their blobs go at the next prune)");
  auto names = std::make_shared<std::vector<std::string>>();
  auto force = std::make_shared<bool>(false);
  sub->add_option("images", *names, "Images to remove")->required();
  sub->add_flag("-f,--force", *force, "Remove an image ID even if several tags refer to it");
  cmds.add(sub, [&g, names, force]() -> util::Status {
    auto images = TRY(open_store(g));
    // Like Docker: try every name, report each failure, fail if any failed.
    std::optional<util::Error> first;
    for (auto& n : *names) {
      auto st = remove_one(*images, n, *force);
      if (!st) {
        if (first) std::fprintf(stderr, "bonsai: error: %s\n", first->message().c_str());
        first = st.error();
      }
    }
    if (first) return std::unexpected(*first);
    return {};
  });
}

}  // namespace bonsai::cli
