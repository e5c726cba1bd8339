// The hybrid model and its feature encoder on cases small enough to know the answer: taste
// groups that the features name, cold items and cold users served from features alone.
#include "reckon/models/hybrid.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "reckon/core/binary_io.hpp"
#include "reckon/core/random.hpp"
#include "reckon/io/dataset_file.hpp"
#include "reckon/models/feature_encoder.hpp"
#include "reckon/retrieval/fallback.hpp"
#include "reckon/retrieval/recommender.hpp"
#include "reckon/retrieval/topk.hpp"
#include "test_support.hpp"

namespace reckon {
namespace {

// Two taste groups of 40 users and 12 items each: the users of group g (gender "a" or "b")
// have seen 6 of the first 10 items of their group; items 10 and 11 of each group (items 10,
// 11, 22, 23) have no interactions at all, only their genre. Every item's genre is its group's.
std::shared_ptr<const Dataset> groups_with_cold_items() {
  Rng rng(5);
  std::vector<index_t> u, i;
  for (index_t a = 0; a < 80; ++a) {
    const index_t g = a / 40;
    std::vector<index_t> items = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    rng.shuffle(std::span<index_t>(items));
    for (int k = 0; k < 6; ++k) {
      u.push_back(a);
      i.push_back(g * 12 + items[k]);
    }
  }
  auto d = std::make_shared<Dataset>(test::make_dataset(CsrMatrix::from_coordinates(
      80, 24, u, i, std::vector<float>(u.size(), 1.0f), {}, DedupPolicy::kLast)));
  FeatureColumn genre("genres", FeatureKind::kMultiCategorical, 24);
  for (index_t it = 0; it < 24; ++it) genre.add_label(it, it < 12 ? "drama" : "comedy");
  d->item_features.add(std::move(genre));
  FeatureColumn gender("gender", FeatureKind::kCategorical, 80);
  for (index_t a = 0; a < 80; ++a) gender.add_label(a, a < 40 ? "a" : "b");
  d->user_features.add(std::move(gender));
  return d;
}

bool group_of(index_t item) { return item >= 12; }

TrainedModel fit(const std::shared_ptr<const Dataset>& d,
                 std::map<std::string, std::string> params = {}) {
  FitContext ctx;
  ctx.threads = 1;
  ctx.verbose = false;
  params.emplace("epochs", "60");
  params.emplace("factors", "8");
  return train_model("hybrid", d, params, ctx);
}

// Every one of the user's top `k` (history excluded) from `group`.
void expect_group(const Model& m, const UserContext& ctx, bool group, std::size_t k,
                  const std::string& what) {
  std::vector<float> s(24);
  const auto rec = recommend(m, ctx, k, Filter{}, s);
  ASSERT_EQ(rec.size(), k) << what;
  for (const auto& r : rec) EXPECT_EQ(group_of(r.item), group) << what << ": item " << r.item;
}

TEST(Hybrid, EveryLossAndOptimizerLearnsTheGroups) {
  const auto d = groups_with_cold_items();
  for (const std::string loss : {"warp", "warp-kos", "bpr", "logistic"}) {
    for (const std::string opt : {"adagrad", "adadelta"}) {
      const TrainedModel t =
          fit(d, {{"loss", loss}, {"optimizer", opt}, {"user_columns", "gender"}});
      for (index_t u : {0, 13, 39, 40, 61, 79}) {
        UserContext ctx;
        ctx.user = u;
        ctx.history = d->interactions.row_indices(u);
        expect_group(*t.model, ctx, u >= 40, 4, loss + "/" + opt);
      }
    }
  }
}

TEST(Hybrid, ColdItemsAreTheirFeatures) {
  const auto d = groups_with_cold_items();
  const TrainedModel t = fit(d, {{"user_columns", "none"}});
  const auto& m = dynamic_cast<const HybridModel&>(*t.model);
  // The cold items of a group have the same features and no trained id: the same vector.
  EXPECT_TRUE(m.item_factors().row(10).isApprox(m.item_factors().row(11)));
  EXPECT_TRUE(m.item_factors().row(22).isApprox(m.item_factors().row(23)));
  // ...which is the vector the model computes for a new item from that genre alone.
  const auto [v, bias] = m.item_from_features(d->item_features, 10);
  EXPECT_TRUE(v.isApprox(m.item_factors().row(10).transpose()));
  // A group-1 user ranks its group's cold items above the other group's.
  std::vector<float> s(24);
  UserContext ctx;
  ctx.user = 5;
  ctx.history = d->interactions.row_indices(5);
  m.score(ctx, s);
  EXPECT_GT(std::min(s[10], s[11]), std::max(s[22], s[23]));
  // And a cold item's similar items are of its own genre.
  const auto sim = m.similar_items(22, 5);
  for (const auto& x : sim) EXPECT_TRUE(group_of(x.item)) << x.item;
}

TEST(Hybrid, PureFeatureItemsWithTheSameLabelsScoreTheSame) {
  const auto d = groups_with_cold_items();
  const TrainedModel t = fit(d, {{"item_ids", "false"}, {"user_columns", "none"}});
  std::vector<float> s(24);
  UserContext ctx;
  ctx.user = 3;
  ctx.history = d->interactions.row_indices(3);
  t.model->score(ctx, s);
  for (index_t i = 1; i < 12; ++i) EXPECT_FLOAT_EQ(s[i], s[0]);
  for (index_t i = 13; i < 24; ++i) EXPECT_FLOAT_EQ(s[i], s[12]);
  EXPECT_GT(s[0], s[12]);
  // Without item features a pure feature model has nothing to learn from: refused.
  auto bare = std::make_shared<Dataset>(*d);
  bare->item_features = FeatureTable(24);
  EXPECT_NE(test::error_of([&] { fit(bare, {{"item_ids", "false"}}); })
                .find("item_ids=false needs item features"),
            std::string::npos);
}

TEST(Hybrid, StrangersFromDemographicsFavouritesOrBoth) {
  const auto d = groups_with_cold_items();
  const TrainedModel t = fit(d, {{"user_ids", "false"}, {"user_columns", "gender"}});
  const Recommender rec(t);
  // Demographics alone: the model answers (not the popularity fallback) with the group's items.
  const FeatureTable b = stranger_features(d->user_features, {{"gender", "b"}});
  UserContext ctx;
  ctx.features = &b;
  ctx.feature_row = 0;
  EXPECT_TRUE(t.model->scores_without_history(ctx));
  const Recommendation r = rec.for_stranger({}, b, 5);
  EXPECT_EQ(r.source, "model");
  for (const auto& x : r.items) EXPECT_TRUE(group_of(x.item)) << x.item;
  // Favourites of the other group outweigh the demographics once there are a few.
  const Recommendation both = rec.for_stranger({"i0", "i1", "i2", "i3"}, b, 4);
  for (const auto& x : both.items) EXPECT_FALSE(group_of(x.item)) << x.item;
  // An unknown label or column is refused, listing the known ones.
  EXPECT_NE(test::error_of([&] { stranger_features(d->user_features, {{"gender", "x"}}); })
                .find("known: a, b"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] { stranger_features(d->user_features, {{"age", "3"}}); })
                .find("known: gender"),
            std::string::npos);
}

TEST(Hybrid, SaveLoadKeepsFeaturesAndRefusesCorruptBodies) {
  const auto d = groups_with_cold_items();
  const TrainedModel t = fit(d);
  BinaryWriter w;
  t.model->save(w);
  HybridModel back;
  BinaryReader r(w.bytes(), "test");
  back.load(r);
  back.validate(*d);
  const auto [a, ab] = dynamic_cast<const HybridModel&>(*t.model).item_from_features(d->item_features, 3);
  const auto [b, bb] = back.item_from_features(d->item_features, 3);
  EXPECT_TRUE(a.isApprox(b));
  EXPECT_FLOAT_EQ(ab, bb);
  // Every truncation is refused with an error, never a crash.
  for (std::size_t cut = 0; cut < w.bytes().size(); cut += 7) {
    HybridModel m;
    BinaryReader rr(std::string_view(w.bytes()).substr(0, cut), "cut");
    EXPECT_THROW(m.load(rr), InvalidInput) << cut;
  }
}

TEST(FeatureEncoder, LabelsTermsAndBuckets) {
  FeatureTable t(4);
  FeatureColumn year("year", FeatureKind::kNumeric, 4);
  for (index_t r = 0; r < 4; ++r) year.set_number(r, 1990.0f + 10.0f * static_cast<float>(r));
  t.add(std::move(year));
  FeatureColumn title("title", FeatureKind::kText, 4);
  title.set_text(0, "Love love story");
  title.set_text(1, "A story");
  title.set_text(2, "War");
  t.add(std::move(title));
  FeatureColumn url("url", FeatureKind::kCategorical, 4);
  for (index_t r = 0; r < 4; ++r) url.add_label(r, "http://x/" + std::to_string(r));
  t.add(std::move(url));
  FeatureEncoderOptions o;
  o.buckets = 2;
  FeatureEncoder e;
  e.fit(t, o, "test");
  // url is left out by default; "story" is in two rows, "love" and "war" in one (min_df 2).
  ASSERT_EQ(e.columns().size(), 2u);
  EXPECT_EQ(e.size(), 2 + 1);
  const CsrMatrix m = e.encode(t);
  EXPECT_EQ(m.row_size(0), 2);  // a year bucket and "story"
  EXPECT_EQ(m.row_size(3), 1);  // the year only
  EXPECT_EQ(e.feature_name(m.row_indices(3)[0]), "year>=2010");
  // A round trip through the model file, then a crafted repeated label is refused.
  BinaryWriter w;
  e.write(w);
  FeatureEncoder back;
  BinaryReader r(w.bytes(), "test");
  back.read(r);
  EXPECT_EQ(back.encode(t), m);
  BinaryWriter bad;
  bad.put<std::uint64_t>(1);
  bad.put_string("genres");
  bad.put<std::uint8_t>(2);
  bad.put<std::uint8_t>(0);
  bad.put_strings({"x", "x"});
  bad.put_vector(std::vector<float>{});
  FeatureEncoder crafted;
  BinaryReader br(bad.bytes(), "crafted");
  EXPECT_NE(test::error_of([&] { crafted.read(br); }).find("repeated labels"), std::string::npos);
}

TEST(FeatureEncoder, LabelWeightsAreTheFeatureValues) {
  FeatureTable t(2);
  FeatureColumn tags("tags", FeatureKind::kMultiCategorical, 2);
  tags.add_label(0, "a");
  tags.add_label(0, "b", 3.0f);  // the first weight that is not 1: "a" keeps 1
  tags.add_label(1, "b", 2.0f);
  EXPECT_THROW(tags.add_label(1, "c", -1.0f), InvalidInput);
  t.add(std::move(tags));
  FeatureEncoder e;
  e.fit(t, {}, "test");
  const CsrMatrix m = e.encode(t);
  ASSERT_EQ(m.row_size(0), 2);
  EXPECT_FLOAT_EQ(m.row_values(0)[0], 1.0f);
  EXPECT_FLOAT_EQ(m.row_values(0)[1], 3.0f);
  EXPECT_FLOAT_EQ(m.row_values(1)[0], 2.0f);
  // They survive a dataset file.
  Dataset d = test::make_dataset(CsrMatrix::from_coordinates(1, 2, std::vector<index_t>{0},
                                                             std::vector<index_t>{0},
                                                             std::vector<float>{1}, {},
                                                             DedupPolicy::kLast));
  d.item_features = t;
  const Dataset back = decode_dataset(encode_dataset(d), "test");
  EXPECT_EQ(e.encode(back.item_features), m);
  // A selection keeps them.
  const std::vector<index_t> second = {1};
  const FeatureColumn picked = t.find("tags")->select(second);
  EXPECT_FLOAT_EQ(picked.label_weights(0)[0], 2.0f);
}

TEST(FeatureEncoder, VectorColumnsAreUnitComponents) {
  FeatureTable t(2);
  FeatureColumn emb("emb", FeatureKind::kVector, 2);
  const std::vector<float> a = {3, 0, -4};
  emb.set_vector(0, a);
  t.add(std::move(emb));
  FeatureEncoder e;
  e.fit(t, {}, "test");
  ASSERT_EQ(e.size(), 3);
  const CsrMatrix m = e.encode(t);
  ASSERT_EQ(m.row_size(0), 2);  // the zero component adds nothing
  EXPECT_FLOAT_EQ(m.row_values(0)[0], 0.6f);
  EXPECT_FLOAT_EQ(m.row_values(0)[1], -0.8f);
  EXPECT_EQ(m.row_size(1), 0);  // no vector
  EXPECT_EQ(e.feature_name(2), "emb[2]");
  BinaryWriter w;
  e.write(w);
  FeatureEncoder back;
  BinaryReader r(w.bytes(), "test");
  back.read(r);
  EXPECT_EQ(back.encode(t), m);
}

}  // namespace
}  // namespace reckon

