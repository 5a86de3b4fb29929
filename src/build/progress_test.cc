// The progress views on a memory stream with a fake clock: plain records byte for byte as
// BuildKit's printer writes them; the tty view through a small terminal emulator, so the tests
// check what a user would see rather than the escape sequences that draw it.
#include "build/progress.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace bonsai::build {

namespace testing {
// Defined in progress.cc: make_progress with a replaceable clock and terminal size.
std::unique_ptr<Progress> make_progress(ProgressMode mode, FILE* out, std::function<double()> now,
                                        int width, int height, int redraw_ms);
}  // namespace testing

namespace {

// A FILE* writing to memory.
class MemoryOut {
 public:
  MemoryOut() : file_(open_memstream(&data_, &size_)) {}
  ~MemoryOut() {
    fclose(file_);
    free(data_);
  }
  FILE* file() { return file_; }
  std::string text() {
    fflush(file_);
    return std::string(data_, size_);
  }

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
  FILE* file_;
};

// A terminal screen fed the bytes of the tty view: the cursor moves, erases and line feeds the
// view uses, colors and cursor visibility ignored. Columns are bytes (tests use ASCII).
class Screen {
 public:
  explicit Screen(std::string_view bytes) {
    for (size_t i = 0; i < bytes.size(); ++i) {
      char c = bytes[i];
      if (c == '\x1b') {
        i = escape(bytes, i);
      } else if (c == '\r') {
        col_ = 0;
      } else if (c == '\n') {
        ++row_;
        col_ = 0;
      } else {
        put(c);
      }
    }
    while (!rows_.empty() && rows_.back().empty()) rows_.pop_back();
  }

  const std::vector<std::string>& rows() const { return rows_; }

 private:
  // Applies the CSI sequence at bytes[i]; returns the index of its last byte.
  size_t escape(std::string_view bytes, size_t i) {
    EXPECT_EQ(bytes.substr(i + 1, 1), "[") << "only CSI sequences are expected";
    size_t end = bytes.find_first_of("ABCDHJKGhlm", i + 2);
    EXPECT_NE(end, std::string_view::npos);
    std::string params(bytes.substr(i + 2, end - i - 2));
    size_t n = params.empty() ? 1 : std::strtoul(params.c_str(), nullptr, 10);
    std::string& line = row(row_);
    switch (bytes[end]) {
      case 'A':
        row_ -= std::min(n, row_);
        break;
      case 'K':
        line.resize(std::min(line.size(), col_));
        break;
      case 'J':
        line.resize(std::min(line.size(), col_));
        rows_.resize(row_ + 1);
        break;
      case 'm':
      case 'h':
      case 'l':
        break;
      default:
        ADD_FAILURE() << "unexpected escape sequence ending in " << bytes[end];
    }
    return end;
  }

  std::string& row(size_t r) {
    if (rows_.size() <= r) rows_.resize(r + 1);
    return rows_[r];
  }

  void put(char c) {
    std::string& line = row(row_);
    if (line.size() < col_) line.resize(col_, ' ');
    if (col_ < line.size()) {
      line[col_] = c;
    } else {
      line += c;
    }
    ++col_;
  }

  std::vector<std::string> rows_;
  size_t row_ = 0;
  size_t col_ = 0;
};

class ProgressTest : public ::testing::Test {
 protected:
  // A view on out_ whose clock reads now_. No redraw thread: the tty view draws on state changes.
  std::unique_ptr<Progress> make(ProgressMode mode, int width = 60, int height = 0) {
    return testing::make_progress(
        mode, out_.file(), [this] { return now_; }, width, height, 0);
  }

  std::vector<std::string> screen() { return Screen(out_.text()).rows(); }

