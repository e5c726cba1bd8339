#include "torch_support.hpp"

#include <cmath>
#include <mutex>

#include "reckon/core/threads.hpp"

namespace reckon::neural {

void configure_torch(const FitContext& ctx) {
  // The inter-op pool can be sized only once, before its first use; reckon never uses it, so
  // one thread, so that `--threads N` means N.
  static std::once_flag once;
  std::call_once(once, [] {
    try {
      at::set_num_interop_threads(1);
    } catch (const std::exception&) {
    }
  });
  torch::set_num_threads(std::max(1, ctx.threads > 0 ? ctx.threads : thread_budget()));
  torch::manual_seed(ctx.seed);
}

DenseLayer to_layer(const torch::Tensor& weight, const torch::Tensor& bias,
                    Activation activation) {
  const torch::Tensor w = weight.detach().to(torch::kFloat32).contiguous();
  const torch::Tensor b = bias.detach().to(torch::kFloat32).contiguous();
  DenseLayer l;
  l.in = w.size(0);
  l.out = w.size(1);
  l.activation = activation;
  l.weight.assign(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
  l.bias.assign(b.data_ptr<float>(), b.data_ptr<float>() + b.numel());
  return l;
}

torch::Tensor xavier_weight(index_t in, index_t out) {
  const double std = std::sqrt(2.0 / static_cast<double>(in + out));
  return (torch::randn({in, out}) * std).requires_grad_(true);
}

torch::Tensor small_bias(index_t out) {
  return (torch::randn({out}) * 0.001).requires_grad_(true);
}

torch::Tensor apply(Activation activation, const torch::Tensor& x) {
  switch (activation) {
    case Activation::kIdentity: return x;
    case Activation::kTanh: return torch::tanh(x);
    case Activation::kSigmoid: return torch::sigmoid(x);
    case Activation::kRelu: return torch::relu(x);
  }
  return x;
}

}  // namespace reckon::neural
