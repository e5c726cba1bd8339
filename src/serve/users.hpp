#pragma once
// Stored user records (PUT /users/{id}): a JSON object whose "features" (name: value, in the
// training data's columns and labels: {"age": 25, "gender": "F", "occupation": "writer"}) reach
// the model or the demographic fallback when the model does not know the user (cold start).
// Other fields ("labels", "comment", anything) are kept and returned as they are.
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "reckon/core/feature_table.hpp"

namespace reckon::detail {

// The values of a "features" object as stranger_features() takes them: strings as they are,
// numbers as written. Anything else is an InvalidInput naming the feature.
std::map<std::string, std::string> feature_values(const nlohmann::json& features);

// The stored record's features as a one-row table in the training users' columns, or nullptr
// when it has none or they no longer fit the served model's data (a model trained since on
// other columns: the record stays, the features are ignored until they fit again).
std::shared_ptr<const FeatureTable> stored_user_features(const FeatureTable& training_users,
                                                         std::string_view record_json);

}  // namespace reckon::detail
