// Item metadata / user feature files (delimited or JSONL, typed columns), keyed by a small
// fixed id map. The first byte picks the file type.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "reckon/core/error.hpp"
#include "reckon/io/import.hpp"

using namespace reckon;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static const IdMap ids = IdMap::from_ids({"1", "2", "3", "a", "b"});
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  static const char* const kNames[] = {"items.csv", "items.tsv", "items.jsonl", "items.txt"};
  try {
    FeatureTable table(ids.size());
    const auto path = fuzz::write_input(kNames[data[0] % 4], text);
    read_metadata(path, ids, table, {});
  } catch (const reckon::Error&) {
  }
  return 0;
}
