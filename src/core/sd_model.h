// The s-d (Kondo-lattice, double-exchange) model of classical spins and tight-binding
// electrons, and what its solvers return.
//
//   H = sum_{ij,a} T_ij c+_ia c_ja  -  J sum_i S_i . (c+_ia sigma_ab c_ib)
//
// T is the hopping matrix (T_ij = -t_shell, see sd_lattice.h), sigma the Pauli matrices
// and S_i the classical spin vectors including their length. J > 0 favours an electron
// spin parallel to S_i: the on-site levels are -J|S_i| (parallel) and +J|S_i|.
//
// The spins enter through the adiabatic (Born-Oppenheimer) electron energy E({S}):
//  - canonical ensemble, N_e = 2 N f electrons (f: filling per site and spin):
//      E = Omega(mu) + mu N_e  with mu such that sum_m f(e_m) = N_e
//    (the Helmholtz free energy of the electrons; the band energy when kT = 0);
//  - grand canonical ensemble at chemical potential mu: E = Omega(mu);
//  where Omega(mu) = -kT sum_m ln(1 + exp(-(e_m - mu)/kT)) over the single-particle
//  levels e_m. In both cases dE/dS_i = -J <c+_i sigma c_i> (Hellmann-Feynman), exactly,
//  because the derivative of E with respect to mu vanishes.
//
// kT = 0: canonical: the lowest N_e levels are filled; when the Fermi level falls inside
// a degenerate group of levels (within 1e-10 of the spectral radius) the electrons left
// are spread evenly over the group, which makes the density matrix independent of the
// basis chosen inside the group. Grand canonical: levels exactly at mu are half filled.
// E is continuous but its derivative may jump where levels cross the Fermi level; a
// small kT > 0 makes the fields smooth.
#pragma once

#include "core/sd_lattice.h"
#include "core/vec3.h"

#include <memory>
#include <string>
#include <vector>

namespace mlspin {

struct SDParameters {
  double J = 0.0;
  bool canonical = true;
  double filling = 0.5;    // canonical: electrons per site and spin orientation, in (0,1)
  double mu = 0.0;         // grand canonical: chemical potential
  double kT = 0.0;         // electron temperature, energy units, >= 0
};

// Per-site results. Electron spin m_i = <c+_i sigma c_i> (Pauli matrices, |m_i| <= 1 per
// electron); the field on S_i is -dE/dS_i = J m_i.
struct SDResult {
  double energy = 0.0;                  // E as defined above
  double mu = 0.0;                      // chemical potential (canonical: the one found)
  std::vector<double> density;          // n_i, per site
  std::vector<Vec3> spin;               // m_i, per site
  std::vector<double> site_energy;      // e_i with sum_i e_i = E (only when asked)
};

class SDSolver {
 public:
  virtual ~SDSolver() = default;
  // spins: S_i (direction times length), one per site of the hopping matrix
  virtual void solve(const HoppingMatrix &hopping, const std::vector<Vec3> &spins,
                     const SDParameters &params, bool want_site_energy, SDResult &result) = 0;
  virtual std::string name() const = 0;
};

// ---- electron statistics shared by the solvers ----

// Fermi function f = 1/(1+exp(x)), 1 - f, and omega = -kT ln(1+exp(-x)) for x = (e-mu)/kT,
// all without overflow. kT = 0 is allowed (step functions, f(0) = 1/2).
double fermi(double e, double mu, double kT);
double fermi_complement(double e, double mu, double kT);    // 1 - f, accurate where f -> 1
double grand_potential_term(double e, double mu, double kT);

// Occupation of levels e_k (ascending) carrying weights w_k >= 0 (ED: w = 1; KPM: the
// weight of a quadrature node). Canonical: mu from sum_k w_k f_k = n_electrons; kT = 0:
// the level groups (within deg_tol) below the Fermi level are filled, the partially
// filled group shares the remaining electrons evenly and mu is its level.
struct Occupation {
  double mu = 0.0;
  std::vector<double> f;        // occupation of each level, in [0,1]
  std::vector<double> fbar;     // 1 - f, computed without cancellation
};
Occupation occupy(const std::vector<double> &levels, const std::vector<double> &weights,
                  const SDParameters &params, double n_electrons, double deg_tol);

// The part of E carried by one level of weight 1 with occupation f at level e:
// omega(e) + mu f (canonical) or omega(e) (grand canonical). kT = 0: (e - mu) f (+ mu f).
double level_energy(double e, double f, double mu, const SDParameters &params);

// Number of electrons of the canonical ensemble: 2 N f.
double electron_count(int nsites, const SDParameters &params);

}    // namespace mlspin
