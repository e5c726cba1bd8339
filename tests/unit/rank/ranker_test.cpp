// The ranker: a case where the right answer is known (the generator's order is wrong and one
// feature says so), the candidate specs, the booster's SHAP contributions and its checks of a
// crafted model.
#include "reckon/rank/ranker.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "reckon/core/random.hpp"
#include "reckon/models/model.hpp"
#include "reckon/rank/candidates.hpp"
#include "reckon/rank/xgb_booster.hpp"
#include "reckon/retrieval/topk.hpp"
#include "test_support.hpp"

namespace reckon {
namespace {

// Items 0-9 are "old" and the most popular; every user's latest interactions are "fresh"
// items (10-29). Popularity puts old items first; the genre feature tells the ranker that
// what comes next is fresh. The candidates come from random scores, which say nothing, so
// only the genre can.
std::shared_ptr<const Dataset> fresh_and_old() {
  Rng rng(11);
  std::vector<index_t> u, i;
  std::vector<float> v;
  std::vector<std::int64_t> t;
  const index_t users = 150, items = 30;
  for (index_t a = 0; a < users; ++a) {
    std::vector<index_t> old = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    rng.shuffle(std::span<index_t>(old));
    for (int k = 0; k < 6; ++k) {
      u.push_back(a);
      i.push_back(old[static_cast<std::size_t>(k)]);
      v.push_back(1);
      t.push_back(1000 + k);
    }
    std::vector<index_t> fresh;
    for (index_t x = 10; x < 30; ++x) fresh.push_back(x);
    rng.shuffle(std::span<index_t>(fresh));
    for (int k = 0; k < 3; ++k) {
      u.push_back(a);
      i.push_back(fresh[static_cast<std::size_t>(k)]);
      v.push_back(1);
      t.push_back(200000 + a * 10 + k);
    }
  }
  auto d = std::make_shared<Dataset>(test::make_dataset(
      CsrMatrix::from_coordinates(users, items, u, i, v, t, DedupPolicy::kLast)));
  d->item_features = FeatureTable(items);
  auto& genre = d->item_features.column("genre", FeatureKind::kCategorical);
  for (index_t x = 0; x < items; ++x) genre.add_label(x, x < 10 ? "old" : "fresh");
  return d;
}

TEST(Ranker, LearnsWhatTheGeneratorGetsWrong) {
  const auto data = fresh_and_old();
  FitContext ctx;
  ctx.verbose = false;
  const std::map<std::string, std::string> p = {
      {"candidates", "random:30"}, {"features", "genres"}, {"rounds", "40"}};
  const TrainedModel ranker = train_model("ranker", data, p, ctx);
  const TrainedModel popular = train_model("popular", data, {}, ctx);
  // A stranger who has seen six old items.
  const std::vector<col_t> history = {0, 1, 2, 3, 4, 5};
  UserContext user;
  user.history = history;
  std::vector<float> scratch(30);
  const auto by_ranker = recommend(*ranker.model, user, 5, Filter{}, scratch);
  const auto by_popular = recommend(*popular.model, user, 5, Filter{}, scratch);
  ASSERT_EQ(by_ranker.size(), 5u);
  for (const auto& s : by_ranker) EXPECT_GE(s.item, 10) << "the ranker put an old item first";
  EXPECT_LT(by_popular.front().item, 10) << "the case is no test: popularity knew";

  // Its reasons name its features, and the genre is among the first.
  const std::vector<index_t> top = {by_ranker.front().item};
  const auto why = ranker.model->explain(user, top, 3);
  ASSERT_EQ(why.size(), 1u);
  ASSERT_FALSE(why[0].empty());
  bool genre = false;
  for (const auto& c : why[0]) {
    EXPECT_TRUE(std::isfinite(c.contribution));
    genre |= c.feature.rfind("item.genre=", 0) == 0 || c.feature == "affinity.genre";
  }
  EXPECT_TRUE(genre) << why[0].front().feature;
  // An item that is not a candidate (in the history) has no reasons.
  const std::vector<index_t> seen = {0};
  EXPECT_TRUE(ranker.model->explain(user, seen, 3)[0].empty());

  // info: importance for every feature, the genre's above zero.
  const auto info = ranker.model->describe();
  const auto& ranked = dynamic_cast<const RankerModel&>(*ranker.model);
  EXPECT_EQ(info["importance"].size(), ranked.feature_names().size());
  EXPECT_EQ(info["generators"][0]["model"], "random");
  double genre_gain = 0;
  for (const auto& f : info["importance"])
    if (f["feature"].get<std::string>().rfind("item.genre=", 0) == 0)
      genre_gain += f["gain"].get<double>();
  EXPECT_GT(genre_gain, 0);
}

TEST(Ranker, RequestTimeChangesTimeFeaturesOnly) {
  const auto data = fresh_and_old();
  FitContext ctx;
  ctx.verbose = false;
  const TrainedModel t = train_model(
      "ranker", data, {{"candidates", "popular:30"}, {"features", "time,popularity"}}, ctx);
  EXPECT_TRUE(t.model->uses_request_time());
  const auto names = dynamic_cast<const RankerModel&>(*t.model).feature_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "time.hour"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "item.count_7d"), names.end());
}

