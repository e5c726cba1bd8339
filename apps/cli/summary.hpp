#pragma once
#include <nlohmann/json.hpp>

#include "reckon/core/dataset.hpp"

namespace reckon::cli {

// What `reckon info` shows: counts, density, values, time range, history lengths, features.
nlohmann::json dataset_summary(const Dataset& d);
void print_summary(const nlohmann::json& summary);
// A ranked list as a table: rank, id, score, title and genres (or tags) when the data has them.
void print_items(const Dataset& d, const std::vector<ScoredItem>& items);

}  // namespace reckon::cli
