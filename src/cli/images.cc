// bonsai images: `docker images` for the store, with Docker's columns and SIZE.
#include <cstdio>
#include <ctime>

#include "cli/common.h"

namespace bonsai::cli {

namespace {

struct ImagesOptions {
  std::string filter;  // [REPOSITORY[:TAG]]
  std::string format;  // "", "table" or "json"
  bool quiet = false;
  bool no_trunc = false;
};

struct Row {
  std::string repository, tag, id, created, created_at, size;
};

std::string created_at(std::string_view rfc3339) {
  auto t = parse_rfc3339(rfc3339);
  if (!t) return "";
  time_t tt = static_cast<time_t>(*t);
  struct tm tm;
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
  return buf;
}

bool matches(const std::string& filter, const std::string& repo, const std::string& tag) {
  if (filter.empty()) return true;
  auto colon = filter.rfind(':');
  if (colon != std::string::npos && filter.find('/', colon) == std::string::npos)
    return filter.substr(0, colon) == repo && filter.substr(colon + 1) == tag;
  return filter == repo;
}

util::Status run_images(const Globals& g, const ImagesOptions& o) {
  // 1. Gather one row per tag (one <none> row for an untagged image), newest image first.
  auto images = TRY(open_store(g));
  auto list = TRY(images->list());
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  std::vector<Row> rows;
  for (auto& img : list) {
    uint64_t size = TRY_CTX(images->image_size(img), "image " + img.id.str());
    std::string id = o.no_trunc ? img.id.str() : img.id.short_id();
    std::vector<std::pair<std::string, std::string>> names;
    for (auto& t : img.tags) {
      auto colon = t.rfind(':');
      names.emplace_back(t.substr(0, colon), t.substr(colon + 1));
    }
    if (names.empty()) names.emplace_back("<none>", "<none>");
    for (auto& [repo, tag] : names) {
      if (!matches(o.filter, repo, tag)) continue;
      rows.push_back({repo, tag, id, created_since(img.config.created, now),
                      created_at(img.config.created), store::human_size(size)});
    }
  }
  // 2. Print as asked: IDs only, JSON lines (Docker's --format json keys), or the table.
  if (o.quiet) {
    std::string last;
    for (auto& r : rows)
      if (r.id != last) std::printf("%s\n", (last = r.id).c_str());
    return {};
  }
  if (o.format == "json") {
    for (auto& r : rows) {
      oci::OrderedJson j = {{"Containers", "N/A"},
                            {"CreatedAt", r.created_at},
                            {"CreatedSince", r.created},
                            {"Digest", "<none>"},
                            {"ID", r.id},
                            {"Repository", r.repository},
                            {"SharedSize", "N/A"},
                            {"Size", r.size},
                            {"Tag", r.tag},
                            {"UniqueSize", "N/A"},
                            {"VirtualSize", r.size}};
      std::printf("%s\n", j.dump().c_str());
    }
    return {};
  }
  std::vector<std::vector<std::string>> table = {
      {"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"}};
  for (auto& r : rows) table.push_back({r.repository, r.tag, r.id, r.created, r.size});
  std::fputs(format_table(table).c_str(), stdout);
  return {};
}

}  // namespace

void register_images(CLI::App& app, const Globals& g, Commands& cmds) {
  auto* sub = app.add_subcommand("images", "List images");
  auto o = std::make_shared<ImagesOptions>();
  sub->add_option("repository", o->filter, "Show only this REPOSITORY[:TAG]");
  sub->add_option("--format", o->format, "Output format: table or json")
      ->check(CLI::IsMember({"table", "json"}));
  sub->add_flag("-q,--quiet", o->quiet, "Only show image IDs");
  sub->add_flag("--no-trunc", o->no_trunc, "Don't truncate output");
  cmds.add(sub, [&g, o]() { return run_images(g, *o); });
}

}  // namespace bonsai::cli
