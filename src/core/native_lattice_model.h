// The native path of TorchModel (torch_model.h): models of tools/mlspin_train with
// the lattice descriptor and one species (MLSpinModel._energy_columns), evaluated
// with the native descriptor (lattice_kernel.h) and LibTorch matrix products for the
// network. Same numbers as the model's TorchScript forward() up to round-off.
//
//   features x = descriptor(S)                 [n_features, n], rows in column_order
//   h = net((x - mean) / scale)                 standardisation folded into layer 1
//   e_i = h_i * energy_scale + energy_shift + magnitude_coef (|S_i|^2 - 1)
//
// Energies do not depend on positions: dE/d(edge vector) is zero.
#pragma once

#include "core/torch_model.h"

#include <memory>
#include <string>
#include <vector>

namespace torch {
namespace jit {
struct Module;
}
}    // namespace torch

namespace mlspin {

class NativeLatticeModel {
 public:
  // A native model for `module`, or nullptr with `reason` saying what was not
  // recognised (then the TorchScript forward() is used). metadata: mlspin.json.
  static std::unique_ptr<NativeLatticeModel> create(const torch::jit::Module &module, const std::string &metadata,
                                                    std::string &reason);
  virtual ~NativeLatticeModel() = default;

  // energy[n_local], spin_grad[n_atoms x 3] (float64, resized here); throws
  // mlspin::Error with the descriptor's message on rejected inputs
  virtual void evaluate(const ModelInputs &in, std::vector<double> &energy, std::vector<double> &spin_grad,
                        ModelTimings &timings) = 0;

  // the first layer in bfloat16 (float32 models on CPUs with AVX512-BF16); false with
  // `why` where it cannot be
  virtual bool set_bf16(bool on, std::string &why) = 0;
};

}    // namespace mlspin
