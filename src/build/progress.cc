// The three progress views, after BuildKit's progressui (printer.go for plain, display.go for tty).
//
// Every view that prints shares one model (StepsView): the declared steps, each moving
// declared → running → done | cached | failed, its output cut into whole lines stamped with the
// seconds since the step started, and the clock. An event that first mentions a step starts it;
// events for an ended step, or after finish(), are ignored. The views only decide what to print:
//
// - plain writes records as they happen. A record names its step ("#5 ..."); the first record of
//   a run of records about one step is its name ("#5 [build 2/4] WORKDIR /app"), preceded by a
//   blank line, and leaving a step that has not ended says so ("#5 ..."), exactly as BuildKit's
//   printer does. Output is written a whole line at a time, so parallel steps never split a line.
// - tty redraws a view of every started step in place: after drawing N lines it moves the cursor
//   up N lines and draws again, clearing each line's rest and whatever the last frame left below.
//   It draws on every change of a step's state and every 100 ms from a thread, so times advance.
//
// Both end (finish) like BuildKit: a summary of each failed step with its last output lines.
#include "build/progress.h"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace bonsai::build {

using Clock = std::function<double()>;

namespace testing {
// make_progress with its environment explicit, for tests: now() is a monotonic clock in seconds;
// width and height are the terminal's columns and rows (0: ask the terminal); redraw_ms is the
// period of the tty view's redraw thread (0: no thread, it draws on state changes only).
// progress_test.cc declares it too.
std::unique_ptr<Progress> make_progress(ProgressMode mode, FILE* out, Clock now, int width,
                                        int height, int redraw_ms);
}  // namespace testing

namespace {

constexpr size_t kPlainErrorLines = 10;   // BuildKit's plain printer keeps the last 10 lines
constexpr size_t kTtyErrorLines = 10000;  // BuildKit's tty keeps all; we bound the memory
constexpr size_t kTailLines = 6;          // output lines shown under a running step (tty)
constexpr int kDefaultWidth = 80;
constexpr int kRedrawMs = 100;

enum class State { kDeclared, kRunning, kDone, kCached, kFailed };

struct Step {
  std::string name;
  State state = State::kDeclared;
  double started_at = 0;  // clock time; set when the state leaves kDeclared
  double ended_at = 0;    // clock time; set when the state becomes kDone, kCached or kFailed
  std::string line;       // output since the last newline
  bool in_line = false;
  double line_at = 0;            // seconds since started when `line` began
  std::deque<std::string> log;   // the last stamped output lines, for the failure summary
  std::deque<std::string> tail;  // the last visible output lines (tty)
  std::string status;            // the latest status text
  std::string error;

  bool running() const { return state == State::kRunning; }
  bool ended() const { return state == State::kDone || state == State::kCached || failed(); }
  bool failed() const { return state == State::kFailed; }
};

double steady_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// BuildKit's stamp on an output line: seconds since the step started, fewer decimals as it grows.
std::string log_stamp(double seconds) {
  int precision = seconds < 10 ? 3 : seconds < 100 ? 2 : 1;
  return fmt::format("{:.{}f}", seconds, precision);
}

// What every printing view shares: the steps and their state machine, output cut into lines, the
// clock and the one mutex. Views react through the hooks, which run with the mutex held. Views
// call finish() from their destructors: the build is over when its progress goes.
class StepsView : public Progress {
 public:
  StepsView(FILE* out, Clock now, size_t error_lines)
      : out_(out), now_(std::move(now)), error_lines_(error_lines), began_(now_()) {}

  int add(std::string name) final {
    std::lock_guard lock(mutex_);
    steps_.emplace_back().name = std::move(name);
    return static_cast<int>(steps_.size());
  }

  void start(int n) final {
    std::lock_guard lock(mutex_);
    if (Step* s = live(n)) begin(n, *s);
    fflush(out_);
  }

  void status(int n, std::string_view text) final {
    std::lock_guard lock(mutex_);
    Step* s = live(n);
    if (s == nullptr) return;
    begin(n, *s);
    s->status = text;
    on_status(n, *s, text);
    fflush(out_);
  }

