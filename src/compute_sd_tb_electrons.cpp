/* ----------------------------------------------------------------------
   mlspin: compute sd/tb/electrons

   compute ID group sd/tb/electrons
   per-atom array, 4 columns: n_i, m_i^x, m_i^y, m_i^z (zero outside the group)
------------------------------------------------------------------------- */

#include "compute_sd_tb_electrons.h"

#include "atom.h"
#include "error.h"
#include "force.h"
#include "memory.h"
#include "update.h"

#include "pair_sd_tb.h"

using namespace LAMMPS_NS;

ComputeSDTBElectrons::ComputeSDTBElectrons(LAMMPS *lmp, int narg, char **arg) : Compute(lmp, narg, arg)
{
  if (narg != 3)
    error->all(FLERR, "Compute sd/tb/electrons takes no arguments after the style, got {} extra", narg - 3);
  peratom_flag = 1;
  size_peratom_cols = 4;
}

ComputeSDTBElectrons::~ComputeSDTBElectrons()
{
  memory->destroy(electrons);
}

void ComputeSDTBElectrons::init()
{
  pair = force->pair ? dynamic_cast<PairSDTB *>(force->pair_match("^sd/tb$", 0, 0)) : nullptr;
  if (!pair) error->all(FLERR, "Compute sd/tb/electrons requires pair_style sd/tb (alone or in a hybrid style)");
}

void ComputeSDTBElectrons::compute_peratom()
{
  invoked_peratom = update->ntimestep;
  if (pair->last_evaluation_step() != update->ntimestep)
    error->all(FLERR,
               "Compute sd/tb/electrons on step {}: pair sd/tb was last evaluated on step {}; use the "
               "compute on steps where the forces are computed (during a run, or after run 0)",
               update->ntimestep, pair->last_evaluation_step());

  if (atom->nmax > nmax) {
    memory->destroy(electrons);
    nmax = atom->nmax;
    memory->create(electrons, nmax, 4, "sd/tb/electrons:electrons");
    array_atom = electrons;
  }
  const int *mask = atom->mask;
  for (int i = 0; i < atom->nlocal; i++) {
    for (int k = 0; k < 4; k++) electrons[i][k] = 0.0;
    if ((mask[i] & groupbit) && !pair->electrons_of(atom->tag[i], electrons[i]))
      error->one(FLERR, "Compute sd/tb/electrons: atom {} is not known to pair sd/tb", atom->tag[i]);
  }
}

double ComputeSDTBElectrons::memory_usage()
{
  return 4.0 * sizeof(double) * nmax;
}
