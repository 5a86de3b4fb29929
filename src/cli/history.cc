// bonsai history: `docker history`: each step of an image, newest first, with its layer size.
#include <cstdio>
#include <ctime>

#include "cli/common.h"

namespace bonsai::cli {

namespace {

struct HistoryOptions {
  std::string name;
  bool no_trunc = false;
  bool human = true;
  bool quiet = false;
};

util::Status run_history(const Globals& g, const HistoryOptions& o) {
  // 1. Pair each history entry with its layer: entries without empty_layer consume layers in order.
  auto images = TRY(open_store(g));
  store::Image img = TRY(images->resolve(o.name));
  std::vector<std::vector<std::string>> rows = {
      {"IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"}};
  std::vector<std::vector<std::string>> steps;
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  size_t layer = 0;
  auto& history = img.config.history;
  for (size_t i = 0; i < history.size(); ++i) {
    const auto& h = history[i];
    uint64_t size = 0;
    if (!h.empty_layer && layer < img.manifest.layers.size()) {
      size = TRY(images->layer_info(img.manifest.layers[layer], img.config.diff_ids[layer]))
                 .content_size;
      ++layer;
    }
    std::string by = h.created_by;
    for (auto& c : by)
      if (c == '\t' || c == '\n') c = ' ';
    if (!o.no_trunc) by = ellipsis(by, 45);
    std::string size_text = o.human ? store::human_size(size) : std::to_string(size);
    std::string created = o.human ? created_since(h.created, now) : h.created;
    steps.push_back({"<missing>", created, by, size_text, h.comment});
  }
  // 2. Newest first; the top row carries the image ID.
  std::reverse(steps.begin(), steps.end());
  if (!steps.empty()) steps.front()[0] = o.no_trunc ? img.id.str() : img.id.short_id();
  if (o.quiet) {
    if (!steps.empty()) std::printf("%s\n", steps.front()[0].c_str());
    return {};
  }
  rows.insert(rows.end(), steps.begin(), steps.end());
  std::fputs(format_table(rows).c_str(), stdout);
  return {};
}

}  // namespace

void register_history(CLI::App& app, const Globals& g, Commands& cmds) {
  auto* sub = app.add_subcommand("history", "Show the history of an image, with each layer's size");
  auto o = std::make_shared<HistoryOptions>();
  sub->add_option("image", o->name, "Image")->required();
  sub->add_flag("--no-trunc", o->no_trunc, "Don't truncate output");
  sub->add_flag("-H,--human", o->human, "Print sizes and dates in human readable format");
  sub->add_flag("-q,--quiet", o->quiet, "Only show image IDs");
  cmds.add(sub, [&g, o]() { return run_history(g, *o); });
}

}  // namespace bonsai::cli
