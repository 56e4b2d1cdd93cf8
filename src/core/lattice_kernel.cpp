#include "core/lattice_kernel.h"

#include "core/error.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <new>

// The hot loops are compiled twice, for x86-64-v3 (AVX2, FMA) and for the baseline, and the
// loader picks one for the CPU at hand (GCC function multi-versioning): the build
// stays portable, and CPUs that have AVX2 use it. FMA contraction changes round-off
// only.
// (-DMLSPIN_KERNEL_CLONES= builds the baseline only, e.g. to test it on an AVX2 CPU)
#ifndef MLSPIN_KERNEL_CLONES
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define MLSPIN_KERNEL_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define MLSPIN_KERNEL_CLONES
#endif
#endif
#if defined(__GNUC__)
#define MLSPIN_INLINE inline __attribute__((always_inline))
#else
#define MLSPIN_INLINE inline
#endif

namespace mlspin {

namespace {

// TorchScript's str(float), which makes the messages of the TorchScript descriptor:
// 17 significant digits (%.17g), and a trailing "." on integral values ("1.")
std::string torchscript_float(double v)
{
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  std::string s(buf);
  if (s.find_first_of(".eni") == std::string::npos) s += ".";
  return s;
}

void check(bool ok, const std::string &what)
{
  if (!ok) throw Error("lattice descriptor tables: " + what);
}

void check_rows(const std::vector<int64_t> &rows, int64_t limit, const char *name)
{
  for (int64_t r : rows) check(r >= 0 && r < limit, std::string(name) + " refers to a row out of range");
}

// A block of centers: one 32-byte vector (an AVX register) holds one row (one quantity) of 4 doubles
// or 8 floats; every operation below acts on whole rows (GCC vector extensions).
template <typename T> struct Vec;
// The alignment is explicit: GCC's default for generic vectors depends on the
// instruction set, which differs between the clones below.
template <> struct Vec<double> {
  typedef double type __attribute__((vector_size(32), aligned(32)));
};
template <> struct Vec<float> {
  typedef float type __attribute__((vector_size(32), aligned(32)));
};

// Rows of one block, 64-byte aligned (std::vector would drop the alignment of V)
template <typename T> class RowBuffer {
  using V = typename Vec<T>::type;

 public:
  RowBuffer() = default;
  RowBuffer(const RowBuffer &) = delete;
  RowBuffer &operator=(const RowBuffer &) = delete;
  ~RowBuffer() { std::free(data_); }

  V *rows(size_t n)    // contents undefined
  {
    if (n > capacity_) {
      std::free(data_);
      // aligned_alloc wants a size that is a multiple of the alignment
      const size_t bytes = (std::max<size_t>(n, 1) * sizeof(V) + 63) / 64 * 64;
      data_ = static_cast<V *>(std::aligned_alloc(64, bytes));
      if (!data_) throw std::bad_alloc();
      capacity_ = n;
    }
    return data_;
  }
  V *zeroed(size_t n)
  {
    V *p = rows(n);
    std::memset(static_cast<void *>(p), 0, n * sizeof(V));
    return p;
  }

 private:
  V *data_ = nullptr;
  size_t capacity_ = 0;
};

// (vectors passed by reference: a 32-byte vector by value has another ABI without AVX)
template <typename V, typename T> MLSPIN_INLINE void load(V &v, const T *p)
{
  std::memcpy(&v, p, sizeof v);
}

template <typename T, typename V> MLSPIN_INLINE void store(T *p, const V &v)
{
  std::memcpy(p, &v, sizeof v);
}

}    // namespace

// rows of a sparse linear map, CSR: out[r] = sum_e coef[e] in[col[e]]
template <typename T> struct SparseMap {
  std::vector<int64_t> start, col;
  std::vector<T> coef;
};

template <typename T> struct LatticeKernelData {
  using V = typename Vec<T>::type;
  static constexpr int B = static_cast<int>(sizeof(V) / sizeof(T));    // centers per block

  LatticeTables t;    // index tables
  int64_t n_sites = 0, n_features = 0, n_x = 0, n_comp = 0, n_rw = 0, n_prod = 0;
  SparseMap<T> comps;    // variables -> components
  SparseMap<T> comps_t;  // its transpose: rows are variables, columns components
  SparseMap<T> refs;     // components -> references (rows 0..2 n_ref of rw)
  std::vector<T> w_t;    // [n_w, 2, 4]

  // placement of the last place()
  int64_t n_atoms = 0, n_local = 0;
  std::vector<int64_t> atoms;    // [n_local, n_sites]: atom on each site, n_atoms where none

  // per block of the last forward(): stencil spins, components, refs + W's, which
  // the backward pass of the same centers reuses (saved_count < 0: none)
  int64_t block_rows() const { return 3 * n_sites + n_comp + n_rw; }
  mutable RowBuffer<T> saved;
  mutable int64_t saved_first = -1, saved_count = -1;
};

namespace {

// Per-block rows, centers in the vector lanes
template <typename T> struct Work {
  using V = typename Vec<T>::type;
  V *s = nullptr, *comps = nullptr, *rw = nullptr;    // stencil spins, components, refs + W's (see bind)
  RowBuffer<T> own, x, prod;                          // storage of the above, variables, products
  RowBuffer<T> gs, gx, gcomps, grw, gprod;            // gradients
  std::vector<T> scratch;                             // features (or their gradients) of a partial block

  // s, comps, rw in rows base[0, block_rows) (saved ones, or `own`)
  void bind(const LatticeKernelData<T> &d, V *base)
  {
    s = base;
    comps = s + 3 * d.n_sites;
    rw = comps + d.n_comp;
  }
};

// stencil spins, variables, components, references, W's of centers first..first+nb
// (lanes nb..B-1 hold zero spins)
template <typename T>
MLSPIN_INLINE void block_intermediates(const LatticeKernelData<T> &d, Work<T> &w, int64_t first, int nb, const T *spin)
{
  using V = typename Vec<T>::type;
  constexpr int B = LatticeKernelData<T>::B;
  const LatticeTables &t = d.t;
  const int64_t ns = d.n_sites;
  V *s = w.s, *comps = w.comps, *rw = w.rw, *x = w.x.rows(d.n_x), *prod = w.prod.rows(d.n_prod);
  std::memset(static_cast<void *>(s), 0, 3 * ns * sizeof(V));

  // stencil_spins: [site][xyz][center] (lanes written as scalars: GCC vectors
  // alias their element type, and a lane index would spill the whole vector)
  T *lanes = reinterpret_cast<T *>(s);
  for (int j = 0; j < nb; j++) {
    const int64_t *atoms = d.atoms.data() + (first + j) * ns;
    for (int64_t p = 0; p < ns; p++) {
      if (atoms[p] == d.n_atoms) continue;
      const T *src = spin + 3 * atoms[p];
      for (int k = 0; k < 3; k++) lanes[(3 * p + k) * B + j] = src[k];
    }
  }
  // variables: S_0 . S_q for every site q, neighbor bonds, chiralities, zero
  for (int64_t q = 0; q < ns; q++) x[q] = s[0] * s[3 * q] + s[1] * s[3 * q + 1] + s[2] * s[3 * q + 2];
  const int64_t *pr = t.nb_rows.data(), *qr = pr + 3 * t.n_nb;
  for (int64_t b = 0; b < t.n_nb; b++)
    x[ns + b] = s[pr[3 * b]] * s[qr[3 * b]] + s[pr[3 * b + 1]] * s[qr[3 * b + 1]] + s[pr[3 * b + 2]] * s[qr[3 * b + 2]];
  const int64_t nt = t.n_tri;
  const int64_t *tr = t.tri_rows.data();
  for (int64_t c = 0; c < nt; c++) {
    V acc{};
    for (int k = 0; k < 3; k++) {
      const V &a = s[tr[(0 * nt + c) * 3 + k]], &b1 = s[tr[(1 * nt + c) * 3 + k]], &c2 = s[tr[(2 * nt + c) * 3 + k]];
      const V &b2 = s[tr[(3 * nt + c) * 3 + k]], &c1 = s[tr[(4 * nt + c) * 3 + k]];
      acc += a * (b1 * c2 - b2 * c1);
    }
    x[ns + t.n_nb + c] = acc;
  }
  x[d.n_x - 1] = V{};

  // components (a sparse map of the variables), references (of the components)
  for (int64_t r = 0; r < d.n_comp; r++) {
    V acc{};
    for (int64_t e = d.comps.start[r]; e < d.comps.start[r + 1]; e++) acc += d.comps.coef[e] * x[d.comps.col[e]];
    comps[r] = acc;
  }
  for (int64_t r = 0; r < 2 * t.n_ref; r++) {
    V acc{};
    for (int64_t e = d.refs.start[r]; e < d.refs.start[r + 1]; e++) acc += d.refs.coef[e] * comps[d.refs.col[e]];
    rw[r] = acc;
  }
  // products of reference pairs, then W_u,i = sum_jk t_u,i,jk (b_j c_k)
  for (int64_t q = 0; q < d.n_prod; q++) prod[q] = rw[t.pair_j[q]] * rw[t.pair_k[q]];
  for (int64_t u = 0; u < t.n_w; u++)
    for (int i = 0; i < 2; i++) {
      V acc{};
      for (int jk = 0; jk < 4; jk++) acc += d.w_t[(u * 2 + i) * 4 + jk] * prod[t.w_rows[4 * u + jk]];
      rw[2 * t.n_ref + 2 * u + i] = acc;
    }
}

// the invariants, rows in the order column_order: out[r * ld + lane]
template <typename T> MLSPIN_INLINE void block_features(const LatticeKernelData<T> &d, Work<T> &w, T *out, int64_t ld)
{
  using V = typename Vec<T>::type;
  const LatticeTables &t = d.t;
  const V *comps = w.comps, *rw = w.rw;
  const int64_t *f0 = t.f0_rows.data(), *f1 = t.f1_rows.data();
  int64_t r = 0;
  for (int64_t src : t.lin_comp) store(out + (r++) * ld, comps[src]);
  for (int64_t i = 0; i < t.n_copies_two; i++) {
    const V &a = comps[f0[i]], &b = comps[f1[i]];
    store(out + (r++) * ld, V(a * a + b * b));
  }
  for (int64_t i = t.n_copies_two; i < t.n_copies_two + t.n_copies_one; i++) {
    const V &a = comps[f0[i]];
    store(out + (r++) * ld, V(a * a));
  }
  // groups: each copy with each partner
  int64_t copy = 0, z0 = 0, z1 = 0;
  for (size_t g = 0; g < t.group_copies.size(); g++) {
    const int64_t nc = t.group_copies[g], np = t.group_partners[g];
    const bool two = static_cast<int64_t>(g) < t.n_two_dim;
    for (int64_t c = copy; c < copy + nc; c++) {
      const V a0 = comps[f0[c]];
      if (two) {
        const V a1 = comps[f1[c]];
        for (int64_t p = 0; p < np; p++)
          store(out + (r++) * ld, V(a0 * rw[t.z0_rows[z0 + p]] + a1 * rw[t.z1_rows[z1 + p]]));
      } else {
        for (int64_t p = 0; p < np; p++) store(out + (r++) * ld, V(a0 * rw[t.z0_rows[z0 + p]]));
      }
    }
    copy += nc;
    z0 += np;
    if (two) z1 += np;
  }
  // reference bispectrum
  const int64_t nrb = t.n_rb;
  for (int64_t k = 0; k < nrb; k++)
    store(out + (r++) * ld,
          V(rw[t.rb_left[k]] * rw[t.rb_right[k]] + rw[t.rb_left[nrb + k]] * rw[t.rb_right[nrb + k]]));
  // cross power pairs, 2-dimensional first
  for (int64_t k = 0; k < t.n_cx_two; k++)
    store(out + (r++) * ld,
          V(comps[f0[t.cx0_a[k]]] * comps[f0[t.cx0_b[k]]] + comps[f1[t.cx1_a[k]]] * comps[f1[t.cx1_b[k]]]));
  for (int64_t k = t.n_cx_two; k < t.n_cx; k++) store(out + (r++) * ld, V(comps[f0[t.cx0_a[k]]] * comps[f0[t.cx0_b[k]]]));
}

// the transposes of block_features and block_intermediates, in reverse order;
// grad_spin[atom] += dE/dS of the block's stencil sites
template <typename T>
MLSPIN_INLINE void block_backward(const LatticeKernelData<T> &d, Work<T> &w, int64_t first, int nb, const T *grad,
                                  int64_t ld, T *grad_spin)
{
  using V = typename Vec<T>::type;
  const LatticeTables &t = d.t;
  const int64_t ns = d.n_sites;
  V *gcomps = w.gcomps.zeroed(d.n_comp), *grw = w.grw.zeroed(d.n_rw), *gprod = w.gprod.zeroed(d.n_prod);
  V *gx = w.gx.rows(d.n_x), *gs = w.gs.zeroed(3 * ns);
  const V *comps = w.comps, *rw = w.rw, *s = w.s;
  const int64_t *f0 = t.f0_rows.data(), *f1 = t.f1_rows.data();

  int64_t r = 0;
  V g;
  for (int64_t src : t.lin_comp) {
    load(g, grad + (r++) * ld);
    gcomps[src] += g;
  }
  for (int64_t i = 0; i < t.n_copies_two + t.n_copies_one; i++) {
    load(g, grad + (r++) * ld);
    const V g2 = T(2) * g;
    gcomps[f0[i]] += g2 * comps[f0[i]];
    if (i < t.n_copies_two) gcomps[f1[i]] += g2 * comps[f1[i]];
  }
  // groups: per copy, the sum over its partners; per partner, the sum over the
  // copies (accumulated in registers, each gradient row written once)
  int64_t copy = 0, z0 = 0, z1 = 0;
  for (size_t gr = 0; gr < t.group_copies.size(); gr++) {
    const int64_t nc = t.group_copies[gr], np = t.group_partners[gr];
    const bool two = static_cast<int64_t>(gr) < t.n_two_dim;
    const T *gbase = grad + r * ld;    // row of copy c, partner p: c * np + p
    for (int64_t c = 0; c < nc; c++) {
      V acc0{}, acc1{};
      for (int64_t p = 0; p < np; p++) {
        load(g, gbase + (c * np + p) * ld);
        acc0 += g * rw[t.z0_rows[z0 + p]];
        if (two) acc1 += g * rw[t.z1_rows[z1 + p]];
      }
      gcomps[f0[copy + c]] += acc0;
      if (two) gcomps[f1[copy + c]] += acc1;
    }
    for (int64_t p = 0; p < np; p++) {
      V acc0{}, acc1{};
      for (int64_t c = 0; c < nc; c++) {
        load(g, gbase + (c * np + p) * ld);
        acc0 += g * comps[f0[copy + c]];
        if (two) acc1 += g * comps[f1[copy + c]];
      }
      grw[t.z0_rows[z0 + p]] += acc0;
      if (two) grw[t.z1_rows[z1 + p]] += acc1;
    }
    r += nc * np;
    copy += nc;
    z0 += np;
    if (two) z1 += np;
  }
  for (int64_t k = 0; k < t.n_rb; k++) {
    load(g, grad + (r++) * ld);
    for (int h = 0; h < 2; h++) {
      const int64_t lr = t.rb_left[h * t.n_rb + k], rr = t.rb_right[h * t.n_rb + k];
      grw[lr] += g * rw[rr];
      grw[rr] += g * rw[lr];
    }
  }
  // cross pairs (a, b): the pairs of one a come in runs, whose gradient of a is
  // summed in a register
  int64_t run_a = -1, run_c = -1;
  V acc_a{}, acc_c{};
  for (int64_t k = 0; k < t.n_cx; k++) {
    load(g, grad + (r++) * ld);
    const int64_t a = f0[t.cx0_a[k]], b = f0[t.cx0_b[k]];
    if (a != run_a) {
      if (run_a >= 0) gcomps[run_a] += acc_a;
      run_a = a;
      acc_a = V{};
    }
    acc_a += g * comps[b];
    gcomps[b] += g * comps[a];
    if (k < t.n_cx_two) {
      const int64_t c = f1[t.cx1_a[k]], e = f1[t.cx1_b[k]];
      if (c != run_c) {
        if (run_c >= 0) gcomps[run_c] += acc_c;
        run_c = c;
        acc_c = V{};
      }
      acc_c += g * comps[e];
      gcomps[e] += g * comps[c];
    }
  }
  if (run_a >= 0) gcomps[run_a] += acc_a;
  if (run_c >= 0) gcomps[run_c] += acc_c;

  // W_u -> products -> references -> components -> variables
  for (int64_t u = 0; u < t.n_w; u++)
    for (int i = 0; i < 2; i++) {
      const V g = grw[2 * t.n_ref + 2 * u + i];
      for (int jk = 0; jk < 4; jk++) gprod[t.w_rows[4 * u + jk]] += d.w_t[(u * 2 + i) * 4 + jk] * g;
    }
  for (int64_t q = 0; q < d.n_prod; q++) {
    const int64_t a = t.pair_j[q], b = t.pair_k[q];
    const V g = gprod[q];
    grw[a] += g * rw[b];
    grw[b] += g * rw[a];
  }
  for (int64_t row = 0; row < 2 * t.n_ref; row++) {
    const V g = grw[row];
    for (int64_t e = d.refs.start[row]; e < d.refs.start[row + 1]; e++) gcomps[d.refs.col[e]] += d.refs.coef[e] * g;
  }
  for (int64_t row = 0; row < d.n_x; row++) {
    V acc{};
    for (int64_t e = d.comps_t.start[row]; e < d.comps_t.start[row + 1]; e++)
      acc += d.comps_t.coef[e] * gcomps[d.comps_t.col[e]];
    gx[row] = acc;
  }

  // variables -> stencil spins
  for (int64_t q = 0; q < ns; q++) {
    const V g = gx[q];
    for (int k = 0; k < 3; k++) {
      gs[k] += g * s[3 * q + k];
      gs[3 * q + k] += g * s[k];
    }
  }
  const int64_t *pr = t.nb_rows.data(), *qr = pr + 3 * t.n_nb;
  for (int64_t b = 0; b < t.n_nb; b++) {
    const V g = gx[ns + b];
    for (int k = 0; k < 3; k++) {
      const int64_t p = pr[3 * b + k], q = qr[3 * b + k];
      gs[p] += g * s[q];
      gs[q] += g * s[p];
    }
  }
  const int64_t nt = t.n_tri;
  const int64_t *tr = t.tri_rows.data();
  for (int64_t c = 0; c < nt; c++) {
    const V g = gx[ns + t.n_nb + c];
    for (int k = 0; k < 3; k++) {
      const int64_t ia = tr[(0 * nt + c) * 3 + k], ib1 = tr[(1 * nt + c) * 3 + k], ic2 = tr[(2 * nt + c) * 3 + k];
      const int64_t ib2 = tr[(3 * nt + c) * 3 + k], ic1 = tr[(4 * nt + c) * 3 + k];
      const V a = s[ia], b1 = s[ib1], c2 = s[ic2], b2 = s[ib2], c1 = s[ic1];
      const V ga = g * a;
      // one row after the other: a site may play two roles
      gs[ia] += g * (b1 * c2 - b2 * c1);
      gs[ib1] += ga * c2;
      gs[ic2] += ga * b1;
      gs[ib2] -= ga * c1;
      gs[ic1] -= ga * b2;
    }
  }

  // stencil sites -> atoms (ghosts included; empty sites dropped)
  constexpr int B = LatticeKernelData<T>::B;
  const T *lanes = reinterpret_cast<const T *>(gs);
  for (int j = 0; j < nb; j++) {
    const int64_t *atoms = d.atoms.data() + (first + j) * ns;
    for (int64_t p = 0; p < ns; p++) {
      if (atoms[p] == d.n_atoms) continue;
      T *dst = grad_spin + 3 * atoms[p];
      for (int k = 0; k < 3; k++) dst[k] += lanes[(3 * p + k) * B + j];
    }
  }
}

// Passes over the blocks of centers first + [c_begin, c_end) of the slice
// first..first+count-1 (c_begin a multiple of B): compiled per instruction set.
// Forward keeps the intermediates of block b at d.saved + b * block_rows().
template <typename T>
MLSPIN_INLINE void forward_pass(const LatticeKernelData<T> &d, const T *spin, int64_t first, int64_t count,
                                T *features, int64_t c_begin, int64_t c_end)
{
  constexpr int B = LatticeKernelData<T>::B;
  Work<T> w;
  const int64_t rows = d.block_rows();
  typename Vec<T>::type *saved = d.saved.rows(0);
  for (int64_t c = c_begin; c < c_end; c += B) {
    const int nb = static_cast<int>(std::min<int64_t>(B, count - c));
    w.bind(d, saved + rows * (c / B));
    block_intermediates(d, w, first + c, nb, spin);
    if (nb == B) {
      block_features(d, w, features + c, count);
    } else {    // a partial block: computed aside, its first nb columns copied
      w.scratch.resize(d.n_features * B);
      block_features(d, w, w.scratch.data(), B);
      for (int64_t r = 0; r < d.n_features; r++)
        std::memcpy(features + r * count + c, w.scratch.data() + r * B, sizeof(T) * nb);
    }
  }
}

// reuse: the intermediates of the forward pass over the same slice, else recomputed
template <typename T>
MLSPIN_INLINE void backward_pass(const LatticeKernelData<T> &d, const T *spin, int64_t first, int64_t count,
                                 const T *grad, T *grad_spin, int64_t c_begin, int64_t c_end, bool reuse)
{
  constexpr int B = LatticeKernelData<T>::B;
  Work<T> w;
  const int64_t rows = d.block_rows();
  if (!reuse) w.bind(d, w.own.rows(rows));
  for (int64_t c = c_begin; c < c_end; c += B) {
    const int nb = static_cast<int>(std::min<int64_t>(B, count - c));
    if (reuse)
      w.bind(d, d.saved.rows(0) + rows * (c / B));
    else
      block_intermediates(d, w, first + c, nb, spin);
    if (nb == B) {
      block_backward(d, w, first + c, nb, grad + c, count, grad_spin);
    } else {    // a partial block: its gradients padded with zeros
      w.scratch.assign(d.n_features * B, T(0));
      for (int64_t r = 0; r < d.n_features; r++)
        std::memcpy(w.scratch.data() + r * B, grad + r * count + c, sizeof(T) * nb);
      block_backward(d, w, first + c, nb, w.scratch.data(), B, grad_spin);
    }
  }
}

MLSPIN_KERNEL_CLONES void forward_f64(const LatticeKernelData<double> &d, const double *spin, int64_t first,
                                      int64_t count, double *features, int64_t c_begin, int64_t c_end)
{
  forward_pass(d, spin, first, count, features, c_begin, c_end);
}
MLSPIN_KERNEL_CLONES void forward_f32(const LatticeKernelData<float> &d, const float *spin, int64_t first,
                                      int64_t count, float *features, int64_t c_begin, int64_t c_end)
{
  forward_pass(d, spin, first, count, features, c_begin, c_end);
}
MLSPIN_KERNEL_CLONES void backward_f64(const LatticeKernelData<double> &d, const double *spin, int64_t first,
                                       int64_t count, const double *grad, double *grad_spin, int64_t c_begin,
                                       int64_t c_end, bool reuse)
{
  backward_pass(d, spin, first, count, grad, grad_spin, c_begin, c_end, reuse);
}
MLSPIN_KERNEL_CLONES void backward_f32(const LatticeKernelData<float> &d, const float *spin, int64_t first,
                                       int64_t count, const float *grad, float *grad_spin, int64_t c_begin,
                                       int64_t c_end, bool reuse)
{
  backward_pass(d, spin, first, count, grad, grad_spin, c_begin, c_end, reuse);
}

void forward_any(const LatticeKernelData<double> &d, const double *spin, int64_t first, int64_t count, double *out,
                 int64_t c_begin, int64_t c_end)
{
  forward_f64(d, spin, first, count, out, c_begin, c_end);
}
void forward_any(const LatticeKernelData<float> &d, const float *spin, int64_t first, int64_t count, float *out,
                 int64_t c_begin, int64_t c_end)
{
  forward_f32(d, spin, first, count, out, c_begin, c_end);
}
void backward_any(const LatticeKernelData<double> &d, const double *spin, int64_t first, int64_t count,
                  const double *grad, double *grad_spin, int64_t c_begin, int64_t c_end, bool reuse)
{
  backward_f64(d, spin, first, count, grad, grad_spin, c_begin, c_end, reuse);
}
void backward_any(const LatticeKernelData<float> &d, const float *spin, int64_t first, int64_t count,
                  const float *grad, float *grad_spin, int64_t c_begin, int64_t c_end, bool reuse)
{
  backward_f32(d, spin, first, count, grad, grad_spin, c_begin, c_end, reuse);
}

// [begin, end) of the centers of part p of `parts`, at block boundaries
void part_range(int64_t count, int block, int64_t parts, int64_t p, int64_t &begin, int64_t &end)
{
  const int64_t blocks = (count + block - 1) / block;
  begin = std::min(count, blocks * p / parts * block);
  end = std::min(count, blocks * (p + 1) / parts * block);
}

}    // namespace

/* ---------------------------------------------------------------------- */

template <typename T>
LatticeDescriptorKernel<T>::LatticeDescriptorKernel(const LatticeTables &tables) : d_(new LatticeKernelData<T>)
{
  LatticeKernelData<T> &d = *d_;
  d.t = tables;
  const LatticeTables &t = d.t;
  d.n_sites = t.n_sites;
  d.n_features = t.n_features;
  d.n_x = t.n_sites + t.n_nb + t.n_tri + 1;
  d.n_comp = t.n_orbits * t.mmax;
  d.n_rw = 2 * t.n_ref + 2 * t.n_w;
  d.n_prod = static_cast<int64_t>(t.pair_j.size());
  const int64_t n_sites = d.n_sites, n_x = d.n_x, n_comp = d.n_comp, n_rw = d.n_rw;

  check(n_sites > 0 && t.to_lattice.size() == 6 && t.from_lattice.size() == 6 && t.key_weight.size() == 2,
        "stencil geometry of unexpected shape");
  check_rows(t.slot_table, n_sites + 1, "slot_table");
  check(static_cast<int64_t>(t.nb_rows.size()) == 6 * t.n_nb, "nb_rows is not [2, n_nb, 3]");
  check(static_cast<int64_t>(t.tri_rows.size()) == 15 * t.n_tri, "tri_rows is not [5, n_tri, 3]");
  check_rows(t.nb_rows, 3 * n_sites, "nb_rows");
  check_rows(t.tri_rows, 3 * n_sites, "tri_rows");
  check(static_cast<int64_t>(t.orb_rows.size()) == n_comp && static_cast<int64_t>(t.orb_ut.size()) == n_comp * t.mmax,
        "orb_rows/orb_ut do not match n_orbits x mmax");
  check_rows(t.orb_rows, n_x, "orb_rows");
  check_rows(t.lin_comp, n_comp, "lin_comp");
  check_rows(t.f0_rows, n_comp, "f0_rows");
  check_rows(t.f1_rows, n_comp, "f1_rows");
  const int64_t n_f0 = static_cast<int64_t>(t.f0_rows.size()), n_f1 = static_cast<int64_t>(t.f1_rows.size());
  check(static_cast<int64_t>(t.ref_m0.size()) == t.n_ref * n_f0 &&
            static_cast<int64_t>(t.ref_m1.size()) == t.n_ref * n_f1,
        "ref_m0/ref_m1 do not match the copies");
  check(n_f0 == t.n_copies_two + t.n_copies_one && n_f1 == t.n_copies_two, "copy counts do not match f0_rows/f1_rows");
  check(t.pair_k.size() == t.pair_j.size(), "pair_j and pair_k differ in length");
  check_rows(t.pair_j, 2 * t.n_ref, "pair_j");
  check_rows(t.pair_k, 2 * t.n_ref, "pair_k");
  check(static_cast<int64_t>(t.w_rows.size()) == 4 * t.n_w && static_cast<int64_t>(t.w_t.size()) == 8 * t.n_w,
        "w_rows/w_t do not match n_w");
  check_rows(t.w_rows, d.n_prod, "w_rows");
  check_rows(t.z0_rows, n_rw, "z0_rows");
  check_rows(t.z1_rows, n_rw, "z1_rows");
  check(static_cast<int64_t>(t.rb_left.size()) == 2 * t.n_rb && static_cast<int64_t>(t.rb_right.size()) == 2 * t.n_rb,
        "rb_left/rb_right are not [2, n_rb]");
  check_rows(t.rb_left, n_rw, "rb_left");
  check_rows(t.rb_right, n_rw, "rb_right");
  check(static_cast<int64_t>(t.cx0_a.size()) == t.n_cx && t.cx0_b.size() == t.cx0_a.size() &&
            static_cast<int64_t>(t.cx1_a.size()) == t.n_cx_two && t.cx1_b.size() == t.cx1_a.size() &&
            t.n_cx_two <= t.n_cx,
        "cross tables do not match n_cx/n_cx_two");
  check_rows(t.cx0_a, n_f0, "cx0_a");
  check_rows(t.cx0_b, n_f0, "cx0_b");
  check_rows(t.cx1_a, n_f1, "cx1_a");
  check_rows(t.cx1_b, n_f1, "cx1_b");

  // the groups: copies and partners, and the feature count they make
  check(t.group_copies.size() == t.group_partners.size() && t.n_two_dim <= static_cast<int64_t>(t.group_copies.size()),
        "group tables of different lengths");
  int64_t copies = 0, z0 = 0, z1 = 0, dots = 0, copies_two = 0;
  for (size_t g = 0; g < t.group_copies.size(); g++) {
    copies += t.group_copies[g];
    z0 += t.group_partners[g];
    dots += t.group_copies[g] * t.group_partners[g];
    if (static_cast<int64_t>(g) < t.n_two_dim) {
      z1 += t.group_partners[g];
      copies_two += t.group_copies[g];
    }
  }
  check(copies == n_f0 && copies_two == n_f1 && z0 == static_cast<int64_t>(t.z0_rows.size()) &&
            z1 == static_cast<int64_t>(t.z1_rows.size()),
        "groups do not match the copies and partners");
  const int64_t count = static_cast<int64_t>(t.lin_comp.size()) + n_f0 + dots + t.n_rb + t.n_cx;
  check(count == d.n_features, "the invariants make " + std::to_string(count) + " features, the descriptor declares " +
                                   std::to_string(d.n_features));

  // components as a sparse map of the variables (orb_ut is zero-padded per orbit)
  d.comps.start.push_back(0);
  for (int64_t o = 0; o < t.n_orbits; o++)
    for (int64_t i = 0; i < t.mmax; i++) {
      for (int64_t j = 0; j < t.mmax; j++) {
        const double c = t.orb_ut[(o * t.mmax + i) * t.mmax + j];
        if (c == 0.0) continue;
        d.comps.col.push_back(t.orb_rows[o * t.mmax + j]);
        d.comps.coef.push_back(static_cast<T>(c));
      }
      d.comps.start.push_back(static_cast<int64_t>(d.comps.col.size()));
    }
  // the transpose, for the backward pass: entries grouped by variable
  d.comps_t.start.assign(d.n_x + 1, 0);
  for (int64_t col : d.comps.col) d.comps_t.start[col + 1]++;
  for (int64_t r = 0; r < d.n_x; r++) d.comps_t.start[r + 1] += d.comps_t.start[r];
  d.comps_t.col.resize(d.comps.col.size());
  d.comps_t.coef.resize(d.comps.col.size());
  std::vector<int64_t> next(d.comps_t.start.begin(), d.comps_t.start.end() - 1);
  for (int64_t r = 0; r < n_comp; r++)
    for (int64_t e = d.comps.start[r]; e < d.comps.start[r + 1]; e++) {
      const int64_t slot = next[d.comps.col[e]]++;
      d.comps_t.col[slot] = r;
      d.comps_t.coef[slot] = d.comps.coef[e];
    }
  // references: rows 0..n_ref of ref_m0 . f0, then ref_m1 . f1, as maps of the components
  d.refs.start.push_back(0);
  for (int half = 0; half < 2; half++) {
    const auto &m = half ? t.ref_m1 : t.ref_m0;
    const auto &rows = half ? t.f1_rows : t.f0_rows;
    const int64_t n = half ? n_f1 : n_f0;
    for (int64_t k = 0; k < t.n_ref; k++) {
      for (int64_t pos = 0; pos < n; pos++) {
        if (m[k * n + pos] == 0.0) continue;
        d.refs.col.push_back(rows[pos]);
        d.refs.coef.push_back(static_cast<T>(m[k * n + pos]));
      }
      d.refs.start.push_back(static_cast<int64_t>(d.refs.col.size()));
    }
  }
  d.w_t.assign(t.w_t.begin(), t.w_t.end());
}

template <typename T> LatticeDescriptorKernel<T>::~LatticeDescriptorKernel() = default;

template <typename T> int64_t LatticeDescriptorKernel<T>::n_features() const
{
  return d_->n_features;
}

/* ----------------------------------------------------------------------
   site_atoms() of the Python descriptor: lattice coordinates of every edge, the
   off-lattice check over all edges, then the slot of every edge; the errors come
   in the same order and with the same text.
------------------------------------------------------------------------- */

template <typename T>
void LatticeDescriptorKernel<T>::place(int64_t n_atoms, int64_t n_local, int64_t n_edges, const int64_t *edge_index,
                                       const double *edge_vec)
{
  LatticeKernelData<T> &d = *d_;
  const LatticeTables &t = d.t;
  const double *L = t.to_lattice.data(), *F = t.from_lattice.data();
  std::vector<int64_t> slot(n_edges);
  double worst_off2 = -1.0;
  int64_t worst = -1;
  for (int64_t e = 0; e < n_edges; e++) {
    const double *v = edge_vec + 3 * e;
    double coord[2], key = 0.0;
    for (int k = 0; k < 2; k++) coord[k] = std::nearbyint(v[0] * L[k] + v[1] * L[2 + k] + v[2] * L[4 + k]);
    double off2 = 0.0;
    for (int k = 0; k < 3; k++) {
      const double r = v[k] - (coord[0] * F[k] + coord[1] * F[3 + k]);
      off2 += r * r;
    }
    if (off2 > worst_off2) {
      worst_off2 = off2;
      worst = e;
    }
    for (int k = 0; k < 2; k++) key += std::min(std::max(coord[k], -t.clamp), t.clamp) * t.key_weight[k];
    slot[e] = t.slot_table[static_cast<int64_t>(key) + t.key_origin];
  }
  if (n_edges > 0 && worst_off2 > t.site_tol * t.site_tol) {
    const double *v = edge_vec + 3 * worst;
    throw Error("mlspin lattice descriptor: edge vector (" + torchscript_float(v[0]) + ", " + torchscript_float(v[1]) +
                ", " + torchscript_float(v[2]) + ") is not a vector of the model's " + t.lattice_name +
                " lattice (off by " + torchscript_float(std::sqrt(worst_off2)) +
                "); the model needs atoms on that lattice in the xy plane");
  }

  const int64_t ns = d.n_sites;
  d.saved_count = -1;    // intermediates of another placement
  d.n_atoms = n_atoms;
  d.n_local = n_local;
  d.atoms.assign(n_local * ns, n_atoms);
  bool on_center = false, shared = false;
  for (int64_t e = 0; e < n_edges; e++) {
    const int64_t c = edge_index[e], s = slot[e], j = edge_index[n_edges + e];
    if (c < 0 || c >= n_local || j < 0 || j >= n_atoms)
      throw Error("mlspin lattice descriptor: edge " + std::to_string(e) + " refers to an atom out of range");
    if (s == ns) continue;    // beyond the stencil
    if (s == 0) {
      on_center = true;
      continue;
    }
    int64_t &atom = d.atoms[c * ns + s];
    if (atom != n_atoms) shared = true;
    atom = j;
  }
  if (on_center) throw Error("mlspin lattice descriptor: a neighbor sits on its center (edge vector of length 0)");
  if (shared) throw Error("mlspin lattice descriptor: two neighbors of one center sit on the same lattice site");
  for (int64_t c = 0; c < n_local; c++) d.atoms[c * ns] = c;
}

// the range of centers, checked (an out-of-range slice would read past the placement)
static void check_slice(int64_t first, int64_t count, int64_t n_local)
{
  if (first < 0 || count < 0 || first + count > n_local)
    throw Error("lattice descriptor: centers " + std::to_string(first) + ".." + std::to_string(first + count) +
                " requested, " + std::to_string(n_local) + " placed");
}

template <typename T> void LatticeDescriptorKernel<T>::set_parallel(int parts, ParallelRunner runner)
{
  parts_ = std::max(parts, 1);
  runner_ = std::move(runner);
}

template <typename T>
void LatticeDescriptorKernel<T>::forward(const T *spin, int64_t first, int64_t count, T *features) const
{
  LatticeKernelData<T> &d = *d_;
  check_slice(first, count, d.n_local);
  constexpr int B = LatticeKernelData<T>::B;
  d.saved.rows(d.block_rows() * ((count + B - 1) / B));
  d.saved_first = first;
  d.saved_count = count;
  const int64_t parts = std::min<int64_t>(parts_, (count + B - 1) / B);
  if (parts <= 1 || !runner_) {
    forward_any(d, spin, first, count, features, 0, count);
    return;
  }
  // blocks of their own per part: features and intermediates are disjoint
  runner_(parts, [&](int64_t p) {
    int64_t begin, end;
    part_range(count, B, parts, p, begin, end);
    forward_any(d, spin, first, count, features, begin, end);
  });
}

template <typename T>
void LatticeDescriptorKernel<T>::backward(const T *spin, int64_t first, int64_t count, const T *grad_features,
                                          T *grad_spin) const
{
  LatticeKernelData<T> &d = *d_;
  check_slice(first, count, d.n_local);
  constexpr int B = LatticeKernelData<T>::B;
  const bool reuse = d.saved_first == first && d.saved_count == count;
  const int64_t parts = std::min<int64_t>(parts_, (count + B - 1) / B);
  if (parts <= 1 || !runner_) {
    backward_any(d, spin, first, count, grad_features, grad_spin, 0, count, reuse);
    return;
  }
  // parts share atoms (stencils overlap): each sums into a buffer of its own, and
  // the buffers are added in part order
  const size_t n3 = static_cast<size_t>(3 * d.n_atoms);
  std::vector<std::vector<T>> partial(parts, std::vector<T>(n3, T(0)));
  runner_(parts, [&](int64_t p) {
    int64_t begin, end;
    part_range(count, B, parts, p, begin, end);
    backward_any(d, spin, first, count, grad_features, partial[p].data(), begin, end, reuse);
  });
  for (const auto &part : partial)
    for (size_t k = 0; k < n3; k++) grad_spin[k] += part[k];
}

template class LatticeDescriptorKernel<double>;
template class LatticeDescriptorKernel<float>;

}    // namespace mlspin
