#include "reckon/retrieval/fallback.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "reckon/core/error.hpp"
#include "reckon/io/text.hpp"

namespace reckon {

Demographics Demographics::of(const FeatureTable& features, index_t row) {
  Demographics d;
  if (row < 0 || row >= features.rows()) return d;
  if (const FeatureColumn* c = features.find("age");
      c && c->kind() == FeatureKind::kNumeric && c->has_value(row))
    d.age = c->number(row);
  if (const FeatureColumn* c = features.find("gender"); c && c->has_value(row))
    d.gender = c->format(row);
  if (const FeatureColumn* c = features.find("occupation"); c && c->has_value(row))
    d.occupation = c->format(row);
  return d;
}

FeatureTable stranger_features(const FeatureTable& users,
                               const std::map<std::string, std::string>& values) {
  FeatureTable out(values.empty() ? 0 : 1);
  if (values.empty()) return out;
  for (const auto& [name, value] : values) {
    const FeatureColumn* c = users.find(name);
    if (!c) {
      std::vector<std::string> known;
      for (const auto& k : users.columns()) known.push_back(k.name());
      throw InvalidInput(fmt::format(
          "no user feature \"{}\" in the training data (known: {})", excerpt(name),
          known.empty() ? "none: the data has no user features" : fmt::format("{}", fmt::join(known, ", "))));
    }
    FeatureColumn& col = out.column(name, c->kind());
    switch (c->kind()) {
      case FeatureKind::kNumeric: {
        const auto v = parse_float(trim(value));
        RECKON_CHECK(v && std::isfinite(*v), "user feature \"{}\" is numeric; got \"{}\"", name,
                     excerpt(value));
        col.set_number(0, *v);
        break;
      }
      case FeatureKind::kText:
        col.set_text(0, value);
        break;
      case FeatureKind::kVector:
        throw InvalidInput(fmt::format("user feature \"{}\" is a vector; it cannot be given here",
                                       name));
      case FeatureKind::kCategorical:
      case FeatureKind::kMultiCategorical: {
        std::vector<std::string_view> labels;
        if (c->kind() == FeatureKind::kMultiCategorical)
          split_plain(value, "|", labels);
        else
          labels.push_back(value);
        for (std::string_view label : labels) {
          const auto& vocab = c->vocabulary();
          if (std::find(vocab.begin(), vocab.end(), label) == vocab.end()) {
            std::vector<std::string> known(vocab.begin(),
                                           vocab.begin() + static_cast<std::ptrdiff_t>(
                                                               std::min<std::size_t>(vocab.size(), 40)));
            throw InvalidInput(fmt::format("unknown {} \"{}\" (known: {}{})", name, excerpt(label),
                                           fmt::join(known, ", "),
                                           vocab.size() > known.size()
                                               ? fmt::format(", ... {} in all", vocab.size())
                                               : ""));
          }
          col.add_label(0, label);
        }
        break;
      }
    }
  }
  return out;
}

Fallback::Fallback(const Dataset& train) : train_(train) {
  popularity_.assign(static_cast<std::size_t>(train.num_items()), 0.0f);
  for (index_t c : train.interactions.indices()) popularity_[c] += 1;
}

const std::vector<float>* Fallback::demographic(const Demographics& demo) const {
  if (demo.empty()) return nullptr;
  const std::string key = fmt::format(
      "{}\x1f{}\x1f{}", demo.age ? fmt::format("{}", *demo.age) : "", demo.gender, demo.occupation);
  std::lock_guard lock(mutex_);
  if (auto it = by_demographics_.find(key); it != by_demographics_.end())
    return it->second.empty() ? nullptr : &it->second;
  const FeatureTable& f = train_.user_features;
  const FeatureColumn* age = f.find("age");
  const FeatureColumn* gender = f.find("gender");
  const FeatureColumn* occupation = f.find("occupation");
  auto label_is = [](const FeatureColumn* c, index_t row, const std::string& want) {
    return c && c->has_value(row) && c->format(row) == want;
  };
  std::vector<float> counts(static_cast<std::size_t>(train_.num_items()), 0.0f);
  index_t matched = 0;
  for (index_t u = 0; u < train_.num_users() && u < f.rows(); ++u) {
    if (demo.age && !(age && age->kind() == FeatureKind::kNumeric && age->has_value(u) &&
                      std::abs(age->number(u) - *demo.age) <= 5))
      continue;
    if (!demo.gender.empty() && !label_is(gender, u, demo.gender)) continue;
    if (!demo.occupation.empty() && !label_is(occupation, u, demo.occupation)) continue;
    const auto items = train_.interactions.row_indices(u);
    if (items.empty()) continue;
    ++matched;
    for (index_t i : items) counts[i] += 1;
  }
  if (matched == 0) counts.clear();
  auto& slot = by_demographics_[key];
  slot = std::move(counts);
  return slot.empty() ? nullptr : &slot;
}

std::string_view Fallback::score(const Demographics& demo, std::span<float> out) const {
  if (const auto* counts = demographic(demo)) {
    // Popularity breaks ties among the demographic counts (scaled below one count).
    const float top = popularity_.empty()
                          ? 1.0f
                          : *std::max_element(popularity_.begin(), popularity_.end()) + 1.0f;
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = (*counts)[i] + popularity_[i] / top;
    return "demographic-popular";
  }
  std::copy(popularity_.begin(), popularity_.end(), out.begin());
  return "popular";
}

}  // namespace reckon
