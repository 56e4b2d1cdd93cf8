// The native path of TorchModel (torch_model.h): models of tools/mlspin_train with
// the lattice descriptor and one species (MLSpinModel._energy_columns), evaluated
// with the native descriptor (lattice_kernel.h) and LibTorch matrix products for the
// network. Same numbers as the model's TorchScript forward() up to round-off.
//
//   features x = descriptor(S)                 [n_features, n], rows in column_order
//   h = net((x - mean) / scale)                 standardisation folded into layer 1
//   e_i = h_i * energy_scale + energy_shift + magnitude_coef (|S_i|^2 - 1)
//
// Contract 2 models (MLSpinMuModel, the mu input): mu enters the first layer as a bias
// per center, h = net(W1 x + b1 + w_mu u), u = (mu - mu0)/mu_scale, and
//   omega_i = e_i - nbar (mu - mu0) - chi (mu - mu0)^2 / 2,
//   n_i = -d omega_i/d mu = nbar + chi (mu - mu0) - energy_scale dh_i/d mu.
// W1 x + b1 does not depend on mu: it is kept for all centers while the spins and
// edges stay those of the last call, so that the electron counts of a canonical solve
// (forward-mode derivatives in mu through the layers after the first) and the full
// evaluation at the solved mu need the descriptor and the first layer once.
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
  // electrons[n_local] (resized here): n_i of contract 2 models at in.mu; nullptr for
  // contract 1 models
  virtual void evaluate(const ModelInputs &in, std::vector<double> &energy, std::vector<double> &spin_grad,
                        std::vector<double> *electrons, ModelTimings &timings) = 0;

  // contract 2: N_e and dN_e/dmu of the centers at in.mu
  virtual ElectronCount count_electrons(const ModelInputs &in, ModelTimings &timings) = 0;

  // the first layer in bfloat16 (float32 models on CPUs with AVX512-BF16); false with
  // `why` where it cannot be
  virtual bool set_bf16(bool on, std::string &why) = 0;
};

}    // namespace mlspin
