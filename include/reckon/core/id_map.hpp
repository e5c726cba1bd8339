#pragma once
// External string id <-> dense index, in order of first appearance.
#include <absl/container/flat_hash_map.h>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "reckon/core/types.hpp"

namespace reckon {

class IdMap {
 public:
  IdMap() = default;
  // Builds from a list of distinct ids; index i is ids[i]. Throws InvalidInput on a duplicate.
  static IdMap from_ids(std::vector<std::string> ids);

  index_t size() const noexcept { return static_cast<index_t>(ids_.size()); }
  bool empty() const noexcept { return ids_.empty(); }

  // Index of `id`, adding it when new.
  index_t intern(std::string_view id);
  std::optional<index_t> find(std::string_view id) const;
  const std::string& id(index_t index) const { return ids_[static_cast<std::size_t>(index)]; }
  const std::vector<std::string>& ids() const noexcept { return ids_; }

  // The map restricted to `keep` (old indexes, in the new order).
  IdMap select(std::span<const index_t> keep) const;

 private:
  std::vector<std::string> ids_;
  // Open addressing (abseil): imports look up every row's ids, so this is the hottest map.
  absl::flat_hash_map<std::string, index_t> index_;
};

}  // namespace reckon
