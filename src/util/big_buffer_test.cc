#include "util/big_buffer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

namespace bonsai::util {
namespace {

TEST(BigBuffer, AppendsAndGrowsKeepingTheContents) {
  BigBuffer b;
  EXPECT_TRUE(b.empty());
  std::string expect;
  for (int i = 0; i < 3000; ++i) {
    std::string chunk(1000 + i, static_cast<char>('a' + i % 26));
    b.append(chunk);
    expect += chunk;
  }
  ASSERT_EQ(b.size(), expect.size());
  EXPECT_TRUE(b.view() == expect);  // not EXPECT_EQ: a failure would print megabytes
  EXPECT_GE(b.capacity(), b.size());
}

TEST(BigBuffer, CapacityIsWholeAlignedHugePages) {
  BigBuffer b;
  b.reserve(1);
  EXPECT_EQ(b.capacity(), size_t{2} << 20);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % (size_t{2} << 20), 0u);
  b.resize(5 << 20);
  EXPECT_EQ(b.size(), size_t{5} << 20);
  EXPECT_EQ(b.capacity() % (size_t{2} << 20), 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % (size_t{2} << 20), 0u);
}

TEST(BigBuffer, ClearKeepsTheMemoryForReuse) {
  BigBuffer b;
  b.append("hello");
  const char* p = b.data();
  b.clear();
  EXPECT_TRUE(b.empty());
  b.append("again");
  EXPECT_EQ(b.data(), p);
  EXPECT_EQ(b.view(), "again");
}

TEST(BigBuffer, MovesOwnership) {
  BigBuffer a;
  a.append("moved");
  BigBuffer b(std::move(a));
  EXPECT_EQ(b.view(), "moved");
  EXPECT_EQ(a.data(), nullptr);  // NOLINT(bugprone-use-after-move): moved-from state is defined
  BigBuffer c;
  c.append("old");
  c = std::move(b);
  EXPECT_EQ(c.view(), "moved");
}

bool huge_pages_on_request() {
  std::ifstream mode("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string setting((std::istreambuf_iterator<char>(mode)), std::istreambuf_iterator<char>());
  return !setting.empty() && setting.find("[never]") == std::string::npos;
}

// The AnonHugePages of the mapping that holds the buffer, from /proc/self/smaps.
uint64_t huge_kb(const BigBuffer& b) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  const auto start = reinterpret_cast<uintptr_t>(b.data());
  bool in_mapping = false;
  uint64_t kb = 0;
  while (std::getline(smaps, line)) {
    uintptr_t lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2 && line.find(':') > line.find(' ')) {
      in_mapping = lo <= start && start < hi;
      continue;
    }
    if (in_mapping && line.rfind("AnonHugePages:", 0) == 0)
      kb = std::stoull(line.substr(line.find(':') + 1));
  }
  return kb;
}

void touch(BigBuffer& b) {
  for (size_t i = 0; i < b.size(); i += 4096) b.data()[i] = 1;
}

// Where the kernel offers transparent huge pages on request, a touched buffer is backed by
// them (AnonHugePages in the mapping's smaps entry).
TEST(BigBuffer, TouchedMemoryIsBackedByHugePagesWhereTheKernelOffersThem) {
  if (!huge_pages_on_request()) GTEST_SKIP() << "transparent huge pages are off";
  BigBuffer b;
  b.resize(4 << 20);
  touch(b);
  EXPECT_GE(huge_kb(b), 2048u);
}

// A small buffer stays on ordinary pages however much it reserves: a huge page is zeroed whole
// on its first touch, which a blob of a few bytes must not pay.
TEST(BigBuffer, SmallContentsStayOnOrdinaryPages) {
  if (!huge_pages_on_request()) GTEST_SKIP() << "transparent huge pages are off";
  BigBuffer b;
  b.reserve(8 << 20);
  b.append(std::string(BigBuffer::kHugeFrom, 'x'));
  touch(b);
  EXPECT_EQ(huge_kb(b), 0u);
}

// Growing past kHugeFrom by appends moves the contents to huge pages, intact.
TEST(BigBuffer, GrowingPastTheThresholdMovesToHugePagesKeepingTheContents) {
  if (!huge_pages_on_request()) GTEST_SKIP() << "transparent huge pages are off";
  BigBuffer b;
  b.reserve(4 << 20);
  std::string expect;
  for (int i = 0; expect.size() < (size_t{4} << 20) - 8192; ++i) {
    std::string chunk(4000, static_cast<char>('a' + i % 26));
    b.append(chunk);
    expect += chunk;
  }
  EXPECT_TRUE(b.view() == expect);
  EXPECT_GE(huge_kb(b), 2048u);
}

}  // namespace
}  // namespace bonsai::util
