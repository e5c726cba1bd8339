// The .rkm body decoder (model name, parameters, training data, the model's own arrays),
// called directly past the checksum. A model that loads must also score without reading out of
// bounds, so a decoded model is asked for one user's scores and similar items.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "reckon/core/error.hpp"
#include "reckon/models/model.hpp"

using namespace reckon;

namespace {

void decode_and_score(std::string_view bytes, std::uint32_t version,
                      const std::shared_ptr<const void>& owner) {
  try {
    const TrainedModel t = decode_model(bytes, "fuzz.rkm", version, owner);
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
}

}  // namespace

// Each input as a format 1 body (copied) and as format 2 and 3 bodies (64- and 32-bit items) from
// 8-byte aligned storage of exactly its size (viewed in place, as from a memory-mapped file).
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  decode_and_score(std::string_view(reinterpret_cast<const char*>(data), size), 1, {});
  constexpr std::align_val_t kAlign{8};
  auto* aligned = static_cast<char*>(::operator new(size + (size == 0), kAlign));
  const std::shared_ptr<const void> storage(aligned,
                                            [](void* p) { ::operator delete(p, kAlign); });
  if (size > 0) std::memcpy(aligned, data, size);
  for (std::uint32_t version : {2u, 3u})
    decode_and_score(std::string_view(aligned, size), version, storage);
  return 0;
}
