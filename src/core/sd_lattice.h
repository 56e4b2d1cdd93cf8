// Lattice geometry of the s-d model: neighbour shells and the hopping matrix.
//
// Sites are points in a (possibly triclinic) box with periodic or open directions.
// Hoppings depend only on the neighbour shell of a pair: shell k holds the pairs whose
// distance d satisfies |d - d_k| <= tol * d_k. Every periodic image of a neighbour is
// a separate bond, so small boxes (a neighbour reached through two images, a site that
// sees its own image) give the hopping matrix of the periodic lattice.
//
// Pairs are found with a cell list over the whole box, so building the shells and the
// bonds is O(N) for a homogeneous lattice. Nothing here depends on the order in which
// sites were distributed over processes: the sites are given in one global order.
#pragma once

#include "core/vec3.h"

#include <cstddef>
#include <vector>

namespace mlspin {

struct LatticeBox {
  Vec3 origin;                                 // lower corner
  Vec3 edge[3];                                // edge vectors a, b, c
  bool periodic[3] = {true, true, true};       // 2d systems: pass periodic[2] = false
};

// The box of a LAMMPS-style restricted triclinic (or orthogonal) domain:
// a = (xprd,0,0), b = (xy,yprd,0), c = (xz,yz,zprd).
LatticeBox make_lattice_box(const double boxlo[3], const double prd[3], double xy, double xz,
                            double yz, const bool periodic[3]);

// The `count` smallest distinct pair distances (periodic images included), grouping
// distances within a relative tolerance: a shell starts at the smallest distance not
// yet grouped, d_k, and holds every distance up to d_k (1 + tol). Throws mlspin::Error
// when fewer than `count` distinct distances exist (e.g. an isolated site in an open box).
std::vector<double> find_shell_distances(const std::vector<Vec3> &x, const LatticeBox &box,
                                         int count, double tol);

// Real symmetric hopping matrix in compressed-row form, H_ij = -sum over bonds of t_shell.
struct HoppingMatrix {
  int nsites = 0;
  std::vector<int> row_start;       // nsites + 1
  std::vector<int> column;          // neighbour site of each entry, sorted within a row
  std::vector<double> value;        // matrix element (already -t summed over images)
  std::vector<long> bonds_per_shell;    // directed bonds (i -> j and j -> i both counted)

  double row_abs_sum_max() const;    // bound on the spectral radius
  double diagonal(int i) const;      // self-image hopping, 0 in ordinary lattices
};

// Bonds of the given shells and their hoppings: t[k] on shell k. Throws mlspin::Error
// naming the shell when a shell has no bond at all.
HoppingMatrix build_hopping(const std::vector<Vec3> &x, const LatticeBox &box,
                            const std::vector<double> &shell_distance,
                            const std::vector<double> &t, double tol);

}    // namespace mlspin
