#pragma once
// reckon's binary dataset file (.rkd): loading does no text parsing.
#include <filesystem>
#include <memory>

#include "reckon/core/binary_io.hpp"
#include "reckon/core/dataset.hpp"

namespace reckon {

// Version 2 (0.16.0) aligns the interaction arrays to 8 bytes, so that loading a file views them
// in its memory map instead of copying them; version 1 files (packed) still load, by copy.
// Version 3 (0.18.0) stores item indexes in 32 bits (col_t), as the matrix holds them; versions 1
// and 2 (64-bit) still load, their indexes narrowed into a copy.
inline constexpr std::uint32_t kDatasetFormatVersion = 3;

// Writes atomically (temp file + rename).
void save_dataset(const Dataset& dataset, const std::filesystem::path& path);
// Refuses truncated, corrupted or foreign files with a message naming the path. A version 2
// file's interactions stay in the file's read-only memory map (shared by every process on the
// host that loads the same file): replace such a file by rename, as reckon's writers do, never
// rewrite it in place while a process reads it.
Dataset load_dataset(const std::filesystem::path& path);
// The dataset as bytes (the .rkd body of format `version`) and back; model files embed the
// current version (version 1 before model format 2). With an `owner` keeping `bytes` alive, a
// version 3 body's interaction arrays are viewed in place where they are aligned in memory.
std::string encode_dataset(const Dataset& dataset, std::uint32_t version = 1);
// The same body appended to `w` (a model file embeds its training data without a second copy);
// the caller has checked `dataset.validate()`.
void write_dataset(BinaryWriter& w, const Dataset& dataset, std::uint32_t version = 1);
Dataset decode_dataset(std::string_view bytes, const std::string& what, std::uint32_t version = 1,
                       const std::shared_ptr<const void>& owner = {});
// True when the file starts with the .rkd magic bytes.
bool is_dataset_file(const std::filesystem::path& path);

}  // namespace reckon
