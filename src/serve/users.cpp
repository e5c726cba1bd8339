#include "users.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "reckon/core/error.hpp"
#include "reckon/io/json.hpp"
#include "reckon/io/text.hpp"
#include "reckon/retrieval/fallback.hpp"

namespace reckon::detail {

std::map<std::string, std::string> feature_values(const nlohmann::json& features) {
  if (!features.is_object())
    throw InvalidInput("features must be an object of name: value");
  std::map<std::string, std::string> values;
  for (const auto& [name, v] : features.items()) {
    if (v.is_string())
      values[name] = v.get<std::string>();
    else if (v.is_number())
      values[name] = v.dump();
    else
      throw InvalidInput(
          fmt::format("feature \"{}\" must be a string or a number", excerpt(name)));
  }
  return values;
}

std::shared_ptr<const FeatureTable> stored_user_features(const FeatureTable& training_users,
                                                         std::string_view record_json) {
  // The store is read as untrusted as a request (a file can be edited): depth-bounded parse.
  const auto j = parse_json(record_json);
  if (!j || !j->is_object()) return nullptr;
  const auto f = j->find("features");
  if (f == j->end()) return nullptr;
  try {
    auto table = std::make_shared<FeatureTable>(
        stranger_features(training_users, feature_values(*f)));
    if (table->rows() != 1) return nullptr;
    return table;
  } catch (const InvalidInput& e) {
    spdlog::debug("a stored user's features are ignored: {}", e.what());
    return nullptr;
  }
}

}  // namespace reckon::detail