  MemoryOut out_;
  double now_ = 100;  // the clock's zero is arbitrary
};

TEST_F(ProgressTest, PlainCachedStepIsNameThenCached) {
  auto progress = make(ProgressMode::kPlain);
  int from = progress->add("[build 1/2] FROM docker.io/library/alpine:3.19");
  int workdir = progress->add("[build 2/2] WORKDIR /app");
  EXPECT_EQ(from, 1);
  EXPECT_EQ(workdir, 2);
  progress->cached(from);
  progress->cached(workdir);
  progress->finish();
  EXPECT_EQ(out_.text(),
            "#1 [build 1/2] FROM docker.io/library/alpine:3.19\n"
            "#1 CACHED\n"
            "\n"
            "#2 [build 2/2] WORKDIR /app\n"
            "#2 CACHED\n");
}

TEST_F(ProgressTest, PlainJoinsOutputChunksSplitMidLine) {
  auto progress = make(ProgressMode::kPlain);
  int run = progress->add("[build 4/4] RUN go build -o app");
  progress->start(run);
  now_ += 0.5;
  progress->output(run, "go: down");
  EXPECT_EQ(out_.text(), "#1 [build 4/4] RUN go build -o app\n") << "a partial line waits";
  now_ += 0.25;
  progress->output(run, "loading example.com/x v1.0\nbuil");
  now_ += 0.25;
  progress->output(run, "ding\n\nlast line without newline");
  now_ += 0.26;
  progress->done(run);
  progress->finish();
  EXPECT_EQ(out_.text(),
            "#1 [build 4/4] RUN go build -o app\n"
            "#1 0.500 go: downloading example.com/x v1.0\n"
            "#1 0.750 building\n"
            "#1 1.000 \n"
            "#1 1.000 last line without newline\n"
            "#1 DONE 1.3s\n");
}

TEST_F(ProgressTest, PlainStampsHaveFewerDecimalsAsTimeGrows) {
  auto progress = make(ProgressMode::kPlain);
  int run = progress->add("[build 1/1] RUN make");
  progress->start(run);
  now_ += 12.3456;
  progress->output(run, "a\n");
  now_ += 100;
  progress->output(run, "b\n");
  progress->done(run);
  EXPECT_EQ(out_.text(),
            "#1 [build 1/1] RUN make\n"
            "#1 12.35 a\n"
            "#1 112.3 b\n"
            "#1 DONE 112.3s\n");
}

TEST_F(ProgressTest, PlainStatusLinesFollowTheStepName) {
  auto progress = make(ProgressMode::kPlain);
  int context = progress->add("[internal] load build context");
  progress->status(context, "transferring context: 2.1kB");
  progress->status(context, "transferring context: 4.0kB done");
  progress->done(context);
  EXPECT_EQ(out_.text(),
            "#1 [internal] load build context\n"
            "#1 transferring context: 2.1kB\n"
            "#1 transferring context: 4.0kB done\n"
            "#1 DONE 0.0s\n");
}

TEST_F(ProgressTest, PlainErrorGivesReasonAndASummaryWithTheLastLines) {
  auto progress = make(ProgressMode::kPlain);
  int run = progress->add("[build 2/2] RUN make test");
  progress->start(run);
  for (int i = 1; i <= 12; ++i) {
    now_ += 0.125;
    progress->output(run, "line " + std::to_string(i) + "\n");
  }
  now_ += 0.125;
  progress->output(run, "FAIL");
  progress->error(run,
                  "process \"/bin/sh -c make test\" did not complete successfully: exit code: 2");
  progress->output(run, "ignored: the step has ended\n");
  progress->finish();
  std::string text = out_.text();
  EXPECT_TRUE(
      text.starts_with("#1 [build 2/2] RUN make test\n"
                       "#1 0.125 line 1\n"))
      << text;
  EXPECT_TRUE(
      text.ends_with("#1 1.500 line 12\n"
                     "#1 1.625 FAIL\n"
                     "#1 ERROR: process \"/bin/sh -c make test\" did not complete "
                     "successfully: exit code: 2\n"
                     "------\n"
                     " > [build 2/2] RUN make test:\n"
                     "0.500 line 4\n"
                     "0.625 line 5\n"
                     "0.750 line 6\n"
                     "0.875 line 7\n"
                     "1.000 line 8\n"
                     "1.125 line 9\n"
                     "1.250 line 10\n"
                     "1.375 line 11\n"
                     "1.500 line 12\n"
                     "1.625 FAIL\n"
                     "------\n"))
      << text;
  EXPECT_EQ(text.find("ignored"), std::string::npos);
}

TEST_F(ProgressTest, PlainInterleavedStepsKeepLinesWholeAndMarkSwitches) {
  auto progress = make(ProgressMode::kPlain);
  int a = progress->add("[a 1/1] RUN one");
  int b = progress->add("[b 1/1] RUN two");
  progress->start(a);
  progress->start(b);
  now_ += 0.25;
  progress->output(a, "a-par");
  now_ += 0.25;
  progress->output(b, "b-line\n");
  now_ += 0.25;
  progress->output(a, "tial\n");
  now_ += 0.25;
  progress->done(b);
  now_ += 0.5;
  progress->done(a);
  progress->finish();
  EXPECT_EQ(out_.text(),
            "#1 [a 1/1] RUN one\n"
            "#1 ...\n"
            "\n"
            "#2 [b 1/1] RUN two\n"
            "#2 0.500 b-line\n"
            "#2 ...\n"
            "\n"
            "#1 [a 1/1] RUN one\n"
            "#1 0.250 a-partial\n"
            "#1 ...\n"
            "\n"
            "#2 [b 1/1] RUN two\n"
            "#2 DONE 1.0s\n"
            "\n"
            "#1 [a 1/1] RUN one\n"
            "#1 DONE 1.5s\n");
}

TEST_F(ProgressTest, PlainFinishFlushesAPartialLineOfAStepStillRunning) {
  auto progress = make(ProgressMode::kPlain);
  int run = progress->add("[build 1/1] RUN sleep 1000");
  progress->start(run);
  progress->output(run, "waiting");
  progress->finish();
  progress->done(run);
  EXPECT_EQ(out_.text(),
            "#1 [build 1/1] RUN sleep 1000\n"
            "#1 0.000 waiting\n");
}

// Threads writing their own step's output in chunks that split lines never split a printed line.
TEST_F(ProgressTest, PlainParallelStepsNeverSplitALine) {
  auto progress = make(ProgressMode::kPlain);
  constexpr int kThreads = 4;
  constexpr int kLines = 200;
  std::vector<int> steps;
  for (int t = 0; t < kThreads; ++t) steps.push_back(progress->add("step " + std::to_string(t)));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      progress->start(steps[t]);
      for (int i = 0; i < kLines; ++i) {
        std::string line = "t" + std::to_string(t) + "-line-" + std::to_string(i) + "\n";
        progress->output(steps[t], line.substr(0, 3));
        progress->output(steps[t], line.substr(3));
      }
      progress->done(steps[t]);
    });
  }
  for (std::thread& thread : threads) thread.join();
  progress->finish();

  // Every line is a whole record: a name, "...", DONE, or an output line in order.
  std::string text = out_.text();
  std::vector<int> next_line(kThreads, 0);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    ASSERT_NE(end, std::string::npos);
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty()) continue;
    ASSERT_TRUE(line.size() > 3 && line[0] == '#' && line[2] == ' ') << line;
    int step = line[1] - '0';
    ASSERT_TRUE(step >= 1 && step <= kThreads) << line;
    std::string record = line.substr(3);
    std::string output_prefix = "0.000 t" + std::to_string(step - 1) + "-line-";
    if (record.starts_with(output_prefix)) {
      EXPECT_EQ(record.substr(output_prefix.size()), std::to_string(next_line[step - 1]++));
    } else {
      EXPECT_TRUE(record == "step " + std::to_string(step - 1) || record == "..." ||
                  record == "DONE 0.0s")
          << line;
    }
  }
  EXPECT_EQ(next_line, std::vector<int>(kThreads, kLines));
}

