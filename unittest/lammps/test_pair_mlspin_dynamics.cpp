// fix llg driven by pair_style mlspin (many-body model of make_test_models.py):
// undamped T = 0 dynamics conserve the total spin and the energy (errors shrink as
// dt^2, so there is no drift from fields inconsistent with the energy), also with a
// moving lattice in NVE together with a lattice potential (hybrid/overlay); 1 and 2
// MPI ranks give the same trajectories.
#include "lammps_session.h"
#include "pair_mlspin_testing.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

using namespace mlspin_test;

namespace {

// sc lattice of two species, displaced, random unit spins; units lj (hbar = 1/(2 pi))
std::string lattice(int cells, double displacement)
{
  LatticeSpec spec;
  spec.cells = cells;
  spec.displacement = displacement;
  spec.type2_fraction = 0.4;
  spec.seed = 999;
  const auto data = write_lattice_data("dynamics" + std::to_string(cells) + ".data", spec);
  return "units lj\natom_style spin/lattice\natom_modify map array\nboundary p p p\nread_data " + data + R"(
compute dirs all property/atom spx spy spz
compute m all reduce sum c_dirs[1] c_dirs[2] c_dirs[3]
thermo_style custom step pe ke etotal c_m[*]
thermo_modify norm no
)";
}

// hbar of units lj (1/(2 pi), as in SPIN): time steps below are written as multiples of
// it, i.e. in units of hbar/(energy unit), so that spins turn by the same angle per step
const double kHbarLJ = 1.0 / (2 * M_PI);

struct Conservation {
  double max_de = 0.0;    // max |E(t) - E(0)| of the conserved energy
  double max_dm = 0.0;    // max |M(t) - M(0)|, M = sum of unit spins
  double scale = 0.0;     // max |E| or max kinetic energy, for relative bounds
};

// runs `steps` steps of size dt in chunks, tracking `energy` (pe or etotal) and M
Conservation track(const std::string &setup, const char *energy, double dt, int steps, bool kinetic_scale)
{
  LammpsSession lmp;
  lmp.commands(setup);
  char timestep[64];
  std::snprintf(timestep, sizeof timestep, "timestep %.17g", dt);
  lmp.command(timestep);
  lmp.command("run 0 post no");
  const double e0 = lmp.thermo(energy);
  double m0[3];
  for (int k = 0; k < 3; k++) m0[k] = compute_vector(lmp, "m", k);
  Conservation c;
  c.scale = kinetic_scale ? lmp.thermo("ke") : std::fabs(e0);
  const int chunk = steps / 10;
  for (int done = 0; done < steps; done += chunk) {
    lmp.command("run " + std::to_string(chunk) + " post no");
    c.max_de = std::max(c.max_de, std::fabs(lmp.thermo(energy) - e0));
    for (int k = 0; k < 3; k++) c.max_dm = std::max(c.max_dm, std::fabs(compute_vector(lmp, "m", k) - m0[k]));
    c.scale = std::max(c.scale, kinetic_scale ? lmp.thermo("ke") : std::fabs(lmp.thermo(energy)));
  }
  return c;
}

}    // namespace

TEST(PairMLSpinDynamics, UndampedSpinsConserveEnergyAndTotalSpin)
{
  if (world_size() > 1) GTEST_SKIP() << "conservation runs serially; trajectories are compared on 2 ranks";
  const std::string setup = lattice(3, 0.08) + "pair_style mlspin\npair_coeff * * " + model_file("manybody.pt") +
      " A B\nfix llg all llg alpha 0.0 integrator sib\n";
  // the same physical time with two time steps
  const auto coarse = track(setup, "pe", 0.004 * kHbarLJ, 150, false);
  const auto fine = track(setup, "pe", 0.002 * kHbarLJ, 300, false);
  std::printf("  frozen lattice: max |dE|/|E| %.2e (dt 0.004 hbar), %.2e (dt 0.002 hbar); max |dM| %.2e, %.2e\n",
              coarse.max_de / coarse.scale, fine.max_de / fine.scale, coarse.max_dm, fine.max_dm);
  EXPECT_LT(fine.max_de, 1e-9 * fine.scale);
  EXPECT_LT(fine.max_dm, 1e-6);
  // integration errors shrink at least like dt^2; a field inconsistent with the energy
  // would make the energy drift at a rate independent of dt
  EXPECT_GT(coarse.max_de / fine.max_de, 2.5);
  EXPECT_GT(coarse.max_dm / fine.max_dm, 2.5);
}

TEST(PairMLSpinDynamics, MovingLatticeConservesTotalEnergyInNVE)
{
  if (world_size() > 1) GTEST_SKIP() << "conservation runs serially; trajectories are compared on 2 ranks";
  // mlspin on top of a shifted Lennard-Jones lattice potential; forces of both styles
  // drive the atoms, the spin part also the spins
  const std::string setup = lattice(3, 0.05) + "velocity all create 0.05 8765 loop geom\n" +
      "pair_style hybrid/overlay lj/cut 2.225 mlspin\npair_modify shift yes\n"
      "pair_coeff * * lj/cut 1.0 0.89\npair_coeff * * mlspin " +
      model_file("manybody.pt") + " A B\nfix llg all llg alpha 0.0 lattice moving\n";
  const auto coarse = track(setup, "etotal", 0.004 * kHbarLJ, 150, true);
  const auto fine = track(setup, "etotal", 0.002 * kHbarLJ, 300, true);
  std::printf("  moving lattice: max |dEtot|/max KE %.2e (dt 0.004 hbar), %.2e (dt 0.002 hbar); max |dM| %.2e\n",
              coarse.max_de / coarse.scale, fine.max_de / fine.scale, fine.max_dm);
  EXPECT_LT(fine.max_de, 2e-4 * fine.scale);
  EXPECT_GT(coarse.max_de / fine.max_de, 2.5);
  EXPECT_LT(fine.max_dm, 1e-6);    // the model is spin-rotation invariant
}

TEST(PairMLSpinDynamics, OneAndTwoRanksGiveTheSameTrajectories)
{
  if (world_size() == 1) GTEST_SKIP() << "needs 2 MPI ranks";
  // anisotropic model, moving lattice: fields and forces on ghosts both matter
  const std::string setup = lattice(4, 0.05) + "velocity all create 0.05 8765 loop geom\n" +
      "pair_style hybrid/overlay lj/cut 2.225 mlspin\npair_modify shift yes\n"
      "pair_coeff * * lj/cut 1.0 0.89\npair_coeff * * mlspin " +
      model_file("manybody_aniso.pt") + " A B\nfix llg all llg alpha 0.0 lattice moving\ntimestep 0.002\nrun 40\n";
  std::vector<double> sp[2], x[2];
  double pe[2];
  int k = 0;
  for (MPI_Comm comm : {MPI_COMM_SELF, MPI_COMM_WORLD}) {
    LammpsSession lmp(comm);
    lmp.commands(setup);
    sp[k] = lmp.gather("sp", 4);
    x[k] = lmp.gather("x", 3);
    pe[k] = lmp.thermo("pe");
    k++;
  }
  EXPECT_LT(relative_error(sp[1], sp[0]), 1e-10);
  EXPECT_LT(relative_error(x[1], x[0]), 1e-10);
  EXPECT_LT(relative_error(pe[1], pe[0]), 1e-10);
  std::printf("  2 ranks vs 1 after 40 steps: spins %.2e, positions %.2e\n", relative_error(sp[1], sp[0]),
              relative_error(x[1], x[0]));
}
