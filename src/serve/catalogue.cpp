#include "catalogue.hpp"

#include <nlohmann/json.hpp>

#include <cmath>

#include "reckon/io/text.hpp"

namespace reckon::detail {
namespace {

constexpr const char* kCategoryFields[] = {"categories", "category", "genres"};

void add_labels(const nlohmann::json& v, std::vector<std::string>& out) {
  if (v.is_string()) {
    std::vector<std::string_view> parts;
    split_plain(v.get_ref<const std::string&>(), "|", parts);
    for (auto p : parts)
      if (!trim(p).empty()) out.emplace_back(trim(p));
  } else if (v.is_array()) {
    for (const auto& x : v)
      if (x.is_string() && !x.get_ref<const std::string&>().empty())
        out.push_back(x.get<std::string>());
  }
}

}  // namespace

ItemFlags item_flags(const nlohmann::json& m) {
  ItemFlags f;
  if (!m.is_object()) return f;
  const auto flag = [&](const char* key) {
    const auto it = m.find(key);
    return it != m.end() && it->is_boolean() && it->get<bool>();
  };
  f.deleted = flag("deleted");
  f.hidden = f.deleted || flag("hidden");
  for (const char* key : kCategoryFields) {
    if (const auto it = m.find(key); it != m.end()) {
      add_labels(*it, f.categories);
      break;
    }
  }
  if (const auto it = m.find("timestamp"); it != m.end()) {
    if (it->is_number()) {
      const double s = it->get<double>();
      if (std::isfinite(s) && std::abs(s) <= 1e13) f.time = static_cast<std::int64_t>(s);
    } else if (it->is_string()) {
      f.time = parse_timestamp(it->get_ref<const std::string&>());
    }
  }
  return f;
}

std::vector<std::string> training_categories(const Dataset& train, index_t item) {
  std::vector<std::string> out;
  for (const char* name : kCategoryFields) {
    const FeatureColumn* c = train.item_features.find(name);
    if (!c || (c->kind() != FeatureKind::kCategorical &&
               c->kind() != FeatureKind::kMultiCategorical))
      continue;
    for (auto code : c->codes(item)) out.push_back(c->label(code));
    break;
  }
  return out;
}

}  // namespace reckon::detail
