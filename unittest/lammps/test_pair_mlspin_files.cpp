// pair_style mlspin and its model files: the example model of doc/model_contract.rst
// loads and gives the analytic energy; every invalid file, input or failing model stops
// LAMMPS with an error naming the file and the problem (on 1 and on 2 ranks).
#include "lammps_session.h"
#include "pair_mlspin_testing.h"

#include <gtest/gtest.h>

#include "../expect_contains.h"

#include <cmath>

using namespace mlspin_test;

namespace {

// 54 atoms of type 1 (of 2 types) on an undisplaced bcc lattice (atom 2 at (a/2, a/2, a/2))
std::string box(const char *units = "metal")
{
  LatticeSpec spec;
  spec.a = 2.8665;
  spec.basis = {{0, 0, 0}, {0.5, 0.5, 0.5}};
  spec.cells = 3;
  spec.seed = 7;
  const auto data = write_lattice_data("errors.data", spec);
  return std::string("units ") + units + "\natom_style spin/lattice\nboundary p p p\nprocessors * 1 1\nread_data " +
      data + "\n";
}

// the error message of `commands` after setting up `box()` (empty if none)
std::string error_after(const std::string &setup, const std::string &commands)
{
  LammpsSession lmp;
  lmp.commands(setup);
  return lmp.error_of(commands);
}

std::string pair(const std::string &model, const std::string &species = "Fe Co")
{
  return "pair_style mlspin\npair_coeff * * " + model_file(model) + " " + species + "\n";
}

}    // namespace

TEST(PairMLSpinFiles, TheContractExampleOfTheDocumentationWorks)
{
  // nearest-neighbor Heisenberg model, J = 1, units lj: a ferromagnetic simple cubic
  // lattice has E = -3 J per atom, fm = (|S|/hbar) J sum_j S_j = 6 s / hbar, with
  // hbar = 1/(2 pi) in units lj (as in SPIN)
  LatticeSpec spec;
  spec.cells = 3;
  spec.seed = 3;
  const auto data = write_lattice_data("contract.data", spec);
  LammpsSession lmp;
  lmp.commands("units lj\natom_style spin/lattice\nboundary p p p\nread_data " + data +
               "\nset group all spin/atom 1.0 0 0 1\npair_style mlspin\npair_coeff * * " +
               model_file("heisenberg_nn.pt") + " A A\nthermo_style custom step pe\nthermo_modify norm no\nrun 0 post no");
  EXPECT_NEAR(lmp.thermo("pe"), -3.0 * 27, 1e-12);
  const auto fm = gather_fm(lmp);
  const double hbar = 1.0 / (2 * M_PI);
  for (size_t i = 0; i < fm.size() / 3; i++) EXPECT_NEAR(fm[3 * i + 2], 6.0 / hbar, 1e-12 / hbar);
}

TEST(PairMLSpinFiles, UnreadableOrInvalidFilesAreErrorsNamingTheFile)
{
  const auto setup = box();
  EXPECT_CONTAINS(error_after(setup, "pair_style mlspin\npair_coeff * * /nonexistent/model.pt Fe Co"),
                 "Pair mlspin: cannot open model file '/nonexistent/model.pt': No such file or directory");
  for (const char *bad : {"bad_not_torchscript.pt", "bad_state_dict.pt"})
    EXPECT_CONTAINS(error_after(setup, pair(bad)),
                   "Pair mlspin: cannot load model file '" + model_file(bad) + "' as a TorchScript archive");
  EXPECT_CONTAINS(error_after(setup, pair("bad_no_json.pt")),
                 "Pair mlspin: model file '" + model_file("bad_no_json.pt") + "' has no mlspin.json");
  EXPECT_CONTAINS(error_after(setup, pair("bad_json.pt")), "mlspin.json is not valid JSON");
  EXPECT_CONTAINS(error_after(setup, pair("bad_no_cutoff.pt")), "mlspin.json has no \"cutoff\"");
  EXPECT_CONTAINS(error_after(setup, pair("bad_contract.pt")),
                 "mlspin.json declares contract version 3; this pair style implements contract versions 1 and 2");
  EXPECT_CONTAINS(error_after(setup, pair("bad_dtype.pt")),
                 "\"dtype\" is 'float16'; supported are float64 and float32");
  EXPECT_CONTAINS(error_after(setup, pair("bad_signature.pt")),
                 "has forward(spin: Tensor, edge_vec: Tensor) -> Tensor; contract version 1 needs");
}