  void output(int n, std::string_view chunk) final {
    std::lock_guard lock(mutex_);
    Step* s = live(n);
    if (s == nullptr) return;
    begin(n, *s);
    double at = now_() - s->started_at;
    while (!chunk.empty()) {
      if (!s->in_line) {
        s->in_line = true;
        s->line_at = at;
      }
      size_t newline = chunk.find('\n');
      s->line.append(chunk.substr(0, newline));
      if (newline == std::string_view::npos) break;
      chunk.remove_prefix(newline + 1);
      end_line(n, *s);
    }
    fflush(out_);
  }

  void cached(int n) final { end(n, State::kCached, {}); }
  void done(int n) final { end(n, State::kDone, {}); }
  void error(int n, std::string_view message) final { end(n, State::kFailed, message); }

  void finish() override {
    std::lock_guard lock(mutex_);
    if (finished_) return;
    finished_ = true;
    for (size_t i = 0; i < steps_.size(); ++i) {
      if (steps_[i].in_line) end_line(static_cast<int>(i) + 1, steps_[i]);
    }
    on_finish();
    fflush(out_);
  }

 protected:
  virtual void on_start(int /*n*/, const Step& /*s*/) {}
  virtual void on_status(int /*n*/, const Step& /*s*/, std::string_view /*text*/) {}
  // A whole output line: stamped is "<seconds> <text>".
  virtual void on_line(int /*n*/, Step& /*s*/, std::string_view /*stamped*/,
                       std::string_view /*text*/) {}
  virtual void on_end(int /*n*/, const Step& /*s*/) {}
  virtual void on_finish() {}

  // BuildKit's summary of each failed step, printed when the build ends.
  void print_failures() {
    for (const Step& s : steps_) {
      if (!s.failed()) continue;
      fmt::print(out_, "------\n > {}:\n", s.name);
      for (const std::string& line : s.log) fmt::print(out_, "{}\n", line);
      fmt::print(out_, "------\n");
    }
  }

  FILE* const out_;
  const Clock now_;
  const size_t error_lines_;  // output lines kept per step for the failure summary
  const double began_;        // clock time when the view was made: the build's start
  std::mutex mutex_;
  std::vector<Step> steps_;  // step n is steps_[n - 1]
  bool finished_ = false;

 private:
  // The step numbered n if events about it still count, else null.
  Step* live(int n) {
    assert(n >= 1 && static_cast<size_t>(n) <= steps_.size() && "step was not added");
    if (n < 1 || static_cast<size_t>(n) > steps_.size() || finished_) return nullptr;
    Step* s = &steps_[n - 1];
    return s->ended() ? nullptr : s;
  }

  // Starts a step on the first event about it. An event that also ends it (cached, done or
  // error) tells the view once, through on_end, so the tty view does not draw a step running for
  // no time.
  void begin(int n, Step& s, bool tell = true) {
    if (s.state != State::kDeclared) return;
    s.state = State::kRunning;
    s.started_at = now_();
    if (tell) on_start(n, s);
  }

  void end_line(int n, Step& s) {
    std::string stamped = log_stamp(s.line_at) + " " + s.line;
    on_line(n, s, stamped, s.line);
    s.log.push_back(std::move(stamped));
    if (s.log.size() > error_lines_) s.log.pop_front();
    s.line.clear();
    s.in_line = false;
  }

  void end(int n, State state, std::string_view message) {
    std::lock_guard lock(mutex_);
    Step* s = live(n);
    if (s == nullptr) return;
    begin(n, *s, /*tell=*/false);
    if (s->in_line) end_line(n, *s);
    s->state = state;
    s->ended_at = now_();
    s->error = message;
    on_end(n, *s);
    if (!s->failed()) s->log.clear();  // only a failure's output is shown again
    fflush(out_);
  }
};

// BuildKit's plain printer.
class PlainView final : public StepsView {
 public:
  PlainView(FILE* out, Clock now) : StepsView(out, std::move(now), kPlainErrorLines) {}
  ~PlainView() override { finish(); }

