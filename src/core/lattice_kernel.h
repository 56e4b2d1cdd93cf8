// Native evaluation of the lattice-symmetric descriptor (tools/mlspin_train/
// lattice_descriptor.py, LatticeDescriptor.forward_columns) and of its backward pass.
//
// The TorchScript descriptor runs hundreds of memory-bound tensor operations over
// [rows x centers] arrays; here the same chain (stencil spins -> variables -> irrep
// components -> invariants) runs in plain loops over small blocks of centers, so
// that every intermediate of a block stays in the L1/L2 cache. The backward pass
// recomputes a block's intermediates instead of keeping them for all centers.
//
// The tables are those of the model file's `descriptor` submodule (read by
// torch_model.cpp), so the kernel computes the numbers of the file's descriptor,
// whatever the table construction of the Python code in use. No LibTorch here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mlspin {

// The evaluation tables of LatticeDescriptor, with the names and layouts of its
// buffers (see _evaluation_tables, _invariant_tables and _cross_tables there).
struct LatticeTables {
  std::string lattice_name;
  int64_t n_sites = 0, n_features = 0;
  double site_tol = 0.0;
  std::vector<double> to_lattice;      // [3, 2]
  std::vector<double> from_lattice;    // [2, 3]
  std::vector<int64_t> slot_table;     // clamped lattice coordinates -> slot
  std::vector<double> key_weight;      // [2]
  int64_t key_origin = 0;
  double clamp = 0.0;
  int64_t n_nb = 0, n_tri = 0;
  std::vector<int64_t> nb_rows;     // [2, n_nb, 3] rows of the stencil
  std::vector<int64_t> tri_rows;    // [5, n_tri, 3]
  int64_t n_orbits = 0, mmax = 0;
  std::vector<int64_t> orb_rows;    // [n_orbits * mmax] rows of the variables
  std::vector<double> orb_ut;       // [n_orbits, mmax, mmax]
  std::vector<int64_t> lin_comp, f0_rows, f1_rows;
  int64_t n_ref = 0;
  std::vector<double> ref_m0, ref_m1;    // [n_ref, n_f0], [n_ref, n_f1]
  std::vector<int64_t> pair_j, pair_k, w_rows;
  int64_t n_w = 0;
  std::vector<double> w_t;    // [n_w, 2, 4]
  std::vector<int64_t> z0_rows, z1_rows, group_copies, group_partners;
  int64_t n_two_dim = 0, n_copies_two = 0, n_copies_one = 0;
  std::vector<int64_t> rb_left, rb_right;    // [2, n_rb]
  int64_t n_rb = 0;
  std::vector<int64_t> cx0_a, cx0_b, cx1_a, cx1_b;
  int64_t n_cx = 0, n_cx_two = 0;
};

// T: float or double (the model's dtype). Throws mlspin::Error on inconsistent
// tables (constructor) and on inputs the descriptor rejects (place()), with the
// messages of the Python code.
template <typename T> class LatticeDescriptorKernel {
 public:
  explicit LatticeDescriptorKernel(const LatticeTables &tables);

  int64_t n_features() const { return n_features_; }

  // Puts the neighbors of centers 0..n_local-1 on their stencil sites (edges as in
  // ModelInputs, edge_vec n_edges x 3). Must precede forward() and backward().
  void place(int64_t n_atoms, int64_t n_local, int64_t n_edges, const int64_t *edge_index,
             const double *edge_vec);

  // features [n_features, n_local] (row k: feature column_order[k]); spin: n_atoms x 3
  void forward(const T *spin, T *features) const;

  // grad_spin[n_atoms x 3] += dE/dS, from grad_features = dE/dfeatures [n_features, n_local]
  void backward(const T *spin, const T *grad_features, T *grad_spin) const;

  // number of blocks of centers and the block size (for callers that split work)
  static constexpr int kBlock = 64 / static_cast<int>(sizeof(T));

 private:
  struct Sparse {    // rows of a sparse linear map, CSR: out[r] = sum_e coef[e] * in[col[e]]
    std::vector<int64_t> start, col;
    std::vector<T> coef;
  };
  struct Work;

  void block_intermediates(int64_t first, int nb, const T *spin, Work &w) const;
  void block_features(const Work &w, T *out, int64_t ld) const;
  void block_backward(int64_t first, int nb, Work &w, const T *grad, int64_t ld, T *grad_spin) const;

  // sizes
  int64_t n_sites_ = 0, n_features_ = 0, n_x_ = 0, n_comp_ = 0, n_rw_ = 0, n_prod_ = 0;
  int64_t n_atoms_ = 0, n_local_ = 0;
  std::vector<int64_t> atoms_;    // [n_local, n_sites]: atom on each site, n_atoms_ where none

  LatticeTables t_;         // the index tables (coefficients converted below)
  Sparse comps_;            // variables -> components
  Sparse refs_;             // components -> references (rows 0..2 n_ref of rw)
  std::vector<T> w_t_;      // [n_w, 2, 4]
};

extern template class LatticeDescriptorKernel<double>;
extern template class LatticeDescriptorKernel<float>;

}    // namespace mlspin
