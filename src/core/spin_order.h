// Local order parameters of spins on 2D Bravais lattices: scalar spin chirality and
// tetrahedral (triple-Q) order on the triangular lattice, Neel and ferromagnetic order
// on the square lattice. LAMMPS-free: the computes mlspin/chirality and mlspin/order
// collect a site's nearest-neighbour ring and call these functions.
// Formulas and their values on ordered states: doc/compute_mlspin_chirality.rst,
// doc/compute_mlspin_order.rst.
#pragma once

#include "core/vec3.h"

#include <vector>

namespace mlspin {

// Ideal lattice geometry in units of the lattice constant a
struct LatticeShell {
  const char *name;
  int coordination;        // nearest neighbours of a site
  double cell_area;        // area per site / a^2
  double shell_cutoff;     // midway between the first and second neighbour shells / a
};

extern const LatticeShell kTriangularShell;    // 6 neighbours at a, next at sqrt(3) a
extern const LatticeShell kSquareShell;        // 4 neighbours at a, next at sqrt(2) a

// Lattice constant of the ideal lattice that has the given area per site
double lattice_constant_from_area(const LatticeShell &shell, double area_per_site);

// A nearest neighbour seen from the centre site: bond vector projected on the xy plane
// and the neighbour's spin direction
struct RingNeighbour {
  double dx = 0.0, dy = 0.0;
  Vec3 spin;
};

// Puts the neighbours in counter-clockwise order (viewed from +z), starting anywhere
void sort_counterclockwise(std::vector<RingNeighbour> &ring);

// Largest angle (radians) between consecutive neighbours of a sorted ring; 2 pi for
// fewer than two neighbours. A site inside a lattice has 2 pi / coordination.
double largest_angular_gap(const std::vector<RingNeighbour> &ring);

// Scalar chirality S_a . (S_b x S_c) of a triangle with corners a, b, c
inline double triangle_chirality(const Vec3 &a, const Vec3 &b, const Vec3 &c)
{
  return dot(a, cross(b, c));
}

// Mean chirality of the triangles (centre, ring[k], ring[k+1]) of a counter-clockwise
// ring: on the triangular lattice these are the six elementary triangles of the site
double site_chirality(const Vec3 &centre, const std::vector<RingNeighbour> &ring);

// Triangular lattice, site and its six neighbours in counter-clockwise order, weighted
// 1/4 and 1/8 (each of the four M-point sublattices then weighs 1/4):
//   delta[alpha] = S_i/4 + (1/8) sum_j eta_alpha(r_j - r_i) S_j, alpha = 0, 1, 2
//   uniform      = S_i/4 + (1/8) sum_j S_j
struct TriangularOrder {
  double m_point = 0.0;        // |delta_0|^2 + |delta_1|^2 + |delta_2|^2
  double tetrahedral = 0.0;    // 3 sqrt(3) delta_0 . (delta_1 x delta_2)
  double uniform = 0.0;        // |uniform|
};
TriangularOrder triangular_order(const Vec3 &centre, const std::vector<RingNeighbour> &ring);

// Square lattice, site (weight 1/2) and its four neighbours (weight 1/8 each)
struct SquareOrder {
  double neel = 0.0;     // |S_i/2 - (1/8) sum_j S_j|
  double ferro = 0.0;    // |S_i/2 + (1/8) sum_j S_j|
};
SquareOrder square_order(const Vec3 &centre, const std::vector<RingNeighbour> &ring);

}    // namespace mlspin
