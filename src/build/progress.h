// What a build shows while it runs: BuildKit's two views of the same events.
//
// - plain (`--progress plain`, and `auto` when stderr is not a terminal): numbered records, as
//   BuildKit's plain printer writes them, one line each, safe for CI logs:
//       #5 [build 2/4] WORKDIR /app
//       #5 CACHED
//       #7 [build 4/4] RUN go build -o app
//       #7 0.512 go: downloading ...
//       #7 DONE 5.2s
// - tty (`--progress tty`, and `auto` on a terminal): a live view redrawn in place, a header
//   "[+] Building 5.3s (7/9)" then one line per step with its state and time, the running
//   steps followed by the last lines of their output; when the build ends, the final view stays.
// - quiet (`-q`): nothing.
//
// Thread safety: every method may be called from any thread (stages run in parallel).
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

namespace bonsai::build {

enum class ProgressMode { kAuto, kPlain, kTty, kQuiet };

class Progress {
 public:
  virtual ~Progress() = default;

  // Declares a step and returns its number (#1, #2, ... in order of declaration). name is what
  // BuildKit shows: "[internal] load build definition from Dockerfile", "[build 2/4] RUN ...".
  virtual int add(std::string name) = 0;
  // The step starts running now (its timer starts).
  virtual void start(int step) = 0;
  // A line of detail about a step that is not command output ("transferring context: 2.1kB").
  virtual void status(int step, std::string_view text) = 0;
  // Output of the step's command, in chunks as produced (a chunk may end mid-line).
  virtual void output(int step, std::string_view chunk) = 0;
  // The step's result was taken from the cache.
  virtual void cached(int step) = 0;
  // The step finished successfully.
  virtual void done(int step) = 0;
  // The step failed; message is the one-line reason.
  virtual void error(int step, std::string_view message) = 0;
  // The build is over: stop redrawing and leave the final view (tty), flush.
  virtual void finish() = 0;
};

// The view for a mode. kAuto picks tty when out is a terminal. Writes to out (stderr normally).
std::unique_ptr<Progress> make_progress(ProgressMode mode, FILE* out);

}  // namespace bonsai::build
