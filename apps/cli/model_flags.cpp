#include "model_flags.hpp"

#include <algorithm>

#include "reckon/core/error.hpp"
#include "reckon/io/text.hpp"
#include "reckon/models/params.hpp"

namespace reckon::cli {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string_view> parts;
  split_plain(text, ",", parts);
  std::vector<std::string> out;
  for (auto p : parts)
    if (!trim(p).empty()) out.emplace_back(trim(p));
  return out;
}

ModelParams parse_model_params(const std::vector<std::string>& assignments,
                               const std::vector<std::string>& models) {
  ModelParams out;
  for (const auto& a : assignments) {
    auto [key, value] = parse_param_assignment(a);
    const auto dot = key.find('.');
    std::string model;
    if (dot == std::string::npos) {
      RECKON_CHECK(models.size() == 1,
                   "-p {}: name the model as MODEL.{}=VALUE when evaluating several models", a,
                   key);
      model = models[0];
    } else if (std::find(models.begin(), models.end(), key.substr(0, dot)) != models.end()) {
      model = key.substr(0, dot);
      key = key.substr(dot + 1);
    } else {
      // One model: a dotted key is its own (the ranker's generators: ials.factors=64).
      RECKON_CHECK(models.size() == 1, "-p {}: model \"{}\" is not among the models given", a,
                   key.substr(0, dot));
      model = models[0];
    }
    out[model][key] = value;
  }
  return out;
}

}  // namespace reckon::cli
