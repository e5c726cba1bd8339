#pragma once
// Little-endian binary (de)serialisation into memory, used by dataset (.rkd) and model (.rkm)
// files. Readers check every length against what is left, so a corrupt file is refused, never
// read past its end.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "reckon/core/error.hpp"

namespace reckon {

class BinaryWriter {
 public:
  template <typename T>
  requires std::is_trivially_copyable_v<T>
  void put(const T& value) { buffer_.append(reinterpret_cast<const char*>(&value), sizeof(T)); }
  template <typename T>
  requires std::is_trivially_copyable_v<T>
  void put_vector(const std::vector<T>& values) {
    put<std::uint64_t>(values.size());
    if (!values.empty())
      buffer_.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
  }
  void put_string(std::string_view s) {
    put<std::uint64_t>(s.size());
    buffer_.append(s.data(), s.size());
  }
  void put_strings(const std::vector<std::string>& strings) {
    put<std::uint64_t>(strings.size());
    for (const auto& s : strings) put_string(s);
  }
  const std::string& bytes() const noexcept { return buffer_; }
  std::string take() && { return std::move(buffer_); }

 private:
  std::string buffer_;
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