TEST(Ranker, RefusesWhatItCannotDo) {
  const auto data = fresh_and_old();
  FitContext ctx;
  ctx.verbose = false;
  auto err = [&](std::map<std::string, std::string> p) {
    return test::error_of([&] { train_model("ranker", data, p, ctx); });
  };
  EXPECT_NE(err({{"candidates", "ranker:10"}}).find("cannot generate its own"), std::string::npos);
  EXPECT_NE(err({{"candidates", "deep:10"}}).find("unknown model"), std::string::npos);
  EXPECT_NE(err({{"candidates", "popular:0"}}).find("from 1 to"), std::string::npos);
  EXPECT_NE(err({{"candidates", "popular:5,popular:3"}}).find("twice"), std::string::npos);
  EXPECT_NE(err({{"features", "magic"}}).find("unknown feature group"), std::string::npos);
  EXPECT_NE(err({{"features", "demographics"}}).find("needs user columns"), std::string::npos);
  EXPECT_NE(err({{"features", "text_svd"}}).find("text_svd=K"), std::string::npos);
  // A generator's own parameters are passed on, and checked by it.
  EXPECT_NE(err({{"candidates", "ials:10"}, {"ials.no_such", "1"}}).find("unknown parameter"),
            std::string::npos);
  EXPECT_NE(err({{"candidates", "ials:10"}, {"bpr.factors", "8"}}).find("not a generator"),
            std::string::npos);
  EXPECT_EQ(err({{"candidates", "ials:30,popular:10"}, {"ials.factors", "4"}, {"rounds", "5"}}),
            "");
}

// A learnable ranking problem: the label is feature 0 above 0.5.
RankRows synthetic(std::uint64_t seed, std::size_t groups) {
  Rng rng(seed);
  RankRows r;
  r.num_features = 4;
  for (std::size_t g = 0; g < groups; ++g) {
    for (int k = 0; k < 10; ++k) {
      for (std::size_t f = 0; f < 4; ++f) r.features.push_back(static_cast<float>(rng.uniform()));
      r.labels.push_back(r.features[r.features.size() - 4] > 0.5f ? 1.0f : 0.0f);
    }
    r.group_sizes.push_back(10);
  }
  return r;
}

XgbBooster trained(BoosterTrainLog& log) {
  BoosterOptions o;
  o.rounds = 15;
  o.max_depth = 3;
  return XgbBooster::train(synthetic(1, 40), synthetic(2, 10), o, log);
}

TEST(XgbBooster, ContributionsAddUpToTheMarginAndJsonRoundTrips) {
  BoosterTrainLog log;
  const XgbBooster b = trained(log);
  EXPECT_GE(log.best_round, 1);
  EXPECT_GT(log.best_validation, 0.8);  // feature 0 is the answer
  const RankRows rows = synthetic(3, 2);
  std::vector<float> margins(rows.rows());
  b.predict(rows.features, rows.rows(), margins);
  const auto contrib = b.contributions(rows.features, rows.rows());
  for (std::size_t r = 0; r < rows.rows(); ++r) {
    double sum = 0;
    for (std::size_t f = 0; f <= 4; ++f) sum += contrib[r * 5 + f];
    EXPECT_NEAR(sum, margins[r], 1e-4);
  }
  const auto gain = b.gain_importance();
  ASSERT_EQ(gain.size(), 4u);
  EXPECT_GT(gain[0], gain[1]);
  const XgbBooster back = XgbBooster::from_json(b.to_json(), 4, "m.rkm");
  std::vector<float> again(rows.rows());
  back.predict(rows.features, rows.rows(), again);
  EXPECT_EQ(margins, again);
}

