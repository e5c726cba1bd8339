#include "test_support.hpp"

#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <cstdlib>
#include <fstream>

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
