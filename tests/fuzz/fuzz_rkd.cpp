// The .rkd body decoder, called directly: the checksum is bypassed so that the fuzzer reaches
// every array and index check (a crafted file can carry a valid checksum).
#include <cstddef>
#include <cstdint>

#include "reckon/core/error.hpp"
#include "reckon/io/dataset_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    (void)reckon::decode_dataset(std::string_view(reinterpret_cast<const char*>(data), size),
                                 "fuzz.rkd");
  } catch (const reckon::Error&) {
  }
  return 0;
}