 private:
  // Makes step n the one records are about, printing its name first.
  void switch_to(int n, const Step& s) {
    if (n == current_) return;
    if (current_ != 0) fmt::print(out_, "#{} ...\n", current_);
    if (printed_) fputc('\n', out_);
    printed_ = true;
    fmt::print(out_, "#{} {}\n", n, s.name);
    current_ = n;
  }

  void on_start(int n, const Step& s) override { switch_to(n, s); }

  void on_status(int n, const Step& s, std::string_view text) override {
    switch_to(n, s);
    fmt::print(out_, "#{} {}\n", n, text);
  }

  void on_line(int n, Step& s, std::string_view stamped, std::string_view) override {
    switch_to(n, s);
    fmt::print(out_, "#{} {}\n", n, stamped);
  }

  void on_end(int n, const Step& s) override {
    switch_to(n, s);
    if (s.state == State::kCached) {
      fmt::print(out_, "#{} CACHED\n", n);
    } else if (s.failed()) {
      fmt::print(out_, "#{} ERROR: {}\n", n, s.error);
    } else {
      fmt::print(out_, "#{} DONE {:.1f}s\n", n, s.ended_at - s.started_at);
    }
    current_ = 0;  // an ended step needs no "#n ..." when another one follows
  }

  void on_finish() override { print_failures(); }

  int current_ = 0;       // the step the last record was about, if it has not ended; else 0
  bool printed_ = false;  // whether a record was printed (no blank line before the first)
};

// ---- Text fitted to a terminal ----

// The end of the escape sequence starting at text[i] (an ESC): CSI up to its final byte, OSC up
// to BEL or ST, otherwise the ESC and the byte after it.
size_t escape_end(std::string_view text, size_t i) {
  if (i + 1 >= text.size()) return i;
  if (text[i + 1] == '[') {
    size_t j = i + 2;
    while (j < text.size() && (text[j] < 0x40 || text[j] > 0x7e)) ++j;
    return j;
  }
  if (text[i + 1] == ']') {
    size_t j = i + 2;
    while (j < text.size() && text[j] != '\a' && !(text[j] == '\\' && text[j - 1] == '\x1b')) ++j;
    return j;
  }
  return i + 1;
}

// What a terminal shows of a line: the text after the last carriage return (progress bars redraw
// with \r), without escape sequences and control characters, tabs and newlines as spaces.
std::string visible_text(std::string_view raw) {
  while (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
  if (size_t cr = raw.rfind('\r'); cr != std::string_view::npos) raw.remove_prefix(cr + 1);
  std::string text;
  for (size_t i = 0; i < raw.size(); ++i) {
    unsigned char c = raw[i];
    if (c == 0x1b) {
      i = escape_end(raw, i);
    } else if (c == '\t' || c == '\n') {
      text += ' ';
    } else if (c >= 0x20 && c != 0x7f) {
      text += static_cast<char>(c);
    }
  }
  return text;
}

bool is_blank(std::string_view text) {
  return text.find_first_not_of(' ') == std::string_view::npos;
}

// Columns taken by UTF-8 text, counting one per code point.
size_t columns(std::string_view text) {
  return std::count_if(text.begin(), text.end(), [](char c) { return (c & 0xc0) != 0x80; });
}

// text cut to at most cols columns, at a code point boundary.
std::string fit(std::string_view text, size_t cols) {
  size_t used = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((text[i] & 0xc0) != 0x80 && used++ == cols) return std::string(text.substr(0, i));
  }
  return std::string(text);
}

// left, then right at the end of a line of cols columns (left is cut to leave room).
std::string align(std::string_view left, std::string_view right, size_t cols) {
  size_t room = cols > columns(right) ? cols - columns(right) : 0;
  std::string line = fit(left, room);
  line.append(room - columns(line), ' ');
  line += right;
  return fit(line, cols);
}

// https://no-color.org: a non-empty NO_COLOR turns colors off.
bool wants_color() {
  const char* no_color = std::getenv("NO_COLOR");
  return no_color == nullptr || *no_color == '\0';
}

// BuildKit's tty display.
class TtyView final : public StepsView {
 public:
  TtyView(FILE* out, Clock now, int width, int height, int redraw_ms)
      : StepsView(out, std::move(now), kTtyErrorLines),
        width_(width),
        height_(height),
        color_(wants_color()) {
    if (redraw_ms > 0) {
      ticker_ =
          std::thread([this, redraw_ms] { redraw_every(std::chrono::milliseconds(redraw_ms)); });
    }
  }

