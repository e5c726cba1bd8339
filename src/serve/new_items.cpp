#include "new_items.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

#include "reckon/io/json.hpp"
#include "reckon/io/text.hpp"

namespace reckon::detail {

FeatureTable features_from_json(const FeatureTable& like, std::span<const nlohmann::json> objects) {
  const auto n = static_cast<index_t>(objects.size());
  FeatureTable out(n);
  std::vector<std::string_view> parts;
  for (const FeatureColumn& c : like.columns()) {
    FeatureColumn& col = out.column(c.name(), c.kind());
    for (index_t r = 0; r < n; ++r) {
      const nlohmann::json& o = objects[static_cast<std::size_t>(r)];
      if (!o.is_object()) continue;
      const auto it = o.find(c.name());
      if (it == o.end() || it->is_null()) continue;
      const nlohmann::json& v = *it;
      switch (c.kind()) {
        case FeatureKind::kNumeric:
          if (v.is_number()) {
            const double x = v.get<double>();
            if (fits_float(x)) col.set_number(r, static_cast<float>(x));
          } else if (v.is_string()) {
            if (const auto x = parse_float(trim(v.get<std::string>()))) col.set_number(r, *x);
          }
          break;
        case FeatureKind::kText:
          if (v.is_string()) col.set_text(r, v.get<std::string>());
          break;
        case FeatureKind::kVector: {
          if (!v.is_array() || static_cast<index_t>(v.size()) != c.dim() || c.dim() == 0) break;
          std::vector<float> values;
          for (const auto& e : v)
            if (e.is_number() && fits_float(e.get<double>()))
              values.push_back(static_cast<float>(e.get<double>()));
          if (static_cast<index_t>(values.size()) == c.dim()) col.set_vector(r, values);
          break;
        }
        case FeatureKind::kCategorical:
          if (v.is_string())
            col.add_label(r, v.get<std::string>());
          else if (v.is_number())
            col.add_label(r, v.dump());
          break;
        case FeatureKind::kMultiCategorical:
          if (v.is_array()) {
            for (const auto& e : v)
              if (e.is_string()) col.add_label(r, e.get<std::string>());
          } else if (v.is_object()) {
            // {"label": weight, ...}: weighted labels (a weight that is not positive is skipped).
            for (const auto& [label, w] : v.items())
              if (w.is_number() && std::isfinite(w.get<double>()) && w.get<double>() > 0 &&
                  fits_float(w.get<double>()))
                col.add_label(r, label, static_cast<float>(w.get<double>()));
          } else if (v.is_string()) {
            const std::string s = v.get<std::string>();
            split_plain(s, "|", parts);
            for (std::string_view p : parts)
              if (!trim(p).empty()) col.add_label(r, trim(p));
          }
          break;
      }
    }
  }
  return out;
}

std::shared_ptr<const NewItems> place_new_items(
    const Model& model, const Dataset& train,
    const std::vector<std::pair<std::string, std::string>>& records) {
  auto out = std::make_shared<NewItems>();
  std::vector<std::string> ids;
  std::vector<nlohmann::json> objects;
  for (const auto& [id, json] : records) {
    if (train.items.find(id)) continue;
    auto parsed = parse_json(json);
    if (!parsed || !parsed->is_object()) continue;
    ids.push_back(id);
    objects.push_back(std::move(*parsed));
  }
  if (ids.empty()) return out;
  const FeatureTable features = features_from_json(train.item_features, objects);
  for (std::size_t k = 0; k < ids.size(); ++k) {
    auto v = model.embed_new_item(features, static_cast<index_t>(k));
    if (!v) continue;
    out->index.emplace(ids[k], out->ids.size());
    out->ids.push_back(std::move(ids[k]));
    out->vectors.push_back(std::move(*v));
  }
  return out;
}

}  // namespace reckon::detail
