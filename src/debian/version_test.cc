#include "debian/version.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>

namespace bonsai::debian {
namespace {

Version parsed(std::string_view text) {
  auto v = parse_version(text);
  EXPECT_TRUE(v) << text << ": " << v.error().message();
  return v ? *v : Version{};
}

std::string parse_error(std::string_view text) {
  auto v = parse_version(text);
  EXPECT_FALSE(v) << "\"" << text << "\" parsed as " << (v ? v->to_string() : "");
  return v ? "" : v.error().message();
}

TEST(DebianVersion, SplitsEpochUpstreamAndRevision) {
  Version v = parsed("1:2.36-9+deb12u4");
  EXPECT_EQ(v.epoch, 1u);
  EXPECT_EQ(v.upstream, "2.36");
  EXPECT_EQ(v.revision, "9+deb12u4");

  v = parsed("2.36");
  EXPECT_EQ(v.epoch, 0u);
  EXPECT_EQ(v.upstream, "2.36");
  EXPECT_EQ(v.revision, "");
}

TEST(DebianVersion, HyphensAndColonsBelongToUpstreamWhenSplitAllowsIt) {
  Version v = parsed("1:2:3-4-5");
  EXPECT_EQ(v.epoch, 1u);
  EXPECT_EQ(v.upstream, "2:3-4");
  EXPECT_EQ(v.revision, "5");
}

TEST(DebianVersion, TrimsBlanksAndReadsLeadingZeroEpochs) {
  Version v = parsed(" \t01:1.0-1 ");
  EXPECT_EQ(v.epoch, 1u);
  EXPECT_EQ(v.to_string(), "1:1.0-1");
  EXPECT_EQ(parsed("0:1.0").to_string(), "1.0");
  EXPECT_EQ(parsed("2147483647:1").epoch, 2147483647u);
}

TEST(DebianVersion, AcceptsUpstreamNotStartingWithDigitAsDpkgDoes) {
  EXPECT_EQ(parsed("a1.0").upstream, "a1.0");
  EXPECT_EQ(parsed("~rc1").upstream, "~rc1");
}

TEST(DebianVersion, RejectsMalformedVersionsWithReasons) {
  EXPECT_EQ(parse_error(""), "version \"\": empty");
  EXPECT_EQ(parse_error("  "), "version \"  \": empty");
  EXPECT_EQ(parse_error("1.0 2"), "version \"1.0 2\": blank at position 4");
  EXPECT_EQ(parse_error(" 1.0\t2 "), "version \" 1.0\t2 \": blank at position 5");
  EXPECT_EQ(parse_error(":1"), "version \":1\": empty epoch before ':'");
  EXPECT_EQ(parse_error("a:1"), "version \"a:1\": epoch is not a number");
  EXPECT_EQ(parse_error("+1:1"), "version \"+1:1\": epoch is not a number");
  EXPECT_EQ(parse_error("2147483648:1"), "version \"2147483648:1\": epoch is too big");
  EXPECT_EQ(parse_error("1:"), "version \"1:\": nothing after the epoch");
  EXPECT_EQ(parse_error("1.0-"), "version \"1.0-\": empty revision after '-'");
  EXPECT_EQ(parse_error("-1"), "version \"-1\": empty upstream version");
  EXPECT_EQ(parse_error("1:-1"), "version \"1:-1\": empty upstream version");
  EXPECT_EQ(parse_error("1.0_1"),
            "version \"1.0_1\": character '_' at position 4 in the upstream version");
  EXPECT_EQ(parse_error(" 2:1.0-1:2"),
            "version \" 2:1.0-1:2\": character ':' at position 9 in the revision");
  EXPECT_EQ(parse_error("1\n"), "version \"1\n\": byte 0x0a at position 2 in the upstream version");
}

TEST(DebianVersion, ToStringRoundTrips) {
  for (std::string_view text : {"1", "1.0-1", "3:1.0~rc1+dfsg-2.1~bpo12+1", "1:2:3-4-5", "0:1:2"}) {
    Version v = parsed(text);
    EXPECT_EQ(v.to_string(), text);
    EXPECT_EQ(compare_versions(parsed(v.to_string()), v), 0);
  }
}

// Cases from dpkg's own test suite (lib/dpkg/t/t-version.c) and policy 5.6.12.
TEST(DebianVersion, OrdersLikeDpkg) {
  struct Case {
    const char* a;
    const char* b;
    int want;
  };
  const Case cases[] = {
      {"0", "0", 0},
      {"0", "00", 0},
      {"1.0", "1.00", 0},
      {"0:1", "1", 0},
      {"1.0", "1.0-0", 0},
      {"1.0-0", "1.0-00", 0},
      {"1", "2", -1},
      {"1:0", "0:9", 1},
      {"1.2", "1.10", -1},
      {"1.0~rc1", "1.0", -1},
      {"1.0~~", "1.0~~a", -1},
      {"1.0~~a", "1.0~", -1},
      {"1.0~", "1.0", -1},
      {"1.0", "1.0a", -1},
      {"1.0a", "1.0+", -1},  // letters sort before other characters
      {"1.0+", "1.0.", -1},  // '+' (43) before '.' (46)
      {"1.0", "1.0.0", -1},
      {"1.0a", "1.0A", 1},  // by ASCII: 'A' < 'a'
      {"1.0-1", "1.0-1~bpo1", 1},
      {"2.36-9+deb12u4", "2.36-9+deb12u10", -1},
      {"1:2.36-9", "2.37", 1},
      {"a", "b", -1},
      {"1.0-1", "1.0-1.1", -1},
      {"001", "1", 0},
      {"1.002", "1.2", 0},
      {"1.0-2", "1.0-10", -1},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(compare_versions(parsed(c.a), parsed(c.b)), c.want) << c.a << " vs " << c.b;
    EXPECT_EQ(compare_versions(parsed(c.b), parsed(c.a)), -c.want) << c.b << " vs " << c.a;
    EXPECT_EQ(compare_versions(std::string_view(c.a), std::string_view(c.b)), c.want);
  }
}

TEST(DebianVersion, TextCompareToleratesMalformedVersions) {
  EXPECT_EQ(compare_versions(std::string_view("1.0_1"), std::string_view("1.0_1")), 0);
  EXPECT_EQ(compare_versions(std::string_view("1.0_1"), std::string_view("1.0_2")), -1);
  EXPECT_EQ(compare_versions(std::string_view("x:1"), std::string_view("1")), 1);
  EXPECT_EQ(compare_versions(std::string_view("1:"), std::string_view("1:1")), -1);
  EXPECT_EQ(compare_versions(std::string_view(""), std::string_view("0")), 0);
}

// ---- Against the real dpkg ----------------------------------------------------------------

bool have_dpkg() { return access("/usr/bin/dpkg", X_OK) == 0; }

struct DpkgQuery {
  std::string a, op, b;
};

// Starts `dpkg --compare-versions a op b` with stdout and stderr sent to `err_path`.
pid_t spawn_dpkg(const DpkgQuery& q, const char* err_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::string a = q.a, op = q.op, b = q.b;
  char prog[] = "dpkg", flag[] = "--compare-versions";
  char* argv[] = {prog, flag, a.data(), op.data(), b.data(), nullptr};
  char lc[] = "LC_ALL=C";  // no locale files to load: dpkg starts faster
  char* envp[] = {lc, nullptr};
  pid_t pid = -1;
  if (posix_spawn(&pid, "/usr/bin/dpkg", &actions, nullptr, argv, envp) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

int run_dpkg(const std::string& a, const char* op, const std::string& b,
             const char* err_path = "/dev/null") {
  pid_t pid = spawn_dpkg({a, op, b}, err_path);
  if (pid < 0) return -1;
  int status = 0;
  waitpid(pid, &status, 0);
  return exit_code(status);
}

std::optional<int> dpkg_compare(const std::string& a, const std::string& b) {
  if (run_dpkg(a, "lt", b) == 0) return -1;
  if (run_dpkg(a, "eq", b) == 0) return 0;
  if (run_dpkg(a, "gt", b) == 0) return 1;
  return std::nullopt;
}

// Random versions shaped like real ones, biased towards the places where orders go wrong:
// leading zeros, tildes, letters against punctuation, empty against zero revisions, epochs.
class VersionGenerator {
 public:
  explicit VersionGenerator(uint32_t seed) : rng_(seed) {}

  std::string version() {
    std::string out;
    if (chance(25)) out += pick({"0:", "1:", "2:", "01:", "00:", "10:"});
    bool revision = chance(55);
    // A few upstream versions that do not start with a digit: dpkg warns and compares anyway.
    out += chance(6) ? pick({"a", "~", "Z", "b2"}) : digits();
    out += part(".+~", 0, 4);
    if (revision && chance(10)) out += "-" + digits() + part(".+~", 0, 2);  // hyphen in upstream
    if (out.find(':') != std::string::npos && chance(10)) out += ":" + digits();
    if (revision) out += "-" + (chance(85) ? digits() : pick({"a", "~", "+b"})) + part(".+~", 0, 3);
    return out;
  }

  // A version near `v`: written differently but equal, or just above or below it.
  std::string mutate(std::string v) {
    switch (uniform(0, 11)) {
      case 0:
        return v + pick({"~", "~rc1", "~~", "~a"});
      case 1:
        return v + pick({"0", ".0", "+b1", "a", "+", "."});
      case 2:
        return v.starts_with("0:") ? v.substr(2)
                                   : (v.find(':') == std::string::npos ? "0:" + v : v);
      case 3:
        return v.find('-') == std::string::npos ? v + pick({"-0", "-00", "-1", "-~"}) : v;
      case 4: {  // add a leading zero to a digit run
        size_t i = static_cast<size_t>(uniform(0, static_cast<int>(v.size()) - 1));
        while (i < v.size() && !isdigit(static_cast<unsigned char>(v[i]))) ++i;
        if (i < v.size() && (i == 0 || !isdigit(static_cast<unsigned char>(v[i - 1])))) {
          v.insert(i, "0");
        }
        return v;
      }
      case 5: {  // bump or lower one digit
        size_t i = static_cast<size_t>(uniform(0, static_cast<int>(v.size()) - 1));
        if (isdigit(static_cast<unsigned char>(v[i])))
          v[i] = static_cast<char>('0' + uniform(0, 9));
        return v;
      }
      case 6: {  // swap one separator or letter for another
        size_t i = static_cast<size_t>(uniform(0, static_cast<int>(v.size()) - 1));
        if (std::string_view(".+~").find(v[i]) != std::string_view::npos ||
            isalpha(static_cast<unsigned char>(v[i]))) {
          v[i] = pick({".", "+", "~", "a", "z", "A"})[0];
        }
        return v;
      }
      case 7:
        return v.size() > 1 ? v.substr(0, v.size() - 1) : v;
      default:
        return version();
    }
  }

 private:
  bool chance(int percent) { return uniform(0, 99) < percent; }
  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  std::string pick(std::initializer_list<const char*> options) {
    return *(options.begin() + uniform(0, static_cast<int>(options.size()) - 1));
  }
  std::string digits() {
    std::string d = chance(15) ? "0" : "";
    int n = uniform(1, 3);
    for (int i = 0; i < n; ++i) d += static_cast<char>('0' + uniform(0, 9));
    return d;
  }
  // `min`..`max` tokens, each a digit run, a letter run or one separator from `seps`.
  std::string part(std::string_view seps, int min, int max) {
    std::string out;
    int n = uniform(min, max);
    for (int i = 0; i < n; ++i) {
      int kind = uniform(0, 2);
      if (kind == 0) {
        out += digits();
      } else if (kind == 1) {
        out += pick({"a", "b", "z", "A", "Z", "rc", "dfsg", "deb", "u", "bpo"});
      } else {
        out += seps[static_cast<size_t>(uniform(0, static_cast<int>(seps.size()) - 1))];
      }
    }
    return out;
  }

  std::mt19937 rng_;
};

// The property test. Versions are generated in near pairs (a random version and a variant of
// it), sorted with compare_versions, and every adjacent pair of the sorted list is checked with
// `dpkg --compare-versions A lt|eq B` — one dpkg run per pair, asking for the relation we expect.
// Both orders are total preorders, so agreeing on the adjacent pairs of the chain means agreeing
// on every pair of the set (about 12.5 million for 5000 versions), at the price of one run per
// pair: dpkg takes ~3 ms to start here, which is what bounds the test's time.
TEST(DebianVersionDpkg, OrderAgreesWithDpkgCompareVersions) {
  if (!have_dpkg()) GTEST_SKIP() << "dpkg not installed";
  size_t pairs = 5000;
  if (const char* env = std::getenv("BONSAI_DPKG_PAIRS")) pairs = std::strtoul(env, nullptr, 10);

  // Step 1: generate pairs+1 valid versions with a fixed seed.
  VersionGenerator gen(20240521);
  std::vector<Version> versions;
  std::vector<std::string> texts;
  auto add = [&](const std::string& text) {
    if (auto v = parse_version(text)) {
      versions.push_back(*v);
      texts.push_back(text);
    }
  };
  while (texts.size() < pairs + 1) {
    std::string a = gen.version();
    add(a);
    add(gen.mutate(a));
  }
  texts.resize(pairs + 1);
  versions.resize(pairs + 1);

  // Step 2: sort with our order and check it is a consistent total preorder on a sample.
  std::vector<size_t> idx(texts.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::stable_sort(idx.begin(), idx.end(), [&](size_t x, size_t y) {
    return compare_versions(versions[x], versions[y]) < 0;
  });
  std::mt19937 rng(7);
  std::uniform_int_distribution<size_t> any(0, idx.size() - 1);
  for (int k = 0; k < 200000; ++k) {
    size_t i = any(rng), j = any(rng);
    if (i > j) std::swap(i, j);
    ASSERT_LE(compare_versions(versions[idx[i]], versions[idx[j]]), 0);
    ASSERT_EQ(compare_versions(versions[idx[i]], versions[idx[j]]),
              -compare_versions(versions[idx[j]], versions[idx[i]]));
  }

  // Step 3: one dpkg run per adjacent pair, asking for the relation we expect. Running two at
  // a time was no faster here: dpkg's start-up (exec, dynamic linking) is the whole cost.
  auto start = std::chrono::steady_clock::now();
  std::vector<DpkgQuery> queries;
  size_t equal = 0;
  for (size_t k = 0; k + 1 < idx.size(); ++k) {
    bool eq = compare_versions(versions[idx[k]], versions[idx[k + 1]]) == 0;
    equal += eq;
    queries.push_back({texts[idx[k]], eq ? "eq" : "lt", texts[idx[k + 1]]});
  }
  size_t mismatches = 0;
  for (size_t k = 0; k < queries.size() && mismatches < 20; ++k) {
    if (run_dpkg(queries[k].a, queries[k].op.c_str(), queries[k].b) == 0) continue;
    auto theirs = dpkg_compare(queries[k].a, queries[k].b);
    ADD_FAILURE() << "\"" << queries[k].a << "\" " << queries[k].op << " \"" << queries[k].b
                  << "\" is false for dpkg, which says "
                  << (theirs ? std::to_string(*theirs) : "error");
    ++mismatches;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  RecordProperty("pairs", static_cast<int>(pairs));
  std::printf("[   INFO   ] %zu adjacent pairs (%zu equal) checked with dpkg in %.1f s\n", pairs,
              equal, seconds);
  EXPECT_GT(equal, pairs / 50) << "the generator should produce differently written equals";
}

// dpkg refuses some malformed versions (exit 2) and only warns about others. We refuse all it
// refuses; of the warnings, we accept a non-digit start and refuse bad characters.
TEST(DebianVersionDpkg, RejectsWhatDpkgRejects) {
  if (!have_dpkg()) GTEST_SKIP() << "dpkg not installed";
  struct Case {
    const char* text;
    enum { kOk, kWarnStart, kWarnChar, kError } dpkg;
  };
  const Case cases[] = {
      {"1.0-1", Case::kOk},         {"1:2:3-4-5", Case::kOk},
      {"2147483647:1", Case::kOk},  {"a1", Case::kWarnStart},
      {"~1", Case::kWarnStart},     {"1.0_1", Case::kWarnChar},
      {"1.0-1_2", Case::kWarnChar}, {"1:1.0-1:2", Case::kWarnChar},
      {"1.0-1:2", Case::kError},  // the first ':' starts no epoch
      {":1", Case::kError},         {"1:", Case::kError},
      {"a:1", Case::kError},        {"1.0-", Case::kError},
      {"1:-1", Case::kError},       {"2147483648:1", Case::kError},
      {"1 2", Case::kError},        {"99999999999999999999:1", Case::kError},
  };
  char err_path[] = "/tmp/bonsai-dpkg-stderr-XXXXXX";
  int fd = mkstemp(err_path);
  ASSERT_GE(fd, 0);
  close(fd);
  for (const auto& c : cases) {
    int rc = run_dpkg(c.text, "eq", c.text, err_path);
    std::ifstream in(err_path);
    std::stringstream err;
    err << in.rdbuf();
    bool warned = err.str().find("warning") != std::string::npos;
    if (c.dpkg == Case::kError) {
      EXPECT_EQ(rc, 2) << c.text << ": " << err.str();
    } else {
      EXPECT_EQ(rc, 0) << c.text << ": " << err.str();
      EXPECT_EQ(warned, c.dpkg != Case::kOk) << c.text << ": " << err.str();
    }
    bool ours = parse_version(c.text).has_value();
    EXPECT_EQ(ours, c.dpkg == Case::kOk || c.dpkg == Case::kWarnStart) << c.text;
  }
  unlink(err_path);
}

}  // namespace
}  // namespace bonsai::debian
