#pragma once
// Whether this build trains neural models (RECKON_WITH_TORCH): without libtorch their fit()
// throws NotSupported, and a model file trained elsewhere still loads and serves.
namespace reckon::neural {
bool torch_available();
}  // namespace reckon::neural
