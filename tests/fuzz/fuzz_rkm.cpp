// The .rkm body decoder (model name, parameters, training data, the model's own arrays),
// called directly past the checksum. A model that loads must also score without reading out of
// bounds, so a decoded model is asked for one user's scores and similar items.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "reckon/core/error.hpp"
#include "reckon/models/model.hpp"

using namespace reckon;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const TrainedModel t =
        decode_model(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.rkm");
    const auto items = t.train->num_items();
    if (items > 0 && items < 100000 && t.train->num_users() > 0) {
      std::vector<float> scores(static_cast<std::size_t>(items));
      UserContext ctx;
      ctx.user = 0;
      ctx.history = t.train->interactions.row_indices(0);
      ctx.weights = t.train->interactions.row_values(0);
      t.model->score(ctx, scores);
      try {
        (void)t.model->similar_items(0, 5);
      } catch (const NotSupported&) {
      }
    }
  } catch (const reckon::Error&) {
  }
  return 0;
}