TEST(PairMLSpinFiles, ModelsThatDoNotFitTheSimulationAreErrors)
{
  const auto setup = box();
  const auto heis = model_file("heisenberg.pt");
  EXPECT_CONTAINS(error_after(setup, pair("bad_units.pt")),
                 "Pair mlspin: model file " + model_file("bad_units.pt") +
                     " was made for units real, but the simulation uses units metal");
  EXPECT_CONTAINS(error_after(setup, pair("heisenberg.pt", "Ni Co")),
                 "Pair mlspin: species Ni (atom type 1) is not in model file " + heis + ", whose species are: Fe Co");
  EXPECT_CONTAINS(error_after(setup, pair("heisenberg.pt", "Fe")),
                 "pair_coeff * * " + heis + " needs one species name (or NULL) per atom type: 2 types, got 1 names");
  EXPECT_CONTAINS(error_after(setup, "pair_style mlspin\npair_coeff 1 1 " + heis + " Fe Co"),
                 "Pair_coeff must start with * * for pair style mlspin");
  EXPECT_CONTAINS(error_after(setup, "pair_style hybrid/overlay mlspin zero 1.0\npair_coeff * * zero\n"
                                    "pair_coeff * * mlspin " + heis + " NULL NULL"),
                 "Pair mlspin: pair_coeff maps no atom type to a species of model file");
  EXPECT_CONTAINS(error_after(box("lj"), pair("heisenberg.pt")),
                 "was made for units metal, but the simulation uses units lj");

  // a larger cutoff than the neighbor lists were built for: pair_coeff, then run pre no
  EXPECT_CONTAINS(error_after(setup, pair("heisenberg.pt") + "run 0 post no\npair_coeff * * " +
                                        model_file("heisenberg_big.pt") + " Fe Co\nrun 1 pre no post no"),
                 "Pair mlspin: the cutoff 6 of model file " + model_file("heisenberg_big.pt") +
                     " is larger than the neighbor list cutoff 5.5");
}

TEST(PairMLSpinFiles, TwoTypesWithOneNullNeedHybrid)
{
  EXPECT_CONTAINS(error_after(box(), pair("heisenberg.pt", "Fe NULL")),
                 "Pair mlspin: atom type 2 is NULL in pair_coeff; types left to other styles need "
                 "pair_style hybrid/overlay");
}

TEST(PairMLSpinFiles, FailingModelsStopEveryRank)
{
  const auto setup = box();
  // NaN only on atom 2 (species Co), so on two ranks only the rank owning it fails
  EXPECT_CONTAINS(error_after(setup, "set atom 2 type 2\n" + pair("bad_nan.pt") + "run 0 post no"),
                 "Pair mlspin: model file " + model_file("bad_nan.pt") +
                     " returned non-finite energies, fields or forces (energy of atom ID 2) at step 0");
  EXPECT_CONTAINS(error_after(setup, pair("bad_raises.pt") + "run 0 post no"),
                 "forward() failed: The following operation failed in the TorchScript interpreter");
  EXPECT_CONTAINS(error_after(setup, pair("bad_raises.pt") + "run 0 post no"), "this test model always fails");
  EXPECT_CONTAINS(error_after(setup, pair("bad_dtype_mismatch.pt") + "run 0 post no"),
                 "forward() returned Float energies, but mlspin.json declares dtype float64");
  EXPECT_CONTAINS(error_after(setup, pair("bad_shape.pt") + "run 0 post no"),
                 "forward() returned energies of shape [], expected [n_local]");
}

TEST(PairMLSpinFiles, SettingsAndSimulationRequirements)
{
  const auto setup = box();
  EXPECT_CONTAINS(error_after(setup, "pair_style mlspin speed 11"),
                 "Unknown pair mlspin keyword speed: use forces, threads, chunk, timers, native, bf16, mu, filling or tolerance");
  EXPECT_CONTAINS(error_after(setup, "pair_style mlspin threads 0"), "Pair mlspin threads must be a positive integer, got 0");
  EXPECT_CONTAINS(error_after(setup, "pair_style mlspin forces"), "Pair mlspin keyword forces needs a value");
  EXPECT_CONTAINS(error_after(setup, "newton off on\n" + pair("heisenberg.pt") + "run 0 post no"),
                 "Pair mlspin requires newton_pair on");
  EXPECT_CONTAINS(error_after("units metal\natom_style atomic\nlattice bcc 2.8665\nregion b block 0 3 0 3 0 3\n"
                             "create_box 1 b\ncreate_atoms 1 box\nmass 1 1.0\n",
                             pair("heisenberg.pt", "Fe") + "run 0 post no"),
                 "Pair mlspin requires an atom style with spins");
  // forces no runs, with zero forces
  LammpsSession lmp;
  lmp.commands(setup + "displace_atoms all random 0.1 0.1 0.1 5 units box\npair_style mlspin forces no threads 2\n"
                       "pair_coeff * * " + model_file("heisenberg.pt") + " Fe Co\nrun 0 post no");
  for (double f : lmp.gather("f", 3)) EXPECT_EQ(f, 0.0);
  double fm2 = 0.0;
  for (double v : gather_fm(lmp)) fm2 += v * v;
  EXPECT_GT(fm2, 0.0);
  // a repeated pair_style command starts from the defaults (forces yes)
  lmp.commands("pair_style mlspin\npair_coeff * * " + model_file("heisenberg.pt") + " Fe Co\nrun 0 post no");
  double f2 = 0.0;
  for (double f : lmp.gather("f", 3)) f2 += f * f;
  EXPECT_GT(f2, 0.0);
}
