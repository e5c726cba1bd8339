// The content model on cases small enough to work out by hand.
#include "reckon/models/content.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "reckon/core/binary_io.hpp"
#include "test_support.hpp"

namespace reckon {
namespace {

// Items 0 {x}, 1 {x, y}, 2 {y}, 3 (no features): both labels are in two of four items, so they
// have the same IDF and the unit vectors are (1, 0), (1, 1)/sqrt2, (0, 1) and nothing.
std::shared_ptr<const Dataset> three_items(const std::vector<index_t>& history_items) {
  std::vector<index_t> u(history_items.size(), 0);
  auto d = std::make_shared<Dataset>(test::make_dataset(CsrMatrix::from_coordinates(
      2, 4, u, history_items, std::vector<float>(history_items.size(), 1.0f), {},
      DedupPolicy::kLast)));
  FeatureColumn genre("genres", FeatureKind::kMultiCategorical, 4);
  genre.add_label(0, "x");
  genre.add_label(1, "x");
  genre.add_label(1, "y");
  genre.add_label(2, "y");
  d->item_features.add(std::move(genre));
  return d;
}

TEST(Content, ScoresAreTheProfileDotTheItemVectorsByHand) {
  const auto d = three_items({0});
  FitContext ctx;
  ctx.verbose = false;
  TrainedModel t = train_model("content", d, {}, ctx);
  const std::vector<col_t> history = {0};
  UserContext user;
  user.history = history;
  std::vector<float> out(4);
  t.model->score(user, out);
  EXPECT_NEAR(out[0], 1.0, 1e-6);
  EXPECT_NEAR(out[1], 1.0 / std::sqrt(2.0), 1e-6);
  EXPECT_NEAR(out[2], 0.0, 1e-6);
  EXPECT_EQ(out[3], 0.0f);
  // A weighted mean: weights 3 on item 0 and 1 on item 2 give the profile (3/4, 1/4).
  const std::vector<col_t> two = {0, 2};
  const std::vector<float> weights = {3, 1};
  user.history = two;
  user.weights = weights;
  t.model->score(user, out);
  EXPECT_NEAR(out[1], (0.75 + 0.25) / std::sqrt(2.0), 1e-6);
  EXPECT_NEAR(out[2], 0.25, 1e-6);
  // Similar items by cosine: item 1 is 1/sqrt2 from both others; item 3 has none.
  const auto sim = t.model->similar_items(1, 5);
  ASSERT_EQ(sim.size(), 2u);
  EXPECT_EQ(sim[0].item, 0);
  EXPECT_EQ(sim[1].item, 2);
  EXPECT_NEAR(sim[0].score, 1.0 / std::sqrt(2.0), 1e-6);
  EXPECT_TRUE(t.model->similar_items(3, 5).empty());
}

TEST(Content, TimeDecayHalvesOlderInteractions) {
  const auto d = three_items({0});
  FitContext ctx;
  ctx.verbose = false;
  TrainedModel t = train_model("content", d, {{"half_life_days", "1"}}, ctx);
  const std::vector<col_t> history = {0, 2};
  const std::vector<std::int64_t> times = {0, 86400};  // item 0 a day before item 2
  UserContext user;
  user.history = history;
  user.times = times;
  std::vector<float> out(4);
  t.model->score(user, out);
  // Weights 1/2 and 1, normalised: profile (1/3, 2/3).
  EXPECT_NEAR(out[0], 1.0 / 3, 1e-6);
  EXPECT_NEAR(out[2], 2.0 / 3, 1e-6);
}

TEST(Content, TextTermsAndColumnChoice) {
  auto d = std::make_shared<Dataset>(*three_items({0}));
  FeatureColumn title("title", FeatureKind::kText, 4);
  title.set_text(0, "The Red Planet");
  title.set_text(1, "Blue planet, red sky");
  title.set_text(2, "Green");
  title.set_text(3, "Planet of the Apes");
  d->item_features.add(std::move(title));
  FitContext ctx;
  ctx.verbose = false;
  // Only the title: terms in at least two items are "the", "red" and "planet".
  TrainedModel t = train_model("content", d, {{"columns", "title"}}, ctx);
  const auto* m = dynamic_cast<const ContentModel*>(t.model.get());
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->item_vectors().cols(), 3);
  EXPECT_EQ(m->item_vectors().row_size(2), 0);  // "green" is in one item only
  EXPECT_EQ(m->item_vectors().row_size(3), 2);  // "planet", "the"
  const auto sim = t.model->similar_items(0, 5);
  ASSERT_FALSE(sim.empty());
  EXPECT_EQ(sim[0].item, 1);  // shares "red" and "planet"
}

// A model file whose feature count is far beyond its entries (it would size every profile) is
// refused at load, as is a weight that is not a finite number.
TEST(Content, CraftedVectorsAreRefused) {
  auto body = [](index_t cols, float value) {
    BinaryWriter w;
    w.put<float>(0.0f);
    w.put<index_t>(2);
    w.put<index_t>(cols);
    w.put_vector(std::vector<index_t>{0, 1, 1});
    w.put_vector(std::vector<index_t>{0});
    w.put_vector(std::vector<float>{value});
    return std::string(w.bytes());
  };
  auto load = [](const std::string& bytes) {
    return test::error_of([&] {
      ContentModel m;
      BinaryReader r(bytes, "crafted.rkm");
      m.load(r);
    });
  };
  EXPECT_EQ(load(body(1, 0.5f)), "");
  // (2^40 features: beyond any matrix's columns; 1000 for one entry: beyond this model's.)
  EXPECT_NE(load(body(index_t{1} << 40, 0.5f)).find("corrupt sparse matrix"), std::string::npos);
  EXPECT_NE(load(body(1000, 0.5f)).find("corrupt content model"), std::string::npos);
  EXPECT_NE(load(body(1, std::nanf(""))).find("not a finite number"), std::string::npos);
}

TEST(Content, NewItemsAreScoredAndPlacedByTheirFeatures) {
  const auto d = three_items({0});
  FitContext ctx;
  ctx.verbose = false;
  TrainedModel t = train_model("content", d, {}, ctx);
  // A new item with label y alone is item 2's vector: (0, 1).
  FeatureTable fresh(2);
  FeatureColumn genre("genres", FeatureKind::kMultiCategorical, 2);
  genre.add_label(0, "y");
  genre.add_label(1, "unknown");  // nothing the model knows: not placed
  fresh.add(std::move(genre));
  const auto v = t.model->embed_new_item(fresh, 0);
  ASSERT_TRUE(v.has_value());
  EXPECT_FALSE(t.model->embed_new_item(fresh, 1).has_value());
  const std::vector<col_t> history = {1};  // profile (1, 1)/sqrt2
  UserContext user;
  user.history = history;
  std::vector<float> s(1);
  t.model->score_new_items(user, std::span<const NewItemVector>(&*v, 1), s);
  std::vector<float> all(4);
  t.model->score(user, all);
  EXPECT_NEAR(s[0], all[2], 1e-6);
  const auto sim = t.model->similar_to_new_item(*v, 5);
  ASSERT_EQ(sim.size(), 2u);
  EXPECT_EQ(sim[0].item, 2);
  EXPECT_NEAR(sim[0].score, 1.0, 1e-6);
  // Saved and loaded, the encoder comes along.
  BinaryWriter w;
  t.model->save(w);
  ContentModel back;
  BinaryReader r(w.bytes(), "test");
  back.load(r);
  const auto again = back.embed_new_item(fresh, 0);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->values, v->values);
}

