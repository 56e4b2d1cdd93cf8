/* ----------------------------------------------------------------------
   mlspin: compute mlspin/electrons

   compute ID group mlspin/electrons
   per-atom vector: n_i (zero outside the group)
   global vector, 2 values: N_e (all atoms of the pair style), mu
------------------------------------------------------------------------- */

#include "compute_mlspin_electrons.h"

#include "atom.h"
#include "error.h"
#include "force.h"
#include "memory.h"
#include "update.h"

#include "pair_mlspin.h"

using namespace LAMMPS_NS;

ComputeMLSpinElectrons::ComputeMLSpinElectrons(LAMMPS *lmp, int narg, char **arg) : Compute(lmp, narg, arg)
{
  if (narg != 3)
    error->all(FLERR, "Compute mlspin/electrons takes no arguments after the style, got {} extra", narg - 3);
  peratom_flag = 1;
  size_peratom_cols = 0;
  vector_flag = 1;
  size_vector = 2;
  extvector = 0;
  vector = new double[2]{0.0, 0.0};
}

ComputeMLSpinElectrons::~ComputeMLSpinElectrons()
{
  delete[] vector;
  memory->destroy(electrons);
}

void ComputeMLSpinElectrons::init()
{
  pair = force->pair ? dynamic_cast<PairMLSpin *>(force->pair_match("^mlspin$", 0, 0)) : nullptr;
  if (!pair) error->all(FLERR, "Compute mlspin/electrons requires pair_style mlspin (alone or in a hybrid style)");
  if (!pair->takes_mu())
    error->all(FLERR,
               "Compute mlspin/electrons needs a pair mlspin model with the chemical potential input (contract "
               "2, \"inputs\": [\"mu\"]); the model of pair mlspin has none, so it has no electron numbers");
  pair->request_atom_electrons();
}

/* the values must belong to the current step */

void ComputeMLSpinElectrons::check_current(const char *what) const
{
  if (pair->last_evaluation_step() != update->ntimestep)
    error->all(FLERR,
               "Compute mlspin/electrons ({}) on step {}: pair mlspin was last evaluated on step {}; use the "
               "compute on steps where the forces are computed (during a run, or after run 0)",
               what, update->ntimestep, pair->last_evaluation_step());
}

void ComputeMLSpinElectrons::compute_vector()
{
  invoked_vector = update->ntimestep;
  check_current("N_e and mu");
  vector[0] = pair->electron_number();
  vector[1] = pair->chemical_potential();
}

void ComputeMLSpinElectrons::compute_peratom()
{
  invoked_peratom = update->ntimestep;
  check_current("n_i");
  if (atom->nmax > nmax) {
    memory->destroy(electrons);
    nmax = atom->nmax;
    memory->create(electrons, nmax, "mlspin/electrons:electrons");
    vector_atom = electrons;
  }
  const double *n = pair->atom_electrons();
  const int *mask = atom->mask;
  for (int i = 0; i < atom->nlocal; i++) electrons[i] = (mask[i] & groupbit) ? n[i] : 0.0;
}

double ComputeMLSpinElectrons::memory_usage()
{
  return sizeof(double) * nmax;
}
