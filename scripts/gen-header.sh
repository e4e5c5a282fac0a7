#!/usr/bin/env bash
# Regenerates include/ftforest.h with the pinned cbindgen (a dev-dependency of ftforest-ffi,
# used as a library by ffi/tests/header.rs): no cbindgen binary needs to be installed. The
# `cluster` feature is passed so the cluster items (under FTF_CLUSTER) are generated too.
set -euo pipefail
cd "$(dirname "$0")/.."
FTF_BLESS_HEADER=1 cargo test -q -p ftforest-ffi --features cluster --test header -- header_is_up_to_date
echo "include/ftforest.h regenerated"
