#pragma once
#include <nlohmann/json.hpp>

#include "reckon/core/dataset.hpp"

namespace reckon::cli {

// What `reckon info` shows: counts, density, values, time range, history lengths, features.
nlohmann::json dataset_summary(const Dataset& d);
void print_summary(const nlohmann::json& summary);

}  // namespace reckon::cli
