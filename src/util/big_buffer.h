// A byte buffer for megabytes of working memory (compression shards). Its memory is mapped
// with madvise(MADV_HUGEPAGE), so the kernel backs it with 2 MiB pages where it can: one page
// fault per 2 MiB instead of 512. On these VMs a fault costs 30-40 us, and the shards of one
// 23 MB layer took some 11,000 of them, 0.3 s of a cold go-hello build (docs/build.md, "Speed").
// Where transparent huge pages are off it behaves like any buffer. Bytes that resize() adds are
// not set (zero when fresh from the kernel); allocation failure throws std::bad_alloc.
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

  // Capacity for at least n bytes, keeping the contents.
  void reserve(size_t n);
  void resize(size_t n);
  void append(std::string_view bytes);
  void clear() { size_ = 0; }

 private:
  void release();

  char* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
  void* mapping_ = nullptr;  // what munmap gets: the aligned region
  size_t mapped_ = 0;
};

}  // namespace bonsai::util
