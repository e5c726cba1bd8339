#pragma once
// What reckon tune searches: per model, the parameters worth tuning and their ranges (narrower
// than the ranges a parameter accepts), declared here in one table; --space overrides them.
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "reckon/models/params.hpp"

namespace reckon {

struct SearchDim {
  std::string param;
  ParamType type = ParamType::kFloat;  // kInt, kFloat or kString (choices)
  double lo = 0, hi = 0;
  bool log = false;                  // sample log-uniformly (scales, penalties)
  std::vector<std::string> choices;  // kString
};
using SearchSpace = std::vector<SearchDim>;

// The declared space of `model` (empty for models with nothing worth tuning).
SearchSpace default_search_space(std::string_view model);
// The parameter whose value is the training budget (iterations, epochs; empty when none): the
// tuner stops bad trials early by fitting them on a fraction of it first.
std::string budget_param(std::string_view model);

// "factors=16:256:log,alpha=1:100,similarity=cosine|jaccard" over `base` (replacing or adding
// dimensions); every name is checked against the model's parameters and their ranges.
SearchSpace parse_search_space(std::string_view text, std::string_view model, SearchSpace base);
// Checks a space against the model's declared parameters (names, types, ranges).
void validate_search_space(const SearchSpace& space, std::string_view model);

// A dimension's value <-> the unit interval (log-scaled where asked), for the samplers.
double to_unit(const SearchDim& dim, const std::string& value);
std::string from_unit(const SearchDim& dim, double unit);
std::string describe(const SearchSpace& space);

}  // namespace reckon
