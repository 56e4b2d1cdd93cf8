/* ----------------------------------------------------------------------
   mlspin plugin: registers every mlspin style with LAMMPS.

   Pair, fix and compute styles go through LAMMPS' plugin API. Atom styles cannot
   (no plugin hook in any LAMMPS version), so atom_style spin/lattice is inserted
   into Atom's public creator map; LAMMPS re-runs this function after `clear` when
   the plugin is found through LAMMPS_PLUGIN_PATH.
------------------------------------------------------------------------- */

#include "lammpsplugin.h"
#include "version.h"

#include "atom.h"
#include "lammps.h"

#include "atom_vec_spin_lattice.h"
#include "fix_llg.h"
#include "pair_mlspin.h"
#include "pair_sd_tb.h"
#include "compute_sd_tb_electrons.h"
#include "compute_mlspin_chirality.h"
#include "compute_mlspin_order.h"
#include "compute_mlspin_electrons.h"

#include <dlfcn.h>

using namespace LAMMPS_NS;

namespace {

AtomVec *spin_lattice_creator(LAMMPS *lmp)
{
  return new AtomVecSpinLattice(lmp);
}

Fix *llg_creator(LAMMPS *lmp, int narg, char **arg)
{
  return new FixLLG(lmp, narg, arg);
}

Pair *mlspin_pair_creator(LAMMPS *lmp)
{
  return new PairMLSpin(lmp);
}

Pair *sd_tb_creator(LAMMPS *lmp)
{
  return new PairSDTB(lmp);
}

Compute *sd_tb_electrons_creator(LAMMPS *lmp, int narg, char **arg)
{
  return new ComputeSDTBElectrons(lmp, narg, arg);
}

Compute *mlspin_chirality_creator(LAMMPS *lmp, int narg, char **arg)
{
  return new ComputeMLSpinChirality(lmp, narg, arg);
}

Compute *mlspin_order_creator(LAMMPS *lmp, int narg, char **arg)
{
  return new ComputeMLSpinOrder(lmp, narg, arg);
}

Compute *mlspin_electrons_creator(LAMMPS *lmp, int narg, char **arg)
{
  return new ComputeMLSpinElectrons(lmp, narg, arg);
}

// An atom style object created from this library outlives `plugin unload` (LAMMPS
// does not track it), so keep the library mapped for the life of the process.
void pin_this_library()
{
  Dl_info info;
  if (dladdr(reinterpret_cast<void *>(&pin_this_library), &info) && info.dli_fname)
    dlopen(info.dli_fname, RTLD_NOW | RTLD_NODELETE);
}

void register_style(lammpsplugin_regfunc register_plugin, void *lmp, void *handle,
                    const char *style, const char *name, const char *info, void *creator,
                    bool with_args)
{
  lammpsplugin_t plugin;
  plugin.version = LAMMPS_VERSION;
  plugin.style = style;
  plugin.name = name;
  plugin.info = info;
  plugin.author = "mlspin developers";
  if (with_args)
    plugin.creator.v2 = reinterpret_cast<lammpsplugin_factory2 *>(creator);
  else
    plugin.creator.v1 = reinterpret_cast<lammpsplugin_factory1 *>(creator);
  plugin.handle = handle;
  register_plugin(&plugin, lmp);
}

}    // namespace

extern "C" void lammpsplugin_init(void *lmp_ptr, void *handle, void *regfunc)
{
  auto *lmp = static_cast<LAMMPS *>(lmp_ptr);
  auto register_plugin = reinterpret_cast<lammpsplugin_regfunc>(regfunc);

  pin_this_library();
  (*lmp->atom->avec_map)["spin/lattice"] = &spin_lattice_creator;

  register_style(register_plugin, lmp_ptr, handle, "fix", "llg",
                 "mlspin: stochastic Landau-Lifshitz-Gilbert spin dynamics",
                 reinterpret_cast<void *>(&llg_creator), true);
  register_style(register_plugin, lmp_ptr, handle, "pair", "mlspin",
                 "mlspin: energies, spin fields, forces and virial from a TorchScript model",
                 reinterpret_cast<void *>(&mlspin_pair_creator), false);
  register_style(register_plugin, lmp_ptr, handle, "pair", "sd/tb",
                 "mlspin: s-d tight-binding electrons coupled to spins, exact diagonalisation or KPM",
                 reinterpret_cast<void *>(&sd_tb_creator), false);
  register_style(register_plugin, lmp_ptr, handle, "compute", "sd/tb/electrons",
                 "mlspin: per-atom electron density and spin of pair_style sd/tb",
                 reinterpret_cast<void *>(&sd_tb_electrons_creator), true);
  register_style(register_plugin, lmp_ptr, handle, "compute", "mlspin/chirality",
                 "mlspin: per-atom scalar spin chirality on the triangular lattice",
                 reinterpret_cast<void *>(&mlspin_chirality_creator), true);
  register_style(register_plugin, lmp_ptr, handle, "compute", "mlspin/order",
                 "mlspin: per-atom local magnetic order parameters (triangular, square lattice)",
                 reinterpret_cast<void *>(&mlspin_order_creator), true);
  register_style(register_plugin, lmp_ptr, handle, "compute", "mlspin/electrons",
                 "mlspin: local electron numbers, N_e and mu of a pair_style mlspin model with a mu input",
                 reinterpret_cast<void *>(&mlspin_electrons_creator), true);
}