namespace reckon {
namespace {

// explain(): an item's features by their part in its score. Without id embeddings the item is
// its features, so their parts add up to the whole score; the genre is what places a cold item.
TEST(Hybrid, ExplainsAScoreByTheItemsFeatures) {
  const auto d = groups_with_cold_items();
  const TrainedModel t = fit(d, {{"item_ids", "false"}});
  UserContext ctx;
  ctx.user = 45;  // group b: comedies
  ctx.history = d->interactions.row_indices(45);
  const std::vector<index_t> items = {14, 23, 2};
  EXPECT_THROW(t.model->explain(ctx, items, 3), NotSupported);  // no metadata given
  ctx.item_features = &d->item_features;
  std::vector<float> s(24);
  t.model->score(ctx, s);
  const auto why = t.model->explain(ctx, items, 10);
  ASSERT_EQ(why.size(), items.size());
  for (std::size_t k = 0; k < items.size(); ++k) {
    ASSERT_EQ(why[k].size(), 1u);
    float sum = 0;
    for (const auto& c : why[k]) sum += c.contribution;
    EXPECT_NEAR(sum, s[items[k]], 1e-4f * (1 + std::abs(s[items[k]])));
  }
  EXPECT_EQ(why[1][0].feature, "genres=comedy");  // the cold comedy, placed by its genre
  EXPECT_GT(why[1][0].contribution, why[2][0].contribution);  // a comedy over a drama

  // With ids the id embedding is one more part, and the parts still add up.
  const TrainedModel with_ids = fit(d);
  with_ids.model->score(ctx, s);
  const auto both = with_ids.model->explain(ctx, items, 10);
  float sum = 0;
  bool id = false;
  for (const auto& c : both[0]) sum += c.contribution, id |= c.feature == "item_id";
  EXPECT_TRUE(id);
  EXPECT_NEAR(sum, s[14], 1e-4f * (1 + std::abs(s[14])));
  EXPECT_EQ(with_ids.model->explain(ctx, items, 1)[0].size(), 1u);
  // Metadata of another catalogue is refused, not read out of range.
  FeatureTable other(3);
  ctx.item_features = &other;
  EXPECT_THROW(t.model->explain(ctx, items, 3), InvalidInput);
}

}  // namespace
}  // namespace reckon
