#pragma once
// An immutable array whose elements live either in a buffer it shares with its copies, or in
// memory another owner keeps alive (a memory-mapped .rkd file read in place). Copies share
// instead of copying: a CsrMatrix and its reweighted or resized copies hold one structure, and a
// dataset read from a file keeps its interactions in the file's pages (shared by every process
// on the host that maps the same file) rather than in a private copy.
#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <span>
#include <vector>

namespace reckon {

template <typename T>
class SharedArray {
 public:
  SharedArray() = default;
  // Takes the elements over (implicit, so that builders can hand a vector to a constructor).
  SharedArray(std::vector<T> values) {  // NOLINT(google-explicit-constructor)
    auto owned = std::make_shared<const std::vector<T>>(std::move(values));
    data_ = owned->data();
    size_ = owned->size();
    owner_ = std::move(owned);
  }
  SharedArray(std::initializer_list<T> values) : SharedArray(std::vector<T>(values)) {}
  // Views `view`, which stays valid while `owner` lives.
  SharedArray(std::span<const T> view, std::shared_ptr<const void> owner)
      : owner_(std::move(owner)), data_(view.data()), size_(view.size()) {}

  const T* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  const T& operator[](std::size_t k) const noexcept { return data_[k]; }
  const T* begin() const noexcept { return data_; }
  const T* end() const noexcept { return data_ + size_; }
  const T& front() const noexcept { return data_[0]; }
  const T& back() const noexcept { return data_[size_ - 1]; }
  std::span<const T> span() const noexcept { return {data_, size_}; }
  operator std::span<const T>() const noexcept { return span(); }  // NOLINT
  std::vector<T> to_vector() const { return std::vector<T>(begin(), end()); }

  bool operator==(const SharedArray& o) const {
    return std::equal(begin(), end(), o.begin(), o.end());
  }

 private:
  std::shared_ptr<const void> owner_;
  const T* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace reckon