  ~TtyView() override { finish(); }

  void finish() override {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    if (ticker_.joinable()) ticker_.join();
    StepsView::finish();
  }

 private:
  void redraw_every(std::chrono::milliseconds period) {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, period, [this] { return stop_; })) draw(false);
  }

  void on_start(int, const Step&) override { draw(false); }
  void on_end(int, const Step&) override { draw(false); }
  void on_finish() override {
    draw(true);
    print_failures();
  }

  void on_line(int, Step& s, std::string_view, std::string_view text) override {
    std::string visible = visible_text(text);
    if (is_blank(visible)) return;
    s.tail.push_back(std::move(visible));
    if (s.tail.size() > kTailLines) s.tail.pop_front();
  }

  // The terminal's columns and rows, asked each frame as the terminal may be resized; 80 columns
  // and 0 rows (no limit) when it cannot say.
  std::pair<int, int> size() const {
    struct winsize ws {};
    bool known = ::ioctl(fileno(out_), TIOCGWINSZ, &ws) == 0;
    int width = width_ > 0 ? width_ : known && ws.ws_col > 0 ? ws.ws_col : kDefaultWidth;
    int height = height_ > 0 ? height_ : known ? ws.ws_row : 0;
    return {width, height};
  }

  std::string paint(std::string line, const char* color) const {
    return color_ ? fmt::format("\x1b[{}m{}\x1b[0m", color, line) : line;
  }

  // The lines a started step adds to a frame; the first `head` are its own and its status.
  struct Group {
    bool ended;
    size_t head;
    std::vector<std::string> lines;
  };

  // The lines of one started step: its own, its latest status, and while it runs the last lines
  // of its output. A line is at most cols columns.
  Group step_lines(const Step& s, double now, size_t cols) const {
    double seconds = (s.ended() ? s.ended_at : now) - s.started_at;
    std::string timer = fmt::format(" {:3.1f}s", seconds < 0.05 ? 0.0 : seconds);
    std::string name = visible_text(s.name);
    if (s.state == State::kCached) name = "CACHED " + name;
    if (s.failed()) name = "ERROR " + name;
    // Like BuildKit, keep two spaces before the time.
    std::string head = " => " + fit(name, cols > timer.size() + 5 ? cols - timer.size() - 5 : 0);
    const char* color = s.failed() ? "31" : s.ended() ? "34" : nullptr;
    auto colored = [&](std::string line) { return color ? paint(line, color) : line; };
    Group group{.ended = s.ended(), .head = 1, .lines = {colored(align(head, timer, cols))}};
    if (!s.status.empty()) {
      group.lines.push_back(colored(fit(" => => " + visible_text(s.status), cols)));
      group.head++;
    }
    if (!s.running()) return group;
    std::vector<std::string> tail(s.tail.begin(), s.tail.end());
    if (std::string partial = visible_text(s.line); !is_blank(partial)) tail.push_back(partial);
    size_t skip = tail.size() > kTailLines ? tail.size() - kTailLines : 0;
    for (size_t i = skip; i < tail.size(); ++i) {
      group.lines.push_back(paint(fit(" => => # " + tail[i], cols), "2"));
    }
    return group;
  }

  // Cuts a frame's groups to at most limit lines, dropping what matters least first, like
  // BuildKit: steps that ended (the oldest first), then the oldest lines of output tails, then
  // the oldest steps.
  static void fit_height(std::vector<Group>& groups, size_t limit) {
    auto total = [&] {
      size_t sum = 0;
      for (const Group& g : groups) sum += g.lines.size();
      return sum;
    };
    for (auto it = groups.begin(); total() > limit && it != groups.end();) {
      it = it->ended ? groups.erase(it) : it + 1;
    }
    for (Group& g : groups) {
      size_t excess = total() > limit ? total() - limit : 0;
      auto tail = g.lines.begin() + static_cast<std::ptrdiff_t>(g.head);
      g.lines.erase(tail,
                    tail + static_cast<std::ptrdiff_t>(std::min(excess, g.lines.size() - g.head)));
    }
    while (total() > limit && !groups.empty()) groups.erase(groups.begin());
  }

  // Draws the view over the last one. The final view shows every step, however tall.
  void draw(bool final) {
    auto [width, rows] = size();
    size_t cols = width > 1 ? width - 1 : 1;  // the last column would wrap on some terminals
    double now = now_();
    int total = static_cast<int>(steps_.size());
    int ended = static_cast<int>(
        std::count_if(steps_.begin(), steps_.end(), [](const Step& s) { return s.ended(); }));
    std::string header = fmt::format("[+] Building {:.1f}s ({}/{})", now - began_, ended, total);
    if (final && ended > 0 && ended == total) header += " FINISHED";

    std::vector<Group> groups;
    for (const Step& s : steps_) {
      if (s.state != State::kDeclared) groups.push_back(step_lines(s, now, cols));
    }
    if (!final && rows > 2) fit_height(groups, static_cast<size_t>(rows - 2));

    std::string frame;
    if (drawn_lines_ > 0) frame += fmt::format("\x1b[{}A\r", drawn_lines_);
    frame += "\x1b[?25l";
    frame += fit(header, cols) + "\x1b[K\n";
    drawn_lines_ = 1;
    for (const Group& g : groups) {
      for (const std::string& line : g.lines) frame += line + "\x1b[K\n";
      drawn_lines_ += g.lines.size();
    }
    frame += "\x1b[J\x1b[?25h";  // clear what a taller last frame left below
    fwrite(frame.data(), 1, frame.size(), out_);
    fflush(out_);
  }

  const int width_;   // columns, 0 to ask the terminal
  const int height_;  // rows, 0 to ask the terminal
  const bool color_;
  size_t drawn_lines_ = 0;  // lines of the last frame, the cursor is on the line below them
  bool stop_ = false;
  std::condition_variable wake_;
  std::thread ticker_;
};

