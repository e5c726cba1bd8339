#include <gtest/gtest.h>

#include "reckon/models/popular.hpp"
#include "reckon/models/random.hpp"
#include "test_support.hpp"

namespace reckon {
namespace {

Dataset tiny() {
  Dataset d;
  d.users = IdMap::from_ids({"a", "b", "c"});
  d.items = IdMap::from_ids({"x", "y", "z"});
  // a: x(t=10) y(t=100); b: y(t=200); c: y(t=50) z(t=300)
  d.interactions =
      CsrMatrix(3, 3, {0, 2, 3, 5}, {0, 1, 1, 1, 2}, {5, 1, 2, 3, 4}, {10, 100, 200, 50, 300});
  d.user_features = FeatureTable(3);
  d.item_features = FeatureTable(3);
  return d;
}

std::vector<float> popular_scores(const std::map<std::string, std::string>& p) {
  FitContext ctx;
  TrainedModel t = train_model("popular", std::make_shared<const Dataset>(tiny()), p, ctx);
  std::vector<float> s(3);
  t.model->score(UserContext{}, s);
  return s;
}

TEST(Popular, CountsWeightsAndWindows) {
  EXPECT_EQ(popular_scores({}), (std::vector<float>{1, 3, 1}));
  EXPECT_EQ(popular_scores({{"weighted", "true"}}), (std::vector<float>{5, 6, 4}));
  // Window of 150 s before the latest time (300): only t >= 150 counts -> y at 200, z at 300.
  EXPECT_EQ(popular_scores({{"window_days", std::to_string(150.0 / 86400.0)}}),
            (std::vector<float>{0, 1, 1}));
}

TEST(Random, FixedPerUserAndSeed) {
  FitContext ctx;
  auto d = std::make_shared<const Dataset>(tiny());
  TrainedModel a = train_model("random", d, {{"seed", "1"}}, ctx);
  TrainedModel b = train_model("random", d, {{"seed", "2"}}, ctx);
  std::vector<float> s1(3), s2(3), s3(3);
  UserContext u;
  u.user = 1;
  a.model->score(u, s1);
  a.model->score(u, s2);
  b.model->score(u, s3);
  EXPECT_EQ(s1, s2);
  EXPECT_NE(s1, s3);
  for (float x : s1) EXPECT_TRUE(x >= 0 && x < 1);
}

}  // namespace
}  // namespace reckon
