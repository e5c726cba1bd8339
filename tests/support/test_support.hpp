#pragma once
// Helpers for tests: temporary folders and files, gzip, where the shared data lives.
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reckon/core/dataset.hpp"

namespace reckon::test {

// Whether this is an optimised build without sanitizers. Quality checks on real data take
// minutes under AddressSanitizer (CI's second build, which also defines NDEBUG) and in Debug:
// they run in the Release build only.
#if !defined(NDEBUG) || defined(__SANITIZE_ADDRESS__)
inline constexpr bool kPlainOptimisedBuild = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kPlainOptimisedBuild = false;
#else
inline constexpr bool kPlainOptimisedBuild = true;
#endif
#else
inline constexpr bool kPlainOptimisedBuild = true;
#endif

// A fresh temporary folder, removed when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path file(std::string_view name, std::string_view content) const;
  std::filesystem::path gz_file(std::string_view name, std::string_view content) const;
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// A dataset with users "u0".."u{n-1}" and items "i0".."i{m-1}" around `interactions`, empty
// feature tables of the right size.
Dataset make_dataset(CsrMatrix interactions);
// Two taste groups: users 0..19 like items 0..9, users 20..39 like items 10..19; each user has
// seen 6 of the 10 items of their group (seeded). Weights 1, no times.
std::shared_ptr<const Dataset> two_taste_groups();
// The registered models this test binary fits: reckon_neural_tests (RECKON_NEURAL_TESTS) the
// ones that train on libtorch, reckon_unit_tests the others (and those too where its stand-ins
// are real trainers, which the build does not do today).
std::vector<std::string> models_under_test();
// Parameters that keep a model's fit on the tests' tiny data to a second (the neural models'
// published sizes and epoch counts take minutes there); empty for the others, which run with
// their defaults.
std::map<std::string, std::string> quick_params(const std::string& model);
// Item features for models that read them (content): a "genre" label column (item % groups,
// so that items of a taste group of `groups` share labels) and a "title" text column.
void add_item_features(Dataset& d, index_t groups);

// $RECKON_DATA_DIR or <source>/../shared/data; nullopt when the folder is missing.
std::optional<std::filesystem::path> shared_data();

// Runs `fn` and returns the InvalidInput message it throws ("" when it throws nothing).
template <typename F>
std::string error_of(F&& fn);

}  // namespace reckon::test

#include "reckon/core/error.hpp"

template <typename F>
std::string reckon::test::error_of(F&& fn) {
  try {
    fn();
  } catch (const reckon::Error& e) {
    return e.what();
  }
  return "";
}