TEST_F(ProgressTest, AutoOnAFileThatIsNoTerminalIsPlain) {
  auto progress = make(ProgressMode::kAuto);
  progress->cached(progress->add("[build 1/1] FROM alpine"));
  progress->finish();
  EXPECT_EQ(out_.text(), "#1 [build 1/1] FROM alpine\n#1 CACHED\n");
}

TEST_F(ProgressTest, QuietPrintsNothing) {
  auto progress = make(ProgressMode::kQuiet);
  int a = progress->add("[build 1/2] FROM alpine");
  int b = progress->add("[build 2/2] RUN false");
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 2);
  progress->cached(a);
  progress->start(b);
  progress->status(b, "status");
  progress->output(b, "output\n");
  progress->error(b, "exit code: 1");
  progress->finish();
  EXPECT_EQ(out_.text(), "");
}

TEST_F(ProgressTest, TtyFinalViewListsEveryStepWithItsTime) {
  auto progress = make(ProgressMode::kTty);
  int load = progress->add("[internal] load build definition from Dockerfile");
  int from = progress->add("[build 1/3] FROM docker.io/library/alpine:3.19");
  int workdir = progress->add("[build 2/3] WORKDIR /app");
  int run = progress->add("[build 3/3] RUN make");
  progress->start(load);
  progress->status(load, "transferring dockerfile: 120B");
  now_ += 0.02;
  progress->done(load);
  now_ += 0.08;
  progress->cached(from);
  progress->cached(workdir);
  now_ += 0.1;
  progress->start(run);
  progress->output(run, "cc -o app main.c\n");
  now_ += 5.3;
  progress->done(run);
  now_ += 0.1;
  progress->finish();
  EXPECT_EQ(screen(), std::vector<std::string>({
                          "[+] Building 5.6s (4/4) FINISHED",
                          " => [internal] load build definition from Dockerfile   0.0s",
                          " => => transferring dockerfile: 120B",
                          " => CACHED [build 1/3] FROM docker.io/library/alpine:  0.0s",
                          " => CACHED [build 2/3] WORKDIR /app                    0.0s",
                          " => [build 3/3] RUN make                               5.3s",
                      }));
}

