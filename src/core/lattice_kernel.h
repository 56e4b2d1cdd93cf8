// Native evaluation of the lattice-symmetric descriptor (tools/mlspin_train/
// lattice_descriptor.py, LatticeDescriptor.forward_columns) and of its backward pass.
//
// The TorchScript descriptor runs hundreds of memory-bound tensor operations over
// [rows x centers] arrays; here the same chain (stencil spins -> variables -> irrep
// components -> invariants) runs in plain loops over small blocks of centers, so
// that every intermediate of a block stays in the L1/L2 cache. The backward pass
// recomputes a block's intermediates instead of keeping them for all centers. A
// caller passes the centers in slices small enough for the features of a slice to
// stay in the cache (rows of features are `count` apart).
//
// The tables are those of the model file's `descriptor` submodule (read by
// torch_model.cpp), so the kernel computes the numbers of the file's descriptor,
// whatever the table construction of the Python code in use. No LibTorch here.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
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
template <typename T> struct LatticeKernelData;    // tables and placement (lattice_kernel.cpp)

template <typename T> class LatticeDescriptorKernel {
 public:
  explicit LatticeDescriptorKernel(const LatticeTables &tables);
  ~LatticeDescriptorKernel();
  LatticeDescriptorKernel(const LatticeDescriptorKernel &) = delete;
  LatticeDescriptorKernel &operator=(const LatticeDescriptorKernel &) = delete;

  int64_t n_features() const;

  // Threads: forward() and backward() split their centers into `parts` ranges of
  // whole blocks and call runner(parts, task) to run task(0..parts-1), possibly
  // concurrently (e.g. with at::parallel_for). Without a runner: one range.
  using ParallelRunner = std::function<void(int64_t parts, const std::function<void(int64_t)> &task)>;
  void set_parallel(int parts, ParallelRunner runner);

  // Puts the neighbors of centers 0..n_local-1 on their stencil sites (edges as in
  // ModelInputs, edge_vec n_edges x 3). Must precede forward() and backward().
  void place(int64_t n_atoms, int64_t n_local, int64_t n_edges, const int64_t *edge_index,
             const double *edge_vec);

  // Centers first..first+count-1 (count <= n_local - first), spin: n_atoms x 3.
  // features: [n_features, count], row k holding feature column_order[k].
  void forward(const T *spin, int64_t first, int64_t count, T *features) const;

  // grad_spin[n_atoms x 3] += dE/dS, from grad_features = dE/dfeatures [n_features, count].
  // Right after forward() over the same centers and spins, it reuses that pass's
  // intermediates (the spins must not have changed in between).
  void backward(const T *spin, int64_t first, int64_t count, const T *grad_features, T *grad_spin) const;

 private:
  std::unique_ptr<LatticeKernelData<T>> d_;
  int parts_ = 1;
  ParallelRunner runner_;
};

extern template class LatticeDescriptorKernel<double>;
extern template class LatticeDescriptorKernel<float>;

}    // namespace mlspin
