// ftforest.hpp: a header-only C++17 wrapper over the libftforest C ABI (ftforest.h).
//
// * Handles are RAII values: shared handles (tracker, config, coordinator, forest, partition
//   table, recovery lock/queue) copy by adding a library reference and free one on
//   destruction; owned handles (config_builder, barrier) are move-only.
// * Operations and pauses are guards: ftf::operation ends its operation, ftf::pause_guard
//   resumes its pause, ftf::permit releases its permit, ftf::subscription unsubscribes, each
//   exactly once, on destruction. In particular the C ABI's "end each ftf_op_token exactly
//   once" contract (a second ftf_op_end of a token may end another operation's count, see
//   ftf_op_end) cannot be broken through ftf::operation. An ftf::operation borrows its tracker
//   (keep a tracker handle alive while its operations are); the other guards hold a
//   reference of their own.
// * Callbacks are lambdas (std::function) carried to C as userdata with a finalizer that
//   deletes them. The trampolines are noexcept: an exception escaping a callback is caught
//   (a run_phase that throws counts as a failed phase; a listener's or hook's exception is
//   dropped), never propagated through the library (that would abort the process).
// * Errors: every failing call throws ftf::error (a std::system_error whose code() is in
//   ftf::category(), value = the ftf_result). Functions whose failure is an expected outcome
//   return it instead (try_begin -> std::optional, poll_* -> std::optional).
//
// Threading is the library's: see ffi/README.md. Link with -lftforest (pkg-config ftforest).
//
// Layout: this header includes the parts in include/ftforest/ (base, tracker, config, forest,
// coordinator, primitives, and cluster when FTF_CLUSTER is defined: the cluster member),
// installed next to it by `make install`; always include this one.
#ifndef FTFOREST_HPP
#define FTFOREST_HPP

#include "ftforest.h"

#include "ftforest/base.hpp"
#include "ftforest/tracker.hpp"
#include "ftforest/config.hpp"
#include "ftforest/forest.hpp"
#include "ftforest/coordinator.hpp"
#include "ftforest/primitives.hpp"
#if defined(FTF_CLUSTER)
#include "ftforest/cluster.hpp"
#endif

#endif  // FTFOREST_HPP
