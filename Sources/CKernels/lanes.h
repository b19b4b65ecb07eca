// Internal to CKernels: the lane count of the widest path to take.
#ifndef DPT_LANES_H
#define DPT_LANES_H

/// 16 (AVX-512), 8 (AVX2) or 1, within the limit set by dpt_kernels_limit_lanes.
int dpt_lanes(void);

#endif
