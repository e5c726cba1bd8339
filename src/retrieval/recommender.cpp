#include "reckon/retrieval/recommender.hpp"

#include <cmath>

#include "reckon/core/error.hpp"
#include "reckon/retrieval/topk.hpp"

namespace reckon {

Recommender::Recommender(const TrainedModel& t) : model_(*t.model), train_(*t.train) {
  popularity_.assign(static_cast<std::size_t>(train_.num_items()), 0.0f);
  for (index_t c : train_.interactions.indices()) popularity_[c] += 1;
}

Recommendation Recommender::popular(std::size_t k, std::span<const index_t> exclude) const {
  std::vector<float> s = popularity_;
  mask(s, exclude);
  Recommendation r{{}, "popular"};
  top_k(s, k, r.items);
  return r;
}

Recommendation Recommender::for_user(std::string_view user_id, std::size_t k) const {
  const auto u = train_.users.find(user_id);
  if (!u) return popular(k);
  UserContext ctx;
  ctx.user = *u;
  ctx.history = train_.interactions.row_indices(*u);
  ctx.weights = train_.interactions.row_values(*u);
  ctx.times = train_.interactions.row_times(*u);
  ctx.features = &train_.user_features;
  ctx.feature_row = *u;
  std::vector<float> scratch(static_cast<std::size_t>(num_items()));
  return {recommend(model_, ctx, k, Filter{}, scratch), "model"};
}

Recommendation Recommender::for_stranger(const std::vector<std::string>& liked,
                                         const Demographics& demo, std::size_t k) const {
  std::vector<index_t> history;
  for (const auto& id : liked) {
    const auto i = train_.items.find(id);
    RECKON_CHECK(i.has_value(), "unknown item \"{}\"", id);
    history.push_back(*i);
  }
  if (!history.empty()) {
    UserContext ctx;
    ctx.history = history;
    std::vector<float> scratch(static_cast<std::size_t>(num_items()));
    return {recommend(model_, ctx, k, Filter{}, scratch), "model"};
  }
  if (!demo.empty()) {
    const FeatureTable& f = train_.user_features;
    const FeatureColumn* age = f.find("age");
    const FeatureColumn* gender = f.find("gender");
    const FeatureColumn* occupation = f.find("occupation");
    auto label_is = [](const FeatureColumn* c, index_t row, const std::string& want) {
      return c && c->has_value(row) && c->format(row) == want;
    };
    std::vector<float> counts(static_cast<std::size_t>(num_items()), 0.0f);
    index_t matched = 0;
    for (index_t u = 0; u < train_.num_users(); ++u) {
      if (demo.age && !(age && age->has_value(u) && std::abs(age->number(u) - *demo.age) <= 5))
        continue;
      if (!demo.gender.empty() && !label_is(gender, u, demo.gender)) continue;
      if (!demo.occupation.empty() && !label_is(occupation, u, demo.occupation)) continue;
      ++matched;
      for (index_t i : train_.interactions.row_indices(u)) counts[i] += 1;
    }
    if (matched > 0) {
      Recommendation r{{}, "demographic-popular"};
      top_k(counts, k, r.items);
      return r;
    }
  }
  return popular(k);
}

std::vector<ScoredItem> Recommender::similar(std::string_view item_id, std::size_t k) const {
  const auto i = train_.items.find(item_id);
  RECKON_CHECK(i.has_value(), "unknown item \"{}\"", item_id);
  return model_.similar_items(*i, k);
}

}  // namespace reckon
