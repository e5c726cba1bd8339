#pragma once
// reckon's binary dataset file (.rkd): loading does no text parsing.
#include <filesystem>

#include "reckon/core/dataset.hpp"

namespace reckon {

inline constexpr std::uint32_t kDatasetFormatVersion = 1;

// Writes atomically (temp file + rename).
void save_dataset(const Dataset& dataset, const std::filesystem::path& path);
// Refuses truncated, corrupted or foreign files with a message naming the path.
Dataset load_dataset(const std::filesystem::path& path);
// The dataset as bytes (the .rkd body) and back; used to embed training data in model files.
std::string encode_dataset(const Dataset& dataset);
Dataset decode_dataset(std::string_view bytes, const std::string& what);
// True when the file starts with the .rkd magic bytes.
bool is_dataset_file(const std::filesystem::path& path);

}  // namespace reckon
