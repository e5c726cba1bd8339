// Hand-computed cases for every metric, with the edge cases: fewer relevant items than k, ties,
// empty lists.
#include "reckon/eval/metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "test_support.hpp"

namespace reckon {
namespace {

const std::vector<index_t> kRanked = {7, 3, 9, 1, 5};  // best first
const std::vector<col_t> kRel = {1, 3, 4};             // sorted; hits at ranks 2 and 4

Relevant rel() { return Relevant{kRel, {}}; }

TEST(Metrics, PrecisionRecallF1) {
  EXPECT_DOUBLE_EQ(precision_at(kRanked, rel(), 5), 2.0 / 5);
  EXPECT_DOUBLE_EQ(precision_at(kRanked, rel(), 2), 1.0 / 2);
  EXPECT_DOUBLE_EQ(recall_at(kRanked, rel(), 5), 2.0 / 3);
  EXPECT_DOUBLE_EQ(recall_at(kRanked, rel(), 1), 0.0);
  const double p = 0.4, r = 2.0 / 3;
  EXPECT_DOUBLE_EQ(f1_at(kRanked, rel(), 5), 2 * p * r / (p + r));
  // k beyond the list: precision still divides by k.
  EXPECT_DOUBLE_EQ(precision_at(kRanked, rel(), 10), 2.0 / 10);
}

TEST(Metrics, NdcgBinary) {
  // DCG = 1/log2(3) + 1/log2(5); IDCG over min(3, 5) = 3 places.
  const double dcg = 1 / std::log2(3.0) + 1 / std::log2(5.0);
  const double idcg = 1 + 1 / std::log2(3.0) + 1 / std::log2(4.0);
  EXPECT_NEAR(ndcg_at(kRanked, rel(), 5), dcg / idcg, 1e-12);
  // Fewer relevant items than k: the ideal has only |rel| places.
  const std::vector<col_t> one = {3};
  EXPECT_NEAR(ndcg_at(kRanked, Relevant{one, {}}, 5), (1 / std::log2(3.0)) / 1.0, 1e-12);
  // At k = 2 the ideal is 2 places.
  EXPECT_NEAR(ndcg_at(kRanked, rel(), 2), (1 / std::log2(3.0)) / (1 + 1 / std::log2(3.0)), 1e-12);
}

TEST(Metrics, NdcgGraded) {
  const std::vector<float> grades = {5, 3, 1};  // items 1, 3, 4
  const Relevant g{kRel, grades};
  const double dcg = (std::exp2(3.0) - 1) / std::log2(3.0) + (std::exp2(5.0) - 1) / std::log2(5.0);
  const double idcg =
      (std::exp2(5.0) - 1) + (std::exp2(3.0) - 1) / std::log2(3.0) + (std::exp2(1.0) - 1) / 2.0;
  EXPECT_NEAR(ndcg_at(kRanked, g, 5), dcg / idcg, 1e-12);
}

TEST(Metrics, MapMrrHitrate) {
  // Hits at ranks 2 and 4: AP = (1/2 + 2/4) / min(3, 5).
  EXPECT_DOUBLE_EQ(ap_at(kRanked, rel(), 5), (0.5 + 0.5) / 3);
  EXPECT_DOUBLE_EQ(ap_at(kRanked, rel(), 2), 0.5 / 2);
  EXPECT_DOUBLE_EQ(reciprocal_rank_at(kRanked, rel(), 5), 0.5);
  EXPECT_DOUBLE_EQ(reciprocal_rank_at(kRanked, rel(), 1), 0.0);
  EXPECT_DOUBLE_EQ(hit_at(kRanked, rel(), 2), 1.0);
  EXPECT_DOUBLE_EQ(hit_at(kRanked, rel(), 1), 0.0);
}

TEST(Metrics, EmptyListsAndEmptyRelevance) {
  const std::vector<index_t> none;
  const std::vector<col_t> no_items;
  EXPECT_EQ(precision_at(none, rel(), 5), 0.0);
  EXPECT_EQ(recall_at(none, rel(), 5), 0.0);
  EXPECT_EQ(ndcg_at(none, rel(), 5), 0.0);
  EXPECT_EQ(ap_at(none, rel(), 5), 0.0);
  EXPECT_EQ(reciprocal_rank_at(none, rel(), 5), 0.0);
  EXPECT_EQ(recall_at(kRanked, Relevant{no_items, {}}, 5), 0.0);
  EXPECT_EQ(ndcg_at(kRanked, Relevant{no_items, {}}, 5), 0.0);
  EXPECT_EQ(f1_at(none, rel(), 5), 0.0);
}

TEST(Metrics, AucCountsTiesAsHalf) {
  const std::vector<float> pos = {0.9f, 0.5f};
  const std::vector<float> neg = {0.1f, 0.5f, 0.95f};
  // Pairs: 0.9 beats 0.1, 0.5; loses to 0.95 -> 2. 0.5 beats 0.1, ties 0.5 (0.5), loses -> 1.5.
  EXPECT_DOUBLE_EQ(auc(pos, neg), 3.5 / 6);
  EXPECT_EQ(auc({}, neg), 0.0);
}

TEST(Metrics, NoveltyAndDiversity) {
  const std::vector<double> info = {1, 2, 3, 4};
  const std::vector<index_t> list = {0, 3, 2};
  EXPECT_DOUBLE_EQ(novelty_at(list, info, 2), 2.5);
  EXPECT_DOUBLE_EQ(novelty_at(list, info, 10), 8.0 / 3);
  const std::vector<std::vector<std::int32_t>> labels = {{1, 2}, {2}, {3}, {1, 2}};
  // Pairs among {0, 3, 2}: (0,3) identical -> 0; (0,2) disjoint -> 1; (3,2) -> 1. Mean 2/3.
  EXPECT_DOUBLE_EQ(diversity_at(list, labels, 3), 2.0 / 3);
  // (0,1): Jaccard 1/2 -> diversity 1/2.
  const std::vector<index_t> pair = {0, 1};
  EXPECT_DOUBLE_EQ(diversity_at(pair, labels, 2), 0.5);
  EXPECT_DOUBLE_EQ(diversity_at(pair, labels, 1), 0.0);
}

TEST(Metrics, RegistryKnowsEveryName) {
  for (const auto& m : default_metrics()) EXPECT_NO_THROW(find_metric(m));
  EXPECT_NE(test::error_of([] { find_metric("accuracy"); }).find("unknown metric"),
            std::string::npos);
}

}  // namespace
}  // namespace reckon
