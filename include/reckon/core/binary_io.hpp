#pragma once
// Little-endian binary (de)serialisation into memory, used by dataset (.rkd) and model (.rkm)
// files. Readers check every length against what is left, so a corrupt file is refused, never
// read past its end.
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "reckon/core/error.hpp"
#include "reckon/core/shared_array.hpp"

namespace reckon {

class BinaryWriter {
 public:
  // Receives the bytes of a streaming writer, in order.
  using Sink = std::function<void(std::string_view)>;

  // Holds the bytes in memory (bytes(), take()).
  BinaryWriter() = default;
  // Hands the bytes to `sink` in pieces of about `chunk` bytes instead of holding them: a
  // 100M-interaction model goes to its file without a second copy of itself in memory. Call
  // flush() at the end.
  explicit BinaryWriter(Sink sink, std::size_t chunk = std::size_t{1} << 20)
      : sink_(std::move(sink)), chunk_(chunk) {}

  template <typename T>
  requires std::is_trivially_copyable_v<T>
  void put(const T& value) { append(reinterpret_cast<const char*>(&value), sizeof(T)); }
  template <typename T>
  requires std::is_trivially_copyable_v<T>
  void put_vector(std::span<const T> values) {
    put<std::uint64_t>(values.size());
    if (!values.empty())
      append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
  }
  template <typename T>
  requires std::is_trivially_copyable_v<T>
  void put_vector(const std::vector<T>& values) { put_vector(std::span<const T>(values)); }
  // The count, zero bytes up to the next multiple of kArrayAlignment from the start of the
  // output, then the elements: a reader whose data starts aligned can view them in place.
  template <typename T>
  requires std::is_trivially_copyable_v<T>
  void put_aligned_vector(std::span<const T> values) {
    static_assert(kArrayAlignment % alignof(T) == 0);
    put<std::uint64_t>(values.size());
    align();
    if (!values.empty())
      append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
  }
  static constexpr std::size_t kArrayAlignment = 8;
  // Zero bytes up to the next multiple of kArrayAlignment from the start of the output.
  void align() {
    static constexpr char kZeros[kArrayAlignment] = {};
    append(kZeros, (kArrayAlignment - size() % kArrayAlignment) % kArrayAlignment);
  }
  void put_string(std::string_view s) {
    put<std::uint64_t>(s.size());
    append(s.data(), s.size());
  }
  void put_strings(const std::vector<std::string>& strings) {
    put<std::uint64_t>(strings.size());
    for (const auto& s : strings) put_string(s);
  }
  // Bytes as they are (no count before them).
  void put_raw(std::string_view s) { append(s.data(), s.size()); }
  // The bytes written so far (in memory only).
  const std::string& bytes() const {
    RECKON_ASSERT(!sink_);
    return buffer_;
  }
  // Bytes written so far, streamed ones included.
  std::size_t size() const noexcept { return flushed_ + buffer_.size(); }
  // Overwrites bytes already written at `pos` (a length known only after what follows it);
  // a streaming writer can only overwrite what it has not handed on yet.
  template <typename T>
  requires std::is_trivially_copyable_v<T>
  void overwrite(std::size_t pos, const T& value) {
    RECKON_ASSERT(pos >= flushed_ && pos - flushed_ <= buffer_.size() &&
                  sizeof(T) <= buffer_.size() - (pos - flushed_));
    std::memcpy(buffer_.data() + (pos - flushed_), &value, sizeof(T));
  }
  // Hands what is held to the sink (streaming writers only).
  void flush() {
    RECKON_ASSERT(sink_);
    if (buffer_.empty()) return;
    sink_(buffer_);
    flushed_ += buffer_.size();
    buffer_.clear();
  }
  std::string take() && {
    RECKON_ASSERT(!sink_);
    return std::move(buffer_);
  }

 private:
  void append(const char* p, std::size_t n) {
    if (sink_ && n >= chunk_) {  // a big array goes straight to the sink, uncopied
      flush();
      sink_(std::string_view(p, n));
      flushed_ += n;
      return;
    }
    buffer_.append(p, n);
    if (sink_ && buffer_.size() >= chunk_) flush();
  }

  std::string buffer_;
  Sink sink_;
  std::size_t chunk_ = 0;
  std::size_t flushed_ = 0;
};

class BinaryReader {
 public:
  // `what` names the source in error messages (e.g. the file path).
  BinaryReader(std::string_view data, std::string what) : data_(data), what_(std::move(what)) {}

  template <typename T>
  requires std::is_trivially_copyable_v<T> T get() {
    need(sizeof(T));
    T value;
    std::memcpy(&value, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }
  template <typename T>
  requires std::is_trivially_copyable_v<T> std::vector<T> get_vector() {
    const auto n = get<std::uint64_t>();
    RECKON_CHECK(n <= (data_.size() - pos_) / sizeof(T), "{}: corrupt: array of {} elements", what_,
                 n);
    std::vector<T> values(n);
    if (n > 0) std::memcpy(values.data(), data_.data() + pos_, n * sizeof(T));
    pos_ += n * sizeof(T);
    return values;
  }
  // An array written by put_aligned_vector. With an `owner` that keeps the data alive, and the
  // elements aligned in memory, the result views them in place; otherwise it holds a copy.
  template <typename T>
  requires std::is_trivially_copyable_v<T> SharedArray<T> get_aligned_vector(
      const std::shared_ptr<const void>& owner) {
    const auto n = get<std::uint64_t>();
    skip_alignment();
    RECKON_CHECK(n <= (data_.size() - pos_) / sizeof(T), "{}: corrupt: array of {} elements", what_,
                 n);
    const char* p = data_.data() + pos_;
    pos_ += n * sizeof(T);
    if (owner && reinterpret_cast<std::uintptr_t>(p) % alignof(T) == 0)
      return SharedArray<T>(std::span<const T>(reinterpret_cast<const T*>(p), n), owner);
    std::vector<T> values(n);
    if (n > 0) std::memcpy(values.data(), p, n * sizeof(T));
    return SharedArray<T>(std::move(values));
  }
  // The zero bytes BinaryWriter::align() wrote (anything else is refused).
  void skip_alignment() {
    const std::size_t pad = (BinaryWriter::kArrayAlignment - pos_ % BinaryWriter::kArrayAlignment) %
                            BinaryWriter::kArrayAlignment;
    need(pad);
    for (std::size_t k = 0; k < pad; ++k)
      RECKON_CHECK(data_[pos_ + k] == '\0', "{}: corrupt: padding before an array", what_);
    pos_ += pad;
  }
  // The next `n` bytes as a view into the data (valid while the data lives).
  std::string_view get_bytes(std::uint64_t n) {
    need(n);
    const std::string_view s = data_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  std::string get_string() {
    const auto n = get<std::uint64_t>();
    need(n);
    std::string s(data_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  std::vector<std::string> get_strings() {
    const auto n = get<std::uint64_t>();
    // Each string takes at least its 8-byte length.
    RECKON_CHECK(n <= (data_.size() - pos_) / 8, "{}: corrupt: list of {} strings", what_, n);
    std::vector<std::string> out;
    out.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i) out.push_back(get_string());
    return out;
  }
  bool at_end() const noexcept { return pos_ == data_.size(); }
  const std::string& what() const noexcept { return what_; }

 private:
  void need(std::uint64_t n) const {
    RECKON_CHECK(n <= data_.size() - pos_, "{}: corrupt or truncated (needs {} more bytes at {})",
                 what_, n, pos_);
  }
  std::string_view data_;
  std::size_t pos_ = 0;
  std::string what_;
};

}  // namespace reckon
