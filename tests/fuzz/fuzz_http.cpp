// The service behind the HTTP framing: event bodies, item bodies (PUT and PATCH) and request
// targets with their query strings, against a small model served from a real event store.
// The first byte picks the request; every answer must be a JSON body with a status, never a
// crash (4xx for bad input; 5xx only for a store failure).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <future>

#include "fuzz_support.hpp"
#include "reckon/core/error.hpp"
#include "reckon/models/model.hpp"
#include "reckon/serve/service.hpp"

using namespace reckon;

namespace {

Service& service() {
  static Service* s = [] {
    std::vector<index_t> u, i;
    std::vector<float> v;
    std::vector<std::int64_t> t;
    for (index_t a = 0; a < 12; ++a)
      for (index_t k = 0; k < 4; ++k) {
        u.push_back(a);
        i.push_back((a * 3 + k * 5) % 10);
        v.push_back(1.0f);
        t.push_back(1'000'000 + a * 10 + k);
      }
    Dataset d;
    std::vector<std::string> users, items;
    for (int a = 0; a < 12; ++a) users.push_back("u" + std::to_string(a));
    for (int k = 0; k < 10; ++k) items.push_back("i" + std::to_string(k));
    d.users = IdMap::from_ids(users);
    d.items = IdMap::from_ids(items);
    d.interactions = CsrMatrix::from_coordinates(12, 10, u, i, v, t, DedupPolicy::kLast);
    d.user_features = FeatureTable(12);
    auto& gender = d.user_features.column("gender", FeatureKind::kCategorical);
    for (index_t a = 0; a < 12; ++a) gender.add_label(a, a % 2 ? "F" : "M");
    d.item_features = FeatureTable(10);
    d.item_features.column("title", FeatureKind::kText).set_text(1, "One");
    FitContext ctx;
    ctx.threads = 1;
    ctx.verbose = false;
    const auto model = fuzz::scratch_dir() / "m.rkm";
    save_model_file(train_model("ials", std::make_shared<const Dataset>(std::move(d)),
                                {{"factors", "4"}, {"iterations", "2"}}, ctx),
                    model);
    ServiceOptions o;
    o.model_file = model;
    o.snapshot.precompute_offline = false;
    o.max_new_items = 1000;
    // The dashboard's reports (GET /reports/{name}): one real report beside the model.
    o.reports_dir = fuzz::scratch_dir();
    std::ofstream(fuzz::scratch_dir() / "eval.json")
        << R"({"dataset":{"name":"f"},"protocol":{},"models":[{"name":"ials","metrics":{}}]})";
    auto* svc = new Service(o, open_sqlite_event_store((fuzz::scratch_dir() / "e.db").string()));
    return svc;
  }();
  return *s;
}

HttpResponse send(HttpRequest r) {
  std::promise<HttpResponse> promise;
  auto answer = promise.get_future();
  service().handle(std::move(r), [&](HttpResponse x) { promise.set_value(std::move(x)); });
  return answer.get();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  HttpRequest r;
  r.content_type = "application/json";
  switch (data[0] % 11) {
    case 0:
      r = {"POST", "/events", rest, "application/json"};
      break;
    case 1:
      r = {"PUT", "/items/i1", rest, "application/json"};
      break;
    case 2:
      r = {"PATCH", "/items/i2", rest, "application/json"};
      break;
    case 3:
      r = {"GET", "/recommend/u1?" + rest, "", ""};
      break;
    case 4:
      r = {"GET", rest.empty() || rest[0] != '/' ? "/" + rest : rest, "", ""};
      break;
    case 5:
      r = {"GET", "/similar/i3?" + rest, "", ""};
      break;
    case 6:  // user records: features checked against the model's columns, then cold start
      r = {"PUT", "/users/stranger", rest, "application/json"};
      break;
    case 7:
      r = {"POST", "/items", rest, "application/json"};
      break;
    case 8:
      r = {"DELETE", "/users/u2/events?" + rest, "", ""};
      break;
    case 9:
      r = {"GET", "/latest?" + rest, "", ""};
      break;
    case 10:
      r = {"POST", "/recommend", rest, "application/json"};
      break;
  }
  const HttpResponse answer = send(std::move(r));
  if (answer.status < 200 || answer.status > 599 || answer.body.empty()) std::abort();
  if (answer.status >= 500 && answer.status != 503) std::abort();  // a bug, not bad input
  return 0;
}
