# Sourced by the scripts: the MPI environment ferret's scripts and tests need on any machine.
# Open MPI refuses to run as root without these; CI containers and this workplace run as root.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# One compute thread per rank unless told otherwise (--threads sets LibTorch's and OpenMP's).
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
# Quiet Open MPI's per-run warnings about missing high-speed interconnects on a laptop/VM.
export OMPI_MCA_btl_base_warn_component_unused=0
