// The neural models: the plain network (forward passes by hand, its loader against damaged
// files) in every build; training, known answers and fold-in where libtorch is built in.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "reckon/core/random.hpp"
#include "reckon/models/model.hpp"
#include "reckon/models/neural/availability.hpp"
#include "reckon/models/neural/mlp.hpp"
#include "reckon/retrieval/fallback.hpp"
#include "reckon/retrieval/recommender.hpp"
#include "reckon/retrieval/topk.hpp"
#include "test_support.hpp"

namespace reckon {
namespace {

using neural::Activation;
using neural::DenseLayer;
using neural::Mlp;

// [3 -> 2 tanh] [2 -> 1 identity] with small integer weights.
Mlp small_net() {
  DenseLayer a{3, 2, Activation::kTanh, {1, 0, 0, 1, 1, -1}, {0.5f, -0.5f}};
  DenseLayer b{2, 1, Activation::kIdentity, {2, 3}, {1}};
  return Mlp({a, b});
}

TEST(Mlp, ForwardByHand) {
  const Mlp net = small_net();
  // x = (1, 0, 2): hidden = tanh((1*1 + 2*1 + 0.5, 1*0 + 2*-1 - 0.5)) = tanh((3.5, -2.5)).
  const float expected = 2 * std::tanh(3.5f) + 3 * std::tanh(-2.5f) + 1;
  const std::vector<index_t> index = {0, 2};
  const std::vector<float> value = {1, 2};
  std::vector<float> out(1);
  net.forward_sparse(index, value, out);
  EXPECT_NEAR(out[0], expected, 1e-6);
  // The same input dense, in a batch of two rows (the second all zeros: tanh of the biases).
  const std::vector<float> dense = {1, 0, 2, 0, 0, 0};
  std::vector<float> two(2);
  net.forward_dense(dense, 2, two);
  EXPECT_NEAR(two[0], expected, 1e-6);
  EXPECT_NEAR(two[1], 2 * std::tanh(0.5f) + 3 * std::tanh(-0.5f) + 1, 1e-6);
}

std::string load_error(const std::string& bytes) {
  return test::error_of([&] {
    BinaryReader r(bytes, "net.rkm");
    Mlp::load(r);
  });
}

TEST(Mlp, LoaderRefusesDamagedNetworks) {
  BinaryWriter w;
  small_net().save(w);
  {
    BinaryReader r(w.bytes(), "net.rkm");
    const Mlp back = Mlp::load(r);
    std::vector<float> a(1), b(1);
    const std::vector<index_t> index = {1};
    const std::vector<float> value = {1};
    back.forward_sparse(index, value, a);
    small_net().forward_sparse(index, value, b);
    EXPECT_EQ(a[0], b[0]);
  }
  const auto with = [](auto change) {
    std::vector<DenseLayer> layers = small_net().layers();
    change(layers);
    BinaryWriter w;
    w.put<std::uint32_t>(static_cast<std::uint32_t>(layers.size()));
    for (const auto& l : layers) {
      w.put<index_t>(l.in);
      w.put<index_t>(l.out);
      w.put<std::uint8_t>(static_cast<std::uint8_t>(l.activation));
      w.put_vector(l.weight);
      w.put_vector(l.bias);
    }
    return std::string(w.bytes());
  };
  EXPECT_NE(load_error(with([](auto& l) { l[1].in = 3; })).find("takes 3 inputs"),
            std::string::npos);
  EXPECT_NE(load_error(with([](auto& l) { l[0].weight.pop_back(); })).find("5 weights"),
            std::string::npos);
  EXPECT_NE(load_error(with([](auto& l) { l[0].out = index_t{1} << 40; })).find("layer 0 is"),
            std::string::npos);
  EXPECT_NE(load_error(with([](auto& l) { l[0].weight[2] = NAN; })).find("is nan"),
            std::string::npos);
  EXPECT_NE(load_error(with([](auto& l) { l[1].activation = static_cast<Activation>(9); }))
                .find("activation 9"),
            std::string::npos);
  EXPECT_NE(load_error(with([](auto& l) { l.clear(); })).find("0 layers"), std::string::npos);
  EXPECT_NE(load_error(std::string(w.bytes()).substr(0, 30)).find("net.rkm"), std::string::npos);
}

UserContext known_history(const Dataset& d, index_t u) {
  UserContext c;
  c.user = u;
  c.history = d.interactions.row_indices(u);
  return c;
}

class Autoencoders : public ::testing::TestWithParam<std::map<std::string, std::string>> {
 protected:
  void SetUp() override {
    if (!neural::torch_available()) GTEST_SKIP() << "built without libtorch";
  }
};

// Each unseen item of the user's own taste group outranks every item of the other group, for
// training users and for a stranger folded in from three items.
TEST_P(Autoencoders, RankTheirOwnGroupFirstAndFoldIn) {
  const auto d = test::two_taste_groups();
  FitContext ctx;
  ctx.threads = 1;
  ctx.verbose = false;
  auto params = GetParam();
  const std::string model = params["model"];
  params.erase("model");
  TrainedModel t = train_model(model, d, params, ctx);
  std::vector<float> s(20);
  for (index_t u : {0, 7, 25, 39}) {
    const auto rec = recommend(*t.model, known_history(*d, u), 4, Filter{}, s);
    ASSERT_EQ(rec.size(), 4u);
    for (const auto& r : rec)
      EXPECT_EQ(r.item >= 10, u >= 20) << model << " user " << u << " got " << r.item;
  }
  const std::vector<col_t> likes = {11, 12, 13};
  UserContext stranger;
  stranger.history = likes;
  const auto rec = recommend(*t.model, stranger, 5, Filter{}, s);
  ASSERT_EQ(rec.size(), 5u);
  for (const auto& r : rec) EXPECT_TRUE(r.item >= 10 && r.item < 20) << r.item;

  // A batch scores as one user at a time.
  std::vector<UserContext> users = {known_history(*d, 3), stranger, UserContext{}};
  std::vector<float> batch(3 * 20), one(20);
  t.model->score_batch(users, batch);
  for (std::size_t b = 0; b < users.size(); ++b) {
    t.model->score(users[b], one);
    for (std::size_t i = 0; i < 20; ++i) EXPECT_NEAR(batch[b * 20 + i], one[i], 1e-4);
  }
  // Similar items come from the same group.
  for (const auto& r : t.model->similar_items(2, 3)) EXPECT_LT(r.item, 10);
}

INSTANTIATE_TEST_SUITE_P(
    Neural, Autoencoders,
    ::testing::Values(
        std::map<std::string, std::string>{{"model", "multvae"}, {"hidden", "32"},
                                           {"latent", "8"}, {"learning_rate", "0.01"},
                                           {"epochs", "150"}, {"validation", "0"}},
        std::map<std::string, std::string>{{"model", "multvae"}, {"variant", "dae"},
                                           {"hidden", "0"}, {"latent", "8"},
                                           {"learning_rate", "0.01"}, {"epochs", "150"},
                                           {"validation", "0"}},
        std::map<std::string, std::string>{{"model", "dae"}, {"loss", "bce"}, {"masked", "false"},
                                           {"latent", "8"}, {"learning_rate", "0.01"},
                                           {"epochs", "150"}, {"validation", "0"}},
        std::map<std::string, std::string>{{"model", "dae"}, {"loss", "mse"}, {"masked", "false"},
                                           {"hidden", "16"}, {"latent", "8"},
                                           {"activation", "tanh"}, {"learning_rate", "0.01"},
                                           {"epochs", "150"}, {"validation", "0"}}),
    [](const auto& info) {
      if (info.param.at("model") == "dae") return "dae_" + info.param.at("loss");
      return info.param.count("variant") ? "multdae" : info.param.at("model");
    });

TEST(MultVae, StopsEarlyOnHeldOutUsersAndSaysSo) {
  if (!neural::torch_available()) GTEST_SKIP() << "built without libtorch";
  const auto d = test::two_taste_groups();
  FitContext ctx;
  ctx.threads = 1;
  ctx.verbose = false;
  TrainedModel t = train_model("multvae", d,
                               {{"hidden", "16"}, {"latent", "4"}, {"epochs", "400"},
                                {"learning_rate", "0.02"}, {"patience", "5"},
                                {"validation", "0.25"}, {"validation_k", "5"}},
                               ctx);
  const auto info = t.model->describe();
  const auto& run = info.at("training");
  EXPECT_LT(run.at("epochs_run").get<int>(), 400);  // stopped early
  EXPECT_EQ(run.at("epochs_run").get<int>() - run.at("best_epoch").get<int>(), 5);
  EXPECT_GT(run.at("validation_ndcg@5").get<double>(), 0.5);
  EXPECT_EQ(info.at("layers").size(), 4u);
}

// Items 0..9 are rated 5 by everyone who rates them, items 10..19 rated 1; each user rates
// 12 of the 20. Every unrated good item must be predicted well above every unrated bad one (and
// on the right side of the middle of the scale), for training users and for a stranger folded
// in from four ratings.
class RatingAutoencoders : public Autoencoders {};

TEST_P(RatingAutoencoders, LearnItemEffectsAndFoldIn) {
  Rng rng(5);
  std::vector<index_t> u, i;
  std::vector<float> v;
  for (index_t a = 0; a < 50; ++a) {
    std::vector<index_t> items(20);
    for (index_t k = 0; k < 20; ++k) items[static_cast<std::size_t>(k)] = k;
    rng.shuffle(std::span<index_t>(items));
    for (int k = 0; k < 12; ++k) {
      u.push_back(a);
      i.push_back(items[static_cast<std::size_t>(k)]);
      v.push_back(items[static_cast<std::size_t>(k)] < 10 ? 5.0f : 1.0f);
    }
  }
  auto d = std::make_shared<Dataset>(
      test::make_dataset(CsrMatrix::from_coordinates(50, 20, u, i, v, {}, DedupPolicy::kLast)));
  d->explicit_ratings = true;
  FitContext ctx;
  ctx.threads = 1;
  ctx.verbose = false;
  auto params = GetParam();
  const std::string model = params["model"];
  params.erase("model");
  TrainedModel t = train_model(model, d, params, ctx);
  EXPECT_TRUE(t.model->predicts_ratings());
  std::vector<float> s(20);
  for (index_t user : {0, 17, 49}) {
    UserContext c;
    c.user = user;
    c.history = d->interactions.row_indices(user);
    c.weights = d->interactions.row_values(user);
    t.model->score(c, s);
    float worst_good = 10, best_bad = -10;
    for (index_t item = 0; item < 20; ++item) {
      if (std::binary_search(c.history.begin(), c.history.end(), item)) continue;
      float& side = item < 10 ? worst_good : best_bad;
      side = item < 10 ? std::min(side, s[static_cast<std::size_t>(item)])
                       : std::max(side, s[static_cast<std::size_t>(item)]);
    }
    EXPECT_GT(worst_good, best_bad + 1.5f) << model << " user " << user;
    EXPECT_GT(worst_good, 3.0f) << model << " user " << user;
    EXPECT_LT(best_bad, 3.0f) << model << " user " << user;
  }
  const std::vector<col_t> rated = {0, 1, 10, 11};
  const std::vector<float> ratings = {5, 5, 1, 1};
  UserContext stranger;
  stranger.history = rated;
  stranger.weights = ratings;
  t.model->score(stranger, s);
  for (index_t good = 2; good < 10; ++good)
    for (index_t bad = 12; bad < 20; ++bad)
      EXPECT_GT(s[static_cast<std::size_t>(good)], s[static_cast<std::size_t>(bad)] + 1.0f);
}

INSTANTIATE_TEST_SUITE_P(
    Neural, RatingAutoencoders,
    ::testing::Values(
        std::map<std::string, std::string>{{"model", "autorec"}, {"hidden", "8"},
                                           {"learning_rate", "0.01"}, {"epochs", "300"},
                                           {"validation", "0"}, {"lambda", "0.1"}},
        std::map<std::string, std::string>{{"model", "autorec"}, {"variant", "user"},
                                           {"hidden", "8"}, {"learning_rate", "0.01"},
                                           {"epochs", "300"}, {"validation", "0"},
                                           {"lambda", "0.1"}},
        std::map<std::string, std::string>{{"model", "glocalk"}, {"hidden", "8"},
                                           {"layers", "1"}, {"lambda_2", "0.1"},
                                           {"pretrain_epochs", "30"}, {"finetune_epochs", "20"},
                                           {"validation", "0"}},
        // A new L-BFGS history each epoch (as published): slower, so more iterations an epoch.
        std::map<std::string, std::string>{{"model", "glocalk"}, {"hidden", "8"},
                                           {"layers", "1"}, {"lambda_2", "0.1"},
                                           {"pretrain_epochs", "30"}, {"finetune_epochs", "20"},
                                           {"restart", "true"}, {"iterations", "20"},
                                           {"validation", "0"}}),
    [](const auto& info) {
      if (info.param.count("restart")) return info.param.at("model") + "_restarts";
      return info.param.count("variant") ? info.param.at("model") + "_" + info.param.at("variant")
                                         : info.param.at("model");
    });

// The seed's setting: two taste groups told apart by a gender column. A stranger with no
// history but the gender gets the group's items from the model (not a fallback); a masked
// model predicts ratings on the data's scale; damaged files and negative values are refused.
TEST(Dae, StrangersFromTheirFeaturesAndRatingsOnTheScale) {
  if (!neural::torch_available()) GTEST_SKIP() << "built without libtorch";
  auto d = std::make_shared<Dataset>(*test::two_taste_groups());
  FeatureColumn gender("gender", FeatureKind::kCategorical, 40);
  for (index_t a = 0; a < 40; ++a) gender.add_label(a, a < 20 ? "f" : "m");
  d->user_features.add(std::move(gender));
  FitContext ctx;
  ctx.threads = 1;
  ctx.verbose = false;
  TrainedModel t = train_model("dae", d,
                               {{"latent", "8"},
                                {"learning_rate", "0.01"}, {"epochs", "150"}, {"validation", "0"}},
                               ctx);
  EXPECT_FALSE(t.model->predicts_ratings());
  EXPECT_EQ(t.model->describe().at("user_features").get<int>(), 2);
  const Recommender rec(t);
  for (const auto& [label, second] : {std::pair{"f", false}, std::pair{"m", true}}) {
    const FeatureTable f = stranger_features(d->user_features, {{"gender", label}});
    UserContext ctx1;
    ctx1.features = &f;
    ctx1.feature_row = 0;
    EXPECT_TRUE(t.model->scores_without_history(ctx1));
    const Recommendation r = rec.for_stranger({}, f, 5);
    EXPECT_EQ(r.source, "model");
    for (const auto& x : r.items) EXPECT_EQ(x.item >= 10, second) << label << " got " << x.item;
  }
  UserContext nobody;
  EXPECT_FALSE(t.model->scores_without_history(nobody));

  // Saved and loaded, it scores the same; a file whose sizes disagree is refused.
  BinaryWriter w;
  t.model->save(w);
  auto back = make_model("dae");
  {
    BinaryReader r(w.bytes(), "dae.rkm");
    back->load(r);
  }
  std::vector<float> a(20), b(20);
  t.model->score(known_history(*d, 3), a);
  back->score(known_history(*d, 3), b);
  for (std::size_t i = 0; i < 20; ++i) EXPECT_FLOAT_EQ(a[i], b[i]);
  std::string cut(w.bytes());
  EXPECT_NE(test::error_of([&] {
              BinaryReader r(cut.substr(0, cut.size() / 2), "dae.rkm");
              make_model("dae")->load(r);
            }).find("dae.rkm"),
            std::string::npos);

  // Masked MSE on ratings 1..5 (group items 5, the others unrated): predictions near 5.
  auto rated = std::make_shared<Dataset>(*d);
  std::vector<float> fives(static_cast<std::size_t>(rated->interactions.nnz()), 5.0f);
  rated->interactions = rated->interactions.with_values(fives);
  TrainedModel m = train_model("dae", rated,
                               {{"loss", "mse"}, {"masked", "true"}, {"latent", "8"},
                                {"learning_rate", "0.01"}, {"epochs", "100"}, {"validation", "0"},
                                {"user_columns", "none"}},
                               ctx);
  EXPECT_TRUE(m.model->predicts_ratings());
  m.model->score(known_history(*rated, 0), a);
  for (index_t i : rated->interactions.row_indices(0)) EXPECT_NEAR(a[static_cast<std::size_t>(i)], 5.0f, 0.5f);

  std::vector<float> negative = fives;
  negative[0] = -1;
  rated->interactions = rated->interactions.with_values(negative);
  EXPECT_NE(test::error_of([&] { train_model("dae", rated, {{"epochs", "1"}}, ctx); })
                .find("must be 0 or more"),
            std::string::npos);
}

// An I-AutoRec file ends with its variant byte (0); files written before U-AutoRec have none
// and load as I-AutoRec; an unknown variant is refused.
TEST(AutoRec, OlderFilesLoadAndUnknownVariantsAreRefused) {
  if (!neural::torch_available()) GTEST_SKIP() << "built without libtorch";
  const auto d = test::two_taste_groups();
  FitContext ctx;
  ctx.threads = 1;
  ctx.verbose = false;
  TrainedModel t = train_model("autorec", d, {{"hidden", "4"}, {"epochs", "5"}}, ctx);
  BinaryWriter w;
  t.model->save(w);
  std::string bytes(w.bytes());
  ASSERT_EQ(bytes.back(), '\0');
  const auto load = [](const std::string& b) {
    auto m = make_model("autorec");
    BinaryReader r(b, "autorec.rkm");
    m->load(r);
    return m;
  };
  auto older = load(bytes.substr(0, bytes.size() - 1));
  EXPECT_EQ(older->describe().at("variant"), "item");
  std::vector<float> a(20), b(20);
  t.model->score(known_history(*d, 1), a);
  older->score(known_history(*d, 1), b);
  EXPECT_EQ(a, b);
  bytes.back() = '\2';
  EXPECT_NE(test::error_of([&] { load(bytes); }).find("variant 2"), std::string::npos);
  TrainedModel u = train_model("autorec", d, {{"variant", "user"}, {"hidden", "4"}, {"epochs", "5"}},
                               ctx);
  EXPECT_EQ(u.model->describe().at("variant"), "user");
}

TEST(MultVae, WithoutLibtorchFitSaysWhy) {
  if (neural::torch_available()) GTEST_SKIP() << "built with libtorch";
  FitContext ctx;
  ctx.verbose = false;
  try {
    train_model("multvae", test::two_taste_groups(), {}, ctx);
    FAIL() << "fit without libtorch";
  } catch (const NotSupported& e) {
    EXPECT_NE(std::string(e.what()).find("without it"), std::string::npos);
  }
}

}  // namespace
}  // namespace reckon
