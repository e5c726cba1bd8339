#pragma once
// Items stored with PUT /items that the served model was not trained on, placed by their
// features (models that score items by features: hybrid, content), so that a new book with its
// author and tags is recommended and has similar items at once, without retraining. They are
// numbered after the training items: index num_items + k is new item k.
#include <absl/container/flat_hash_map.h>

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "reckon/models/model.hpp"

namespace reckon::detail {

struct NewItems {
  std::vector<std::string> ids;
  std::vector<NewItemVector> vectors;
  absl::flat_hash_map<std::string, std::size_t> index;  // id -> k
  bool empty() const noexcept { return ids.empty(); }
};

// One row per object with the columns of `like` (the training items' columns): numbers for
// numeric columns, strings for labels (an array, or a string with '|', for label lists) and
// text. Fields of other names or types add nothing.
FeatureTable features_from_json(const FeatureTable& like, std::span<const nlohmann::json> objects);

// The new items among `records` (id, metadata JSON) that the model can place: those not in the
// training data whose features it knows something of.
std::shared_ptr<const NewItems> place_new_items(
    const Model& model, const Dataset& train,
    const std::vector<std::pair<std::string, std::string>>& records);

}  // namespace reckon::detail
