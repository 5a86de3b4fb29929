// bonsai save: `docker save` from the store, as a docker-archive or an OCI archive.
#include <fcntl.h>
#include <unistd.h>

#include "cli/common.h"
#include "store/archive_io.h"

namespace bonsai::cli {

namespace {

util::Status write_archive(store::Images& images, const std::vector<store::ExportItem>& items,
                           store::ArchiveFormat format, const std::string& output) {
  if (output.empty() || output == "-") {
    if (::isatty(1))
      return util::fail(util::ErrorKind::kInvalidArgument,
                        "cowardly refusing to save to a terminal. Use the -o flag or redirect");
    sys::FdWriter out(1, "stdout");
    return store::export_archive(images, items, format, out);
  }
  // Write beside the destination and rename, so a failed save never leaves half a file.
  std::string tmp = output + ".bonsai-tmp";
  sys::UniqueFd fd = TRY(sys::open_file(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644));
  sys::FdWriter out(fd.get(), tmp);
  auto st = store::export_archive(images, items, format, out);
  if (st) st = sys::fsync_fd(fd.get(), tmp);
  if (st) st = sys::rename_file(tmp, output);
  if (!st) ::unlink(tmp.c_str());
  return st;
}

}  // namespace

void register_save(CLI::App& app, const Globals& g, Commands& cmds) {
  auto* sub = app.add_subcommand("save", "Save images to an archive (docker-archive by default)");
  auto output = std::make_shared<std::string>();
  auto format = std::make_shared<std::string>("docker");
  auto names = std::make_shared<std::vector<std::string>>();
  sub->add_option("-o,--output", *output, "Write to a file instead of standard output");
  sub->add_option("--format", *format, "Archive format: docker or oci")
      ->check(CLI::IsMember({"docker", "oci"}));
  sub->add_option("images", *names, "Images to save")->required();
  cmds.add(sub, [&g, output, format, names]() -> util::Status {
    // 1. Resolve every image first, so a typo fails before anything is written.
    auto images = TRY(open_store(g));
    std::vector<store::ExportItem> items;
    for (auto& n : *names) {
      store::Image img = TRY_CTX(images->resolve(n), "save");
      std::vector<std::string> tags;
      if (auto ref = store::parse_reference(n);
          ref && ref->str() == (img.tags.empty() ? "" : img.tags.front()))
        tags.push_back(ref->str());
      items.push_back({std::move(img), std::move(tags)});
    }
    // 2. Write the archive.
    auto fmt = *format == "oci" ? store::ArchiveFormat::kOci : store::ArchiveFormat::kDocker;
    TRY_CTX(write_archive(*images, items, fmt, *output), "save");
    return {};
  });
}

}  // namespace bonsai::cli
