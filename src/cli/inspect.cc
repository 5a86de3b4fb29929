// bonsai inspect: `docker image inspect`, as a JSON array with Docker's field names.
#include <cstdio>

#include "cli/common.h"

namespace bonsai::cli {

namespace {

util::Result<oci::OrderedJson> inspect_one(store::Images& images, const std::string& name) {
  store::Image img = TRY(images.resolve(name));
  auto all = TRY(images.list());
  for (auto& other : all)
    if (other.manifest_desc.digest == img.manifest_desc.digest) img.tags = other.tags;
  uint64_t size = TRY(images.image_size(img));
  auto raw = oci::Json::parse(img.config_bytes);
  oci::OrderedJson j;
  j["Id"] = img.id.str();
  j["RepoTags"] = img.tags;
  j["RepoDigests"] = oci::OrderedJson::array();
  j["Parent"] = "";
  j["Comment"] = img.config.history.empty() ? "" : img.config.history.back().comment;
  j["Created"] = img.config.created;
  j["Author"] = img.config.author;
  j["Config"] = oci::OrderedJson::parse(img.config.config.dump());
  j["Architecture"] = img.config.architecture;
  if (!img.config.variant.empty()) j["Variant"] = img.config.variant;
  j["Os"] = img.config.os;
  j["Size"] = size;
  oci::OrderedJson layers = oci::OrderedJson::array();
  for (auto& d : img.config.diff_ids) layers.push_back(d.str());
  j["RootFS"] = {{"Type", "layers"}, {"Layers", layers}};
  j["Manifest"] = {{"MediaType", img.manifest_desc.media_type},
                   {"Digest", img.manifest_desc.digest.str()},
                   {"Size", img.manifest_desc.size}};
  return j;
}

}  // namespace

void register_inspect(CLI::App& app, const Globals& g, Commands& cmds) {
  auto* sub = app.add_subcommand("inspect", "Display detailed information on images");
  auto names = std::make_shared<std::vector<std::string>>();
  sub->add_option("images", *names, "Images to inspect")->required();
  cmds.add(sub, [&g, names]() -> util::Status {
    // 1. Resolve each image; like Docker, print what was found and fail if anything was not.
    auto images = TRY(open_store(g));
    oci::OrderedJson out = oci::OrderedJson::array();
    std::optional<util::Error> first_error;
    for (auto& n : *names) {
      auto j = inspect_one(*images, n);
      if (j)
        out.push_back(std::move(*j));
      else if (!first_error)
        first_error = j.error();
    }
    // 2. Print the array, indented as Docker does.
    std::printf("%s\n", out.dump(4).c_str());
    if (first_error) return std::unexpected(*first_error);
    return {};
  });
}

}  // namespace bonsai::cli
