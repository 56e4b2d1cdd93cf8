/* -*- c++ -*- ----------------------------------------------------------
   mlspin: per-atom rows in LAMMPS forward communication buffers, for the
   styles that send spins (or parts of them) to ghost atoms themselves
------------------------------------------------------------------------- */

#ifndef MLSPIN_COMM_ROWS_H
#define MLSPIN_COMM_ROWS_H

namespace mlspin_lammps {

// the first ncol columns of array[list[k]], k < n, into buf; returns the count packed
inline int pack_rows(double *const *array, int ncol, int n, const int *list, double *buf)
{
  int m = 0;
  for (int k = 0; k < n; k++) {
    const double *row = array[list[k]];
    for (int c = 0; c < ncol; c++) buf[m++] = row[c];
  }
  return m;
}

// the inverse of pack_rows for the atoms first .. first + n - 1
inline void unpack_rows(double **array, int ncol, int n, int first, const double *buf)
{
  int m = 0;
  for (int i = first; i < first + n; i++)
    for (int c = 0; c < ncol; c++) array[i][c] = buf[m++];
}

}    // namespace mlspin_lammps

#endif
