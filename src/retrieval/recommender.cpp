#include "reckon/retrieval/recommender.hpp"

#include <cmath>

#include "reckon/core/error.hpp"
#include "reckon/models/user_context.hpp"
#include "reckon/retrieval/topk.hpp"

namespace reckon {

Recommender::Recommender(const TrainedModel& t)
    : model_(*t.model), train_(*t.train), fallback_(*t.train) {}

Recommendation Recommender::popular(std::size_t k, std::span<const col_t> exclude) const {
  std::vector<float> s = fallback_.popularity();
  mask(s, exclude);
  Recommendation r{{}, "popular"};
  top_k(s, k, r.items);
  return r;
}

Recommendation Recommender::fallback(const Demographics& demo, std::size_t k) const {
  std::vector<float> s(static_cast<std::size_t>(num_items()));
  Recommendation r{{}, std::string(fallback_.score(demo, s))};
  top_k(s, k, r.items);
  return r;
}

Recommendation Recommender::for_user(std::string_view user_id, std::size_t k) const {
  const auto u = train_.users.find(user_id);
  if (!u) return popular(k);
  const UserContext ctx = training_context(train_, *u, model_.reads_event_history());
  // No training interactions (a global-time or predefined split, a held-out user): the model
  // would score an empty history, unless it personalises from the user's features.
  if (train_.interactions.row_size(*u) == 0 && !model_.scores_without_history(ctx))
    return fallback(Demographics::of(train_.user_features, *u), k);
  std::vector<float> scratch(static_cast<std::size_t>(num_items()));
  return {recommend(model_, ctx, k, Filter{}, scratch), "model"};
}

Recommendation Recommender::for_stranger(const std::vector<std::string>& liked,
                                         const FeatureTable& features, std::size_t k) const {
  std::vector<col_t> history;
  for (const auto& id : liked) {
    const auto i = train_.items.find(id);
    RECKON_CHECK(i.has_value(), "unknown item \"{}\"", id);
    history.push_back(static_cast<col_t>(*i));
  }
  UserContext ctx;
  ctx.history = history;
  if (features.rows() == 1) {
    ctx.features = &features;
    ctx.feature_row = 0;
  }
  if (!history.empty() || model_.scores_without_history(ctx)) {
    std::vector<float> scratch(static_cast<std::size_t>(num_items()));
    return {recommend(model_, ctx, k, Filter{}, scratch), "model"};
  }
  return fallback(Demographics::of(features, 0), k);
}

std::vector<ScoredItem> Recommender::similar(std::string_view item_id, std::size_t k) const {
  const auto i = train_.items.find(item_id);
  RECKON_CHECK(i.has_value(), "unknown item \"{}\"", item_id);
  return model_.similar_items(*i, k);
}

}  // namespace reckon
