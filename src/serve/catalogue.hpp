#pragma once
// The catalogue's rules for answers: an item stored with "hidden": true (or deleted) is never
// recommended, listed as popular or given as similar; with ?category=NAME only the items of
// that category are. An item's categories are its "categories" field (an array, or a string
// with '|'), else "category", else "genres": from its stored edit (PUT/PATCH /items) when it
// has one, else from the training metadata's column of that name. An item's time (/latest) is
// its "timestamp" field, else its first interaction in the training data.
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reckon/core/dataset.hpp"

namespace reckon::detail {

// What the service keeps of a stored item edit.
struct ItemFlags {
  bool hidden = false;   // "hidden": true, or deleted
  bool deleted = false;  // DELETE /items/{id}
  std::vector<std::string> categories;
  // "timestamp" (ISO 8601 or unix seconds) in unix seconds: when the item appeared (/latest).
  std::optional<std::int64_t> time;
};
ItemFlags item_flags(const nlohmann::json& metadata);

// The categories of training item `item` from the training metadata.
std::vector<std::string> training_categories(const Dataset& train, index_t item);

// Sorted training item indexes that an answer must not contain: the hidden ones (by id, with
// their flags), and with a category those not in it. `edited(id)` gives the stored flags of an
// item, or nullptr.
template <typename Edited>
std::vector<index_t> excluded_items(const Dataset& train, std::string_view category,
                                    const Edited& edited) {
  std::vector<index_t> out;
  for (index_t i = 0; i < train.num_items(); ++i) {
    const ItemFlags* f = edited(train.items.id(i));
    if (f && f->hidden) {
      out.push_back(i);
      continue;
    }
    if (category.empty()) continue;
    const std::vector<std::string> own = f ? f->categories : training_categories(train, i);
    bool in = false;
    for (const auto& c : own) in |= c == category;
    if (!in) out.push_back(i);
  }
  return out;
}

}  // namespace reckon::detail