// The view for -q: steps are still numbered, nothing is printed.
class QuietView final : public Progress {
 public:
  int add(std::string) override {
    std::lock_guard lock(mutex_);
    return ++steps_;
  }
  void start(int) override {}
  void status(int, std::string_view) override {}
  void output(int, std::string_view) override {}
  void cached(int) override {}
  void done(int) override {}
  void error(int, std::string_view) override {}
  void finish() override {}

 private:
  std::mutex mutex_;
  int steps_ = 0;
};

bool is_terminal(FILE* out) {
  const char* term = std::getenv("TERM");
  int fd = fileno(out);
  return fd >= 0 && ::isatty(fd) && !(term != nullptr && std::string_view(term) == "dumb");
}

}  // namespace

namespace testing {

std::unique_ptr<Progress> make_progress(ProgressMode mode, FILE* out, Clock now, int width,
                                        int height, int redraw_ms) {
  if (mode == ProgressMode::kAuto)
    mode = is_terminal(out) ? ProgressMode::kTty : ProgressMode::kPlain;
  switch (mode) {
    case ProgressMode::kTty:
      return std::make_unique<TtyView>(out, std::move(now), width, height, redraw_ms);
    case ProgressMode::kQuiet:
      return std::make_unique<QuietView>();
    case ProgressMode::kAuto:
    case ProgressMode::kPlain:
      break;
  }
  return std::make_unique<PlainView>(out, std::move(now));
}

}  // namespace testing

std::unique_ptr<Progress> make_progress(ProgressMode mode, FILE* out) {
  return testing::make_progress(mode, out, steady_seconds, 0, 0, kRedrawMs);
}

}  // namespace bonsai::build
