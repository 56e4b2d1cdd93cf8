// TorchScript spin model, contract version 1 (doc/model_contract.rst).
//
// A model file is a TorchScript archive with an extra file `mlspin.json` (contract
// version, cutoff, species, units, dtype, provenance). Its forward() maps spins,
// types, edges and edge vectors to per-atom energies of the local atoms; one forward
// and one backward pass give dE/dS for every atom and dE/d(edge vector) for every
// edge, from which a caller derives fields, forces and the virial.
//
// This header includes no torch header: the LibTorch module lives in a private
// implementation struct. Every failure, including exceptions from LibTorch and from
// the JSON reader, is reported as mlspin::Error naming the file and the problem.
// A build without LibTorch (MLSPIN_WITH_TORCH=OFF) links torch_model_none.cpp instead:
// the same interface, where unavailable_reason() says how to get a LibTorch build.
#pragma once

#include "core/canonical_solve.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mlspin {

constexpr int kModelContractVersion = 1;
// Contract 2 adds the chemical potential mu as a sixth forward() argument (a 0-d tensor
// of the model's dtype); the model returns local grand potentials omega_i(S; mu) and
// n_i = -d omega_i/d mu are its local electron numbers (doc/model_contract.rst).
constexpr int kModelContractMuVersion = 2;

struct ModelMetadata {
  int contract = 0;
  double cutoff = 0.0;                  // distance units of `units`
  std::vector<std::string> species;     // in the order of the model's type indices
  std::string units;                    // LAMMPS unit style
  std::string dtype;                    // "float64" or "float32"
  std::string description;             // free text, may be empty
  bool takes_mu = false;                // contract 2: forward(..., n_local, mu)
  double mu_lo = 0.0, mu_hi = 0.0;      // contract 2: the mu range the model was trained for
  int species_index(const std::string &name) const    // -1 when absent
  {
    for (size_t k = 0; k < species.size(); k++)
      if (species[k] == name) return static_cast<int>(k);
    return -1;
  }
};

// Validates the text of mlspin.json against contract version 1; `file` names the
// model in messages. Throws mlspin::Error.
ModelMetadata parse_model_metadata(const std::string &json_text, const std::string &file);

// The whole content of a file; throws mlspin::Error when it cannot be read.
std::string read_binary_file(const std::string &path);

// Inputs as views of caller-owned contiguous buffers (not copied; they must stay
// valid and unchanged during evaluate()). Atoms 0..n_local-1 are the centers.
struct ModelInputs {
  int64_t n_atoms = 0;
  int64_t n_local = 0;
  int64_t n_edges = 0;
  const double *spin = nullptr;          // n_atoms x 3: unit direction * magnitude
  const int64_t *types = nullptr;        // n_atoms: species index
  const int64_t *edge_index = nullptr;   // 2 x n_edges: row 0 centers, row 1 neighbors
  const double *edge_vec = nullptr;      // n_edges x 3: r_neighbor - r_center
  double mu = 0.0;                       // chemical potential (contract 2 models only)
  bool atom_electrons = false;           // contract 2: also n_i = -d omega_i/d mu per center
};

// Results in float64, contiguous, owned by the model; valid until the next evaluate().
struct ModelResults {
  double energy = 0.0;                   // sum of atom_energy
  const double *atom_energy = nullptr;   // n_local
  const double *spin_grad = nullptr;     // n_atoms x 3: dE/dS
  const double *edge_grad = nullptr;     // n_edges x 3: dE/d(edge_vec); nullptr unless requested
  double electrons = 0.0;                // contract 2: N_e = -dE/dmu of the centers
  const double *atom_electrons = nullptr;    // contract 2, n_local: n_i; nullptr unless requested
};

// Accumulated wall-clock seconds of evaluate(), split by phase.
struct ModelTimings {
  double forward = 0.0;     // input tensors, forward()
  double backward = 0.0;    // autograd to spins (and edge vectors)
  double convert = 0.0;     // results to float64, finiteness check
  // native path only (parts of forward and backward above): the lattice descriptor
  double descriptor_forward = 0.0, descriptor_backward = 0.0;
  long calls = 0;
};

class TorchModel {
 public:
  // bytes: the content of the model file; file: its name, for messages.
  TorchModel(const std::string &bytes, const std::string &file);
  ~TorchModel();
  TorchModel(const TorchModel &) = delete;
  TorchModel &operator=(const TorchModel &) = delete;

  const ModelMetadata &metadata() const;
  const std::string &file() const;

  // One forward and one backward pass. edge_gradient: also dE/d(edge_vec) (needed for
  // forces and the virial). Throws mlspin::Error on a failing model or on outputs of
  // the wrong shape or dtype; non-finite values are reported by last_results_finite().
  const ModelResults &evaluate(const ModelInputs &in, bool edge_gradient);

  // Contract 2: N_e = -dE/dmu and dN_e/dmu = -d2E/dmu2 of the centers at in.mu; one
  // forward pass without spin or edge gradients and two backward passes to mu.
  ElectronCount count_electrons(const ModelInputs &in);

  // false when the last results hold NaN or Inf anywhere
  bool last_results_finite() const;

  // The native evaluation (lattice_kernel.h, LibTorch for the network only) of models
  // made by tools/mlspin_train with the lattice descriptor and one species; others,
  // and every model with set_native(false), run their TorchScript forward().
  // native_reason(): why a model has no native path ("" when it has one).
  void set_native(bool on);
  bool native() const;    // the native path is in use
  const std::string &native_reason() const;

  // Native path of float32 models: the first layer of the network in bfloat16
  // (bf16_gemm.h). Returns whether it is in use; otherwise `why` says why not.
  bool set_bf16(bool on, std::string &why);

  const ModelTimings &timings() const;
  void reset_timings();
  size_t memory_bytes() const;    // held by the last results

  // Empty when this build has LibTorch; otherwise why no model can be loaded and how
  // to fix it (then the constructor throws mlspin::Error with this text).
  static std::string unavailable_reason();

  // LibTorch's intra-op thread count; process-wide (all models, all styles).
  static void set_num_threads(int n);
  static int num_threads();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}    // namespace mlspin
