// The interaction readers: delimited (CSV/TSV/any separator), JSONL, MovieLens, LightGCN and
// goodbooks. The first byte picks the reader and a few options; the rest is the file. Bad input
// must end in reckon::Error (a message), never a crash, a hang or unbounded memory.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "reckon/core/error.hpp"
#include "reckon/io/import.hpp"

using namespace reckon;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t mode = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  ImportOptions o;
  o.max_memory = 256u << 20;
  static const char* const kNames[] = {"r.csv",  "r.tsv",     "r.jsonl",
                                       "u.data", "train.txt", "ratings.csv"};
  static const ImportFormat kFormats[] = {ImportFormat::kCsv,      ImportFormat::kTsv,
                                          ImportFormat::kJsonl,    ImportFormat::kMovieLens,
                                          ImportFormat::kLightGcn, ImportFormat::kGoodbooks};
  const int which = mode % 6;
  o.format = (mode & 0x80) ? ImportFormat::kAuto : kFormats[which];
  if (mode & 0x40) o.header = (mode & 0x20) != 0;
  if (mode & 0x10) o.sep = ";";
  if (mode & 0x08) o.implicit = true;
  try {
    const auto path = fuzz::write_input(kNames[which], text);
    (void)import_dataset(path, o);
  } catch (const reckon::Error&) {
  }
  return 0;
}
