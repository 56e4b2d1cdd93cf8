// Neighbour shells and hopping matrices of the s-d model (src/core/sd_lattice.h).
#include "core/error.h"
#include "core/sd_lattice.h"
#include "sd_test_lattices.h"

#include <Eigen/Dense>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

using namespace mlspin;

namespace {

Eigen::MatrixXd dense(const HoppingMatrix &h)
{
  Eigen::MatrixXd m = Eigen::MatrixXd::Zero(h.nsites, h.nsites);
  for (int i = 0; i < h.nsites; i++)
    for (int a = h.row_start[i]; a < h.row_start[i + 1]; a++) m(i, h.column[a]) += h.value[a];
  return m;
}

std::vector<double> sorted_eigenvalues(const Eigen::MatrixXd &m)
{
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(m);
  std::vector<double> e(es.eigenvalues().data(), es.eigenvalues().data() + m.rows());
  return e;
}

// tight-binding band of the L1 x L2 square torus with t1 (nearest) and t2 (diagonal)
std::vector<double> square_band(int l1, int l2, double t1, double t2)
{
  std::vector<double> e;
  for (int a = 0; a < l1; a++)
    for (int b = 0; b < l2; b++) {
      const double kx = 2 * M_PI * a / l1, ky = 2 * M_PI * b / l2;
      e.push_back(-2 * t1 * (std::cos(kx) + std::cos(ky)) - 4 * t2 * std::cos(kx) * std::cos(ky));
    }
  std::sort(e.begin(), e.end());
  return e;
}

}    // namespace

TEST(SDLattice, SquareShells)
{
  const auto l = sd_test::square(6, 6);
  const auto d = find_shell_distances(l.x, l.box, 3, 1e-3);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_NEAR(d[0], 1.0, 1e-12);
  EXPECT_NEAR(d[1], std::sqrt(2.0), 1e-12);
  EXPECT_NEAR(d[2], 2.0, 1e-12);
  const auto h = build_hopping(l.x, l.box, d, {1.0, 0.5, 0.25}, 1e-3);
  for (int k = 0; k < 3; k++) EXPECT_EQ(h.bonds_per_shell[k], 36 * 4) << "shell " << k + 1;
  EXPECT_NEAR(h.row_abs_sum_max(), 4 * 1.0 + 4 * 0.5 + 4 * 0.25, 1e-12);
}

TEST(SDLattice, TriangularShellsOnATriclinicBox)
{
  const auto l = sd_test::triangular(6, 6);
  const auto d = find_shell_distances(l.x, l.box, 3, 1e-3);
  EXPECT_NEAR(d[0], 1.0, 1e-12);
  EXPECT_NEAR(d[1], std::sqrt(3.0), 1e-12);
  EXPECT_NEAR(d[2], 2.0, 1e-12);
  const auto h = build_hopping(l.x, l.box, d, {1.0, 0.0, 0.0}, 1e-3);
  for (int k = 0; k < 3; k++) EXPECT_EQ(h.bonds_per_shell[k], 36 * 6) << "shell " << k + 1;
}

TEST(SDLattice, SmallBoxesCountEveryImage)
{
  // 2x2, 3x2 and 1x4 tori: neighbours reached through two images, sites seeing
  // themselves; the spectrum must be the periodic band at the torus' k points
  for (const auto &dims : std::vector<std::pair<int, int>>{{2, 2}, {3, 2}, {1, 4}, {4, 4}}) {
    auto l = sd_test::square(dims.first, dims.second);
    // shells are those of the infinite square lattice
    const auto h = build_hopping(l.x, l.box, {1.0, std::sqrt(2.0)}, {1.0, 0.3}, 1e-3);
    const auto e = sorted_eigenvalues(dense(h));
    const auto band = square_band(dims.first, dims.second, 1.0, 0.3);
    ASSERT_EQ(e.size(), band.size());
    for (size_t k = 0; k < e.size(); k++)
      EXPECT_NEAR(e[k], band[k], 1e-12) << dims.first << "x" << dims.second << " level " << k;
  }
}

TEST(SDLattice, ShellsAreGlobalOnTheLiebLattice)
{
  // corner sites have no neighbour at a/sqrt2; edge sites do: the shell exists anyway
  sd_test::Lattice l;
  const int n = 4;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      l.x.push_back({i + 0.0, j + 0.0, 0});
      l.x.push_back({i + 0.5, j + 0.0, 0});
      l.x.push_back({i + 0.0, j + 0.5, 0});
    }
  l.box.origin = {-0.2, -0.2, -0.5};
  l.box.edge[0] = {double(n), 0, 0};
  l.box.edge[1] = {0, double(n), 0};
  l.box.edge[2] = {0, 0, 1};
  l.box.periodic[2] = false;
  const auto d = find_shell_distances(l.x, l.box, 3, 1e-3);
  EXPECT_NEAR(d[0], 0.5, 1e-12);
  EXPECT_NEAR(d[1], std::sqrt(0.5), 1e-12);
  EXPECT_NEAR(d[2], 1.0, 1e-12);
}

TEST(SDLattice, ToleranceGroupsNoisyPositions)
{
  auto l = sd_test::square(5, 5);
  std::mt19937 gen(3);
  std::uniform_real_distribution<double> u(-1e-4, 1e-4);
  for (auto &p : l.x) p += Vec3(u(gen), u(gen), 0.0);
  const auto d = find_shell_distances(l.x, l.box, 2, 1e-2);
  EXPECT_NEAR(d[0], 1.0, 1e-3);
  EXPECT_NEAR(d[1], std::sqrt(2.0), 1e-3);
  const auto h = build_hopping(l.x, l.box, d, {1.0, 0.1}, 1e-2);
  EXPECT_EQ(h.bonds_per_shell[0], 25 * 4);
  EXPECT_EQ(h.bonds_per_shell[1], 25 * 4);
}

TEST(SDLattice, OpenBoxWithTooFewDistancesIsAnError)
{
  sd_test::Lattice l;
  l.x = {{0, 0, 0}, {1, 0, 0}};
  l.box.origin = {-5, -5, -5};
  for (int d = 0; d < 3; d++) {
    l.box.edge[d] = Vec3();
    l.box.periodic[d] = false;
  }
  l.box.edge[0].x = l.box.edge[1].y = l.box.edge[2].z = 10;
  EXPECT_NEAR(find_shell_distances(l.x, l.box, 1, 1e-3)[0], 1.0, 1e-14);
  try {
    find_shell_distances(l.x, l.box, 2, 1e-3);
    FAIL() << "two shells of a dimer";
  } catch (Error &e) {
    EXPECT_NE(std::string(e.what()).find("only 1 distinct"), std::string::npos) << e.what();
  }
}

TEST(SDLattice, ShellWithoutBondsIsAnError)
{
  const auto l = sd_test::square(4, 4);
  try {
    build_hopping(l.x, l.box, {1.0, 1.3}, {1.0, 1.0}, 1e-3);
    FAIL() << "no pairs at 1.3";
  } catch (Error &e) {
    EXPECT_NE(std::string(e.what()).find("hopping shell 2"), std::string::npos) << e.what();
  }
}
