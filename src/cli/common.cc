#include "cli/common.h"

#include <algorithm>
#include <cmath>
#include <ctime>

namespace bonsai::cli {

util::Result<std::unique_ptr<store::Images>> open_store(const Globals& g) {
  return TRY_CTX(store::Images::open(g.root), "store " + g.root);
}

std::string format_table(const std::vector<std::vector<std::string>>& rows) {
  auto width = [](const std::string& s) {
    // Count code points, not bytes, so "…" pads like one character.
    return static_cast<size_t>(
        std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
  };
  std::vector<size_t> widths;
  for (auto& r : rows)
    for (size_t i = 0; i + 1 < r.size(); ++i) {
      if (widths.size() <= i) widths.resize(i + 1, 0);
      widths[i] = std::max(widths[i], width(r[i]));
    }
  std::string out;
  for (auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line.append(std::max<size_t>(10, widths[i] + 3) - width(r[i]), ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::optional<int64_t> parse_rfc3339(std::string_view t) {
  struct tm tm = {};
  int y, mo, d, h, mi, s, n = 0;
  std::string text(t);
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &n) != 6)
    return std::nullopt;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  int64_t secs = timegm(&tm);
  std::string_view rest = t.substr(static_cast<size_t>(n));
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    while (!rest.empty() && std::isdigit(static_cast<unsigned char>(rest.front())))
      rest.remove_prefix(1);
  }
  if (rest.empty() || rest == "Z" || rest == "z") return secs;
  int oh, om;
  if ((rest.front() == '+' || rest.front() == '-') &&
      std::sscanf(std::string(rest.substr(1)).c_str(), "%2d:%2d", &oh, &om) == 2) {
    int64_t off = oh * 3600 + om * 60;
    return rest.front() == '+' ? secs - off : secs + off;
  }
  return std::nullopt;
}

std::string created_since(std::string_view rfc3339, int64_t now) {
  auto when = parse_rfc3339(rfc3339);
  if (!when || *when <= 0) return "N/A";
  double secs = static_cast<double>(now - *when);
  auto n = [](long v, const char* unit) { return std::to_string(v) + " " + unit + " ago"; };
  long seconds = static_cast<long>(secs);
  if (seconds < 1) return "Less than a second ago";
  if (seconds == 1) return "1 second ago";
  if (seconds < 60) return n(seconds, "seconds");
  long minutes = static_cast<long>(secs / 60);
  if (minutes == 1) return "About a minute ago";
  if (minutes < 60) return n(minutes, "minutes");
  long hours = std::lround(secs / 3600);
  if (hours == 1) return "About an hour ago";
  if (hours < 48) return n(hours, "hours");
  if (hours < 24 * 7 * 2) return n(hours / 24, "days");
  if (hours < 24 * 30 * 2) return n(hours / 24 / 7, "weeks");
  if (hours < 24 * 365 * 2) return n(hours / 24 / 30, "months");
  return n(static_cast<long>(secs / 3600) / 24 / 365, "years");
}

std::string ellipsis(std::string_view text, size_t max_runes) {
  size_t runes = 0, cut = std::string_view::npos;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((text[i] & 0xC0) == 0x80) continue;
    if (runes == max_runes - 1) cut = i;
    ++runes;
  }
  if (runes <= max_runes) return std::string(text);
  return std::string(text.substr(0, cut)) + "…";
}

util::Result<build::ProgressMode> progress_mode(std::string_view progress, bool quiet) {
  if (quiet || progress == "quiet") return build::ProgressMode::kQuiet;
  if (progress == "auto") return build::ProgressMode::kAuto;
  if (progress == "plain") return build::ProgressMode::kPlain;
  if (progress == "tty") return build::ProgressMode::kTty;
  return util::fail(util::ErrorKind::kInvalidArgument,
                    "--progress " + std::string(progress) + ": expected auto, plain, tty or quiet");
}

}  // namespace bonsai::cli
