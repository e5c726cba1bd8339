#pragma once
// A small served model for the service and HTTP tests: two taste groups (users u0..u19 like
// items i0..i9, users u20..u39 like i10..i19, each has seen 6 of their group's 10), timestamps
// (user u, j-th item: 1,000,000 + 100 u + j seconds) and item metadata (title, genres).
#include <filesystem>
#include <future>
#include <map>
#include <string>

#include "reckon/core/random.hpp"
#include "reckon/models/model.hpp"
#include "reckon/serve/service.hpp"
#include "test_support.hpp"

namespace reckon::test {

inline std::shared_ptr<const Dataset> serving_dataset() {
  Rng rng(11);
  std::vector<index_t> u, i;
  std::vector<float> v;
  std::vector<std::int64_t> t;
  for (index_t a = 0; a < 40; ++a) {
    std::vector<index_t> items = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    rng.shuffle(std::span<index_t>(items));
    for (int k = 0; k < 6; ++k) {
      u.push_back(a);
      i.push_back(items[k] + (a >= 20 ? 10 : 0));
      v.push_back(1.0f);
      t.push_back(1'000'000 + 100 * a + k);
    }
  }
  Dataset d = make_dataset(CsrMatrix::from_coordinates(40, 20, u, i, v, t, DedupPolicy::kLast));
  auto& title = d.item_features.column("title", FeatureKind::kText);
  auto& genres = d.item_features.column("genres", FeatureKind::kMultiCategorical);
  for (index_t item = 0; item < 20; ++item) {
    title.set_text(item, "Item \"" + std::to_string(item) + "\"");
    genres.add_label(item, item < 10 ? "A" : "B");
    genres.add_label(item, "all");
  }
  return std::make_shared<const Dataset>(std::move(d));
}

// Trains `model` on the serving dataset and writes it to `path`.
inline void write_serving_model(const std::filesystem::path& path, const std::string& model = "ials",
                                const std::map<std::string, std::string>& params = {{"factors", "8"}}) {
  FitContext ctx;
  ctx.threads = 1;
  ctx.verbose = false;
  save_model_file(train_model(model, serving_dataset(), params, ctx), path);
}

// Calls the service and waits for its answer (which may come from another thread).
inline HttpResponse call(Service& service, std::string method, std::string target,
                         std::string body = "", std::string content_type = "") {
  std::promise<HttpResponse> promise;
  auto answer = promise.get_future();
  service.handle({std::move(method), std::move(target), std::move(body), std::move(content_type)},
                 [&](HttpResponse r) { promise.set_value(std::move(r)); });
  return answer.get();
}

}  // namespace reckon::test
