#include "debian/lockfile.h"

#include <fmt/format.h>

#include "oci/json.h"

namespace bonsai::debian {

using util::ErrorKind;
using util::fail;

std::string lockfile_text(const std::string& spec_name, const std::string& architecture,
                          const std::vector<Package>& packages) {
  oci::OrderedJson doc = oci::OrderedJson::object();
  doc["lockfileVersion"] = 1;
  doc["spec"] = spec_name;
  doc["architecture"] = architecture;
  doc["packages"] = oci::OrderedJson::array();
  for (const Package& p : packages) {
    oci::OrderedJson e = oci::OrderedJson::object();
    e["name"] = p.name;
    e["version"] = p.version;
    e["architecture"] = p.architecture;
    e["multiArch"] = p.multi_arch;
    e["suite"] = p.suite;
    e["mirror"] = p.mirror;
    e["filename"] = p.filename;
    e["size"] = p.size;
    e["sha256"] = p.sha256;
    doc["packages"].push_back(std::move(e));
  }
  return doc.dump(2) + "\n";
}

util::Result<std::vector<Package>> parse_lockfile(std::string_view text, const std::string& path) {
  oci::Json doc = oci::Json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return fail(ErrorKind::kCorrupt, path + ": not a JSON lockfile");
  if (!doc.contains("lockfileVersion") || doc["lockfileVersion"] != 1)
    return fail(ErrorKind::kUnsupported, path + ": lockfileVersion must be 1");
  if (!doc.contains("packages") || !doc["packages"].is_array())
    return fail(ErrorKind::kCorrupt, path + ": no packages list");
  std::vector<Package> out;
  size_t i = 0;
  for (const oci::Json& e : doc["packages"]) {
    auto field = [&](const char* k) -> std::string {
      return e.is_object() && e.contains(k) && e[k].is_string() ? e[k].get<std::string>() : "";
    };
    // Reuse the Packages-index checks: the same fields as a paragraph.
    Paragraph p;
    p.line = static_cast<int>(i + 1);
    auto add = [&](const char* name, std::string value) {
      if (!value.empty()) p.fields.push_back(Field{name, std::move(value), p.line});
    };
    add("Package", field("name"));
    add("Version", field("version"));
    add("Architecture", field("architecture"));
    add("Multi-Arch", field("multiArch"));
    add("Filename", field("filename"));
    add("SHA256", field("sha256"));
    if (e.is_object() && e.contains("size") && e["size"].is_number_unsigned())
      add("Size", std::to_string(e["size"].get<uint64_t>()));
    auto pkg =
        package_from_paragraph(std::move(p), fmt::format("{}: package {}", path, i + 1), true);
    if (!pkg) return std::unexpected(pkg.error());
    pkg->suite = field("suite");
    pkg->mirror = field("mirror");
    if (pkg->mirror.empty())
      return fail(ErrorKind::kCorrupt,
                  fmt::format("{}: package {} ({}): no mirror", path, i + 1, pkg->name));
    out.push_back(std::move(*pkg));
    ++i;
  }
  return out;
}

}  // namespace bonsai::debian
