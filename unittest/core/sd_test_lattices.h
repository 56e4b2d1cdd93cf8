// Small periodic lattices and spin configurations for the s-d core tests.
#pragma once

#include "core/sd_lattice.h"
#include "core/vec3.h"

#include <cmath>
#include <random>
#include <vector>

namespace sd_test {

struct Lattice {
  std::vector<mlspin::Vec3> x;
  mlspin::LatticeBox box;
};

// Lx x Ly square lattice (spacing 1) in a 2d periodic box
inline Lattice square(int lx, int ly)
{
  Lattice l;
  for (int i = 0; i < lx; i++)
    for (int j = 0; j < ly; j++) l.x.push_back({i + 0.0, j + 0.0, 0.0});
  l.box.origin = {-0.25, -0.25, -0.5};
  l.box.edge[0] = {double(lx), 0, 0};
  l.box.edge[1] = {0, double(ly), 0};
  l.box.edge[2] = {0, 0, 1};
  l.box.periodic[2] = false;
  return l;
}

// L x L triangular lattice (a1 = (1,0), a2 = (1/2, sqrt3/2)) on the rhombic torus
inline Lattice triangular(int lx, int ly)
{
  Lattice l;
  const double h = std::sqrt(3.0) / 2.0;
  for (int i = 0; i < lx; i++)
    for (int j = 0; j < ly; j++) l.x.push_back({i + 0.5 * j, h * j, 0.0});
  l.box.origin = {-0.1, -0.1, -0.5};
  l.box.edge[0] = {double(lx), 0, 0};
  l.box.edge[1] = {0.5 * ly, h * ly, 0};
  l.box.edge[2] = {0, 0, 1};
  l.box.periodic[2] = false;
  return l;
}

// random directions times random lengths in [lmin, lmax]
inline std::vector<mlspin::Vec3> random_spins(size_t n, unsigned seed, double lmin = 1.0, double lmax = 1.0)
{
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> g(0.0, 1.0);
  std::uniform_real_distribution<double> u(lmin, lmax);
  std::vector<mlspin::Vec3> s(n);
  for (auto &v : s) {
    mlspin::Vec3 d{g(gen), g(gen), g(gen)};
    v = u(gen) * mlspin::normalized(d);
  }
  return s;
}

}    // namespace sd_test
