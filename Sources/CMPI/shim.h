// MPICH defines its operation handles and pointer sentinels as casted macros
// (`#define MPI_SUM (MPI_Op)(0x58000003)`), which Swift cannot import. These
// prefixed functions hand them to Swift. Handles Swift does import
// (MPI_COMM_WORLD, MPI_FLOAT, ...) are re-exported too so callers use one style.
#ifndef DPTRAIN_CMPI_SHIM_H
#define DPTRAIN_CMPI_SHIM_H
#include <mpi.h>
#include <stdint.h>

static inline MPI_Comm dpt_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype dpt_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype dpt_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype dpt_mpi_int(void) { return MPI_INT; }
static inline MPI_Datatype dpt_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype dpt_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Op dpt_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op dpt_mpi_max(void) { return MPI_MAX; }
static inline MPI_Op dpt_mpi_min(void) { return MPI_MIN; }
static inline void *dpt_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Status *dpt_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Status *dpt_mpi_statuses_ignore(void) { return MPI_STATUSES_IGNORE; }
static inline MPI_Request dpt_mpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline int dpt_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
static inline MPI_Errhandler dpt_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline MPI_Info dpt_mpi_info_null(void) { return MPI_INFO_NULL; }
static inline int dpt_mpi_comm_type_shared(void) { return MPI_COMM_TYPE_SHARED; }
static inline int dpt_mpi_mode_nocheck(void) { return MPI_MODE_NOCHECK; }

// Flags that ranks of one node exchange through a shared-memory window: a
// release store publishes everything written before it to a rank that sees
// the value with an acquire load.
static inline uint64_t dpt_load_acquire(const uint64_t *flag) { return __atomic_load_n(flag, __ATOMIC_ACQUIRE); }
static inline void dpt_store_release(uint64_t *flag, uint64_t value) { __atomic_store_n(flag, value, __ATOMIC_RELEASE); }
static inline void dpt_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

#endif
