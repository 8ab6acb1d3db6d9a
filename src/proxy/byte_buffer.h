// ByteBuffer: one direction's bytes of a session, read from one socket and written to the
// other from the same memory (no copy in between). Bounded: when it is full the reader stops,
// which is how back-pressure reaches the sending peer.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace pgshift::proxy {

class ByteBuffer {
 public:
  explicit ByteBuffer(size_t capacity) : data_(new char[capacity]), capacity_(capacity) {}

  const char* data() const { return data_.get() + begin_; }
  size_t size() const { return end_ - begin_; }
  size_t capacity() const { return capacity_; }
  bool full() const { return size() == capacity_; }

  // Writable tail, moving unread bytes to the front first when the tail is short.
  char* Space() {
    if (begin_ > 0 && capacity_ - end_ < capacity_ / 4) Compact();
    return data_.get() + end_;
  }
  size_t SpaceSize() const { return capacity_ - end_; }  // after Space()
  void Commit(size_t n) { end_ += n; }
  void Consume(size_t n) {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }
  // Adds bytes the proxy composed (rare: errors, replies); false if they do not fit.
  bool Append(std::string_view bytes) {
    if (capacity_ - size() < bytes.size()) return false;
    if (capacity_ - end_ < bytes.size()) Compact();
    std::memcpy(data_.get() + end_, bytes.data(), bytes.size());
    end_ += bytes.size();
    return true;
  }
  void Clear() { begin_ = end_ = 0; }
  // Keeps the first n bytes, forgets the rest.
  void Truncate(size_t n) {
    if (n < size()) end_ = begin_ + n;
  }

 private:
  void Compact() {
    std::memmove(data_.get(), data_.get() + begin_, size());
    end_ -= begin_;
    begin_ = 0;
  }
  std::unique_ptr<char[]> data_;
  size_t capacity_;
  size_t begin_ = 0, end_ = 0;
};

}  // namespace pgshift::proxy
