// The .rkd body decoder, called directly: the checksum is bypassed so that the fuzzer reaches
// every array and index check (a crafted file can carry a valid checksum). Each input is read as
// a version 1 body (packed arrays, copied) and as version 2 and 3 bodies (64- and 32-bit items)
// from 8-byte aligned storage, the way a memory-mapped file is read: arrays viewed in place.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "reckon/core/error.hpp"
#include "reckon/io/dataset_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    (void)reckon::decode_dataset(bytes, "fuzz.rkd", 1);
  } catch (const reckon::Error&) {
  }
  // Exactly `size` bytes, 8-byte aligned, so that ASan still sees any read past the input.
  constexpr std::align_val_t kAlign{8};
  auto* aligned = static_cast<char*>(::operator new(size + (size == 0), kAlign));
  const std::shared_ptr<const void> storage(aligned,
                                            [](void* p) { ::operator delete(p, kAlign); });
  if (size > 0) std::memcpy(aligned, data, size);
  for (std::uint32_t version : {2u, 3u}) {
    try {
      (void)reckon::decode_dataset(std::string_view(aligned, size), "fuzz.rkd", version, storage);
    } catch (const reckon::Error&) {
    }
  }
  return 0;
}
