#include "test_support.hpp"

#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <cstdlib>
#include <fstream>

#include "reckon/core/random.hpp"
#include "reckon/models/model.hpp"
#include "reckon/models/neural/availability.hpp"

namespace reckon::test {
namespace fs = std::filesystem;

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  path_ = fs::temp_directory_path() /
          ("reckon-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  fs::remove_all(path_);
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

fs::path TempDir::file(std::string_view name, std::string_view content) const {
  const fs::path p = path_ / name;
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  return p;
}

fs::path TempDir::gz_file(std::string_view name, std::string_view content) const {
  const fs::path p = path_ / name;
  gzFile gz = gzopen(p.c_str(), "wb");
  gzwrite(gz, content.data(), static_cast<unsigned>(content.size()));
  gzclose(gz);
  return p;
}

void add_item_features(Dataset& d, index_t groups) {
  const index_t n = d.num_items();
  FeatureColumn genre("genre", FeatureKind::kMultiCategorical, n);
  FeatureColumn title("title", FeatureKind::kText, n);
  for (index_t i = 0; i < n; ++i) {
    genre.add_label(i, "g" + std::to_string(i % groups));
    if (i % 3 == 0) genre.add_label(i, "common");
    title.set_text(i, "Item number " + std::to_string(i) + " of group " +
                          std::string(1, static_cast<char>('a' + i % groups)) + "x");
  }
  d.item_features.add(std::move(genre));
  d.item_features.add(std::move(title));
}

std::vector<std::string> models_under_test() {
  std::vector<std::string> out;
  for (const auto& m : registered_models())
#ifdef RECKON_NEURAL_TESTS
    if (m.trains_on_torch)
#else
    if (!m.trains_on_torch || neural::torch_available())
#endif
      out.push_back(m.name);
  return out;
}

std::map<std::string, std::string> quick_params(const std::string& model) {
  if (model == "glocalk")
    return {{"hidden", "32"}, {"pretrain_epochs", "5"}, {"finetune_epochs", "10"}};
  if (model == "multvae") return {{"hidden", "64"}, {"latent", "16"}, {"epochs", "50"}};
  if (model == "autorec") return {{"hidden", "64"}, {"epochs", "100"}};
  if (model == "dae") return {{"latent", "16"}, {"epochs", "40"}};
  if (model == "lightgcn")
    return {{"factors", "16"}, {"epochs", "30"}, {"batch_size", "64"}, {"learning_rate", "0.01"}};
  if (model == "sasrec") return {{"dim", "16"}, {"max_len", "10"}, {"epochs", "20"}};
  if (model == "gru4rec") return {{"dim", "16"}, {"hidden", "16"}, {"epochs", "10"}};
  return {};
}

std::shared_ptr<const Dataset> two_taste_groups() {
  Rng rng(11);
  std::vector<index_t> u, i;
  std::vector<float> v;
  for (index_t a = 0; a < 40; ++a) {
    std::vector<index_t> items = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    rng.shuffle(std::span<index_t>(items));
    for (int k = 0; k < 6; ++k) {
      u.push_back(a);
      i.push_back(items[k] + (a >= 20 ? 10 : 0));
      v.push_back(1.0f);
    }
  }
  return std::make_shared<const Dataset>(
      make_dataset(CsrMatrix::from_coordinates(40, 20, u, i, v, {}, DedupPolicy::kLast)));
}

Dataset make_dataset(CsrMatrix interactions) {
  Dataset d;
  std::vector<std::string> users, items;
  for (index_t u = 0; u < interactions.rows(); ++u) users.push_back("u" + std::to_string(u));
  for (index_t i = 0; i < interactions.cols(); ++i) items.push_back("i" + std::to_string(i));
  d.users = IdMap::from_ids(std::move(users));
  d.items = IdMap::from_ids(std::move(items));
  d.user_features = FeatureTable(interactions.rows());
  d.item_features = FeatureTable(interactions.cols());
  d.interactions = std::move(interactions);
  return d;
}

std::optional<fs::path> shared_data() {
  fs::path dir;
  if (const char* env = std::getenv("RECKON_DATA_DIR"); env && *env) {
    dir = env;
  } else {
    dir = fs::path(RECKON_SOURCE_DIR) / ".." / "shared" / "data";
  }
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return dir;
  return std::nullopt;
}

}  // namespace reckon::test
