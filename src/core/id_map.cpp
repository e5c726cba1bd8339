#include "reckon/core/id_map.hpp"

#include "reckon/core/error.hpp"

namespace {
// Debian's abseil has its own string_view type.
absl::string_view key(std::string_view s) { return {s.data(), s.size()}; }
}  // namespace

namespace reckon {

IdMap IdMap::from_ids(std::vector<std::string> ids) {
  IdMap map;
  map.index_.reserve(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto [it, inserted] = map.index_.emplace(ids[i], static_cast<index_t>(i));
    RECKON_CHECK(inserted, "duplicate id \"{}\" in id map", ids[i]);
  }
  map.ids_ = std::move(ids);
  return map;
}

index_t IdMap::intern(std::string_view id) {
  if (auto it = index_.find(key(id)); it != index_.end()) return it->second;
  const auto index = static_cast<index_t>(ids_.size());
  ids_.emplace_back(id);
  index_.emplace(ids_.back(), index);
  return index;
}

std::optional<index_t> IdMap::find(std::string_view id) const {
  if (auto it = index_.find(key(id)); it != index_.end()) return it->second;
  return std::nullopt;
}

IdMap IdMap::select(std::span<const index_t> keep) const {
  std::vector<std::string> ids;
  ids.reserve(keep.size());
  for (index_t k : keep) ids.push_back(ids_[static_cast<std::size_t>(k)]);
  return from_ids(std::move(ids));
}

}  // namespace reckon
