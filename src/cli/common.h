// Helpers shared by the subcommands: opening the store, Docker-style tables, times and sizes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "build/progress.h"
#include "cli/cli.h"
#include "store/images.h"

namespace bonsai::cli {

util::Result<std::unique_ptr<store::Images>> open_store(const Globals& g);

// Docker's table layout (text/tabwriter with minwidth 10, padding 3): every column but the last
// is padded to its widest cell plus three spaces, and at least ten characters.
std::string format_table(const std::vector<std::vector<std::string>>& rows);

// Seconds since the epoch of an RFC 3339 time ("2024-05-01T12:34:56.5+02:00"), or nullopt.
std::optional<int64_t> parse_rfc3339(std::string_view text);
// Docker's "CREATED" column: "2 weeks ago", "About an hour ago", "N/A" for no time.
std::string created_since(std::string_view rfc3339, int64_t now);
// Docker's Ellipsis: at most max_runes characters, the last one "…" when cut.
std::string ellipsis(std::string_view text, size_t max_runes);

// --progress auto|plain|tty|quiet, with -q winning, as docker build reads them.
util::Result<build::ProgressMode> progress_mode(std::string_view progress, bool quiet);

}  // namespace bonsai::cli