TEST(Content, TruncatedSvdGivesDenseVectors) {
  // One component: the vectors (1, 0), (1, 1)/sqrt2, (0, 1) all lie on (1, 1)/sqrt2 once
  // projected and normalised, so every item with features scores 1 against any of them.
  const auto d = three_items({0});
  FitContext ctx;
  ctx.verbose = false;
  TrainedModel t = train_model("content", d, {{"svd", "1"}}, ctx);
  const std::vector<col_t> history = {0};
  UserContext user;
  user.history = history;
  std::vector<float> out(4);
  t.model->score(user, out);
  EXPECT_NEAR(out[0], 1.0, 1e-5);
  EXPECT_NEAR(out[1], 1.0, 1e-5);
  EXPECT_NEAR(out[2], 1.0, 1e-5);
  EXPECT_EQ(out[3], 0.0f);
  // The file keeps V; the loaded model scores the same.
  BinaryWriter w;
  t.model->save(w);
  ContentModel back;
  BinaryReader r(w.bytes(), "test");
  back.load(r);
  std::vector<float> again(4);
  back.score(user, again);
  EXPECT_EQ(again, out);
  // More components than the data has are capped (2 features: 1 component).
  EXPECT_NO_THROW(train_model("content", d, {{"svd", "50"}}, ctx));
}

TEST(Content, RefusesDataWithoutFeaturesAndUnknownColumns) {
  auto d = std::make_shared<Dataset>(test::make_dataset(
      CsrMatrix::from_coordinates(1, 2, std::vector<index_t>{0}, std::vector<index_t>{1},
                                  std::vector<float>{1.0f}, {}, DedupPolicy::kLast)));
  FitContext ctx;
  ctx.verbose = false;
  auto e = test::error_of([&] { train_model("content", d, {}, ctx); });
  EXPECT_NE(e.find("no usable features"), std::string::npos) << e;
  e = test::error_of([&] { train_model("content", three_items({0}), {{"columns", "tags"}}, ctx); });
  EXPECT_NE(e.find("no item feature column \"tags\" (known: genres)"), std::string::npos) << e;
}

}  // namespace
}  // namespace reckon
