// Kernel polynomial method (KPM) for the s-d model: energy and fields without
// diagonalisation, O(N M R) for N sites, M Chebyshev moments and R vectors.
//
// References: A. Weisse, G. Wellein, A. Alvermann, H. Fehske, Rev. Mod. Phys. 78, 275
// (2006) (Chebyshev moments, Jackson kernel, stochastic traces); K. Barros and Y. Kato,
// Phys. Rev. B 88, 235101 (2013) (fields as the exact gradient of the stochastic KPM
// energy by reverse-mode differentiation of the Chebyshev recursion, and probing).
//
// With X = H / a (a bounds the spectrum) and moments mu_n = Tr T_n(X), estimated as
// (1/D) sum_r r^+ T_n(X) r over D draws of vectors r:
//   density of states  rho(x) = [g_0 mu_0 + 2 sum_n g_n mu_n T_n(x)] / (pi sqrt(1 - x^2))
//   (g_n: Jackson kernel), evaluated at Q Chebyshev-Gauss nodes x_k = cos(pi (k+1/2)/Q).
// The node weights w_k play the role of levels in the statistics of sd_model.h, which
// gives mu (canonical) and the energy E = sum_k w_k g(a x_k) (+ mu N_e), g the grand
// potential per level. E is linear in the moments, E = sum_n c_n g_n mu_n (+ mu N_e), with
// c_n the Chebyshev coefficients of g on the same nodes, and the derivative of
// r^+ T_n(X) r is obtained exactly from a forward and a backward Chebyshev sweep:
//   dE_r = sum_{m>=1} k_m beta_m^+ dX alpha_{m-1},  alpha_m = T_m(X) r,
//   beta_m = sum_{n>=m} c_n g_n U_{n-m}(X) r (Clenshaw), k_1 = 1, k_m = 2 otherwise.
// So the fields are the exact gradient of the KPM energy computed with the same
// vectors; finite differences of E reproduce them.
//
// Vectors: random phases (vectors R), all unit vectors (exact trace), or probing
// vectors on a distance-D colouring of the hopping graph with random phases. They are
// drawn from a counter-based generator keyed by (seed, vector, component), so they do
// not depend on how the work is split over processes. Vector v is handled by process
// v mod P; per-vector results are summed in vector order, so the result is bitwise the
// same for any number of processes.
#pragma once

#include "core/sd_model.h"

#include <cstdint>
#include <functional>

namespace mlspin {

struct KPMSettings {
  int moments = 200;           // M >= 2
  int vectors = 16;            // random vectors, or draws of probing vectors
  bool exact_trace = false;    // all 2N unit vectors instead
  int probe_distance = 0;      // > 0: probing vectors on a distance-D colouring
  std::uint64_t seed = 20130101;
  int nodes = 0;               // quadrature nodes, 0: max(4 M, 1024)
};

// How the vectors are shared among processes. gather(mine, length, all) must copy
// `length` doubles from every process into `all`, process p at offset p * length (an
// MPI_Allgather); it is called by every process the same number of times.
struct KPMWorkers {
  int rank = 0, size = 1;
  std::function<void(const double *mine, int length, double *all)> gather;
};

class KPMSolver : public SDSolver {
 public:
  explicit KPMSolver(const KPMSettings &settings, KPMWorkers workers = KPMWorkers());
  ~KPMSolver() override;

  void solve(const HoppingMatrix &hopping, const std::vector<Vec3> &spins, const SDParameters &params,
             bool want_site_energy, SDResult &result) override;
  std::string name() const override { return "kpm"; }

  int vector_count(const HoppingMatrix &hopping);         // vectors per solve
  const std::vector<double> &moments() const;               // mu_n of the last solve
  double spectral_scale() const;                            // a of the last solve

  // The half-width a used for a given hopping matrix and largest J |S_i|: a Gershgorin
  // bound with a 1% margin, rounded up on a grid of 1/64 of its power of two, so that it
  // does not change while spins rotate.
  static double spectral_bound(const HoppingMatrix &hopping, double max_coupling);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Greedy colouring of the sites such that sites within `distance` hops of the hopping
// graph get different colours; returns the colour of each site (0-based).
std::vector<int> distance_colouring(const HoppingMatrix &hopping, int distance, int *ncolours);

}    // namespace mlspin
