/* -*- c++ -*- ----------------------------------------------------------
   mlspin: base class of the per-atom computes over a site's nearest-neighbour ring
   (compute mlspin/chirality, compute mlspin/order); not a style of its own.

   It parses the keyword `cutoff`, finds each site's nearest neighbours on a 2D lattice
   from an occasional full neighbor list, checks that they form a complete ring, sorts
   them counter-clockwise and hands centre and ring to the derived class.
------------------------------------------------------------------------- */

#ifndef LMP_COMPUTE_MLSPIN_SHELL_H
#define LMP_COMPUTE_MLSPIN_SHELL_H

#include "compute.h"

#include <string>
#include <vector>

namespace mlspin {
struct LatticeShell;
struct RingNeighbour;
struct Vec3;
}    // namespace mlspin

namespace LAMMPS_NS {

class ComputeMLSpinShell : public Compute {
 public:
  ComputeMLSpinShell(class LAMMPS *, int, char **);
  ~ComputeMLSpinShell() override;
  void init() override;
  void init_list(int, class NeighList *) override;
  void compute_peratom() override;
  int pack_forward_comm(int, int *, double *, int, int *) override;
  void unpack_forward_comm(int, int, double *) override;
  double memory_usage() override;

 protected:
  // called by the derived constructor: lattice, output columns (0 = per-atom vector),
  // and the keywords from arg[first] on
  void configure(const mlspin::LatticeShell &shell, int columns, int narg, char **arg, int first);

  // writes the values of one site (ring: `coordination` neighbours, counter-clockwise)
  virtual void evaluate_site(const mlspin::Vec3 &centre, const std::vector<mlspin::RingNeighbour> &ring,
                             double *out) = 0;

 private:
  const mlspin::LatticeShell *shell = nullptr;
  std::string style_name;
  int columns = 0;
  double cutoff_user = 0.0;    // 0: derived from the area per atom in init()
  double cutoff = 0.0;         // in use since the last init()
  int nmax = 0;
  double **values = nullptr;    // nmax x max(columns, 1)
  class NeighList *list = nullptr;

  double default_cutoff() const;
  void grow_output();
  void collect_ring(int i, std::vector<mlspin::RingNeighbour> &ring) const;
  void report_bad_site(tagint tag, int neighbours, double gap_degrees);
};

}    // namespace LAMMPS_NS

#endif
