// A byte buffer for megabytes of working memory (compression shards, blob writes). Once its
// contents pass kHugeFrom bytes, its memory is mapped with madvise(MADV_HUGEPAGE), so the kernel
// backs it with 2 MiB pages where it can: one page fault per 2 MiB instead of 512. On these VMs
// a 4 KiB fault costs 17-40 us, and the shards of one 23 MB layer took some 11,000 of them, 0.3 s
// of a cold go-hello build (docs/build.md, "Speed"). Below kHugeFrom it uses ordinary pages: a
// huge page is zeroed whole on its first touch (0.15-6 ms here), which a config blob or a
// one-file layer must not pay. Where transparent huge pages are off it behaves like any buffer.
// Bytes that resize() adds are not set (zero when fresh from the kernel); allocation failure
// throws std::bad_alloc.
#pragma once

#include <cstddef>
#include <string_view>

namespace bonsai::util {

class BigBuffer {
 public:
  BigBuffer() = default;
  ~BigBuffer();
  BigBuffer(BigBuffer&& other) noexcept;
  BigBuffer& operator=(BigBuffer&& other) noexcept;
  BigBuffer(const BigBuffer&) = delete;
  BigBuffer& operator=(const BigBuffer&) = delete;

  char* data() { return data_; }
  const char* data() const { return data_; }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }
  std::string_view view() const { return {data_, size_}; }

  // Contents larger than this are moved to huge pages.
  static constexpr size_t kHugeFrom = size_t{256} << 10;

  // Capacity for at least n bytes, keeping the contents. Touches no memory.
  void reserve(size_t n);
  void resize(size_t n);
  void append(std::string_view bytes);
  void clear() { size_ = 0; }

 private:
  void release();
  // Before the contents grow to n bytes: huge pages from kHugeFrom on.
  void prepare(size_t n);
  // Maps `bytes` (whole huge pages) aligned to a huge page, advised as `huge` says.
  static char* map(size_t bytes, bool huge);
  // Replaces the mapping with a fresh one of `capacity` bytes, keeping the contents.
  void remap(size_t capacity, bool huge);

  char* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
  void* mapping_ = nullptr;  // what munmap gets: the aligned region
  size_t mapped_ = 0;
  size_t touched_ = 0;  // the most the contents have held since the mapping was made
  bool huge_ = false;   // the mapping is advised MADV_HUGEPAGE
};

}  // namespace bonsai::util