TEST_F(ProgressTest, TtyRunningStepShowsItsLastSixLinesUntilItEnds) {
  auto progress = make(ProgressMode::kTty);
  int configure = progress->add("[build 1/2] RUN ./configure");
  int make_step = progress->add("[build 2/2] RUN make");
  progress->start(configure);
  for (int i = 1; i <= 8; ++i) progress->output(configure, "line " + std::to_string(i) + "\n\n");
  progress->output(configure, "\x1b[1mfetching\x1b[0m\t10%\rfetching\t50%\r");
  now_ += 2;
  progress->start(make_step);  // a state change draws the view
  EXPECT_EQ(screen(), std::vector<std::string>({
                          "[+] Building 2.0s (0/2)",
                          " => [build 1/2] RUN ./configure                        2.0s",
                          " => => # line 4",
                          " => => # line 5",
                          " => => # line 6",
                          " => => # line 7",
                          " => => # line 8",
                          " => => # fetching 50%",
                          " => [build 2/2] RUN make                               0.0s",
                      }));
  now_ += 1;
  progress->done(configure);
  EXPECT_EQ(screen(), std::vector<std::string>({
                          "[+] Building 3.0s (1/2)",
                          " => [build 1/2] RUN ./configure                        3.0s",
                          " => [build 2/2] RUN make                               1.0s",
                      }));
  progress->error(make_step, "exit code: 2");
  progress->finish();
  EXPECT_EQ(screen(), std::vector<std::string>({
                          "[+] Building 3.0s (2/2) FINISHED",
                          " => [build 1/2] RUN ./configure                        3.0s",
                          " => ERROR [build 2/2] RUN make                         1.0s",
                          "------",
                          " > [build 2/2] RUN make:",
                          "------",
                      }));
}

TEST_F(ProgressTest, TtyFitsLinesToTheTerminalWidth) {
  constexpr int kWidth = 32;
  auto progress = make(ProgressMode::kTty, kWidth);
  int run = progress->add("[build 1/1] RUN apt-get update && apt-get install -y build-essential");
  progress->start(run);
  progress->status(run, "a status line much longer than the terminal is wide");
  progress->output(run, std::string(100, 'x'));
  now_ += 12.5;
  progress->add("[build 2/2] not started: not shown");
  progress->start(progress->add("[build 3/3] RUN true"));
  std::vector<std::string> rows = screen();
  ASSERT_EQ(rows.size(), 5u);
  for (const std::string& row : rows) EXPECT_LE(row.size(), kWidth - 1u) << row;
  EXPECT_EQ(rows[1], " => [build 1/1] RUN apt-  12.5s");
  EXPECT_EQ(rows[3], " => => # " + std::string(kWidth - 10, 'x'));
}

TEST_F(ProgressTest, TtyDropsEndedStepsFirstWhenTheTerminalIsShort) {
  auto progress = make(ProgressMode::kTty, 60, 6);  // room for 4 step lines
  for (int i = 1; i <= 4; ++i) progress->cached(progress->add("cached " + std::to_string(i)));
  int run = progress->add("running");
  progress->start(run);
  progress->output(run, "1\n2\n3\n");
  progress->start(progress->add("running too"));
  std::vector<std::string> rows = screen();
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[1].substr(0, 13), " => running  ");
  EXPECT_EQ(rows[2], " => => # 2");
  EXPECT_EQ(rows[4].substr(0, 15), " => running too");

  progress->finish();  // the final view shows every step, and the tail of one still running
  EXPECT_EQ(screen().size(), 10u);
}

TEST_F(ProgressTest, TtyWithRealClockAndRedrawThreadFinishes) {
  auto progress = make_progress(ProgressMode::kTty, out_.file());
  int step = progress->add("[build 1/1] RUN true");
  progress->start(step);
  progress->output(step, "hello\n");
  progress->done(step);
  progress->finish();
  progress->finish();  // a second finish is harmless
  std::vector<std::string> rows = screen();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(rows[0].starts_with("[+] Building ")) << rows[0];
  EXPECT_TRUE(rows[0].ends_with(" (1/1) FINISHED")) << rows[0];
  EXPECT_TRUE(rows[1].starts_with(" => [build 1/1] RUN true ")) << rows[1];
}

}  // namespace
}  // namespace bonsai::build
