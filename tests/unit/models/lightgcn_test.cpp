// LightGCN: the propagation by hand, the hand-written backward pass against finite differences,
// and a model that finds two taste groups and folds a stranger in.
#include <gtest/gtest.h>

#include <cmath>

#include "reckon/core/random.hpp"
#include "reckon/models/lightgcn.hpp"
#include "reckon/retrieval/topk.hpp"
#include "test_support.hpp"

namespace reckon {
namespace {

// Users 0, 1; items 0, 1; edges u0-i0, u0-i1, u1-i1.
CsrMatrix small_graph() {
  return CsrMatrix::from_coordinates(2, 2, std::vector<index_t>{0, 0, 1},
                                     std::vector<index_t>{0, 1, 1}, std::vector<float>(3, 1.0f), {},
                                     DedupPolicy::kLast);
}

TEST(LightGcn, PropagationByHand) {
  const lightgcn::Graph g = lightgcn::Graph::of(small_graph());
  ASSERT_EQ(g.nodes(), 4);
  RowMatrix e0(4, 1);
  e0 << 1, 2, 3, 4;  // u0, u1, i0, i1
  // Degrees u0 2, u1 1, i0 1, i1 2: A e0 for u0 = 3/sqrt(2) + 4/2, u1 = 4/sqrt(2), i0 = 1/sqrt(2),
  // i1 = 1/2 + 2/sqrt(2); one layer: the mean of e0 and A e0.
  const float r = 1 / std::sqrt(2.0f);
  const RowMatrix f = lightgcn::propagate(g, e0, 1, 1);
  EXPECT_NEAR(f(0, 0), (1 + 3 * r + 2) / 2, 1e-5);
  EXPECT_NEAR(f(1, 0), (2 + 4 * r) / 2, 1e-5);
  EXPECT_NEAR(f(2, 0), (3 + r) / 2, 1e-5);
  EXPECT_NEAR(f(3, 0), (4 + 0.5f + 2 * r) / 2, 1e-5);
  // Two threads give the same products.
  EXPECT_EQ(lightgcn::propagate(g, e0, 3, 2), lightgcn::propagate(g, e0, 3, 1));
}

TEST(LightGcn, GradientMatchesFiniteDifferences) {
  Rng rng(4);
  std::vector<index_t> u, i;
  for (index_t a = 0; a < 6; ++a)
    for (index_t b = 0; b < 5; ++b)
      if (rng.uniform() < 0.5) u.push_back(a), i.push_back(b);
  const CsrMatrix r = CsrMatrix::from_coordinates(6, 5, u, i, std::vector<float>(u.size(), 1.0f),
                                                  {}, DedupPolicy::kLast);
  const lightgcn::Graph g = lightgcn::Graph::of(r);
  RowMatrix e0(g.nodes(), 3);
  for (Eigen::Index k = 0; k < e0.size(); ++k) e0.data()[k] = static_cast<float>(rng.uniform() - 0.5);
  const std::vector<lightgcn::Triple> triples = {{0, 1, 2}, {3, 4, 0}, {5, 2, 2}, {0, 3, 4}};
  RowMatrix grad, scratch;
  const float l2 = 0.3f;
  lightgcn::bpr_loss_and_gradient(g, e0, 2, triples, l2, 1, grad);
  const double h = 1e-2;
  for (Eigen::Index k = 0; k < e0.size(); ++k) {
    RowMatrix plus = e0, minus = e0;
    plus.data()[k] += static_cast<float>(h);
    minus.data()[k] -= static_cast<float>(h);
    const double numeric = (lightgcn::bpr_loss_and_gradient(g, plus, 2, triples, l2, 1, scratch) -
                            lightgcn::bpr_loss_and_gradient(g, minus, 2, triples, l2, 1, scratch)) /
                           (2 * h);
    EXPECT_NEAR(grad.data()[k], numeric, 2e-4) << "entry " << k;
  }
}

// Either way of drawing the triples (every interaction once an epoch, or a uniform user).
class LightGcnSampling : public ::testing::TestWithParam<const char*> {};

TEST_P(LightGcnSampling, FindsTasteGroupsAndFoldsInStrangers) {
  const auto d = test::two_taste_groups();
  FitContext ctx;
  ctx.threads = 2;
  ctx.verbose = false;
  const TrainedModel t = train_model(
      "lightgcn", d,
      {{"factors", "8"}, {"epochs", "60"}, {"batch_size", "32"}, {"learning_rate", "0.02"},
       {"validation", "0"}, {"sampling", GetParam()}},
      ctx);
  std::vector<float> s(20);
  for (index_t user : {0, 9, 25, 39}) {
    UserContext c;
    c.user = user;
    c.history = d->interactions.row_indices(user);
    for (const auto& r : recommend(*t.model, c, 3, Filter{}, s))
      EXPECT_EQ(r.item >= 10, user >= 20) << "user " << user << " got " << r.item;
  }
  const std::vector<col_t> likes = {11, 12, 13};
  UserContext stranger;
  stranger.history = likes;
  const auto rec = recommend(*t.model, stranger, 5, Filter{}, s);
  ASSERT_EQ(rec.size(), 5u);
  for (const auto& r : rec) EXPECT_TRUE(r.item >= 10) << r.item;
  for (const auto& r : t.model->similar_items(2, 3)) EXPECT_LT(r.item, 10);
}
INSTANTIATE_TEST_SUITE_P(Ways, LightGcnSampling, ::testing::Values("interaction", "user"));

// The per-epoch probe sees the model as it would be if training stopped there: with a
// validation part and a plateau-decayed learning rate, the best epoch so far, so the last probe
// scores exactly as the fitted model does.
TEST(LightGcn, EachEpochsProbeSeesTheModelAsIfStoppedThere) {
  const auto d = test::two_taste_groups();
  FitContext ctx;
  ctx.threads = 1;
  ctx.verbose = false;
  std::vector<int> epochs;
  std::vector<double> minutes;
  std::vector<float> last(20), now(20);
  UserContext c;
  c.user = 3;
  c.history = d->interactions.row_indices(3);
  std::vector<std::vector<ScoredItem>> lists;
  ctx.on_epoch = [&](const Model& m, int epoch, double min) {
    epochs.push_back(epoch);
    minutes.push_back(min);
    m.score(c, last);
    // The model's own top-k search agrees with its scores at every probe (a search index built
    // at an earlier probe would not: found when the Gowalla curve stood still).
    std::vector<float> s = last;
    std::vector<ScoredItem> want;
    for (index_t i : c.history) s[static_cast<std::size_t>(i)] = -1e30f;
    top_k(s, 3, want);
    ASSERT_TRUE(m.top_k_batch(std::span<const UserContext>(&c, 1), 3, lists));
    ASSERT_EQ(lists[0].size(), 3u);
    for (std::size_t r = 0; r < 3; ++r) EXPECT_EQ(lists[0][r].item, want[r].item) << epoch;
  };
  const TrainedModel t = train_model(
      "lightgcn", d,
      {{"factors", "8"}, {"epochs", "12"}, {"batch_size", "32"}, {"learning_rate", "0.02"},
       {"validation", "0.2"}, {"decay_patience", "1"}, {"decay_factor", "0.1"}, {"patience", "0"}},
      ctx);
  ASSERT_EQ(epochs.size(), 12u);
  for (std::size_t e = 0; e < epochs.size(); ++e) EXPECT_EQ(epochs[e], static_cast<int>(e) + 1);
  for (std::size_t e = 1; e < minutes.size(); ++e) EXPECT_GE(minutes[e], minutes[e - 1]);
  t.model->score(c, now);
  EXPECT_EQ(last, now);
}

TEST(LightGcn, RefusesABadDecayFactor) {
  FitContext ctx;
  ctx.verbose = false;
  EXPECT_NE(test::error_of([&] {
              train_model("lightgcn", test::two_taste_groups(), {{"decay_factor", "0"}}, ctx);
            }).find("decay_factor"),
            std::string::npos);
}

}  // namespace
}  // namespace reckon
