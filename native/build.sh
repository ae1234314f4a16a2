#!/bin/sh
# Build Flowloop's optional native kernels: see native/build.mjs (node-gyp, OpenBLAS linked statically).
#   apt-get install -y g++ libopenblas-dev
exec node "$(dirname "$0")/build.mjs" "$@"
