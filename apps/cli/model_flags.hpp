#pragma once
// -p flags: "model.key=value" (or "key=value" when only one model is named).
#include <map>
#include <string>
#include <vector>

namespace reckon::cli {

using ModelParams = std::map<std::string, std::map<std::string, std::string>>;
ModelParams parse_model_params(const std::vector<std::string>& assignments,
                               const std::vector<std::string>& models);
std::vector<std::string> split_list(const std::string& text);

}  // namespace reckon::cli
