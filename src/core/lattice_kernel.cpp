#include "core/lattice_kernel.h"

#include "core/error.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

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

}    // namespace

// Per-block arrays [rows][kBlock], centers contiguous: every loop below runs over
// the kBlock centers of one or a few rows and vectorises.
template <typename T> struct LatticeDescriptorKernel<T>::Work {
  std::vector<T> s, x, comps, rw, prod;           // stencil spins, variables, components, refs+W, products
  std::vector<T> gs, gx, gcomps, grw, gprod;      // their gradients
  std::vector<T> scratch;                         // features of a partial block
};

template <typename T> LatticeDescriptorKernel<T>::LatticeDescriptorKernel(const LatticeTables &tables) : t_(tables)
{
  const LatticeTables &t = t_;
  n_sites_ = t.n_sites;
  n_features_ = t.n_features;
  n_x_ = t.n_sites + t.n_nb + t.n_tri + 1;
  n_comp_ = t.n_orbits * t.mmax;
  n_rw_ = 2 * t.n_ref + 2 * t.n_w;
  n_prod_ = static_cast<int64_t>(t.pair_j.size());

  check(n_sites_ > 0 && t.to_lattice.size() == 6 && t.from_lattice.size() == 6 && t.key_weight.size() == 2,
        "stencil geometry of unexpected shape");
  check_rows(t.slot_table, n_sites_ + 1, "slot_table");
  check(static_cast<int64_t>(t.nb_rows.size()) == 6 * t.n_nb, "nb_rows is not [2, n_nb, 3]");
  check(static_cast<int64_t>(t.tri_rows.size()) == 15 * t.n_tri, "tri_rows is not [5, n_tri, 3]");
  check_rows(t.nb_rows, 3 * n_sites_, "nb_rows");
  check_rows(t.tri_rows, 3 * n_sites_, "tri_rows");
  check(static_cast<int64_t>(t.orb_rows.size()) == n_comp_ &&
            static_cast<int64_t>(t.orb_ut.size()) == n_comp_ * t.mmax,
        "orb_rows/orb_ut do not match n_orbits x mmax");
  check_rows(t.orb_rows, n_x_, "orb_rows");
  check_rows(t.lin_comp, n_comp_, "lin_comp");
  check_rows(t.f0_rows, n_comp_, "f0_rows");
  check_rows(t.f1_rows, n_comp_, "f1_rows");
  const int64_t n_f0 = static_cast<int64_t>(t.f0_rows.size()), n_f1 = static_cast<int64_t>(t.f1_rows.size());
  check(static_cast<int64_t>(t.ref_m0.size()) == t.n_ref * n_f0 && static_cast<int64_t>(t.ref_m1.size()) == t.n_ref * n_f1,
        "ref_m0/ref_m1 do not match the copies");
  check(n_f0 == t.n_copies_two + t.n_copies_one && n_f1 == t.n_copies_two, "copy counts do not match f0_rows/f1_rows");
  check(t.pair_k.size() == t.pair_j.size(), "pair_j and pair_k differ in length");
  check_rows(t.pair_j, 2 * t.n_ref, "pair_j");
  check_rows(t.pair_k, 2 * t.n_ref, "pair_k");
  check(static_cast<int64_t>(t.w_rows.size()) == 4 * t.n_w && static_cast<int64_t>(t.w_t.size()) == 8 * t.n_w,
        "w_rows/w_t do not match n_w");
  check_rows(t.w_rows, n_prod_, "w_rows");
  check_rows(t.z0_rows, n_rw_, "z0_rows");
  check_rows(t.z1_rows, n_rw_, "z1_rows");
  check(static_cast<int64_t>(t.rb_left.size()) == 2 * t.n_rb && static_cast<int64_t>(t.rb_right.size()) == 2 * t.n_rb,
        "rb_left/rb_right are not [2, n_rb]");
  check_rows(t.rb_left, n_rw_, "rb_left");
  check_rows(t.rb_right, n_rw_, "rb_right");
  check(static_cast<int64_t>(t.cx0_a.size()) == t.n_cx && t.cx0_b.size() == t.cx0_a.size() &&
            static_cast<int64_t>(t.cx1_a.size()) == t.n_cx_two && t.cx1_b.size() == t.cx1_a.size(),
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
  check(count == n_features_, "the invariants make " + std::to_string(count) + " features, the descriptor declares " +
                                  std::to_string(n_features_));

  // components as a sparse map of the variables (orb_ut is zero-padded per orbit)
  comps_.start.push_back(0);
  for (int64_t o = 0; o < t.n_orbits; o++)
    for (int64_t i = 0; i < t.mmax; i++) {
      for (int64_t j = 0; j < t.mmax; j++) {
        const double c = t.orb_ut[(o * t.mmax + i) * t.mmax + j];
        if (c == 0.0) continue;
        comps_.col.push_back(t.orb_rows[o * t.mmax + j]);
        comps_.coef.push_back(static_cast<T>(c));
      }
      comps_.start.push_back(static_cast<int64_t>(comps_.col.size()));
    }
  // references: rows 0..n_ref of ref_m0 . f0, then ref_m1 . f1, as maps of the components
  refs_.start.push_back(0);
  for (int half = 0; half < 2; half++) {
    const auto &m = half ? t.ref_m1 : t.ref_m0;
    const auto &rows = half ? t.f1_rows : t.f0_rows;
    const int64_t n = half ? n_f1 : n_f0;
    for (int64_t k = 0; k < t.n_ref; k++) {
      for (int64_t pos = 0; pos < n; pos++) {
        if (m[k * n + pos] == 0.0) continue;
        refs_.col.push_back(rows[pos]);
        refs_.coef.push_back(static_cast<T>(m[k * n + pos]));
      }
      refs_.start.push_back(static_cast<int64_t>(refs_.col.size()));
    }
  }
  w_t_.assign(t.w_t.begin(), t.w_t.end());
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
  const LatticeTables &t = t_;
  const double *L = t.to_lattice.data(), *F = t.from_lattice.data();
  std::vector<int64_t> slot(n_edges);
  double worst_off2 = -1.0;
  int64_t worst = -1;
  for (int64_t e = 0; e < n_edges; e++) {
    const double *v = edge_vec + 3 * e;
    double coord[2], key = 0.0;
    for (int d = 0; d < 2; d++) coord[d] = std::nearbyint(v[0] * L[d] + v[1] * L[2 + d] + v[2] * L[4 + d]);
    double off2 = 0.0;
    for (int k = 0; k < 3; k++) {
      const double r = v[k] - (coord[0] * F[k] + coord[1] * F[3 + k]);
      off2 += r * r;
    }
    if (off2 > worst_off2) {
      worst_off2 = off2;
      worst = e;
    }
    for (int d = 0; d < 2; d++) key += std::min(std::max(coord[d], -t.clamp), t.clamp) * t.key_weight[d];
    slot[e] = t.slot_table[static_cast<int64_t>(key) + t.key_origin];
  }
  if (n_edges > 0 && worst_off2 > t.site_tol * t.site_tol) {
    const double *v = edge_vec + 3 * worst;
    throw Error("mlspin lattice descriptor: edge vector (" + torchscript_float(v[0]) + ", " + torchscript_float(v[1]) + ", " +
                torchscript_float(v[2]) + ") is not a vector of the model's " + t.lattice_name + " lattice (off by " +
                torchscript_float(std::sqrt(worst_off2)) + "); the model needs atoms on that lattice in the xy plane");
  }

  n_atoms_ = n_atoms;
  n_local_ = n_local;
  atoms_.assign(n_local * n_sites_, n_atoms);
  bool on_center = false, shared = false;
  for (int64_t e = 0; e < n_edges; e++) {
    const int64_t c = edge_index[e], s = slot[e];
    if (c < 0 || c >= n_local || edge_index[n_edges + e] < 0 || edge_index[n_edges + e] >= n_atoms)
      throw Error("mlspin lattice descriptor: edge " + std::to_string(e) + " refers to an atom out of range");
    if (s == n_sites_) continue;    // beyond the stencil
    if (s == 0) {
      on_center = true;
      continue;
    }
    int64_t &atom = atoms_[c * n_sites_ + s];
    if (atom != n_atoms) shared = true;
    atom = edge_index[n_edges + e];
  }
  if (on_center)
    throw Error("mlspin lattice descriptor: a neighbor sits on its center (edge vector of length 0)");
  if (shared) throw Error("mlspin lattice descriptor: two neighbors of one center sit on the same lattice site");
  for (int64_t c = 0; c < n_local; c++) atoms_[c * n_sites_] = c;
}

/* ---------------------------------------------------------------------- */

namespace {

// row r of a block array
template <typename T, int B> inline T *row(std::vector<T> &a, int64_t r)
{
  return a.data() + r * B;
}
template <typename T, int B> inline const T *row(const std::vector<T> &a, int64_t r)
{
  return a.data() + r * B;
}

// out = sum_e coef[e] in[col[e]] for every row of a sparse map (blocks of B columns)
template <typename T, int B, typename Map>
void sparse_apply(const Map &m, const T *__restrict in, T *__restrict out, int64_t n_rows)
{
  for (int64_t r = 0; r < n_rows; r++) {
    T acc[B] = {};
    for (int64_t e = m.start[r]; e < m.start[r + 1]; e++) {
      const T c = m.coef[e];
      const T *__restrict src = in + m.col[e] * B;
      for (int j = 0; j < B; j++) acc[j] += c * src[j];
    }
    std::memcpy(out + r * B, acc, sizeof acc);
  }
}

// in_grad[col[e]] += coef[e] out_grad[r]: the transpose of sparse_apply
template <typename T, int B, typename Map>
void sparse_apply_t(const Map &m, const T *__restrict out_grad, T *__restrict in_grad, int64_t n_rows)
{
  for (int64_t r = 0; r < n_rows; r++) {
    const T *__restrict g = out_grad + r * B;
    for (int64_t e = m.start[r]; e < m.start[r + 1]; e++) {
      const T c = m.coef[e];
      T *__restrict dst = in_grad + m.col[e] * B;
      for (int j = 0; j < B; j++) dst[j] += c * g[j];
    }
  }
}

}    // namespace

// stencil spins, variables, components, references, W's of centers first..first+nb
// (columns nb..kBlock-1 are zero spins)
template <typename T>
void LatticeDescriptorKernel<T>::block_intermediates(int64_t first, int nb, const T *spin, Work &w) const
{
  constexpr int B = kBlock;
  const LatticeTables &t = t_;
  const int64_t ns = n_sites_;
  w.s.assign(3 * ns * B, T(0));
  w.x.resize(n_x_ * B);
  w.comps.resize(n_comp_ * B);
  w.rw.resize(n_rw_ * B);
  w.prod.resize(n_prod_ * B);

  // stencil_spins: [site][xyz][center]
  for (int j = 0; j < nb; j++) {
    const int64_t *atoms = atoms_.data() + (first + j) * ns;
    for (int64_t p = 0; p < ns; p++) {
      if (atoms[p] == n_atoms_) continue;
      const T *src = spin + 3 * atoms[p];
      for (int k = 0; k < 3; k++) w.s[(3 * p + k) * B + j] = src[k];
    }
  }
  // variables: S_0 . S_q, neighbor bonds, chiralities, zero
  const T *__restrict s = w.s.data();
  T *__restrict x = w.x.data();
  for (int64_t q = 0; q < ns; q++)
    for (int j = 0; j < B; j++)
      x[q * B + j] = s[j] * s[(3 * q) * B + j] + s[B + j] * s[(3 * q + 1) * B + j] + s[2 * B + j] * s[(3 * q + 2) * B + j];
  const int64_t *pr = t.nb_rows.data(), *qr = pr + 3 * t.n_nb;
  for (int64_t b = 0; b < t.n_nb; b++) {
    const T *p0 = s + pr[3 * b] * B, *p1 = s + pr[3 * b + 1] * B, *p2 = s + pr[3 * b + 2] * B;
    const T *q0 = s + qr[3 * b] * B, *q1 = s + qr[3 * b + 1] * B, *q2 = s + qr[3 * b + 2] * B;
    T *out = x + (ns + b) * B;
    for (int j = 0; j < B; j++) out[j] = p0[j] * q0[j] + p1[j] * q1[j] + p2[j] * q2[j];
  }
  const int64_t nt = t.n_tri;
  for (int64_t c = 0; c < nt; c++) {
    T *out = x + (ns + t.n_nb + c) * B;
    T acc[B] = {};
    for (int k = 0; k < 3; k++) {
      const T *a = s + t.tri_rows[(0 * nt + c) * 3 + k] * B, *b1 = s + t.tri_rows[(1 * nt + c) * 3 + k] * B;
      const T *c2 = s + t.tri_rows[(2 * nt + c) * 3 + k] * B, *b2 = s + t.tri_rows[(3 * nt + c) * 3 + k] * B;
      const T *c1 = s + t.tri_rows[(4 * nt + c) * 3 + k] * B;
      for (int j = 0; j < B; j++) acc[j] += a[j] * (b1[j] * c2[j] - b2[j] * c1[j]);
    }
    std::memcpy(out, acc, sizeof acc);
  }
  std::fill(x + (n_x_ - 1) * B, x + n_x_ * B, T(0));

  // components, references
  sparse_apply<T, B>(comps_, w.x.data(), w.comps.data(), n_comp_);
  sparse_apply<T, B>(refs_, w.comps.data(), w.rw.data(), 2 * t.n_ref);
  // products of reference pairs, W_u = t_u : (b c)
  T *__restrict rw = w.rw.data();
  T *__restrict prod = w.prod.data();
  for (int64_t q = 0; q < n_prod_; q++) {
    const T *a = rw + t.pair_j[q] * B, *b = rw + t.pair_k[q] * B;
    for (int j = 0; j < B; j++) prod[q * B + j] = a[j] * b[j];
  }
  for (int64_t u = 0; u < t.n_w; u++)
    for (int i = 0; i < 2; i++) {
      T acc[B] = {};
      for (int jk = 0; jk < 4; jk++) {
        const T c = w_t_[(u * 2 + i) * 4 + jk];
        const T *src = prod + t.w_rows[4 * u + jk] * B;
        for (int j = 0; j < B; j++) acc[j] += c * src[j];
      }
      std::memcpy(rw + (2 * t.n_ref + 2 * u + i) * B, acc, sizeof acc);
    }
}

// the invariants, rows in the order column_order; out[r * ld + j] for the block's columns
template <typename T> void LatticeDescriptorKernel<T>::block_features(const Work &w, T *out, int64_t ld) const
{
  constexpr int B = kBlock;
  const LatticeTables &t = t_;
  const T *comps = w.comps.data(), *rw = w.rw.data();
  auto f0 = [&](int64_t i) { return comps + t.f0_rows[i] * B; };
  auto f1 = [&](int64_t i) { return comps + t.f1_rows[i] * B; };
  int64_t r = 0;
  for (int64_t src : t.lin_comp) std::memcpy(out + (r++) * ld, comps + src * B, sizeof(T) * B);
  for (int64_t i = 0; i < t.n_copies_two; i++) {
    const T *a = f0(i), *b = f1(i);
    T *o = out + (r++) * ld;
    for (int j = 0; j < B; j++) o[j] = a[j] * a[j] + b[j] * b[j];
  }
  for (int64_t i = t.n_copies_two; i < t.n_copies_two + t.n_copies_one; i++) {
    const T *a = f0(i);
    T *o = out + (r++) * ld;
    for (int j = 0; j < B; j++) o[j] = a[j] * a[j];
  }
  // groups: each copy with each partner
  int64_t copy = 0, z0 = 0, z1 = 0;
  for (size_t g = 0; g < t.group_copies.size(); g++) {
    const int64_t nc = t.group_copies[g], np = t.group_partners[g];
    const bool two = static_cast<int64_t>(g) < t.n_two_dim;
    for (int64_t c = copy; c < copy + nc; c++) {
      const T *a0 = f0(c);
      const T *a1 = two ? f1(c) : nullptr;
      for (int64_t p = 0; p < np; p++) {
        const T *b0 = rw + t.z0_rows[z0 + p] * B;
        T *o = out + (r++) * ld;
        if (two) {
          const T *b1 = rw + t.z1_rows[z1 + p] * B;
          for (int j = 0; j < B; j++) o[j] = a0[j] * b0[j] + a1[j] * b1[j];
        } else {
          for (int j = 0; j < B; j++) o[j] = a0[j] * b0[j];
        }
      }
    }
    copy += nc;
    z0 += np;
    if (two) z1 += np;
  }
  // reference bispectrum
  for (int64_t k = 0; k < t.n_rb; k++) {
    const T *l0 = rw + t.rb_left[k] * B, *l1 = rw + t.rb_left[t.n_rb + k] * B;
    const T *r0 = rw + t.rb_right[k] * B, *r1 = rw + t.rb_right[t.n_rb + k] * B;
    T *o = out + (r++) * ld;
    for (int j = 0; j < B; j++) o[j] = l0[j] * r0[j] + l1[j] * r1[j];
  }
  // cross power pairs, 2-dimensional first
  for (int64_t k = 0; k < t.n_cx; k++) {
    const T *a = f0(t.cx0_a[k]), *b = f0(t.cx0_b[k]);
    T *o = out + (r++) * ld;
    if (k < t.n_cx_two) {
      const T *c = f1(t.cx1_a[k]), *d = f1(t.cx1_b[k]);
      for (int j = 0; j < B; j++) o[j] = a[j] * b[j] + c[j] * d[j];
    } else {
      for (int j = 0; j < B; j++) o[j] = a[j] * b[j];
    }
  }
}

template <typename T> void LatticeDescriptorKernel<T>::forward(const T *spin, T *features) const
{
  constexpr int B = kBlock;
  Work w;
  w.scratch.resize(n_features_ * B);
  for (int64_t first = 0; first < n_local_; first += B) {
    const int nb = static_cast<int>(std::min<int64_t>(B, n_local_ - first));
    block_intermediates(first, nb, spin, w);
    if (nb == B) {
      block_features(w, features + first, n_local_);
    } else {    // a partial block: the full block aside, its first nb columns copied
      block_features(w, w.scratch.data(), B);
      for (int64_t r = 0; r < n_features_; r++)
        std::memcpy(features + r * n_local_ + first, w.scratch.data() + r * B, sizeof(T) * nb);
    }
  }
}

/* ----------------------------------------------------------------------
   backward: the transposes of block_features and block_intermediates, in reverse
------------------------------------------------------------------------- */

template <typename T>
void LatticeDescriptorKernel<T>::block_backward(int64_t first, int nb, Work &w, const T *grad, int64_t ld,
                                                T *grad_spin) const
{
  constexpr int B = kBlock;
  const LatticeTables &t = t_;
  const int64_t ns = n_sites_;
  w.gcomps.assign(n_comp_ * B, T(0));
  w.grw.assign(n_rw_ * B, T(0));
  w.gprod.assign(n_prod_ * B, T(0));
  w.gx.resize(n_x_ * B);
  w.gs.assign(3 * ns * B, T(0));
  const T *comps = w.comps.data(), *rw = w.rw.data(), *s = w.s.data();
  T *gcomps = w.gcomps.data(), *grw = w.grw.data();
  auto f0 = [&](int64_t i) { return comps + t.f0_rows[i] * B; };
  auto f1 = [&](int64_t i) { return comps + t.f1_rows[i] * B; };
  auto g0 = [&](int64_t i) { return gcomps + t.f0_rows[i] * B; };
  auto g1 = [&](int64_t i) { return gcomps + t.f1_rows[i] * B; };

  int64_t r = 0;
  for (int64_t src : t.lin_comp) {
    const T *g = grad + (r++) * ld;
    T *d = gcomps + src * B;
    for (int j = 0; j < B; j++) d[j] += g[j];
  }
  for (int64_t i = 0; i < t.n_copies_two + t.n_copies_one; i++) {
    const T *g = grad + (r++) * ld;
    const T *a = f0(i);
    T *da = g0(i);
    for (int j = 0; j < B; j++) da[j] += T(2) * a[j] * g[j];
    if (i < t.n_copies_two) {
      const T *b = f1(i);
      T *db = g1(i);
      for (int j = 0; j < B; j++) db[j] += T(2) * b[j] * g[j];
    }
  }
  int64_t copy = 0, z0 = 0, z1 = 0;
  for (size_t gr = 0; gr < t.group_copies.size(); gr++) {
    const int64_t nc = t.group_copies[gr], np = t.group_partners[gr];
    const bool two = static_cast<int64_t>(gr) < t.n_two_dim;
    for (int64_t c = copy; c < copy + nc; c++) {
      const T *a0 = f0(c);
      const T *a1 = two ? f1(c) : nullptr;
      T acc0[B] = {}, acc1[B] = {};
      for (int64_t p = 0; p < np; p++) {
        const T *g = grad + (r++) * ld;
        const int64_t r0 = t.z0_rows[z0 + p];
        const T *b0 = rw + r0 * B;
        T *db0 = grw + r0 * B;
        for (int j = 0; j < B; j++) {
          acc0[j] += g[j] * b0[j];
          db0[j] += g[j] * a0[j];
        }
        if (two) {
          const int64_t r1 = t.z1_rows[z1 + p];
          const T *b1 = rw + r1 * B;
          T *db1 = grw + r1 * B;
          for (int j = 0; j < B; j++) {
            acc1[j] += g[j] * b1[j];
            db1[j] += g[j] * a1[j];
          }
        }
      }
      T *d0 = g0(c);
      for (int j = 0; j < B; j++) d0[j] += acc0[j];
      if (two) {
        T *d1 = g1(c);
        for (int j = 0; j < B; j++) d1[j] += acc1[j];
      }
    }
    copy += nc;
    z0 += np;
    if (two) z1 += np;
  }
  for (int64_t k = 0; k < t.n_rb; k++) {
    const T *g = grad + (r++) * ld;
    for (int d = 0; d < 2; d++) {
      const int64_t lr = t.rb_left[d * t.n_rb + k], rr = t.rb_right[d * t.n_rb + k];
      const T *l = rw + lr * B, *rv = rw + rr * B;
      T *dl = grw + lr * B;
      for (int j = 0; j < B; j++) dl[j] += g[j] * rv[j];
      T *dr = grw + rr * B;
      for (int j = 0; j < B; j++) dr[j] += g[j] * l[j];
    }
  }
  for (int64_t k = 0; k < t.n_cx; k++) {
    const T *g = grad + (r++) * ld;
    const T *a = f0(t.cx0_a[k]), *b = f0(t.cx0_b[k]);
    T *da = g0(t.cx0_a[k]);
    for (int j = 0; j < B; j++) da[j] += g[j] * b[j];
    T *db = g0(t.cx0_b[k]);
    for (int j = 0; j < B; j++) db[j] += g[j] * a[j];
    if (k < t.n_cx_two) {
      const T *c = f1(t.cx1_a[k]), *d = f1(t.cx1_b[k]);
      T *dc = g1(t.cx1_a[k]);
      for (int j = 0; j < B; j++) dc[j] += g[j] * d[j];
      T *dd = g1(t.cx1_b[k]);
      for (int j = 0; j < B; j++) dd[j] += g[j] * c[j];
    }
  }

  // W_u -> products -> references -> components
  T *gprod = w.gprod.data();
  for (int64_t u = 0; u < t.n_w; u++)
    for (int i = 0; i < 2; i++) {
      const T *g = grw + (2 * t.n_ref + 2 * u + i) * B;
      for (int jk = 0; jk < 4; jk++) {
        const T c = w_t_[(u * 2 + i) * 4 + jk];
        T *d = gprod + t.w_rows[4 * u + jk] * B;
        for (int j = 0; j < B; j++) d[j] += c * g[j];
      }
    }
  for (int64_t q = 0; q < n_prod_; q++) {
    const int64_t ja = t.pair_j[q], ka = t.pair_k[q];
    const T *g = gprod + q * B, *a = rw + ja * B, *b = rw + ka * B;
    T *da = grw + ja * B;
    for (int j = 0; j < B; j++) da[j] += g[j] * b[j];
    T *db = grw + ka * B;
    for (int j = 0; j < B; j++) db[j] += g[j] * a[j];
  }
  sparse_apply_t<T, B>(refs_, grw, gcomps, 2 * t.n_ref);
  std::fill(w.gx.begin(), w.gx.end(), T(0));
  sparse_apply_t<T, B>(comps_, gcomps, w.gx.data(), n_comp_);

  // variables -> stencil spins
  const T *gx = w.gx.data();
  T *gs = w.gs.data();
  for (int64_t q = 0; q < ns; q++) {
    const T *g = gx + q * B;
    for (int k = 0; k < 3; k++) {
      const T *sq = s + (3 * q + k) * B, *s0 = s + k * B;
      T *d0 = gs + k * B;
      for (int j = 0; j < B; j++) d0[j] += g[j] * sq[j];
      T *dq = gs + (3 * q + k) * B;
      for (int j = 0; j < B; j++) dq[j] += g[j] * s0[j];
    }
  }
  const int64_t *pr = t.nb_rows.data(), *qr = pr + 3 * t.n_nb;
  for (int64_t b = 0; b < t.n_nb; b++) {
    const T *g = gx + (ns + b) * B;
    for (int k = 0; k < 3; k++) {
      const T *p = s + pr[3 * b + k] * B, *q = s + qr[3 * b + k] * B;
      T *dp = gs + pr[3 * b + k] * B;
      for (int j = 0; j < B; j++) dp[j] += g[j] * q[j];
      T *dq = gs + qr[3 * b + k] * B;
      for (int j = 0; j < B; j++) dq[j] += g[j] * p[j];
    }
  }
  const int64_t nt = t.n_tri;
  for (int64_t c = 0; c < nt; c++) {
    const T *g = gx + (ns + t.n_nb + c) * B;
    for (int k = 0; k < 3; k++) {
      const int64_t ia = t.tri_rows[(0 * nt + c) * 3 + k], ib1 = t.tri_rows[(1 * nt + c) * 3 + k];
      const int64_t ic2 = t.tri_rows[(2 * nt + c) * 3 + k], ib2 = t.tri_rows[(3 * nt + c) * 3 + k];
      const int64_t ic1 = t.tri_rows[(4 * nt + c) * 3 + k];
      const T *a = s + ia * B, *b1 = s + ib1 * B, *c2 = s + ic2 * B, *b2 = s + ib2 * B, *c1 = s + ic1 * B;
      T ga[B], gb1[B], gc2[B], gb2[B], gc1[B];
      for (int j = 0; j < B; j++) {
        ga[j] = g[j] * (b1[j] * c2[j] - b2[j] * c1[j]);
        const T ag = g[j] * a[j];
        gb1[j] = ag * c2[j];
        gc2[j] = ag * b1[j];
        gb2[j] = -ag * c1[j];
        gc1[j] = -ag * b2[j];
      }
      // rows may coincide (a site in two roles): accumulate one after the other
      for (int j = 0; j < B; j++) gs[ia * B + j] += ga[j];
      for (int j = 0; j < B; j++) gs[ib1 * B + j] += gb1[j];
      for (int j = 0; j < B; j++) gs[ic2 * B + j] += gc2[j];
      for (int j = 0; j < B; j++) gs[ib2 * B + j] += gb2[j];
      for (int j = 0; j < B; j++) gs[ic1 * B + j] += gc1[j];
    }
  }

  // stencil sites -> atoms (ghosts included; empty sites dropped)
  for (int j = 0; j < nb; j++) {
    const int64_t *atoms = atoms_.data() + (first + j) * ns;
    for (int64_t p = 0; p < ns; p++) {
      if (atoms[p] == n_atoms_) continue;
      T *dst = grad_spin + 3 * atoms[p];
      for (int k = 0; k < 3; k++) dst[k] += gs[(3 * p + k) * B + j];
    }
  }
}

template <typename T> void LatticeDescriptorKernel<T>::backward(const T *spin, const T *grad_features, T *grad_spin) const
{
  constexpr int B = kBlock;
  Work w;
  w.scratch.resize(n_features_ * B);
  for (int64_t first = 0; first < n_local_; first += B) {
    const int nb = static_cast<int>(std::min<int64_t>(B, n_local_ - first));
    block_intermediates(first, nb, spin, w);
    if (nb == B) {
      block_backward(first, nb, w, grad_features + first, n_local_, grad_spin);
    } else {    // a partial block: its gradients padded with zeros
      std::fill(w.scratch.begin(), w.scratch.end(), T(0));
      for (int64_t r = 0; r < n_features_; r++)
        std::memcpy(w.scratch.data() + r * B, grad_features + r * n_local_ + first, sizeof(T) * nb);
      block_backward(first, nb, w, w.scratch.data(), B, grad_spin);
    }
  }
}

template class LatticeDescriptorKernel<double>;
template class LatticeDescriptorKernel<float>;

}    // namespace mlspin