TEST(XgbBooster, CraftedModelsAreRefusedBeforeXgboostSeesThem) {
  // Without a validation set every round is kept (several trees).
  BoosterOptions o;
  o.rounds = 5;
  o.max_depth = 3;
  RankRows none;
  none.num_features = 4;
  BoosterTrainLog log;
  const std::string json = XgbBooster::train(synthetic(1, 40), none, o, log).to_json();
  const auto doc = nlohmann::json::parse(json);
  ASSERT_EQ(doc["learner"]["gradient_booster"]["model"]["trees"].size(), 5u);
  auto refused = [&](const std::function<void(nlohmann::json&)>& change, std::size_t features = 4) {
    nlohmann::json d = doc;
    change(d);
    return test::error_of([&] { XgbBooster::from_json(d.dump(), features, "m.rkm"); });
  };
  auto tree = [](nlohmann::json& d) -> nlohmann::json& {
    return d["learner"]["gradient_booster"]["model"]["trees"][0];
  };
  ASSERT_GT(tree(const_cast<nlohmann::json&>(doc))["left_children"][0].get<int>(), 0);
  EXPECT_NE(refused([&](auto& d) { tree(d)["left_children"][0] = 100000; }).find("child index"),
            std::string::npos);
  EXPECT_NE(refused([&](auto& d) { tree(d)["left_children"][0] = 0; }).find("reached twice"),
            std::string::npos);
  // XGBoost dereferenced every node's parent unchecked (found by fuzzing).
  EXPECT_NE(refused([&](auto& d) { tree(d)["parents"][1] = 2147483647; }).find("parent"),
            std::string::npos);
  EXPECT_NE(refused([&](auto& d) { tree(d)["parents"][1] = -5; }).find("parent"),
            std::string::npos);
  EXPECT_NE(refused([&](nlohmann::json& d) {
              const int l = tree(d)["left_children"][0].get<int>();
              const int r = tree(d)["right_children"][0].get<int>();
              tree(d)["parents"][l] = r;
            }).find("name its parent"),
            std::string::npos);
  // A chain 65 splits deep: XGBoost's depth and SHAP walks recurse on it.
  const auto chain = [&](nlohmann::json& d) {
    auto& t = tree(d);
    const int depth = 65, n = 2 * depth + 1;
    nlohmann::json left = nlohmann::json::array(), right = left, parents = left;
    for (int i = 0; i < n; ++i) {
      const bool split = i % 2 == 0 && i < n - 1;  // even nodes split, odd ones are leaves
      left.push_back(split ? i + 2 : -1);
      right.push_back(split ? i + 1 : -1);
      parents.push_back(i == 0 ? 2147483647 : (i % 2 == 0 ? i - 2 : i - 1));
    }
    t["left_children"] = left;
    t["right_children"] = right;
    t["parents"] = parents;
    t["tree_param"]["num_nodes"] = std::to_string(n);
    for (const char* key : {"split_indices", "split_conditions", "default_left", "base_weights",
                            "loss_changes", "sum_hessian"}) {
      const nlohmann::json first = t[key][0];
      t[key] = nlohmann::json::array();
      for (int i = 0; i < n; ++i) t[key].push_back(first);
    }
    if (t.contains("split_type")) t["split_type"] = std::vector<int>(n, 0);
  };
  EXPECT_NE(refused(chain).find("deeper than"), std::string::npos);
  EXPECT_NE(refused([&](auto& d) { tree(d)["split_indices"][0] = 7; }).find("feature 7"),
            std::string::npos);
  EXPECT_NE(refused([&](auto& d) { tree(d)["base_weights"].erase(0); }).find("entries"),
            std::string::npos);
  EXPECT_NE(
      refused([&](auto& d) { tree(d)["tree_param"]["num_nodes"] = "99999999"; }).find("nodes"),
      std::string::npos);
  EXPECT_NE(refused([&](auto& d) {
              d["learner"]["objective"]["name"] = "reg:squarederror";
            }).find("objective"),
            std::string::npos);
  // Two trees with one id made XGBoost's parallel loader free a tree twice (found by fuzzing).
  EXPECT_NE(refused([&](auto& d) {
              d["learner"]["gradient_booster"]["model"]["trees"][1]["id"] = 0;
            }).find("another id"),
            std::string::npos);
  EXPECT_NE(refused([](auto&) {}, 5).find("5 features"), std::string::npos);
  EXPECT_NE(test::error_of([&] {
              XgbBooster::from_json("[[[[[[[[[[[[[[[[[[[[[[[[", 4, "m");
            }).find("corrupt ranking model"),
            std::string::npos);
  EXPECT_EQ(refused([](auto&) {}), "");
}

}  // namespace
}  // namespace reckon
